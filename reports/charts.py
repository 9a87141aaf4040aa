"""The report's charts, drawn as SVG by :mod:`reports.plot` and inlined into the page.

Text stays text and goes through the SVG writer's escaping, so a '$' or a
'<' in ticket data is just that; the drawing is the same bytes every run.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from markupsafe import Markup

from reports.plot import FONT, Frame, Scale, empty, legend_height, legend_item_width, legend_rows, linear_axis, log_ticks, text_width
from reports.svg import Svg, esc, short
from reports.units import human

WIDTH = 1200  # px: the drawing's width, about the page's column (which scales it to fit)
WAIT, WORK, INK, MUTED = "#dc2626", "#059669", "#1f2937", "#6b7280"
DURATION_TICKS = [(60, "1 min"), (600, "10 min"), (3600, "1 h"), (4 * 3600, "4 h"), (86400, "1 d"), (7 * 86400, "1 w"),
                  (30 * 86400, "30 d"), (90 * 86400, "90 d"), (365 * 86400, "1 y"), (3 * 365 * 86400, "3 y")]
CLASS_COLOURS = {"work": WORK, "queue": "#f97316", "handoff": "#a855f7", "customer": "#0ea5e9", "vendor": "#eab308",
                 "internal": "#64748b", "reopened": "#fca5a5", "unclassified": "#e5e7eb"}


SERIES = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd"]  # the streams' lines, in order of size


def duration_axis(lo: float, hi: float) -> tuple[Scale, list[tuple[float, str]]]:
    """A log scale of seconds covering ``lo``..``hi``, widened to the named durations just outside it, and its ticks."""
    lo, hi = max(lo, 1.0), max(hi, lo * 1.01, 1.0)
    below = [t for t, _ in DURATION_TICKS if t <= lo]
    above = [t for t, _ in DURATION_TICKS if t >= hi]
    scale = Scale(below[-1] if below else lo, above[0] if above else hi, log=True)
    return scale, log_ticks(scale.lo, scale.hi, DURATION_TICKS)


def lead_time_histogram(lead_s: np.ndarray, streams: pd.Series) -> Markup:
    """Distribution of lead times per designed stream (log scale), with medians."""
    svg = Svg(WIDTH, 290, label="Lead-time distribution per designed stream", cls="chart")
    values = np.asarray(lead_s, dtype=float)
    positive = values[values > 0]
    if len(positive) == 0:
        empty(svg, "no lead times to show")
        return svg.markup()
    low = max(float(positive.min()), 60.0)  # shorter lead times count in the first bin
    bins = np.logspace(np.log10(low), np.log10(max(float(positive.max()), low) * 1.01), 48)
    names = streams.to_numpy()
    series = []
    for name in streams[values > 0].value_counts().index[:5]:
        v = values[(names == name) & (values > 0)]
        series.append((name, np.histogram(np.maximum(v, bins[0]), bins=bins)[0], float(np.median(v))))
    x, xticks = duration_axis(float(bins[0]), float(bins[-1]))
    y, yticks = linear_axis(0.0, float(max(c.max() for _, c, _ in series)), whole=True)  # tickets: 0, 2, 4 …
    labels = [f"{name}: median {human(median)}" for name, _, median in series]
    room = legend_height(labels, WIDTH - 96)  # the legend above the bars, never over them
    svg.height += room
    frame = Frame(svg, 74, 10 + room, WIDTH - 96, 230, x, y)
    for (_, counts, _), label, colour in zip(series, labels, SERIES, strict=False):
        frame.outline(bins, counts, colour=colour, label=label)
    frame.axes(xticks=xticks, yticks=yticks, xlabel="lead time (log scale)", ylabel="tickets")
    frame.legend(corner="above")
    return svg.markup()


def time_by_class(by_class: dict[str, float]) -> Markup:
    """One bar: where lead time goes, work against each kind of waiting."""
    total = sum(by_class.values()) or 1.0
    parts = []
    for name, value in by_class.items():
        if value <= 0:
            continue
        label = "waiting for hand-off" if name == "handoff" else name if name in ("work", "unclassified") else f"{name} wait"
        parts.append((CLASS_COLOURS.get("handoff" if name == "assignment" else name, MUTED), value / total, f"{label} {value / total:.0%}"))
    # The legend's rows (each, with its entries' gaps, no wider than WIDTH - 40), centred under the bar.
    gap = 22
    rows = [[parts[i] for i in row] for row in legend_rows([p[2] for p in parts], WIDTH - 40 - gap, gap=gap)] or [[]]
    svg = Svg(WIDTH, 64 + 20 * len(rows), label="Share of lead time by kind of time", cls="chart")
    left, span = 18.0, WIDTH - 36.0
    for colour, share, _ in parts:
        svg.rect(left, 4, share * span, 52, fill=colour, stroke="#ffffff", rx=0, width=1)
        if share > 0.09:
            svg.text(left + share * span / 2, 30 + 5, f"{share:.0%}", size=13, anchor="middle", weight="bold", fill=on(colour))
        left += share * span
    for r, row in enumerate(rows):
        x = (WIDTH - sum(legend_item_width(p[2], gap=gap) for p in row) + gap) / 2
        y = 68 + 20 * r
        for colour, _, text in row:
            svg.rect(x, y, 18, 9, fill=colour, stroke="none", rx=0, width=0)
            svg.text(x + 24, y + 9, text, size=FONT)
            x += legend_item_width(text, gap=gap)
    return svg.markup()


def on(colour: str) -> str:
    """Text colour that reads on a ``colour`` (#rrggbb) fill: ink on light fills, white on dark ones."""
    r, g, b = (int(colour[i:i + 2], 16) for i in (1, 3, 5))
    return INK if 0.299 * r + 0.587 * g + 0.114 * b > 170 else "#ffffff"


def bottleneck_bars(labels: list[str], total_wait_s: pd.Series, what: str, top: int = 10) -> Markup:
    """Total waiting of the ``top`` rows, one bar each, largest at the top; labels cut to one line."""
    names = [short(str(x), 60) for x in labels[:top]]
    values = np.asarray(total_wait_s, dtype=np.float64)[:top] / 86400
    band = 26
    height = band * max(len(names), 2) + 58
    svg = Svg(WIDTH, height, label=f"Bottleneck ranking: {what}", cls="chart")
    left = min(0.45 * WIDTH, 14 + max((text_width(n) for n in names), default=10.0))
    x, xticks = linear_axis(0.0, float(values.max()) if len(values) else 1.0, 10)
    frame = Frame(svg, left, 6, WIDTH - left - 20, band * max(len(names), 2), x, Scale(0.0, 1.0))
    frame.hbars(values, names, colour=WAIT)
    frame.axes(xticks=xticks, xlabel=f"total {what} (days, all tickets)")
    return svg.markup()


MAX_LABELS = 15
LARGEST_LABELLED = 8  # besides the moved bottlenecks, the scatter names at most this many of the largest groups
LABEL = 11  # px: a group's name beside its point


def group_scatter(groups: pd.DataFrame) -> Markup:
    """Each group's own time per visit against the excess its hand-offs cause downstream (receiver held constant).

    Names the flagged and the largest groups, at most MAX_LABELS, none over another (:func:`label_box`).
    """
    svg = Svg(WIDTH, 350, label="Groups: own speed against downstream excess", cls="chart")
    shown = np.isfinite(groups["local_time_median_s"].to_numpy(dtype=float)) & np.isfinite(groups["downstream_excess_s"].to_numpy(dtype=float))
    data = groups[(groups["visits"] > 0) & (groups["comparable_handoffs"] > 0) & shown]
    flagged = data["moved_bottleneck"].astype(bool).to_numpy()
    x = data["local_time_median_s"].clip(lower=60).to_numpy(dtype=float)
    y = (data["downstream_excess_s"] / 3600).to_numpy(dtype=float)
    radius = np.sqrt(20 + 180 * np.sqrt(data["comparable_handoffs"].to_numpy() / max(data["comparable_handoffs"].max(), 1))) / 2
    lo, hi = (float(x.min()), float(x.max())) if len(x) else (60.0, 3600.0)
    xs, xticks = duration_axis(lo / 1.3, hi * 1.3)
    ys, yticks = linear_axis(min(float(y.min()) if len(y) else 0.0, 0.0), max(float(y.max()) if len(y) else 1.0, 0.0))
    room = legend_height(["group", "moved bottleneck"], WIDTH - 96, FONT - 1)  # above the points, never over one
    svg.height += room
    frame = Frame(svg, 74, 10 + room, WIDTH - 96, 290, xs, ys)
    frame.hline(0.0, colour="#9ca3af")
    frame.points(x[~flagged], y[~flagged], radius[~flagged], fill="#93c5fd", stroke="#1e3a8a", label="group")
    if flagged.any():  # else the legend would show a dot of no size
        frame.points(x[flagged], y[flagged], radius[flagged], fill=WAIT, stroke="#7f1d1d", label="moved bottleneck")
    frame.axes(xticks=xticks, yticks=yticks, xlabel="own time per visit (median, log scale)",
               ylabel="downstream excess per hand-off (hours)")
    frame.legend(corner="above", size=FONT - 1)
    # Only the flagged groups and the largest (most comparable hand-offs) are named, flagged first; the table lists every group.
    order = np.lexsort((data["group"].astype(str).to_numpy(), -data["comparable_handoffs"].to_numpy(), ~flagged))
    order = order[: int(flagged.sum()) + LARGEST_LABELLED]
    px, py = frame.px(x), frame.py(y)
    names = [short(str(n), 24) for n in data["group"]]
    boxes: list[tuple[float, float, float, float]] = []
    for i in order:
        if len(boxes) >= MAX_LABELS:
            break
        box = label_box(float(px[i]), float(py[i]), names[i])
        if any(overlap(box, b) for b in boxes):
            continue
        boxes.append(box)
        svg.add(f'<text class="point-label" x="{box[0] + 2:.1f}" y="{box[3] - 4:.1f}" font-size="{LABEL}" fill="{INK}">{esc(names[i])}</text>')
    return svg.markup()


def label_box(x: float, y: float, text: str) -> tuple[float, float, float, float]:
    """The box (left, top, right, bottom, px) a point's label takes, 5 px right of and above the point, with a margin."""
    left, baseline = x + 5, y - 4
    return left - 2, baseline - LABEL - 2, left + text_width(text, LABEL) + 2, baseline + 4


def overlap(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]
