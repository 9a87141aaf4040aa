"""The activity-level process map: the directly-follows graph, laid out
automatically, with edges labelled by frequency and median wait.

As in Disco, two sliders filter the map in the offline HTML: activities (the
most frequent first) and paths (the most frequent first; every shown activity
keeps its strongest way in and out). Each activity level is laid out on its
own, so that a map of a few activities is not a sparse copy of the full one;
the paths slider only hides edges. Edge labels are placed where they cover no
node and no other label; one that finds no free place is left out (its figures
stay in the edge's tooltip), so labels never collide.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from markupsafe import Markup

from connectors.report import counted
from reports.layout import layered
from reports.svg import INK, MUTED, Svg, esc, human, short

MAX_EDGES = 40  # edges shown at the default path level
COVERAGE = 0.95  # ... or fewer, if they already cover this share of transitions
MAX_MAP_EDGES = 300  # edges drawn at all (the rest are in the JSON and CSV)
LEVELS = (1.0, 0.8, 0.6, 0.4, 0.25, 0.1)  # shares of activities, the most frequent first
FULL_MAP = 20  # up to this many activities the map opens with all of them
NODE_H = 40
NAME_CHARS = 40
Y_GAP = 96
X_PAD = 56
START, END = "▶ start", "■ end"


def select_edges(edges: pd.DataFrame, start: dict[str, int], end: dict[str, int]) -> tuple[pd.DataFrame, int]:
    """Keep the most frequent edges that cover most transitions (at most MAX_EDGES): the default view."""
    total = int(edges["count"].sum())
    ordered = edges.sort_values(["count", "source", "target"], ascending=[False, True, True])
    cum = ordered["count"].cumsum()
    keep = ordered[(cum.shift(fill_value=0) < COVERAGE * max(total, 1))].head(MAX_EDGES)
    nodes = set(keep["source"]) | set(keep["target"])
    extra = [(START, a, n) for a, n in start.items() if a in nodes] + [(a, END, n) for a, n in end.items() if a in nodes]
    frame = pd.concat([keep[["source", "target", "count", "median_wait_s"]],
                       pd.DataFrame(extra, columns=["source", "target", "count"]).assign(median_wait_s=None)], ignore_index=True)
    return frame, len(edges) - len(keep)


def activity_levels(n: int) -> list[int]:
    """How many activities each step of the activity slider shows, fewest first (distinct, at least 2)."""
    return sorted({min(n, max(2, math.ceil(n * share))) for share in LEVELS}) if n else [0]


def draw(edges: pd.DataFrame, activity_counts: dict[str, int], start: dict[str, int], end: dict[str, int]) -> tuple[Markup, int]:
    """Return the process map (one SVG per activity level, with the sliders' data) and how many edges the default view hides."""
    _, hidden = select_edges(edges, start, end)
    ranked = sorted(activity_counts, key=lambda a: (-activity_counts[a], a))
    levels = activity_levels(len(ranked))
    default = max((k for k in levels if k <= FULL_MAP), default=levels[0]) if len(ranked) > FULL_MAP else levels[-1]
    default_share = _default_path_share(edges)
    parts = []
    for k in levels:
        shown = set(ranked[:k])
        mine = edges[edges["source"].isin(shown) & edges["target"].isin(shown)]
        svg, n_edges = _draw_level(mine, {a: activity_counts[a] for a in ranked[:k]},
                                   {a: n for a, n in start.items() if a in shown}, {a: n for a, n in end.items() if a in shown})
        off = "" if k == default else " pm-off"
        parts.append(f'<div class="pm-level{off}" data-activities="{k}" data-edges="{n_edges}">{svg}</div>')
    controls = (
        '<div class="pm-controls">'
        f'<label>Activities <input type="range" id="pm-acts" min="0" max="{len(levels) - 1}" step="1" value="{levels.index(default)}" '
        f'data-levels="{",".join(str(k) for k in levels)}"> <output id="pm-acts-out">{default} of {len(ranked)}</output></label>'
        f'<label>Paths <input type="range" id="pm-paths" min="0" max="100" step="1" value="{round(default_share * 100)}"> '
        f'<output id="pm-paths-out">{round(default_share * 100)}%</output></label>'
        "</div>"
    )
    return Markup(controls + '<div class="pm-levels">' + "".join(parts) + "</div>"), hidden


def _default_path_share(edges: pd.DataFrame) -> float:
    """The paths slider's opening position: the share of edges the default view keeps."""
    if not len(edges):
        return 1.0
    total = int(edges["count"].sum())
    cum = edges["count"].sort_values(ascending=False).cumsum()
    kept = min(int((cum.shift(fill_value=0) < COVERAGE * max(total, 1)).sum()), MAX_EDGES)
    return kept / len(edges)


def _ranks(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Per edge: its place among the edges by frequency (0 the most frequent, 1 the rarest), and whether it is kept at any
    paths setting: the strongest way into and out of each activity, so that no shown activity is cut off."""
    n = len(frame)
    order = np.lexsort((frame["target"].astype(str).to_numpy(), frame["source"].astype(str).to_numpy(), -frame["count"].to_numpy()))
    q = np.empty(n)
    q[order] = np.arange(n) / max(n, 1)
    keep = np.zeros(n, dtype=bool)
    for col in ("source", "target"):
        best = frame.assign(_i=np.arange(n)).sort_values(["count"], ascending=False, kind="stable").drop_duplicates(col)["_i"]
        keep[best.to_numpy()] = True
    return q, keep


def _draw_level(edges: pd.DataFrame, activity_counts: dict[str, int], start: dict[str, int], end: dict[str, int]) -> tuple[str, int]:
    edges = edges.sort_values(["count", "source", "target"], ascending=[False, True, True]).head(MAX_MAP_EDGES)
    extra = [(START, a, n) for a, n in start.items()] + [(a, END, n) for a, n in end.items()]
    frame = pd.concat([edges[["source", "target", "count", "median_wait_s"]],
                       pd.DataFrame(extra, columns=["source", "target", "count"]).assign(median_wait_s=None)], ignore_index=True)
    names = list(dict.fromkeys([START, *activity_counts, *frame["source"], *frame["target"], END]))
    if len(names) <= 2:
        return Svg(300, 60, label="Process map (empty)").markup(), 0
    index = {n: i for i, n in enumerate(names)}
    pairs = [(index[s], index[t]) for s, t in zip(frame["source"], frame["target"], strict=True)]
    placed = layered(len(names), pairs, [float(c) for c in frame["count"]])
    widths = {n: 30 + 6.6 * len(short(n, NAME_CHARS)) for n in names}
    widths = {n: max(w, 90) for n, w in widths.items()}
    x_gap = max(widths.values()) + X_PAD
    cx = {n: 40 + x_gap / 2 + placed.slot[index[n]] * x_gap for n in names}
    ys = {n: 30 + placed.layer[index[n]] * Y_GAP for n in names}
    width = max(cx[n] + widths[n] / 2 for n in names) + 160
    height = max(ys.values()) + NODE_H + 40
    svg = Svg(width, height, label="Activity-level process map")
    top = max(int(frame["count"].max()), 1)
    q, keep = _ranks(frame)
    # Nodes are obstacles for labels; labels are placed most frequent edge first.
    taken: list[tuple[float, float, float, float]] = [(cx[n] - widths[n] / 2 - 2, ys[n] - 2, widths[n] + 4, NODE_H + 4) for n in names]
    labels: list[tuple[int, str]] = []
    right_most = [0.0]
    for i, (s, t, count, wait) in enumerate(frame.itertuples(index=False, name=None)):
        w = 0.8 + 5.0 * math.sqrt(count / top)
        has_wait = wait is not None and not pd.isna(wait)
        label = f"{int(count):,}" + (f" · {human(wait)}" if has_wait else "")
        tip = f"{s} → {t}: {int(count):,} {'time' if int(count) == 1 else 'times'}" + (f", median wait {human(wait)}" if has_wait else "")
        d, spots = _route(s, t, cx, ys, widths, index, x_gap)
        right_most[0] = max(right_most[0], *(float(v.split(",")[0]) for v in d.replace("M", " ").replace("C", " ").split()))
        colour = "#9ca3af" if s == START or t == END else "#4b5563"
        attrs = f'class="pm-edge" data-q="{q[i]:.4f}" data-keep="{int(keep[i])}"'
        svg.add(f'<g {attrs}><path d="{d}" stroke="{colour}" stroke-width="{w:.2f}" fill="none" marker-end="url(#arrow)">'
                f"<title>{esc(tip)}</title></path></g>")
        wide = 5.8 * len(label) + 6
        spot = _free_spot(taken, spots, wide)
        if spot is None:
            continue  # no free place: the label would cover another; the tooltip keeps the figures
        left, base = spot
        labels.append((i, f'<g {attrs.replace("pm-edge", "pm-label")}><rect x="{left:.1f}" y="{base - 10:.1f}" width="{wide:.1f}" height="13" rx="3" '
                          f'fill="#ffffff" fill-opacity="0.92"/><text x="{left + wide / 2:.1f}" y="{base:.1f}" font-size="10" '
                          f'text-anchor="middle" fill="{INK}">{esc(label)}</text></g>'))
    for _, label_svg in labels:
        svg.add(label_svg)
    # Backward edges bulge right, and their labels with them: the map is as wide as its widest label or curve.
    svg.width = max(svg.width, max((b[0] + b[2] for b in taken), default=0) + 16, right_most[0] + 16)
    biggest = max(max(activity_counts.values(), default=1), 1)
    for n in names:
        x, y = cx[n] - widths[n] / 2, ys[n]
        if n in (START, END):
            svg.rect(x, y + 6, widths[n], NODE_H - 12, fill="#f3f4f6", stroke=MUTED, rx=14, cls="pm-node")
            svg.text(cx[n], y + NODE_H / 2 + 4, n, size=11, anchor="middle", fill=MUTED)
            continue
        count = activity_counts.get(n, 0)
        shade = 0.12 + 0.6 * math.sqrt(count / biggest)
        svg.rect(x, y, widths[n], NODE_H, fill=f"rgba(37,99,235,{shade:.2f})", stroke="#1e3a8a", cls="pm-node")
        svg.text(cx[n], y + 17, short(n, NAME_CHARS), size=11, anchor="middle", weight="bold", fill="#0b1220", title=n)
        svg.text(cx[n], y + 32, counted(count, 'event'), size=10, anchor="middle", fill="#0b1220")
    return svg.markup(), len(edges)


def _route(s, t, cx, ys, widths, index, x_gap) -> tuple[str, list[tuple[float, float]]]:  # type: ignore[no-untyped-def]
    """The edge's path, and the places along it where its label may go (the middle first)."""
    if s == t:
        x = cx[s] + widths[s] / 2
        y = ys[s] + NODE_H / 2
        d = f"M{x:.1f},{y - 8:.1f} C{x + 34:.1f},{y - 24:.1f} {x + 34:.1f},{y + 24:.1f} {x + 2:.1f},{y + 8:.1f}"
        return d, [(x + 30 + 30, y + 4), (x + 60, y - 12), (x + 60, y + 20)]
    if ys[t] > ys[s]:
        x1, y1 = cx[s], ys[s] + NODE_H
        x2, y2 = cx[t], ys[t]
        if ys[t] - ys[s] > Y_GAP * 1.5 and abs(x1 - x2) < x_gap / 2:
            # Skips a layer straight down: bow out so it does not run through the nodes between.
            bow = x1 + (0.55 if (index[s] + index[t]) % 2 else -0.55) * x_gap
            d = f"M{x1:.1f},{y1:.1f} C{bow:.1f},{y1 + Y_GAP * 0.6:.1f} {bow:.1f},{y2 - Y_GAP * 0.6:.1f} {x2:.1f},{y2 - 2:.1f}"
            pts = [_bezier((x1, y1), (bow, y1 + Y_GAP * 0.6), (bow, y2 - Y_GAP * 0.6), (x2, y2), u) for u in (0.5, 0.4, 0.6, 0.3, 0.7, 0.2, 0.8)]
        else:
            mid = (y1 + y2) / 2
            d = f"M{x1:.1f},{y1:.1f} C{x1:.1f},{mid:.1f} {x2:.1f},{mid:.1f} {x2:.1f},{y2 - 2:.1f}"
            pts = [_bezier((x1, y1), (x1, mid), (x2, mid), (x2, y2), u) for u in (0.5, 0.4, 0.6, 0.3, 0.7, 0.25, 0.75)]
        return d, [(x, y + 4) for x, y in pts]
    # Backwards: leave at the right of the source, arrive at the right of the target.
    x1, y1 = cx[s] + widths[s] / 2, ys[s] + NODE_H / 2
    x2, y2 = cx[t] + widths[t] / 2, ys[t] + NODE_H / 2
    bulge = 50 + 0.15 * abs(y1 - y2)
    right = max(x1, x2) + bulge
    d = f"M{x1:.1f},{y1:.1f} C{right:.1f},{y1:.1f} {right:.1f},{y2:.1f} {x2 + 2:.1f},{y2:.1f}"
    pts = [_bezier((x1, y1), (right, y1), (right, y2), (x2, y2), u) for u in (0.5, 0.4, 0.6, 0.3, 0.7)]
    return d, [(x + 4, y + 4) for x, y in pts]


def _bezier(p0, p1, p2, p3, u: float) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    a, b, c, d = (1 - u) ** 3, 3 * (1 - u) ** 2 * u, 3 * (1 - u) * u ** 2, u ** 3
    return (a * p0[0] + b * p1[0] + c * p2[0] + d * p3[0], a * p0[1] + b * p1[1] + c * p2[1] + d * p3[1])


def _free_spot(taken: list[tuple[float, float, float, float]], spots: list[tuple[float, float]], wide: float) -> tuple[float, float] | None:
    """The first place along the edge (centred there, or nudged a row up or down) where the label card covers nothing placed."""
    for x, base in spots:
        for shift in (0, -14, 14):
            left, b = max(x - wide / 2, 2.0), base + shift
            box = (left, b - 11, wide, 15)
            if not any(box[0] < r[0] + r[2] and r[0] < box[0] + box[2] and box[1] < r[1] + r[3] and r[1] < box[1] + box[3] for r in taken):
                taken.append(box)
                return left, b
    return None
