"""The ground truth of a sample: what vsm must find in the export, computed from
the simulated events (never by reading the export back).

Every figure is computed on the event arrays with numpy, so totals stay exact
at ten million events; per-case detail is written only for small samples.
The definitions below are written into the truth file itself.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

SCHEMA = "vsm-sample-truth/1"
CASE_DETAIL_LIMIT = 20_000
TOP_PAIRS = 10

DEFINITIONS = {
    "events": (
        "cases.<id>.events is exactly the event list vsm must load from the export, in order: "
        "[activity, timestamp (UTC, ISO 8601, whole seconds), group or null, resource or null]. "
        "A state or status change is an event named by the state's label; a change of group is 'Reassigned' "
        "('Assigned to group' when the ticket had no group); a person picking up an unassigned ticket is 'Picked up by assignee'. "
        "Rows that change none of these are folded (not events)."
    ),
    "rows": "see rows_definition: the records the export holds, counted the way the connector counts rows_read",
    "folded_rows": "rows that give no event (updates of other fields); a connector must fold them, not count them as rework",
    "time_in_state": (
        "the time from an event to the next event of the same case, attributed to the first event's activity; "
        "a case's last event gets none (its end is unknown). In seconds, summed over events."
    ),
    "time_by_class": "time_in_state summed by the class of each activity given in 'activities' (work, queue, customer wait, vendor wait, done; unknown where the export cannot tell work from waiting, as in a list export)",
    "group_path": "the groups of a case's events in order, events without a group skipped, consecutive repeats removed",
    "bounce": "X→Y→X in the group path; X→Y→X→Y is 2",
    "top_group_pairs": "bounces counted by the unordered pair of groups they go between ('A ↔ B', names sorted), most first",
    "reassignments": "changes of group in the group path (its length minus one): a ticket's first group is not a reassignment",
    "reopen": (
        "in the sequence of a case's status events (activities whose 'status' is true in 'activities'; hand-offs, "
        "pickups and after-close reviews are not status events), the first event of a run of events that are not "
        "done, after a done one, when the run returns to work (an activity whose time is 'work') or holds an explicit "
        "reopen ('reopen' true in 'activities'). The run, up to the next done event, is the reopen's episode"
    ),
    "returned_visit": "the events from a bounce's return to X until the next change of group",
    "rework_loops": (
        "among a case's work events that have a stage in 'activities', a move to a lower stage, to an activity the same "
        "group (the latest group given) did earlier in the case, outside reopen episodes and returned visits, "
        "counted as '<from>→<to>'"
    ),
    "self_loops": (
        "a work event whose previous status event is the same activity, in the same group, by another named person, "
        "outside reopen episodes and returned visits (hand-offs between groups are reassignments, never self-loops; "
        "the same person again, a second session or a restated state, is the work going on)"
    ),
    "lead_time": "a case's last event time minus its first, in seconds (cases still open at the export end at their last event)",
}


@dataclass(frozen=True)
class Meaning:
    """What an activity means to the truth's metrics (see DEFINITIONS)."""

    time: str  # what time spent after it is: work, queue, customer wait, vendor wait, done, unknown
    stage: int | None = None  # its rank in the designed order of work stages
    done: bool = False
    status: bool = True  # a status event (False: a hand-off, a pickup, an after-close review)
    reopen: bool = False  # an explicit reopen (Reopened): the ticket is no longer delivered


@dataclass
class Events:
    """The events vsm must load: parallel arrays sorted by case, then time."""

    case: np.ndarray  # int64 case index
    time: np.ndarray  # int64 epoch seconds
    label: np.ndarray  # int codes into labels
    group: np.ndarray  # int codes into groups, -1 none
    resource: np.ndarray  # int codes into resources, -1 none
    labels: list[str]
    groups: list[str]
    resources: list[str]
    cases: int
    meanings: dict[str, Meaning] = field(default_factory=dict)

    def __post_init__(self) -> None:
        missing = [x for x in self.labels if x not in self.meanings]
        if missing:
            raise ValueError(f"activities without a meaning: {missing}")


@dataclass
class Export:
    """What a source wrote, for the truth: its rows, its events and how to name them."""

    rows: int
    rows_definition: str  # what a row is, counted the way the connector counts rows_read
    events: Events
    case_ids: Callable[[], list[str]]  # the export's case ids, in case order (called only for small samples)
    case_types: np.ndarray  # per case, index into type_names
    type_names: list[str]
    notes: list[str]
    totals: dict[str, object] = field(default_factory=dict)  # source-specific figures
    legend: dict[str, object] | None = None  # names behind ids, where the export has only ids
    sections: dict[str, object] = field(default_factory=dict)  # source-specific sections of the truth document
    case_fields: Callable[[], dict[str, list[object]]] | None = None  # source-specific per-case figures, in case order


