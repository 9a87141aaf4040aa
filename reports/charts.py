"""Charts drawn with matplotlib's SVG backend, inlined into the report.

Text stays text (svg.fonttype none), ids are salted for byte-identical output,
and maths parsing is off so that a '$' in ticket data is just a '$'.
"""

from __future__ import annotations

import io
import re

import numpy as np
import pandas as pd
from markupsafe import Markup

from reports.svg import esc, short
from reports.units import human

RC = {
    "svg.fonttype": "none",
    "svg.hashsalt": "vsm",
    "text.parse_math": False,
    "font.size": 9,
    "font.family": "sans-serif",
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.titlesize": 10,
}
WAIT, WORK, INK, MUTED = "#dc2626", "#059669", "#1f2937", "#6b7280"
DURATION_TICKS = [(60, "1 min"), (600, "10 min"), (3600, "1 h"), (4 * 3600, "4 h"), (86400, "1 d"), (7 * 86400, "1 w"),
                  (30 * 86400, "30 d"), (90 * 86400, "90 d"), (365 * 86400, "1 y"), (3 * 365 * 86400, "3 y")]
CLASS_COLOURS = {"work": WORK, "queue": "#f97316", "handoff": "#a855f7", "customer": "#0ea5e9", "vendor": "#eab308",
                 "internal": "#64748b", "reopened": "#fca5a5", "unclassified": "#e5e7eb"}


def _thousands(axis) -> None:  # type: ignore[no-untyped-def]
    """Tick labels with thousands separators (62,000, not 62000), as every other number in the report."""
    from matplotlib.ticker import FuncFormatter

    axis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}" if abs(v) >= 1000 or v == int(v) else f"{v:g}"))


def _figure(width: float, height: float, *, left: float = 0.08, bottom: float = 0.2, right: float = 0.98, top: float = 0.95):  # type: ignore[no-untyped-def]
    from matplotlib.backends.backend_svg import FigureCanvasSVG
    from matplotlib.figure import Figure

    # Fixed margins: matplotlib's automatic layouts cost more than the drawing.
    fig = Figure(figsize=(width, height), dpi=72)
    fig.subplots_adjust(left=left, bottom=bottom, right=right, top=top)
    FigureCanvasSVG(fig)
    return fig


def _svg(fig, label: str) -> Markup:  # type: ignore[no-untyped-def]
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", metadata={"Date": None, "Creator": "vsm"})
    text = buffer.getvalue()
    text = text[text.index("<svg"):]
    text = re.sub(r"<metadata>.*?</metadata>", "", text, flags=re.DOTALL)  # RDF boilerplate
    text = re.sub(r'\s+xmlns:xlink="[^"]*"', "", text, count=1) if "xlink:" not in text[200:] else text
    text = re.sub(r'<svg ', f'<svg role="img" aria-label="{esc(label)}" class="chart" ', text, count=1)
    return Markup(text)


def with_style(func):  # type: ignore[no-untyped-def]
    def wrapper(*args, **kwargs):  # type: ignore[no-untyped-def]
        import matplotlib

        with matplotlib.rc_context(RC):
            return func(*args, **kwargs)

    return wrapper


@with_style
def lead_time_histogram(lead_s: np.ndarray, streams: pd.Series) -> Markup:
    """Distribution of lead times per designed stream (log scale), with medians."""
    fig = _figure(13, 3.4, bottom=0.17)
    ax = fig.add_subplot()
    values = np.asarray(lead_s, dtype=float)
    positive = values[values > 0]
    if len(positive) == 0:
        ax.text(0.5, 0.5, "no lead times to show", ha="center", transform=ax.transAxes)
        return _svg(fig, "Lead-time distribution")
    bins = np.logspace(np.log10(max(positive.min(), 60.0)), np.log10(positive.max() * 1.01), 48)
    for name in streams.value_counts().index[:5]:
        v = values[(streams.to_numpy() == name) & (values > 0)]
        ax.hist(np.maximum(v, bins[0]), bins=bins, histtype="step", linewidth=1.6, label=f"{name}: median {human(float(np.median(v)))}")
    ax.set_xscale("log")
    ticks = [t for t in DURATION_TICKS if bins[0] / 3 <= t[0] <= bins[-1] * 3]
    ax.set_xticks([t for t, _ in ticks], [label for _, label in ticks])
    ax.minorticks_off()
    ax.set_xlabel("lead time (log scale)")
    ax.set_ylabel("tickets")
    _thousands(ax.yaxis)
    ax.legend(frameon=False, fontsize=9)
    return _svg(fig, "Lead-time distribution per designed stream")


