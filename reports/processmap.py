"""The activity-level process map: the directly-follows graph, laid out
automatically, with edges labelled by frequency and median wait."""

from __future__ import annotations

import math

import pandas as pd
from markupsafe import Markup

from reports.layout import layered
from reports.svg import INK, MUTED, Svg, esc, human, short

MAX_EDGES = 40
COVERAGE = 0.95
NODE_H = 40
NODE_W = 210
X_GAP = 250
Y_GAP = 92
START, END = "▶ start", "■ end"


def select_edges(edges: pd.DataFrame, start: dict[str, int], end: dict[str, int]) -> tuple[pd.DataFrame, int]:
    """Keep the most frequent edges that cover most transitions (at most MAX_EDGES)."""
    total = int(edges["count"].sum())
    ordered = edges.sort_values(["count", "source", "target"], ascending=[False, True, True])
    cum = ordered["count"].cumsum()
    keep = ordered[(cum.shift(fill_value=0) < COVERAGE * max(total, 1))].head(MAX_EDGES)
    nodes = set(keep["source"]) | set(keep["target"])
    extra = [(START, a, n) for a, n in start.items() if a in nodes] + [(a, END, n) for a, n in end.items() if a in nodes]
    frame = pd.concat([keep[["source", "target", "count", "median_wait_s"]],
                       pd.DataFrame(extra, columns=["source", "target", "count"]).assign(median_wait_s=None)], ignore_index=True)
    return frame, len(edges) - len(keep)


