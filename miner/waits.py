"""Where work waits: time in each state, classified as work or one kind of wait.

Time in a state runs from its event to the case's next event, or to the
event's end timestamp where one is known. Logs of completion times only (one
timestamp per activity, like most XES logs) are read the same way: the time
between two events is attributed to the earlier one ("after X, until Y").

Each state's time is classified through the mapping as work, queue wait,
customer wait, vendor wait or internal wait. A hand-off wait runs from a
change of group to that group's first work: queue waits in that window become
hand-off waits. Time in a done state that a reopen interrupted counts as
"done". Time after final delivery is not lead time and is not counted.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from miner import segments
from miner.cases import US, CaseArrays
from miner.mapping import ALL_KINDS, EventClasses
from miner.stats import grouped_quantiles
from miner.valuechain import WAIT_KINDS

WORK = ALL_KINDS.index("work")
WAIT = ALL_KINDS.index("wait")
DONE = ALL_KINDS.index("done")
CLASSES = ("work", "queue", "customer", "vendor", "internal", "handoff", "done", "unclassified")
_QUEUE = WAIT_KINDS.index("queue")
_HANDOFF = WAIT_KINDS.index("handoff")


@dataclass
class Waits:
    time_class: np.ndarray  # per event: index into CLASSES
    by_class: dict[str, float]  # seconds per class, within lead time
    by_state: pd.DataFrame  # activity, class, events, tickets, total_s, median_s, p90_s, share
    transitions: pd.DataFrame  # source, target, waits, tickets, total_s, median_s (waiting between two work activities)
    flow_efficiency: dict[str, float | None]
    handoff_windows: np.ndarray  # per event: it lies between a group change and the new group's first work


def event_classes(arrays: CaseArrays, classes: EventClasses) -> tuple[np.ndarray, np.ndarray]:
    """Return each event's time class (index into CLASSES) and its hand-off window flag."""
    kind = classes.kind
    out = np.full(arrays.n_events, CLASSES.index("unclassified"), dtype=np.int8)
    out[kind == WORK] = CLASSES.index("work")
    out[kind == DONE] = CLASSES.index("done")
    waits = kind == WAIT
    for w, name in enumerate(WAIT_KINDS):
        out[waits & (classes.wait == w)] = CLASSES.index(name)
    window = handoff_window(arrays, kind == WORK)
    retag = window & waits & ((classes.wait == _QUEUE) | (classes.wait == _HANDOFF))
    out[retag] = CLASSES.index("handoff")
    return out, window


def handoff_window(arrays: CaseArrays, work: np.ndarray) -> np.ndarray:
    """Flag events from a change of group up to (not including) the new group's first work."""
    n = arrays.n_events
    if arrays.group is None or n == 0:
        return np.zeros(n, dtype=bool)
    has_group = arrays.group >= 0
    known = segments.ffill(arrays.group.astype(np.float64), has_group, arrays.first_index)
    prev = segments.previous(known, arrays.is_first)
    change = ~np.isnan(prev) & ~np.isnan(known) & (known != prev)
    starts = change | arrays.is_first
    segment_start = segments.last_valid_index(starts, arrays.first_index)
    started_by_change = change[segment_start]
    before = np.cumsum(work) - work  # work events before each event, over the whole log
    worked_before = before - before[segment_start]
    return started_by_change & (worked_before == 0) & ~work


def waits(arrays: CaseArrays, classes: EventClasses, duration: np.ndarray, lead_time: np.ndarray, work_time: np.ndarray) -> Waits:
    """Return time in each state and class, waiting between work activities, and flow efficiency."""
    tclass, window = event_classes(arrays, classes)
    dur = duration.astype(np.float64)
    by_class = {name: float(dur[tclass == i].sum() / US) for i, name in enumerate(CLASSES)}
    by_state = _by_state(arrays, tclass, dur)
    transitions = _wait_transitions(arrays, tclass, dur)
    lead = lead_time.astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        per_ticket = np.where(lead > 0, work_time / lead, np.nan)
    valid = per_ticket[~np.isnan(per_ticket)]
    flow = {
        "median": float(np.median(valid)) if len(valid) else None,
        "pooled": float(work_time.sum() / lead.sum()) if lead.sum() > 0 else None,
    }
    return Waits(tclass, by_class, by_state, transitions, flow, window)


