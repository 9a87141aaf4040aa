"""Render a diff (miner/diff.py): terminal text with "what changed" first, and the ``kind: "diff"`` JSON document."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from connectors.report import counted
from miner.diff import HIGHER_IS_BETTER, Diff, metric, worse
from reports.jsonout import SCHEMA_VERSION, _clean
from reports.units import day

LABELS = {
    "tickets": "tickets",
    "lead_time_median_h": "lead time, median",
    "lead_time_p90_h": "lead time, p90",
    "rework_rate": "rework rate",
    "reopen_rate": "reopen rate",
    "pingpong_rate": "ping-pong rate",
    "flow_efficiency": "flow efficiency",
    "wait_share": "wait share",
    "fitness": "fitness",
    "conforming_share": "conforming share",
}
SHARES = {"rework_rate", "reopen_rate", "pingpong_rate", "flow_efficiency", "wait_share", "conforming_share", "share"}


def fmt(name: str, value: Any) -> str:
    """A metric's value as people read it: hours, percents, counts."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "–"
    if name == "tickets":
        return f"{int(value):,}"
    if name in SHARES:
        return f"{value:.1%}"
    if name == "fitness":
        return f"{value:.3f}"
    return _h(float(value))


def _h(hours: float) -> str:
    if abs(hours) < 1:
        return f"{hours * 60:.0f} min"
    if abs(hours) < 100:
        return f"{hours:.1f} h"
    return f"{hours / 24:.1f} d"


def _line(label: str, name: str, r: dict[str, Any]) -> str:
    both = f"{fmt(name, r.get('before'))} → {fmt(name, r.get('after'))}"
    if name == "tickets":
        return f"  {label}: {both}"
    if r.get("significant"):
        q = r.get("p_adjusted")
        return f"  {label}: {r['direction']}, {both} (adjusted p {q:.3g})"
    return f"  {label}: no clear change ({both})"


def significant(d: Diff) -> list[tuple[str, str, dict[str, Any]]]:
    """Every significant change as (label, unit name for :func:`fmt`, compared value), most telling first:
    overall metrics, streams, groups, steps, states, variants."""
    out = []
    m = d.metrics
    for r in m[m["stream"].isna()].to_dict("records"):
        if r["significant"]:
            out.append((LABELS.get(r["name"], r["name"]), r["name"], r))
    for r in m[m["stream"].notna()].to_dict("records"):
        if r["significant"]:
            out.append((f"{LABELS.get(r['name'], r['name'])} [{r['stream']}]", r["name"], r))
    for g in d.groups.to_dict("records") if len(d.groups) else []:
        for key, what in (("time_per_visit_h", "time per visit"), ("downstream_h", "wait and rework after its hand-offs")):
            r = g[key]
            if r["significant"]:
                out.append((f"{g['group']}: {what} (median)", "h", r))
        b = g.get("bounced_back")
        if isinstance(b, dict) and b["significant"]:
            out.append((f"{g['group']}: hand-offs bounced back", "rework_rate", b))
    for r in d.steps.to_dict("records") if len(d.steps) else []:
        if r["significant"]:
            what = "time" if r["measure"] == "time_h" else "wait"
            out.append((f"step {r['step']} ({r['label']}) of {r['stream']}: {what} (median)", "h", r))
    for r in d.states.to_dict("records") if len(d.states) else []:
        if r["significant"]:
            out.append((f"time in {r['state']} states per ticket (mean)", "h", r))
    for r in d.variants.to_dict("records") if len(d.variants) else []:
        if r["significant"]:
            out.append((f"variant {' → '.join(r['variant'][:6])}{' …' if len(r['variant']) > 6 else ''}", "share", r))
    return out


def _changes(d: Diff) -> list[str]:
    """One line per significant change (:func:`significant`)."""
    return [_line(label, name, r) for label, name, r in significant(d)]


