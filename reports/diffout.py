"""Render a diff (miner/diff.py): terminal text with "what changed" first, and the ``kind: "diff"`` JSON document."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from miner.diff import Diff, metric
from reports.jsonout import SCHEMA_VERSION, _clean

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
SHARES = {"rework_rate", "reopen_rate", "pingpong_rate", "flow_efficiency", "wait_share", "conforming_share"}


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


def _changes(d: Diff) -> list[str]:
    """One line per significant change, most telling first: overall metrics, streams, groups, steps, states, variants."""
    out = []
    m = d.metrics
    for r in m[m["stream"].isna()].to_dict("records"):
        if r["significant"]:
            out.append(_line(LABELS.get(r["name"], r["name"]), r["name"], r))
    for r in m[m["stream"].notna()].to_dict("records"):
        if r["significant"]:
            out.append(_line(f"{LABELS.get(r['name'], r['name'])} [{r['stream']}]", r["name"], r))
    for g in d.groups.to_dict("records") if len(d.groups) else []:
        for key, what in (("time_per_visit_h", "time per visit"), ("downstream_h", "wait and rework after its hand-offs")):
            r = g[key]
            if r["significant"]:
                out.append(_line(f"{g['group']}: {what} (median)", "h", r))
        b = g.get("bounced_back")
        if isinstance(b, dict) and b["significant"]:
            out.append(_line(f"{g['group']}: hand-offs bounced back", "rework_rate", b))
    for r in d.steps.to_dict("records") if len(d.steps) else []:
        if r["significant"]:
            what = "time" if r["measure"] == "time_h" else "wait"
            out.append(_line(f"step {r['step']} ({r['label']}) of {r['stream']}: {what} (median)", "h", r))
    for r in d.states.to_dict("records") if len(d.states) else []:
        if r["significant"]:
            out.append(_line(f"time in {r['state']} states per ticket (mean)", "h", r))
    for r in d.variants.to_dict("records") if len(d.variants) else []:
        if r["significant"]:
            out.append(_line(f"variant {' → '.join(r['variant'][:6])}{' …' if len(r['variant']) > 6 else ''}", "rework_rate", r))
    return out


def diff_text(d: Diff, *, top: int = 10) -> str:
    """The terminal report: what changed first, then the moved bottlenecks, then every headline with both values."""
    b, a = d.before, d.after
    lines = [f"Before: {b.label} ({len(b.results.tickets):,} tickets{_period(b.period)})",
             f"After:  {a.label} ({len(a.results.tickets):,} tickets{_period(a.period)})", ""]
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


def _period(period: tuple[str | None, str | None]) -> str:
    first, last = period
    return f", opened {first[:10]} to {last[:10]}" if first and last else ""


def trend_text(diffs: list[Diff], *, top: int = 10) -> str:
    """--by: each period against the one before, oldest first."""
    parts = []
    for d in diffs:
        parts.append(f"=== {d.before.label} → {d.after.label} ===\n" + diff_text(d, top=top))
    return "\n".join(parts)


def _side(side: Any) -> dict[str, Any]:
    r = side.results
    return {"label": side.label, "source": side.source, "tickets": len(r.tickets),
            "delivered": int(r.lead_time_s.get("tickets") or 0), "open": int(r.open_tickets["tickets"]),
            "opened_from": side.period[0], "opened_to": side.period[1], "as_of": r.open_tickets.get("as_of")}


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