@dataclass
class Metrics:
    """Per-case counts and per-event figures, as arrays."""

    reopen_at: np.ndarray  # bool per event: the event is a reopen
    loop_from: np.ndarray  # int label code per loop
    loop_to: np.ndarray
    loop_case: np.ndarray
    bounce_case: np.ndarray  # case of each bounce
    bounce_pair: np.ndarray  # [bounces, 2] group codes
    path_keep: np.ndarray  # bool per event: its group is in the group path
    dwell: np.ndarray  # int64 per event: seconds to the case's next event (0 for the last)
    self_loop_at: np.ndarray  # bool per event
    reassignments: np.ndarray  # per case


def measure(ev: Events) -> Metrics:
    """Return the metrics of every case, computed on the arrays."""
    n = len(ev.case)
    case = ev.case
    same_next = np.zeros(n, bool)
    if n:
        same_next[:-1] = case[1:] == case[:-1]
    dwell = np.zeros(n, np.int64)
    dwell[:-1] = np.where(same_next[:-1], ev.time[1:] - ev.time[:-1], 0)
    meanings = [ev.meanings[x] for x in ev.labels]
    is_status = np.array([m.status for m in meanings], bool)[ev.label]
    is_done = np.array([m.done for m in meanings], bool)[ev.label]
    stage_of = np.array([-1 if m.stage is None else m.stage for m in meanings], np.int64)[ev.label]

    is_work = is_status & np.array([m.time == "work" for m in meanings], bool)[ev.label]
    is_reopen = np.array([m.reopen for m in meanings], bool)[ev.label]

    # Reopens: among status events, a run of states that are not done, after a done one, that returns to
    # work or is an explicit reopen; the reopen is the run's first event, its episode the whole run.
    s = np.flatnonzero(is_status)
    reopen_at = np.zeros(n, bool)
    episode = np.zeros(n, bool)
    if s.size:
        sc, sd = case[s], is_done[s]
        first_s = np.r_[True, sc[1:] != sc[:-1]]
        prev_done = np.r_[False, sd[:-1]] & ~first_s
        run_start = ~sd & (first_s | prev_done)
        run = np.cumsum(run_start) - 1
        undo = is_work[s] | is_reopen[s]
        has_undo = np.bincount(run[~sd & undo], minlength=int(run_start.sum())) > 0
        rs = np.flatnonzero(run_start)
        reopen_run = prev_done[rs] & has_undo
        reopen_at[s[rs[reopen_run]]] = True
        if rs.size:
            episode[s[~sd & (run >= 0) & reopen_run[np.maximum(run, 0)]]] = True

    # Group path: groups present, consecutive repeats (within a case) removed.
    has = np.flatnonzero(ev.group >= 0)
    g, c = ev.group[has], case[has]
    first = np.ones(has.size, bool)
    if has.size:
        first[1:] = (c[1:] != c[:-1]) | (g[1:] != g[:-1])
    path_keep = np.zeros(n, bool)
    path_keep[has[first]] = True
    pg, pc = g[first], c[first]
    if pg.size > 2:
        hit = (pc[2:] == pc[:-2]) & (pg[2:] == pg[:-2])
        bounce_case = pc[2:][hit]
        bounce_pair = np.stack([pg[1:-1][hit], pg[2:][hit]], axis=1)
    else:
        bounce_case = np.zeros(0, np.int64)
        bounce_pair = np.zeros((0, 2), np.int64)
    # The returned visit of a bounce: from the return to X until the next change of group.
    returned = np.zeros(n, bool)
    if has.size:
        run_events = has[first]
        bounce_run = np.zeros(run_events.size, bool)
        if pg.size > 2:
            bounce_run[2:] = (pc[2:] == pc[:-2]) & (pg[2:] == pg[:-2])
        run_of = np.searchsorted(run_events, np.arange(n), side="right") - 1
        ok = run_of >= 0
        ok[ok] &= pc[run_of[ok]] == case[ok]
        returned = ok & bounce_run[np.maximum(run_of, 0)]
    excluded = episode | returned
    # The group holding each event: the latest group given in its case.
    holder = np.full(n, -1, np.int64)
    if has.size:
        at = np.searchsorted(has, np.arange(n), side="right") - 1
        ok = at >= 0
        ok[ok] &= case[has[np.maximum(at, 0)][ok]] == case[ok]
        holder[ok] = ev.group[has[at[ok]]]

    # Self-loops: the same work activity in two consecutive status events, in the same group, by another person.
    self_loop_at = np.zeros(n, bool)
    if s.size > 1:
        prev, cur = s[:-1], s[1:]
        hit = (case[prev] == case[cur]) & is_work[prev] & is_work[cur] & (ev.label[prev] == ev.label[cur]) & (holder[prev] == holder[cur])
        hit &= (ev.resource[prev] >= 0) & (ev.resource[cur] >= 0) & (ev.resource[prev] != ev.resource[cur])
        self_loop_at[cur[hit]] = True
    self_loop_at &= ~excluded

    # Rework loops: among work events with a stage, a move to a lower stage, back to an activity the
    # same group did earlier in the case.
    w = np.flatnonzero(is_work & (stage_of >= 0))
    key = (case[w] * (len(ev.groups) + 1) + holder[w] + 1) * max(len(ev.labels), 1) + ev.label[w]
    _, first_at = np.unique(key, return_index=True)
    seen = np.ones(w.size, bool)
    seen[first_at] = False
    if w.size > 1:
        prev, cur = w[:-1], w[1:]
        hit = (case[prev] == case[cur]) & (stage_of[cur] < stage_of[prev]) & seen[1:] & ~excluded[cur]
        loop_from, loop_to, loop_case = ev.label[prev[hit]], ev.label[cur[hit]], case[cur[hit]]
    else:
        loop_from = loop_to = loop_case = np.zeros(0, np.int64)
    path_len = np.bincount(pc, minlength=ev.cases)
    reassignments = np.maximum(path_len - 1, 0)
    return Metrics(reopen_at, loop_from, loop_to, loop_case, bounce_case, bounce_pair, path_keep, dwell, self_loop_at, reassignments)