def diff_text(d: Diff, *, top: int = 10, tz: str = "UTC") -> str:
    """The terminal report: what changed first, then the moved bottlenecks, then every headline with both values."""
    b, a = d.before, d.after
    lines = [f"Before: {b.label} ({counted(len(b.results.tickets), 'ticket')}{_period(b.period, tz)})",
             f"After:  {a.label} ({counted(len(a.results.tickets), 'ticket')}{_period(a.period, tz)})", ""]
    changes = _changes(d)
    lines.append(f"What changed (significant after Benjamini–Hochberg, alpha {d.alpha:g})")
    lines += changes[: max(top * 3, 10)] if changes else ["  no clear change in any measure"]
    if len(changes) > max(top * 3, 10):
        lines.append(f"  … and {len(changes) - max(top * 3, 10)} more (--json for all)")
    lines += ["", "Moved bottlenecks"]
    lines += [f"  {m['reason']}" for m in d.moved_bottlenecks] or ["  none: no group got faster while what follows it got slower"]
    lines += ["", "Headline, whole log"]
    for name in LABELS:
        r = metric(d, name)
        if r is not None:
            lines.append(_line(LABELS[name], name, r))
    lead = metric(d, "lead_time_median_h")
    if lead is not None:
        open_b, open_a = (s.results.open_tickets["tickets"] for s in (b, a))
        lines.append(f"  open tickets: {open_b:,} → {open_a:,} (counted in lead time as censored at their age)")
    if len(d.groups):
        lines += ["", "Groups: own time per visit, and the wait and rework its hand-offs meet next (medians)"]
        for g in d.groups.to_dict("records")[:top]:
            own, down = g["time_per_visit_h"], g["downstream_h"]
            lines.append(f"  {g['group']}: {_pair(own)}; after its hand-offs {_pair(down)}")
    lines += ["", *(f"Note: {n}" for n in d.notes)]
    return "\n".join(lines).rstrip() + "\n"


def _pair(r: dict[str, Any]) -> str:
    if r.get("before") is None and r.get("after") is None:
        return "–"
    both = f"{fmt('h', r.get('before'))} → {fmt('h', r.get('after'))}"
    return f"{r['direction']} {both}" if r.get("significant") else f"{both} (no clear change)"


def _period(period: tuple[str | None, str | None], tz: str = "UTC") -> str:
    first, last = period
    return f", opened {day(pd.Timestamp(first), tz)} to {day(pd.Timestamp(last), tz)}" if first and last else ""


def trend_text(diffs: list[Diff], *, top: int = 10, tz: str = "UTC") -> str:
    """--by: each period against the one before, oldest first."""
    parts = []
    for d in diffs:
        parts.append(f"=== {d.before.label} → {d.after.label} ===\n" + diff_text(d, top=top, tz=tz))
    return "\n".join(parts)


def _side(side: Any) -> dict[str, Any]:
    r = side.results
    return {"label": side.label, "source": side.source, "tickets": len(r.tickets),
            "delivered": int(r.lead_time_s.get("tickets") or 0), "open": int(r.open_tickets["tickets"]),
            "opened_from": side.period[0], "opened_to": side.period[1], "as_of": r.open_tickets.get("as_of"),
            "flags": list(side.flags)}


METRIC_KEYS = ["name", "stream", "before", "after", "change", "ci_low", "ci_high", "p_value", "p_adjusted", "significant", "direction"]


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [_clean(r) for r in frame.to_dict("records")] if len(frame) else []


def diff_section(d: Diff) -> dict[str, Any]:
    metrics = d.metrics.reindex(columns=[*METRIC_KEYS, "before_ci", "after_ci"])
    groups = []
    for g in d.groups.to_dict("records") if len(d.groups) else []:
        groups.append({k: (None if isinstance(v, float) and np.isnan(v) else v) for k, v in g.items()})
    return _clean({
        "before": _side(d.before),
        "after": _side(d.after),
        "alpha": d.alpha,
        "metrics": _records(metrics.astype(object).where(metrics.notna(), None)),
        "steps": _records(d.steps),
        "states": _records(d.states),
        "variants": _records(d.variants),
        "groups": groups,
        "moved_bottlenecks": d.moved_bottlenecks,
        "notes": d.notes,
    })


def diff_document(diffs: list[Diff]) -> dict[str, Any]:
    """``vsm diff --json``: one comparison, or with --by one per pair of consecutive periods in ``periods``."""
    doc: dict[str, Any] = {"schema_version": SCHEMA_VERSION, "kind": "diff"}
    if len(diffs) == 1:
        doc.update(diff_section(diffs[0]))
    else:
        doc["periods"] = [diff_section(d) for d in diffs]
    return doc


DIFF_TABLES = ("diff_metrics", "diff_steps", "diff_states", "diff_variants", "diff_groups", "diff_moved_bottlenecks")