def draw(edges: pd.DataFrame, activity_counts: dict[str, int], start: dict[str, int], end: dict[str, int]) -> tuple[Markup, int]:
    """Return the process map as inline SVG (top to bottom), and how many rare edges were left out."""
    frame, hidden = select_edges(edges, start, end)
    names = list(dict.fromkeys([START, *frame["source"], *frame["target"], END]))
    if len(names) <= 2:
        return Svg(300, 60, label="Process map (empty)").markup(), hidden
    index = {n: i for i, n in enumerate(names)}
    pairs = [(index[s], index[t]) for s, t in zip(frame["source"], frame["target"], strict=True)]
    placed = layered(len(names), pairs, [float(c) for c in frame["count"]])
    widths = {n: min(NODE_W, 30 + 7.0 * len(short(n, 28))) for n in names}
    cx = {n: 40 + NODE_W / 2 + placed.slot[index[n]] * X_GAP for n in names}
    ys = {n: 30 + placed.layer[index[n]] * Y_GAP for n in names}
    width = max(cx[n] + widths[n] / 2 for n in names) + 140
    height = max(ys.values()) + NODE_H + 40
    svg = Svg(width, height, label="Activity-level process map")
    top = max(int(frame["count"].max()), 1)

    labels: list[str] = []
    placed: list[tuple[float, float, float]] = []  # the label cards so far: left, baseline, width
    for s, t, count, wait in frame.itertuples(index=False, name=None):
        w = 0.8 + 5.0 * math.sqrt(count / top)
        has_wait = wait is not None and not pd.isna(wait)
        label = f"{int(count):,}" + (f" · {human(wait)}" if has_wait else "")
        tip = f"{s} → {t}: {int(count):,} times" + (f", median wait {human(wait)}" if has_wait else "")
        if s == t:
            x = cx[s] + widths[s] / 2
            y = ys[s] + NODE_H / 2
            d = f"M{x:.1f},{y - 8:.1f} C{x + 34:.1f},{y - 24:.1f} {x + 34:.1f},{y + 24:.1f} {x + 2:.1f},{y + 8:.1f}"
            lx, ly, anchor = x + 30, y + 4, "start"
        elif ys[t] > ys[s]:
            x1, y1 = cx[s], ys[s] + NODE_H
            x2, y2 = cx[t], ys[t]
            mid = (y1 + y2) / 2
            if ys[t] - ys[s] > Y_GAP * 1.5 and abs(x1 - x2) < X_GAP / 2:
                # Skips a layer straight down: bow out so it does not run through the nodes between.
                bow = x1 + (0.75 if (index[s] + index[t]) % 2 else -0.75) * X_GAP
                d = f"M{x1:.1f},{y1:.1f} C{bow:.1f},{y1 + Y_GAP * 0.6:.1f} {bow:.1f},{y2 - Y_GAP * 0.6:.1f} {x2:.1f},{y2 - 2:.1f}"
                lx, ly, anchor = (x1 + 3 * bow) / 4, mid + 3, "middle"
            else:
                d = f"M{x1:.1f},{y1:.1f} C{x1:.1f},{mid:.1f} {x2:.1f},{mid:.1f} {x2:.1f},{y2 - 2:.1f}"
                lx, ly, anchor = (x1 + x2) / 2, mid + 3, "middle"
        else:
            # Backwards: leave at the right of the source, arrive at the right of the target.
            x1, y1 = cx[s] + widths[s] / 2, ys[s] + NODE_H / 2
            x2, y2 = cx[t] + widths[t] / 2, ys[t] + NODE_H / 2
            bulge = 50 + 0.15 * abs(y1 - y2)
            right = max(x1, x2) + bulge
            d = f"M{x1:.1f},{y1:.1f} C{right:.1f},{y1:.1f} {right:.1f},{y2:.1f} {x2 + 2:.1f},{y2:.1f}"
            lx, ly, anchor = right - bulge * 0.25, (y1 + y2) / 2, "start"
        colour = "#9ca3af" if s == START or t == END else "#4b5563"
        svg.path(d, stroke=colour, width=w, marker=True, title=tip)
        # On a white card, over every edge: a label stays readable where edges cross it.
        wide = 5.8 * len(label) + 6
        if anchor == "middle":
            lx = max(lx, wide / 2 + 2)  # an edge bowed out to the left keeps its label inside the map
        left = lx - wide / 2 if anchor == "middle" else lx - 3
        ly = _free_row(placed, left, ly, wide)
        labels.append(
            f'<rect x="{left:.1f}" y="{ly - 10:.1f}" width="{wide:.1f}" height="13" rx="3" fill="#ffffff" fill-opacity="0.9"/>'
            f'<text x="{lx:.1f}" y="{ly:.1f}" font-size="10" text-anchor="{anchor}" fill="{INK}">{esc(label)}</text>'
        )
    for label_svg in labels:
        svg.add(label_svg)
    biggest = max(max(activity_counts.values(), default=1), 1)
    for n in names:
        x, y = cx[n] - widths[n] / 2, ys[n]
        if n in (START, END):
            svg.rect(x, y + 6, widths[n], NODE_H - 12, fill="#f3f4f6", stroke=MUTED, rx=14)
            svg.text(cx[n], y + NODE_H / 2 + 4, n, size=11, anchor="middle", fill=MUTED)
            continue
        count = activity_counts.get(n, 0)
        shade = 0.12 + 0.6 * math.sqrt(count / biggest)
        svg.rect(x, y, widths[n], NODE_H, fill=f"rgba(37,99,235,{shade:.2f})", stroke="#1e3a8a")
        svg.text(cx[n], y + 17, short(n, 28), size=11.5, anchor="middle", weight="bold", fill="#0b1220", title=n)
        svg.text(cx[n], y + 32, f"{count:,} events", size=10, anchor="middle", fill="#0b1220")
    return svg.markup(), hidden


def _free_row(placed: list[tuple[float, float, float]], left: float, baseline: float, wide: float) -> float:
    """A baseline near ``baseline`` where a label card does not cover an earlier one; the card is then placed."""
    for shift in (0, 14, -14, 28, -28, 42, -42):
        y = baseline + shift
        if not any(left < x + w and x < left + wide and abs(y - b) < 13 for x, b, w in placed):
            break
    else:
        y = baseline  # crowded all around: keep the natural place
    placed.append((left, y, wide))
    return y