def _by_state(arrays: CaseArrays, tclass: np.ndarray, dur: np.ndarray) -> pd.DataFrame:
    """Per activity and time class: how long tickets spent in it."""
    n_act = max(len(arrays.activity_names), 1)
    key = tclass.astype(np.int64) * n_act + arrays.activity
    keys, counts, (median, p90) = grouped_quantiles(key, dur, (0.5, 0.9))
    totals = np.bincount(np.searchsorted(keys, key), weights=dur, minlength=len(keys)) if len(keys) else np.zeros(0)
    pairs = pd.DataFrame({"k": key, "c": arrays.case}).drop_duplicates()
    tickets = pairs["k"].value_counts().reindex(keys).to_numpy() if len(keys) else np.zeros(0)
    all_time = dur.sum()
    frame = pd.DataFrame(
        {
            "activity": arrays.activity_names[keys % n_act].astype(str) if len(keys) else [],
            "class": [CLASSES[k] for k in keys // n_act],
            "events": counts,
            "tickets": tickets,
            "total_s": totals / US,
            "median_s": median / US,
            "p90_s": p90 / US,
            "share": totals / all_time if all_time else 0.0,
        }
    )
    return frame.sort_values(["total_s", "activity"], ascending=[False, True], ignore_index=True)


def _wait_transitions(arrays: CaseArrays, tclass: np.ndarray, dur: np.ndarray) -> pd.DataFrame:
    """Waiting spent between one work activity and the next, by (previous work, next work).

    Each run of non-work states inside a ticket (waits, hand-offs) is one wait,
    attributed to the work activities before and after it.
    """
    work = tclass == CLASSES.index("work")
    waiting = ~work & (tclass != CLASSES.index("done")) & (tclass != CLASSES.index("unclassified")) & (dur > 0)
    if not waiting.any():
        return pd.DataFrame(columns=["source", "target", "waits", "tickets", "total_s", "median_s", "examples"])
    act = arrays.activity.astype(np.float64)
    prev_work = segments.ffill(act, work, arrays.first_index)
    next_work = segments.bfill(act, work, arrays.end_index)
    # A wait run: consecutive waiting events of one case.
    run_start = waiting & ~np.r_[False, waiting[:-1] & arrays.same_case_next]
    run = np.cumsum(run_start)
    idx = np.flatnonzero(waiting)
    frame = pd.DataFrame({"run": run[idx], "case": arrays.case[idx], "t": dur[idx], "src": prev_work[idx], "dst": next_work[idx]})
    per_run = frame.groupby("run").agg(case=("case", "first"), t=("t", "sum"), src=("src", "first"), dst=("dst", "last"))
    names = np.append(arrays.activity_names.astype(str), "(start)")
    nan_code = len(arrays.activity_names)
    per_run["source"] = names[per_run["src"].fillna(nan_code).astype(int).to_numpy()]
    names_end = np.append(arrays.activity_names.astype(str), "(end)")
    per_run["target"] = names_end[per_run["dst"].fillna(nan_code).astype(int).to_numpy()]
    per_run["case_id"] = arrays.case_ids[per_run["case"].to_numpy()]
    grouped = per_run.groupby(["source", "target"], sort=False)
    table = grouped.agg(waits=("t", "size"), tickets=("case", "nunique"), total_s=("t", "sum"), median_s=("t", "median")).reset_index()
    table["examples"] = [list(map(str, g.sort_values("t", ascending=False).head(3)["case_id"])) for _, g in grouped]
    table["total_s"] /= US
    table["median_s"] /= US
    return table.sort_values(["total_s", "source", "target"], ascending=[False, True, True], ignore_index=True)
