"""The value-stream map: designed steps left to right, the wait before each, a
ladder of waiting against working time underneath, and rework arcs back."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
from markupsafe import Markup

from miner.valuechain import LABELS
from reports.svg import INK, MUTED, STAGE_COLOURS, WAIT, WORK, Svg, esc, human, short
from reports.units import pct

BOX_W = 180
BOX_H = 144
GAP = 74
UNTIMED = "this export records no work, only when tickets were opened and resolved: the wait before a step is unknown"


@dataclass
class StepMark:
    """A change to show on one step of the map: an outline in ``colour`` and ``lines`` of text under the box.

    ``wait`` also rings the wait triangle before the step (its wait changed).
    """

    colour: str
    lines: list[str]
    wait: bool = False
    title: str = ""


@dataclass
class StreamFigures:
    name: str
    tickets: int
    lead_median_s: float | None
    work_median_s: float | None
    flow_efficiency: float | None


def rework_arcs(paths: pd.Series, stages: list[str]) -> list[tuple[int, int, int]]:
    """Return (from step, to step, tickets) for moves back to an earlier designed step.

    ``paths`` holds each ticket's value-chain path (labels joined by ' → ').
    """
    by_label = {v: k for k, v in LABELS.items()}
    rank = {s: i for i, s in enumerate(stages)}
    counts: dict[tuple[int, int], int] = {}
    for path, n in paths.value_counts().items():
        seq = [by_label.get(p) for p in str(path).split(" → ") if p]
        moves = set()
        for a, b in zip(seq, seq[1:], strict=False):
            if a in rank and b in rank and rank[b] < rank[a]:
                moves.add((rank[a], rank[b]))
        for move in moves:
            counts[move] = counts.get(move, 0) + int(n)
    return sorted(((a, b, n) for (a, b), n in counts.items()), key=lambda t: -t[2])


def draw(steps: pd.DataFrame, arcs: list[tuple[int, int, int]], figures: StreamFigures, *, timed: bool = True,
         marks: dict[int, StepMark] | None = None, mark_room: int = 0) -> Markup:
    """Return the value-stream map of one stream as inline SVG.

    ``timed`` False: the export records no work (a list export), so the waits, work times and
    targets met are n/a, not 0 s and 0%. ``marks``: changes to show, by step number (the
    ``step`` column; vsm diff marks the steps whose time or wait changed). ``mark_room``: lines
    of room under the boxes at least, so that two maps drawn side by side keep their ladders level.
    """
    n = len(steps)
    marks = marks or {}
    shown = arcs[:6]
    top = 30 + (34 + 14 * len(shown) if shown else 0)  # room for rework arcs above the boxes
    below = 15 * max([mark_room, *(len(m.lines) for m in marks.values())])  # room for the marks' text under the boxes
    ladder = top + BOX_H + 58 + below
    width = 24 + n * (BOX_W + GAP) + 290
    height = ladder + 96
    svg = Svg(width, height, label=f"Value-stream map of {figures.name}")
    x0 = 24 + GAP
    xs = [x0 + i * (BOX_W + GAP) for i in range(n)]
    max_arc = max((t for _, _, t in arcs), default=1)

    # Rework arcs: from a later step back to an earlier one, above the boxes.
    for k, (a, b, tickets) in enumerate(shown):
        xa, xb = xs[a] + BOX_W * 0.62, xs[b] + BOX_W * 0.38
        lift = 26 + 14 * k
        y = top - 4
        d = f"M{xa:.1f},{y} C{xa:.1f},{y - lift * 2:.1f} {xb:.1f},{y - lift * 2:.1f} {xb:.1f},{y}"
        svg.path(d, stroke=WAIT, width=1.2 + 3.5 * tickets / max_arc, marker=True, title=f"{tickets:,} tickets of this stream whose value-chain path goes back from a later designed step to this one, "
                 "each ticket counted once per arc (the Rework section counts every backflow, in all streams)")
        svg.text((xa + xb) / 2, y - lift * 1.5 - 4, f"↺ {tickets:,} {'ticket' if tickets == 1 else 'tickets'} went back", size=11, anchor="middle", fill=WAIT)

    prev_x = 24
    for i, row in enumerate(steps.itertuples(index=False)):
        x = xs[i]
        colour = STAGE_COLOURS.get(row.stage, INK)
        # The wait before the step: a triangle in the gap, as in classic value-stream maps.
        cx = (prev_x + x) / 2 if i else x - GAP / 2
        svg.add(f'<polygon points="{cx - 13:.1f},{top + 78} {cx + 13:.1f},{top + 78} {cx:.1f},{top + 55}" fill="#fde68a" stroke="#b45309"/>')
        svg.text(cx, top + 73, "W", size=10, anchor="middle", weight="bold", fill="#92400e")
        waited = getattr(row, "tickets_waited", None)
        if not timed:
            svg.text(cx, top + 96, "n/a", size=11, anchor="middle", fill=MUTED, title=UNTIMED)
        elif waited is None:
            svg.text(cx, top + 96, human(row.wait_median_s), size=11, anchor="middle", fill=WAIT, weight="bold", title="median wait before this step")
        elif waited != waited or not waited or not row.tickets:
            svg.text(cx, top + 96, "no wait", size=11, anchor="middle", fill=MUTED, title="no ticket waited before this step")
        else:
            tip = f"median wait among the {int(waited):,} of {int(row.tickets):,} tickets that waited before this step"
            svg.text(cx, top + 96, human(row.waited_median_s), size=11, anchor="middle", fill=WAIT, weight="bold", title=tip)
            svg.text(cx, top + 110, f"{pct(waited / row.tickets)} wait", size=10, anchor="middle", fill=MUTED, title=tip)
        svg.line(cx + 16, top + BOX_H / 2 - 10, x - 2, top + BOX_H / 2 - 10, stroke=MUTED, marker=True)
        dash = "5,4" if row.optional else None
        svg.rect(x, top, BOX_W, BOX_H, fill="#ffffff", stroke=colour, width=1.6)
        if dash:
            svg.add(f'<rect x="{x:.1f}" y="{top}" width="{BOX_W}" height="{BOX_H}" rx="4" fill="none" stroke="#ffffff" stroke-width="1.8" stroke-dasharray="{dash}"/>')
        svg.rect(x, top, BOX_W, 24, fill=colour, stroke=colour)
        # About 25 characters of 12 px bold fit the box; the suffix counts, so that neighbouring titles never meet.
        suffix = " (optional)" if row.optional else ""
        svg.text(x + BOX_W / 2, top + 16, short(str(row.label), 25 - len(suffix)) + suffix, size=12, anchor="middle", weight="bold",
                 fill="#ffffff", title=str(row.label))
        practices = ", ".join(row.practices) if len(row.practices) else "practices not set"
        svg.text(x + 8, top + 39, short(practices, 32), size=10, fill=MUTED, title=practices)
        lines = [
            f"{int(row.tickets):,} tickets ({pct(row.reach_share)})",
            f"work: median {human(row.work_median_s)}" if timed else "work: n/a",
            f"%C&A: {pct(row.complete_accurate)}",
        ]
        if row.target_s and row.target_s == row.target_s:
            lines.append(f"target {human(row.target_s)} incl. wait")
            lines.append(f"{pct(row.over_target_share)} of tickets over it" if timed else "over it: n/a")
        for k, line in enumerate(lines):
            svg.text(x + 8, top + 58 + 17 * k, line, size=12)
        mark = marks.get(int(getattr(row, "step", i + 1)))
        if mark is not None:
            _mark(svg, mark, x, cx, top, int(getattr(row, "step", i + 1)))
        prev_x = x + BOX_W

    # The ladder: waiting on the upper level between boxes, working on the lower one under them.
    up, down = ladder, ladder + 30
    points = [f"M24,{up}"]
    for i, row in enumerate(steps.itertuples(index=False)):
        x = xs[i]
        points.append(f"L{x:.1f},{up} L{x:.1f},{down} L{x + BOX_W:.1f},{down} L{x + BOX_W:.1f},{up}")
        svg.text(x + BOX_W / 2, down + 16, human(row.work_median_s) if timed else "n/a", size=11, anchor="middle",
                 fill=WORK if timed else MUTED)
    svg.path(" ".join(points), stroke=INK, width=1.4)
    svg.text(12, up - 6, "wait", size=10, fill=WAIT)
    svg.text(12, down + 12, "work", size=10, fill=WORK)

    # Totals.
    tx = xs[-1] + BOX_W + 30 if n else 40
    svg.rect(tx, ladder - 8, 246, 74, fill="#f9fafb", stroke=MUTED)
    svg.text(tx + 10, ladder + 10, f"lead time: median {human(figures.lead_median_s)}", size=12, weight="bold")
    svg.text(tx + 10, ladder + 30, f"work: median {human(figures.work_median_s)}" if timed else "work: n/a", size=12, fill=WORK)
    svg.text(tx + 10, ladder + 50, f"flow efficiency: {pct(figures.flow_efficiency) if figures.flow_efficiency is not None else 'n/a'}", size=12)
    return svg.markup()


def _mark(svg: Svg, mark: StepMark, x: float, cx: float, top: float, step: int) -> None:
    """Outline a changed step's box (and ring its wait triangle when the wait changed), its figures under the box."""
    tip = f' aria-label="{esc(mark.title)}"' if mark.title else ""
    parts = [f'<g class="vsm-change" data-step="{step}"{tip}>']
    if mark.title:
        parts.append(f"<title>{esc(mark.title)}</title>")
    parts.append(f'<rect x="{x - 5:.1f}" y="{top - 5}" width="{BOX_W + 10}" height="{BOX_H + 10}" rx="7" fill="none" '
                 f'stroke="{mark.colour}" stroke-width="3"/>')
    if mark.wait:
        parts.append(f'<circle cx="{cx:.1f}" cy="{top + 68}" r="17" fill="none" stroke="{mark.colour}" stroke-width="2.5"/>')
    for k, line in enumerate(mark.lines):
        parts.append(f'<text x="{x + BOX_W / 2:.1f}" y="{top + BOX_H + 20 + 15 * k}" font-size="11" text-anchor="middle" '
                     f'font-weight="bold" fill="{mark.colour}">{esc(line)}</text>')
    parts.append("</g>")
    svg.add("".join(parts))