def diff_tables(diffs: list[Diff]) -> dict[str, pd.DataFrame]:
    """The --csv-dir tables of a diff; with --by, one block of rows per pair of periods (columns before_label, after_label)."""
    out: dict[str, list[pd.DataFrame]] = {name: [] for name in DIFF_TABLES}
    for d in diffs:
        groups = []
        for g in d.groups.to_dict("records") if len(d.groups) else []:
            row = {"group": g["group"], "visits_before": g["visits_before"], "visits_after": g["visits_after"]}
            for key in ("time_per_visit_h", "downstream_h", "bounced_back"):
                v = g.get(key)
                for field in ("before", "after", "change", "p_adjusted", "direction"):
                    row[f"{key}_{field}"] = v.get(field) if isinstance(v, dict) else None
            row["downstream_excess_h_before"] = g.get("downstream_excess_h_before")
            row["downstream_excess_h_after"] = g.get("downstream_excess_h_after")
            groups.append(row)
        variants = d.variants.copy()
        if len(variants):
            variants["variant"] = [" → ".join(v) for v in variants["variant"]]
        moved = pd.DataFrame([{"group": m["group"], "step": (m["step"] or {}).get("label"), "reason": m["reason"]}
                              for m in d.moved_bottlenecks], columns=["group", "step", "reason"])
        frames = {"diff_metrics": d.metrics, "diff_steps": d.steps, "diff_states": d.states, "diff_variants": variants,
                  "diff_groups": pd.DataFrame(groups), "diff_moved_bottlenecks": moved}
        for name, frame in frames.items():
            frame = frame.copy()
            frame.insert(0, "after_label", d.after.label)
            frame.insert(0, "before_label", d.before.label)
            out[name].append(frame)
    return {name: pd.concat(frames, ignore_index=True) for name, frames in out.items()}


# --- HTML (vsm diff -o diff.html): the report's look, one offline file ---------------------------------------


def _signed(name: str, value: Any) -> str:
    """A change as people read it: +1.2 pp for shares, +3.4 h for times, +0.012 for fitness."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "–"
    sign = "+" if value > 0 else "−" if value < 0 else "±"
    if name in SHARES:
        return f"{sign}{abs(value) * 100:.1f} pp"
    if name == "fitness":
        return f"{sign}{abs(value):.3f}"
    if name == "tickets":
        return f"{sign}{abs(int(value)):,}"
    return sign + _h(abs(float(value)))


def _verdict(name: str, r: dict[str, Any]) -> str:
    """CSS class of a compared value: better, worse, or same (no clear change)."""
    if not r.get("significant"):
        return "same"
    if name in ("share", "tickets"):
        return "moved"
    return "worse" if worse(name if name in HIGHER_IS_BETTER else "h", r) else "better"


def _row(label: str, name: str, r: dict[str, Any]) -> dict[str, Any]:
    """One compared value, formatted for the page."""
    r = {k: (None if isinstance(v, float) and np.isnan(v) else v) for k, v in r.items()}
    low, high = r.get("ci_low"), r.get("ci_high")
    q = r.get("p_adjusted")
    return {"label": label, "before": fmt(name, r.get("before")), "after": fmt(name, r.get("after")),
            "change": _signed(name, r.get("change")) if r.get("change") is not None else "–",
            "ci": (f"{_signed(name, low)} to {_signed(name, high)}" if low is not None and high is not None
                   else "none (rank test)" if q is not None else "–"),
            "p": "–" if q is None else ("<0.001" if q < 0.001 else f"{q:.3f}"),
            "verdict": _verdict(name, r), "direction": r.get("direction") or "none"}


def _metric_rows(d: Diff, stream: str | None) -> list[dict[str, Any]]:
    m = d.metrics
    rows = m[m["stream"].isna()] if stream is None else m[m["stream"] == stream]
    return [_row(LABELS.get(r["name"], r["name"]), r["name"], r) for r in rows.to_dict("records")]


def _km_curve(side: Any) -> tuple[np.ndarray, np.ndarray] | None:
    """The Kaplan–Meier survival of one side's lead times (hours), open tickets censored."""
    from scipy import stats

    t = side.results.tickets
    x, e = t["lead_time_s"].to_numpy(dtype=float) / 3600, t["delivered"].to_numpy(dtype=bool)
    if not e.any():
        return None
    sf = stats.ecdf(stats.CensoredData(uncensored=x[e], right=x[~e])).sf
    return np.asarray(sf.quantiles, float), np.asarray(sf.probabilities, float)


