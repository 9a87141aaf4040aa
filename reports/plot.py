"""A small chart kit: axes, bars, step lines, points and legends, written as SVG by vsm itself.

The report's charts need a handful of shapes on a linear or logarithmic
axis. Drawing them here, on :class:`reports.svg.Svg`, keeps every piece of
text escaped and the output byte-identical from run to run, and spares each
report the half second that importing a plotting library costs (benchmarks/
results.md, issue 16). Sizes are pixels of the drawing, which the page
scales to its width.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from reports.svg import INK, MUTED, Svg, esc

FONT = 12  # px: tick labels and legends
AXIS = "#374151"
GRID = "#d1d5db"
CHAR = 0.56  # a character's average width, in font sizes (system sans-serif)


def text_width(text: str, size: float = FONT) -> float:
    """About how wide ``text`` is drawn at ``size`` px: for margins and for keeping labels apart."""
    return CHAR * size * len(text)


def number(value: float) -> str:
    """A tick label: thousands separators, no trailing zeros (62,000; 2.5; -10)."""
    if value == int(value):
        return f"{int(value):,}"
    return f"{value:,.6g}" if abs(value) >= 1000 else f"{value:g}"


def nice_step(lo: float, hi: float, most: int = 8, *, whole: bool = False) -> float:
    """A round step (1, 2, 2.5 or 5 times a power of ten) that cuts ``lo``..``hi`` into at most ``most - 1`` parts;
    ``whole``: a whole number (for counts: no 2.5, nothing below 1)."""
    raw = (hi - lo) / max(most - 1, 1)
    if whole:
        raw = max(raw, 1.0)
    power = 10.0 ** math.floor(math.log10(raw))
    steps = (1, 2, 5, 10) if whole and power < 10 else (1, 2, 2.5, 5, 10)
    return next(m * power for m in steps if m * power >= raw * (1 - 1e-12))


def nice_limits(lo: float, hi: float, most: int = 8, *, whole: bool = False) -> tuple[float, float, float]:
    """``lo``..``hi`` widened to multiples of a round step, and that step: an axis that ends on a tick."""
    if not (math.isfinite(lo) and math.isfinite(hi)):
        lo, hi = 0.0, 1.0
    if hi <= lo:
        hi = lo + (abs(lo) or 1.0)
    step = nice_step(lo, hi, most, whole=whole)
    for _ in range(10):  # widened, the range may ask for a larger step (a few rounds at most; steps only grow)
        low, high = _round(math.floor(lo / step + 1e-12) * step, step), _round(math.ceil(hi / step - 1e-12) * step, step)
        wider = nice_step(low, high, most, whole=whole)
        if wider <= step * (1 + 1e-9):
            break
        step = wider
    return low, high, step


def linear_axis(lo: float, hi: float, most: int = 8, *, whole: bool = False) -> tuple[Scale, list[tuple[float, str]]]:
    """A linear scale over ``lo``..``hi`` widened to round ticks (:func:`nice_limits`; ``whole``: of a count), and its labelled ticks."""
    low, high, step = nice_limits(lo, hi, most, whole=whole)
    ticks = [_round(low + i * step, step) for i in range(int(round((high - low) / step)) + 1)]
    return Scale(low, high), [(t, number(t)) for t in ticks]


def _round(value: float, step: float) -> float:
    """``value`` without the float noise of multiplying a step (0.30000000000000004 → 0.3)."""
    return round(value, max(0, 12 - int(math.floor(math.log10(step))))) + 0.0


@dataclass(frozen=True)
class Scale:
    """Maps data values in ``lo``..``hi`` (logarithmically when ``log``) to 0..1."""

    lo: float
    hi: float
    log: bool = False

    def __call__(self, values: np.ndarray | float) -> np.ndarray:
        v = np.asarray(values, dtype=np.float64)
        if self.log:
            lo, hi = math.log10(self.lo), math.log10(self.hi)
            v = np.log10(np.maximum(v, self.lo * 1e-3))
        else:
            lo, hi = self.lo, self.hi
        return (v - lo) / ((hi - lo) or 1.0)


@dataclass
class Frame:
    """A plotting area of a chart: data scales and the pixel box they fill."""

    svg: Svg
    left: float
    top: float
    width: float
    height: float
    x: Scale
    y: Scale
    legend_items: list[tuple[str, str, str]] = field(default_factory=list)  # (shape, colour, label)

    def px(self, values: np.ndarray | float) -> np.ndarray:
        return self.left + self.x(values) * self.width

    def py(self, values: np.ndarray | float) -> np.ndarray:
        return self.top + (1.0 - self.y(values)) * self.height

    @property
    def bottom(self) -> float:
        return self.top + self.height

    def axes(self, *, xticks: Sequence[tuple[float, str]] = (), yticks: Sequence[tuple[float, str]] = (),
             xlabel: str = "", ylabel: str = "", title: str = "") -> None:
        """Draw the left and bottom axis lines, their ticks and labels, the axis titles and a title above."""
        s, bottom = self.svg, self.bottom
        s.line(self.left, bottom, self.left + self.width, bottom, stroke=AXIS)
        s.line(self.left, self.top, self.left, bottom, stroke=AXIS)
        for value, label in xticks:
            x = float(self.px(value))
            s.line(x, bottom, x, bottom + 4, stroke=AXIS)
            s.text(x, bottom + 5 + FONT, label, size=FONT, anchor="middle")
        for value, label in yticks:
            y = float(self.py(value))
            s.line(self.left - 4, y, self.left, y, stroke=AXIS)
            s.text(self.left - 7, y + FONT * 0.35, label, size=FONT, anchor="end")
        if xlabel:
            s.text(self.left + self.width / 2, bottom + 12 + 2 * FONT, xlabel, size=FONT, anchor="middle")
        if ylabel:
            width = max((text_width(label) for _, label in yticks), default=0.0)
            x, y = self.left - width - 14, self.top + self.height / 2
            s.add(f'<text x="{x:.1f}" y="{y:.1f}" font-size="{FONT}" text-anchor="middle" fill="{INK}" '
                  f'transform="rotate(-90 {x:.1f} {y:.1f})">{esc(ylabel)}</text>')
        if title:
            s.text(self.left + self.width / 2, self.top - 8, title, size=FONT + 1, anchor="middle")

    def hline(self, y: float, *, colour: str = GRID) -> None:
        at = float(self.py(y))
        self.svg.line(self.left, at, self.left + self.width, at, stroke=colour, width=0.8)

    def hbars(self, values: np.ndarray, labels: Sequence[str], *, colour: str) -> None:
        """One horizontal bar per value, from zero, top to bottom in the given order, each named on the left."""
        n = len(values)
        band = self.height / max(n, 1)
        zero = float(self.px(0.0))
        for i, (value, label) in enumerate(zip(values, labels, strict=True)):
            top = self.top + i * band + band * 0.1
            self.svg.rect(zero, top, max(float(self.px(value)) - zero, 0.0), band * 0.8, fill=colour, stroke="none", rx=0, width=0)
            self.svg.text(self.left - 7, top + band * 0.4 + FONT * 0.35, label, size=FONT, anchor="end")
            self.svg.line(self.left - 4, top + band * 0.4, self.left, top + band * 0.4, stroke=AXIS)

    def outline(self, edges: np.ndarray, counts: np.ndarray, *, colour: str, label: str) -> None:
        """A histogram drawn as its outline (``edges``: one more than ``counts``), from and back to zero."""
        xs, ys = self.px(edges), self.py(counts)
        zero = float(self.py(0.0))
        points = [f"M{xs[0]:.1f},{zero:.1f}"]
        for i in range(len(counts)):
            points.append(f"L{xs[i]:.1f},{ys[i]:.1f}L{xs[i + 1]:.1f},{ys[i]:.1f}")
        points.append(f"L{xs[-1]:.1f},{zero:.1f}")
        self.svg.path("".join(points), stroke=colour, width=1.6)
        self.legend_items.append(("box", colour, label))

    def steps(self, x: np.ndarray, y: np.ndarray, *, colour: str, label: str) -> None:
        """A step line that holds each ``y`` until the next ``x`` (a survival curve)."""
        if len(x) == 0:
            return
        xs, ys = self.px(x), self.py(y)
        points = [f"M{xs[0]:.1f},{ys[0]:.1f}"]
        for i in range(1, len(xs)):
            points.append(f"H{xs[i]:.1f}V{ys[i]:.1f}")
        self.svg.path("".join(points), stroke=colour, width=1.6)
        self.legend_items.append(("line", colour, label))

    def line(self, x: np.ndarray, y: np.ndarray, *, colour: str, label: str) -> None:
        """A line through the points with a dot at each; a missing value (NaN) breaks the line."""
        xs, ys = self.px(x), self.py(y)
        ok = ~np.isnan(np.asarray(y, dtype=np.float64))
        d, pen = [], "M"
        for i in range(len(xs)):
            if not ok[i]:
                pen = "M"
                continue
            d.append(f"{pen}{xs[i]:.1f},{ys[i]:.1f}")
            pen = "L"
            self.svg.add(f'<circle cx="{xs[i]:.1f}" cy="{ys[i]:.1f}" r="3.5" fill="{colour}"/>')
        if d:
            self.svg.path("".join(d), stroke=colour, width=1.6)
        self.legend_items.append(("line", colour, label))

    def points(self, x: np.ndarray, y: np.ndarray, radius: np.ndarray, *, fill: str, stroke: str, label: str) -> None:
        for cx, cy, r in zip(self.px(x), self.py(y), radius, strict=True):
            self.svg.add(f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="{r:.1f}" fill="{fill}" stroke="{stroke}" stroke-width="0.8"/>')
        self.legend_items.append(("dot", fill, label))

    def legend(self, *, corner: str = "upper right", size: float = FONT, below: float = 0.0) -> None:
        """The legend of what was drawn: inside the frame's upper right corner; or in rows wrapped at the frame's
        width: "above" the frame (right-aligned, in the room :func:`legend_height` gives), or "below" it, from
        ``below`` px beneath its bottom."""
        labels = [label for _, _, label in self.legend_items]
        if corner in ("above", "below"):
            rows = legend_rows(labels, self.width, size)
            y = self.top - legend_height(labels, self.width, size) if corner == "above" else self.bottom + below
            for row in rows:
                span = sum(legend_item_width(labels[i], size) for i in row) - LEGEND_GAP
                x = self.left + self.width - span if corner == "above" else self.left
                for i in row:
                    self._legend_item(x, y, *self.legend_items[i], size)
                    x += legend_item_width(labels[i], size)
                y += size + 6
            return
        x = self.left + self.width - max((text_width(label, size) for label in labels), default=0.0) - 30
        y = self.top + 6
        for item in self.legend_items:
            self._legend_item(x, y, *item, size)
            y += size + 6

    def _legend_item(self, x: float, y: float, shape: str, colour: str, label: str, size: float) -> None:
        if shape == "box":
            self.svg.rect(x, y, 18, size * 0.7, fill="none", stroke=colour, rx=0, width=1.6)
        elif shape == "dot":
            self.svg.add(f'<circle cx="{x + 9:.1f}" cy="{y + size * 0.35:.1f}" r="5" fill="{colour}" stroke="{AXIS}" stroke-width="0.6"/>')
        else:
            self.svg.line(x, y + size * 0.35, x + 18, y + size * 0.35, stroke=colour, width=1.6)
        self.svg.text(x + 24, y + size * 0.75, label, size=size)


LEGEND_GAP = 18  # px between one legend entry and the next in a row


def legend_item_width(label: str, size: float = FONT, gap: float = LEGEND_GAP) -> float:
    """A legend entry's width in a row: swatch, space, text, and the gap to the next entry."""
    return 24 + text_width(label, size) + gap


def legend_rows(labels: Sequence[str], width: float, size: float = FONT, gap: float = LEGEND_GAP) -> list[list[int]]:
    """The legend's entries (indices) in rows no wider than ``width`` (but the last entry's gap)."""
    rows: list[list[int]] = [[]]
    used = 0.0
    for i, label in enumerate(labels):
        item = legend_item_width(label, size, gap)
        if rows[-1] and used + item - gap > width:
            rows.append([])
            used = 0.0
        rows[-1].append(i)
        used += item
    return rows if labels else []


def legend_height(labels: Sequence[str], width: float, size: float = FONT) -> float:
    """The room (px) a legend of ``labels`` in rows takes above or below a frame ``width`` px wide."""
    return len(legend_rows(labels, width, size)) * (size + 6) + 4


def log_ticks(lo: float, hi: float, candidates: Sequence[tuple[float, str]]) -> list[tuple[float, str]]:
    """The ``candidates`` (value, label) that fall within ``lo``..``hi``."""
    return [(v, label) for v, label in candidates if lo <= v <= hi]


def empty(svg: Svg, message: str) -> None:
    svg.text(svg.width / 2, svg.height / 2, message, size=FONT, anchor="middle", fill=MUTED)