@with_style
def time_by_class(by_class: dict[str, float]) -> Markup:
    """One bar: where lead time goes, work against each kind of waiting."""
    fig = _figure(13, 1.25, left=0.02, bottom=0.32, top=0.98)
    ax = fig.add_subplot()
    total = sum(by_class.values()) or 1.0
    left = 0.0
    for name, value in by_class.items():
        if value <= 0:
            continue
        share = value / total
        label = "waiting for hand-off" if name == "handoff" else name if name in ("work", "unclassified") else f"{name} wait"
        ax.barh([0], [share], left=left, color=CLASS_COLOURS.get("handoff" if name == "assignment" else name, MUTED), edgecolor="white", label=f"{label} {share:.0%}")
        if share > 0.09:
            ax.text(left + share / 2, 0, f"{share:.0%}", ha="center", va="center", color="white", fontsize=10, fontweight="bold")
        left += share
    ax.set_xlim(0, 1)
    ax.set_axis_off()
    ax.legend(frameon=False, ncol=7, loc="upper center", bbox_to_anchor=(0.5, -0.02), fontsize=9)
    return _svg(fig, "Share of lead time by kind of time")


@with_style
def bottleneck_bars(labels: list[str], total_wait_s: pd.Series, what: str, top: int = 10) -> Markup:
    """Total waiting of the ``top`` rows, one bar each, largest at the top; labels cut to one line."""
    names = [short(str(x), 60) for x in labels[:top]][::-1]
    values = (np.asarray(total_wait_s, dtype=np.float64)[:top] / 86400)[::-1]
    height = 0.32 * max(len(names), 2) + 0.7
    fig = _figure(13, height, left=min(0.45, 0.012 + 0.0066 * max(map(len, names), default=1)), bottom=0.45 / height + 0.05, top=0.97)
    ax = fig.add_subplot()
    ax.barh(range(len(names)), values, color=WAIT)
    ax.set_yticks(range(len(names)), names)
    _thousands(ax.xaxis)
    ax.set_xlabel(f"total {what} (days, all tickets)")
    return _svg(fig, f"Bottleneck ranking: {what}")


MAX_LABELS = 15
LARGEST_LABELLED = 8  # besides the moved bottlenecks, the scatter names at most this many of the largest groups


@with_style
def group_scatter(groups: pd.DataFrame) -> Markup:
    """Each group's own time per visit against the excess its hand-offs cause downstream (receiver held constant)."""
    return _svg(group_figure(groups), "Groups: own speed against downstream excess")


def group_figure(groups: pd.DataFrame):  # type: ignore[no-untyped-def]
    """The scatter of :func:`group_scatter`: the flagged and the largest groups named, at most MAX_LABELS, none over another."""
    fig = _figure(13, 3.8, bottom=0.14)
    ax = fig.add_subplot()
    data = groups[(groups["visits"] > 0) & (groups["comparable_handoffs"] > 0)]
    flagged = data["moved_bottleneck"].astype(bool)
    x = data["local_time_median_s"].clip(lower=60)
    y = data["downstream_excess_s"] / 3600
    sizes = 20 + 180 * np.sqrt(data["comparable_handoffs"] / max(data["comparable_handoffs"].max(), 1))
    ax.axhline(0, color="#9ca3af", linewidth=0.8)
    ax.scatter(x[~flagged], y[~flagged], s=sizes[~flagged], color="#93c5fd", edgecolor="#1e3a8a", linewidth=0.6, label="group")
    if flagged.any():  # else the legend would show a dot of no size
        ax.scatter(x[flagged], y[flagged], s=sizes[flagged], color=WAIT, edgecolor="#7f1d1d", linewidth=0.8, label="moved bottleneck")
    ax.set_xlabel("own time per visit (median, log scale)")
    ax.set_ylabel("downstream excess per hand-off (hours)")
    _thousands(ax.yaxis)
    ax.set_xscale("log")
    lo, hi = float(x.min()) if len(x) else 60.0, float(x.max()) if len(x) else 3600.0
    ticks = [t for t in DURATION_TICKS if lo / 3 <= t[0] <= hi * 3]
    ax.set_xticks([t for t, _ in ticks], [label for _, label in ticks])
    ax.minorticks_off()
    ax.legend(frameon=False, fontsize=8)
    ax.get_xlim(), ax.get_ylim()  # settle the autoscaled limits before placing labels in display space
    # Only the flagged groups and the largest (most comparable hand-offs) are named, flagged first; the table lists every group.
    order = np.lexsort((data["group"].astype(str).to_numpy(), -data["comparable_handoffs"].to_numpy(), ~flagged.to_numpy()))
    order = order[: max(int(flagged.sum()), 0) + LARGEST_LABELLED]
    points = ax.transData.transform(np.column_stack([x.to_numpy(dtype=float), y.to_numpy(dtype=float)]))
    names = [short(str(n), 24) for n in data["group"]]
    boxes: list[tuple[float, float, float, float]] = []
    for i in order:
        if len(boxes) >= MAX_LABELS:
            break
        box = _label_box(points[i], names[i])
        if any(_overlap(box, b) for b in boxes):
            continue
        boxes.append(box)
        ax.annotate(names[i], (x.iloc[i], y.iloc[i]), fontsize=8, xytext=(4, 3), textcoords="offset points")
    return fig


def _label_box(point: np.ndarray, text: str) -> tuple[float, float, float, float]:
    """The display-space box (pixels at 72 dpi) a label of 8 pt takes, 4 px right of and 3 px above its point, with a margin."""
    left, bottom = point[0] + 4, point[1] + 3
    return left - 2, bottom - 2, left + 5.2 * len(text) + 2, bottom + 10 + 2


def _overlap(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]