def truth_document(export: Export, *, source: str, seed: int, file_name: str) -> dict[str, object]:
    """Return the truth file's content: definitions, totals and (for small samples) every case."""
    ev = export.events
    met = measure(ev)
    n_cases = ev.cases
    per_case = {
        "reopens": np.bincount(ev.case[met.reopen_at], minlength=n_cases),
        "bounces": np.bincount(met.bounce_case, minlength=n_cases),
        "loops": np.bincount(met.loop_case, minlength=n_cases),
        "self_loops": np.bincount(ev.case[met.self_loop_at], minlength=n_cases),
    }
    time_by_label = np.bincount(ev.label, weights=met.dwell, minlength=len(ev.labels)).astype(np.int64)
    counts_by_label = np.bincount(ev.label, minlength=len(ev.labels))
    by_class: dict[str, int] = {}
    for code, name in enumerate(ev.labels):
        cls = ev.meanings[name].time
        by_class[cls] = by_class.get(cls, 0) + int(time_by_label[code])

    loops: dict[str, int] = {}
    if met.loop_from.size:
        pairs, count = np.unique(np.stack([met.loop_from, met.loop_to], axis=1), axis=0, return_counts=True)
        for (a, b), k in sorted(zip(pairs.tolist(), count.tolist(), strict=True), key=lambda x: (-x[1], x[0])):
            loops[f"{ev.labels[a]}→{ev.labels[b]}"] = int(k)

    pair_counts: dict[str, int] = {}
    if met.bounce_pair.size:
        lo, hi = met.bounce_pair.min(axis=1), met.bounce_pair.max(axis=1)
        pairs, count = np.unique(np.stack([lo, hi], axis=1), axis=0, return_counts=True)
        named = [(" ↔ ".join(sorted((ev.groups[a], ev.groups[b]))), int(k)) for (a, b), k in zip(pairs.tolist(), count.tolist(), strict=True)]
        merged: dict[str, int] = {}
        for name, k in named:
            merged[name] = merged.get(name, 0) + k
        pair_counts = dict(sorted(merged.items(), key=lambda x: (-x[1], x[0])))

    first = np.searchsorted(ev.case, np.arange(n_cases))
    last = np.searchsorted(ev.case, np.arange(n_cases), side="right") - 1
    lead = ev.time[last] - ev.time[first]
    type_names, case_types = export.type_names, export.case_types
    type_counts = np.bincount(case_types, minlength=len(type_names))
    totals: dict[str, object] = {
        "events": len(ev.case),
        "reopens": int(met.reopen_at.sum()),
        "cases_with_reopen": int((per_case["reopens"] > 0).sum()),
        "bounces": int(len(met.bounce_case)),
        "cases_with_bounce": int((per_case["bounces"] > 0).sum()),
        "reassignments": int(met.reassignments.sum()),
        "cases_with_reassignment": int((met.reassignments > 0).sum()),
        "rework_loops": loops,
        "cases_with_rework_loop": int((per_case["loops"] > 0).sum()),
        "self_loops": int(met.self_loop_at.sum()),
        "events_by_activity": {name: int(counts_by_label[i]) for i, name in enumerate(ev.labels) if counts_by_label[i]},
        "time_in_state_s": {name: int(time_by_label[i]) for i, name in enumerate(ev.labels) if counts_by_label[i]},
        "time_by_class_s": by_class,
        "top_group_pairs": [[k, v] for k, v in list(pair_counts.items())[:TOP_PAIRS]],
        "lead_time_s": {"total": int(lead.sum()), "max": int(lead.max()) if n_cases else 0},
        "tickets_by_type": {type_names[i]: int(type_counts[i]) for i in range(len(type_names))},
    }
    totals.update(export.totals)
    activities = {
        name: {"time": m.time, "stage": m.stage, "done": m.done, "status": m.status, "reopen": m.reopen}
        for name, m in ev.meanings.items()
        if name in ev.labels
    }
    doc: dict[str, object] = {
        "schema": SCHEMA,
        "source": source,
        "seed": seed,
        "tickets": n_cases,
        "export": file_name,
        "rows": export.rows,
        "rows_definition": export.rows_definition,
        "events": len(ev.case),
        "folded_rows": max(export.rows - len(ev.case), 0),
        "notes": export.notes,
        "definitions": DEFINITIONS,
        "activities": activities,
        "totals": totals,
    }
    if export.legend:
        doc["legend"] = export.legend
    doc.update(export.sections)
    if n_cases <= CASE_DETAIL_LIMIT:
        case_ids = np.asarray(export.case_ids(), dtype=object)
        cases = _case_detail(ev, met, per_case, lead, first, last, case_ids, case_types, type_names)
        if export.case_fields is not None:
            for key, values in export.case_fields().items():
                for case, value in zip(cases.values(), values, strict=True):
                    case[key] = value
        doc["cases"] = cases
    else:
        doc["cases"] = None
        doc["notes"] = [
            *export.notes,
            f"per-case detail is written only for samples of at most {CASE_DETAIL_LIMIT:,} tickets; this one has {n_cases:,}, so only totals",
        ]
    return doc