def _survival_chart(d: Diff) -> Any:
    """Share of tickets not yet delivered against time since opening, before and after (log time)."""
    from reports.charts import WIDTH, duration_axis
    from reports.plot import Frame, Scale, linear_axis
    from reports.svg import Svg

    svg = Svg(WIDTH, 270, label="Kaplan–Meier: share of tickets not yet delivered, before and after", cls="chart")
    curves = []
    for side, colour in ((d.before, "#6b7280"), (d.after, "#2563eb")):
        curve = _km_curve(side)
        if curve is not None:
            x, y = curve
            keep = x > 0
            curves.append((np.maximum(x[keep], 1 / 60) * 3600, y[keep], colour, side.label))
    seconds = np.concatenate([c[0] for c in curves]) if curves else np.array([60.0, 3600.0])
    scale, ticks = duration_axis(float(seconds.min()), float(seconds.max()))
    _, yticks = linear_axis(0.0, 1.0, 6)  # the axis itself runs to 1.02, above the curves' start
    frame = Frame(svg, 74, 10, WIDTH - 96, 210, scale, Scale(0.0, 1.02))
    frame.hline(0.5)
    frame.hline(0.1)
    for x, y, colour, label in curves:
        frame.steps(x, y, colour=colour, label=label)
    frame.axes(xticks=ticks, yticks=yticks,
               xlabel="time since the ticket was opened (log scale); the median is where a curve crosses 50%, p90 where it crosses 10%",
               ylabel="not yet delivered")
    frame.legend()
    return svg.markup()


def _trend_chart(diffs: list[Diff]) -> Any:
    """--by: the Kaplan–Meier median and p90 of lead time, and the headline rates, per period."""
    from reports.charts import WIDTH
    from reports.plot import FONT, Frame, Scale, linear_axis
    from reports.svg import Svg, esc

    labels = [diffs[0].before.label, *(d.after.label for d in diffs)]

    def series(name: str) -> list[float]:
        first = metric(diffs[0], name)
        values = [first["before"] if first else None] + [(metric(d, name) or {}).get("after") for d in diffs]
        return [np.nan if v is None else float(v) for v in values]

    # A week reads by its first day (the table below gives both); many periods' names stand at 45°.
    names = [str(lab).split("/")[0] for lab in labels]
    slant = len(labels) > 6
    svg = Svg(WIDTH, 310 + (60 if slant else 0), label="Trend per period: lead time and rates", cls="chart")
    x = np.arange(len(labels), dtype=np.float64)
    panels = (("lead time", "hours", 1.0, (("lead_time_median_h", "#2563eb"), ("lead_time_p90_h", "#93c5fd"))),
              ("rates", "%", 100.0, (("rework_rate", "#dc2626"), ("reopen_rate", "#f97316"), ("pingpong_rate", "#a855f7"),
                                     ("flow_efficiency", "#059669"))))
    half = WIDTH / 2
    for p, (title, unit, factor, lines) in enumerate(panels):
        values = {name: np.array(series(name)) * factor for name, _ in lines}
        finite = np.concatenate([v[~np.isnan(v)] for v in values.values()] + [np.zeros(1)])
        y, yticks = linear_axis(0.0, float(finite.max()), 6)
        frame = Frame(svg, p * half + 64, 30, half - 84, 200, Scale(-0.5, len(labels) - 0.5), y)
        for name, colour in lines:
            suffix = " (Kaplan–Meier)" if unit == "hours" else ""
            frame.line(x, values[name], colour=colour, label=LABELS[name] + suffix)
        frame.axes(yticks=yticks, ylabel=unit, title=title)
        for i, name in enumerate(names):
            px = float(frame.px(i))
            if slant:
                y = frame.bottom + 8 + FONT
                svg.add(f'<text x="{px:.1f}" y="{y:.1f}" font-size="{FONT}" text-anchor="end" fill="#1f2937" '
                        f'transform="rotate(-45 {px:.1f} {y:.1f})">{esc(name)}</text>')
            else:
                svg.text(px, frame.bottom + 5 + FONT, name, size=FONT, anchor="middle")
        frame.legend(corner="below", size=FONT - 1, below=(84 if slant else 26))
    return svg.markup()


CHANGE_COLOURS = {"worse": "#dc2626", "better": "#16a34a"}
WIDE_MAP_STEPS = 3  # maps of more steps are drawn one above the other, each at a readable size