def _case_detail(
    ev: Events,
    met: Metrics,
    per_case: dict[str, np.ndarray],
    lead: np.ndarray,
    first: np.ndarray,
    last: np.ndarray,
    case_ids: np.ndarray,
    case_types: np.ndarray,
    type_names: list[str],
) -> dict[str, dict[str, object]]:
    stamps = [s + "Z" for s in np.datetime_as_string(ev.time.astype("datetime64[s]"), unit="s").tolist()]
    labels = [ev.labels[i] for i in ev.label.tolist()]
    groups = [ev.groups[i] if i >= 0 else None for i in ev.group.tolist()]
    resources = [ev.resources[i] if i >= 0 else None for i in ev.resource.tolist()]
    dwell = met.dwell.tolist()
    keep = met.path_keep.tolist()
    loop_names = [f"{ev.labels[a]}→{ev.labels[b]}" for a, b in zip(met.loop_from.tolist(), met.loop_to.tolist(), strict=True)]
    loop_start = np.searchsorted(met.loop_case, np.arange(len(case_ids)))
    loop_end = np.searchsorted(met.loop_case, np.arange(len(case_ids)), side="right")
    out: dict[str, dict[str, object]] = {}
    for c, cid in enumerate(case_ids.tolist()):
        a, b = int(first[c]), int(last[c]) + 1
        tis: dict[str, int] = {}
        for i in range(a, b - 1):
            tis[labels[i]] = tis.get(labels[i], 0) + dwell[i]
        out[cid] = {
            "type": type_names[int(case_types[c])],
            "events": [[labels[i], stamps[i], groups[i], resources[i]] for i in range(a, b)],
            "group_path": [groups[i] for i in range(a, b) if keep[i]],
            "reopens": int(per_case["reopens"][c]),
            "bounces": int(per_case["bounces"][c]),
            "reassignments": int(met.reassignments[c]),
            "self_loops": int(per_case["self_loops"][c]),
            "loops": loop_names[loop_start[c] : loop_end[c]],
            "time_in_state_s": tis,
            "lead_time_s": int(lead[c]),
        }
    return out


def write_truth(doc: dict[str, object], path: str | os.PathLike[str]) -> Path:
    """Write the truth document as UTF-8 JSON, one case per line, the same bytes for the same content."""
    out = Path(path)
    cases = doc.get("cases")
    head = json.dumps({**doc, "cases": None}, ensure_ascii=False, indent=1)
    with out.open("w", encoding="utf-8", newline="\n") as fh:
        if not cases:
            fh.write(head + "\n")
            return out
        assert isinstance(cases, dict)
        fh.write(head[: head.rindex('"cases": null')] + '"cases": {\n')
        fh.write(",\n".join(f"  {json.dumps(k)}: {json.dumps(v, ensure_ascii=False)}" for k, v in cases.items()))
        fh.write("\n }\n}\n")
    return out