def _step_marks(d: Diff, stream: str) -> dict[int, Any]:
    """The steps of ``stream`` whose time or wait changed significantly (the diff's own tests), as marks for the map."""
    from reports.vsmap import StepMark

    rows = d.steps[(d.steps["stream"] == stream) & d.steps["significant"].astype(bool)] if len(d.steps) else pd.DataFrame()
    marks: dict[int, Any] = {}
    for step, frame in rows.groupby("step", sort=True) if len(rows) else []:
        lines, verdicts, wait = [], [], False
        for r in sorted(frame.to_dict("records"), key=lambda r: r["measure"] != "wait_h"):
            what = "wait" if r["measure"] == "wait_h" else "time in step"
            wait = wait or r["measure"] == "wait_h"
            q = r["p_adjusted"]
            lines.append(f"{what} {fmt('h', r['before'])} → {fmt('h', r['after'])}")
            lines.append(f"adjusted p {'<0.001' if q < 0.001 else f'{q:.3f}'}")
            verdicts.append(_verdict("h", r))
        colour = CHANGE_COLOURS["worse" if "worse" in verdicts else "better"]
        title = (f"Step {int(step)} ({frame['label'].iloc[0]}): " + "; ".join(
            f"median {'wait before it' if r['measure'] == 'wait_h' else 'time in it (wait and work)'} "
            f"{fmt('h', r['before'])} → {fmt('h', r['after'])}, {r['direction']}, adjusted p {r['p_adjusted']:.3g}"
            for r in frame.to_dict("records")))
        marks[int(step)] = StepMark(colour, lines, wait=wait, title=title)
    return marks


def _stream_map(side: Any, name: str, marks: dict[int, Any] | None = None, room: int = 0) -> Any:
    """One side's value-stream map of the designed stream ``name``, as the report draws it (None without steps)."""
    from reports import vsmap
    from reports.html import _untimed

    found = side.results
    comparison = found.comparison
    if comparison is None:
        return None
    steps = comparison.steps[comparison.steps["stream"] == name]
    if not len(steps):
        return None
    waited = comparison.bottleneck_steps
    if len(waited):
        # The wait before each step: the median among tickets that waited, and how many did (as in the report).
        waited = waited.loc[waited["stream"] == name, ["step", "tickets_waited", "median_wait_s"]]
        steps = steps.merge(waited.rename(columns={"median_wait_s": "waited_median_s"}), on="step", how="left")
    design = next(s for s in comparison.design.streams if s.name == name)
    mine = found.tickets["designed_stream"].to_numpy() == name
    tickets = found.tickets.loc[mine, ["path", "lead_time_s", "work_s"]]
    lead, work = tickets["lead_time_s"], tickets["work_s"]
    figures = vsmap.StreamFigures(
        name, int(mine.sum()),
        float(lead.median()) if len(lead) else None,
        float(work.median()) if len(work) else None,
        float(work.sum() / lead.sum()) if lead.sum() > 0 and "flow_efficiency" not in comparison.not_measured else None,
    )
    arcs = vsmap.rework_arcs(tickets["path"], [s.stage for s in design.steps])
    return vsmap.draw(steps, arcs, figures, timed=not _untimed(found), marks=marks, mark_room=room)


def _maps(d: Diff) -> list[dict[str, Any]]:
    """Per designed stream: the before and after value-stream maps, the after one marked where a step changed."""
    out = []
    names: list[str] = []
    for side in (d.before, d.after):
        c = side.results.comparison
        if c is not None:
            names += [str(n) for n in c.streams["name"] if str(n) not in names]
    for name in names:
        marks = _step_marks(d, name)
        room = max((len(m.lines) for m in marks.values()), default=0)  # the before map leaves the same room: level ladders
        before, after = _stream_map(d.before, name, room=room), _stream_map(d.after, name, marks, room)
        if before is None and after is None:
            continue
        c = (d.before.results.comparison or d.after.results.comparison)
        n_steps = int((c.steps["stream"] == name).sum())
        out.append({"name": name, "before": before, "after": after, "wide": n_steps > WIDE_MAP_STEPS,
                    "changed": [m.title for _, m in sorted(marks.items())]})
    return out


def _pair_context(d: Diff, *, top: int, detail: bool) -> dict[str, Any]:
    """The page's figures for one comparison; ``detail`` adds the per-stream, step, state, group and variant tables."""
    b, a = d.before, d.after
    changes = [_row(label, name, r) for label, name, r in significant(d)]
    out: dict[str, Any] = {
        "before": _side(b), "after": _side(a), "alpha": d.alpha, "changes": changes,
        "moved": [m["reason"] for m in d.moved_bottlenecks], "notes": d.notes,
        "headline": _metric_rows(d, None),
    }
    lead = [r for r in out["headline"] if r["label"] in (LABELS["lead_time_median_h"], LABELS["lead_time_p90_h"])]
    out["lead"] = lead
    if not detail:
        return out
    m = d.metrics
    streams = sorted(set(m.loc[m["stream"].notna(), "stream"].astype(str)))
    out["streams"] = [{"name": s, "rows": _metric_rows(d, s)} for s in streams]
    out["steps"] = [_row(f"{r['stream']}: step {r['step']} ({r['label']}), {'time' if r['measure'] == 'time_h' else 'wait'} (median)", "h", r)
                    for r in (d.steps.to_dict("records") if len(d.steps) else [])]
    out["states"] = [_row(f"{r['state']} (mean per delivered ticket)", "h", r) for r in (d.states.to_dict("records") if len(d.states) else [])]
    groups = []
    for g in d.groups.to_dict("records") if len(d.groups) else []:
        groups.append({"group": g["group"], "visits": f"{g['visits_before']:,} → {g['visits_after']:,}",
                       "own": _row("own time per visit", "h", g["time_per_visit_h"]),
                       "down": _row("after its hand-offs", "h", g["downstream_h"]),
                       "moved": any(mb["group"] == g["group"] for mb in d.moved_bottlenecks)})
    groups.sort(key=lambda g: (not g["moved"], g["own"]["verdict"] == "same" and g["down"]["verdict"] == "same", g["group"]))
    out["groups"] = groups
    out["variants"] = [{**_row(" → ".join(r["variant"]), "share", r), "kind": r["change_kind"],
                        "tickets": f"{r['before_tickets']:,} → {r['after_tickets']:,}"}
                       for r in (d.variants.to_dict("records") if len(d.variants) else [])]
    out["open"] = (int(b.results.open_tickets["tickets"]), int(a.results.open_tickets["tickets"]))
    out["survival"] = _survival_chart(d)
    out["maps"] = _maps(d)
    out["top"] = top
    return out


def diff_html(diffs: list[Diff], *, title: str | None = None, top: int = 10, tz: str = "UTC") -> str:
    """``vsm diff -o``: one offline HTML file in the report's look (its CSS), "what changed" first.

    With --by, a trend chart of every period, then what changed between each
    pair of consecutive periods, and the full tables for the latest pair.
    """
    from datetime import UTC, datetime

    from markupsafe import Markup

    from reports.html import _static

    last = diffs[-1]
    context = {
        "title": title or (f"What changed: {last.before.label} → {last.after.label}" if len(diffs) == 1
                           else f"What changed, period by period: {diffs[0].before.label} to {last.after.label}"),
        "generated_at": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "pairs": [_pair_context(d, top=top, detail=d is last) for d in diffs],
        "trend": _trend_chart(diffs) if len(diffs) > 1 else None,
        "periods": _periods(diffs) if len(diffs) > 1 else [],
        "tz": tz,
        "css": Markup(_static("report.css")),
        # No script at all: the page needs none.
        "csp": "default-src 'none'; img-src data:; style-src 'unsafe-inline'; script-src 'none'; base-uri 'none'; form-action 'none'",
    }
    return _diff_template().render(**context)


def _periods(diffs: list[Diff]) -> list[dict[str, Any]]:
    """--by: one row per period with its tickets and headline figures."""
    sides = [diffs[0].before, *(d.after for d in diffs)]
    rows = []
    for i, side in enumerate(sides):
        d, key = (diffs[0], "before") if i == 0 else (diffs[i - 1], "after")
        values = {name: fmt(name, (metric(d, name) or {}).get(key)) for name in LABELS}
        rows.append({"label": side.label, "open": int(side.results.open_tickets["tickets"]), **values})
    return rows


def _diff_template() -> Any:
    from jinja2 import Environment, PackageLoader, select_autoescape

    from reports.units import human, pct

    env = Environment(loader=PackageLoader("reports", "templates"), autoescape=select_autoescape(default=True),
                      trim_blocks=True, lstrip_blocks=True)
    env.filters["human"] = human
    env.filters["pct"] = pct
    env.filters["day"] = lambda moment, tz: day(pd.Timestamp(moment), tz)
    env.filters["num"] = lambda v: "–" if v is None or (isinstance(v, float) and np.isnan(v)) else f"{int(v):,}"
    return env.get_template("diff.html.j2")
