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

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from miner import segments
from miner.cases import CaseArrays
from miner.mapping import ALL_KINDS, EventClasses
from miner.valuechain import WAIT_KINDS

WORK = ALL_KINDS.index("work")
WAIT = ALL_KINDS.index("wait")
DONE = ALL_KINDS.index("done")
# The ends of a wait with no work before it, or none after it, in the ticket.
START, END = "(start)", "(end)"
CLASSES = ("work", "queue", "customer", "vendor", "internal", "handoff", "done", "unclassified")
_QUEUE = WAIT_KINDS.index("queue")
_HANDOFF = WAIT_KINDS.index("handoff")


@dataclass
class WaitPart:
    """Waiting in one set of cases: event classes, additive totals, and the values behind the quantiles."""

    time_class: np.ndarray  # per event: index into CLASSES
    handoff_windows: np.ndarray  # per event: between a group change and the new group's first work
    by_class: pd.DataFrame  # class, us (microseconds within lead time)
    states: pd.DataFrame  # measure: activity, class, duration_us, case_id (one row per event)
    runs: pd.DataFrame  # measure: source, target, t_us, case_id (one row per run of waiting between two works)


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


def wait_part(arrays: CaseArrays, classes: EventClasses, duration: np.ndarray) -> WaitPart:
    """Return the time class of every event and the waiting measures of these cases."""
    tclass, window = event_classes(arrays, classes)
    # Whole microseconds, summed as integers: partitions merge to the same totals in any order.
    dur = duration.astype(np.int64)
    by_class = pd.DataFrame({"class": list(CLASSES), "us": [int(dur[tclass == i].sum()) for i in range(len(CLASSES))]})
    # Categoricals: one row per event without one string per event.
    states = pd.DataFrame({
        "activity": pd.Categorical.from_codes(arrays.activity, categories=arrays.activity_names.astype(str)),
        "class": pd.Categorical.from_codes(tclass.astype(np.int64), categories=list(CLASSES)),
        "duration_us": dur,
        "case_id": pd.Categorical.from_codes(arrays.case, categories=arrays.case_ids.astype(str)),
    })
    return WaitPart(tclass, window, by_class, states, _wait_runs(arrays, tclass, dur))


def flow_efficiency(work_s: np.ndarray, lead_s: np.ndarray) -> dict[str, float | None]:
    """Work time ÷ lead time: for the median ticket, and pooled over all tickets."""
    lead = lead_s.astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        per_ticket = np.where(lead > 0, work_s / lead, np.nan)
    valid = per_ticket[~np.isnan(per_ticket)]
    return {
        "median": float(np.median(valid)) if len(valid) else None,
        "pooled": math.fsum(work_s.tolist()) / math.fsum(lead.tolist()) if lead.sum() > 0 else None,
    }


def _wait_runs(arrays: CaseArrays, tclass: np.ndarray, dur: np.ndarray) -> pd.DataFrame:  # dur: int64 µs
    """One row per run of waiting between two pieces of work: (previous work, next work, seconds, ticket).

    Each run of non-work states inside a ticket (waits, hand-offs) is one wait,
    attributed to the work activities before and after it ('(start)' and
    '(end)' where there is none).
    """
    work = tclass == CLASSES.index("work")
    waiting = ~work & (tclass != CLASSES.index("done")) & (tclass != CLASSES.index("unclassified")) & (dur > 0)
    if not waiting.any():
        empty = pd.Categorical([], categories=[])
        return pd.DataFrame({"source": empty, "target": empty, "t_us": pd.Series([], dtype=np.int64), "case_id": empty})
    act = arrays.activity.astype(np.float64)
    prev_work = segments.ffill(act, work, arrays.first_index)
    next_work = segments.bfill(act, work, arrays.end_index)
    run_start = waiting & ~np.r_[False, waiting[:-1] & arrays.same_case_next]
    idx = np.flatnonzero(waiting)
    first = np.flatnonzero(run_start)
    # A run's events are consecutive in idx: where each run starts and ends there.
    pos_first = np.searchsorted(idx, first)
    pos_last = np.r_[pos_first[1:] - 1, len(idx) - 1]
    totals = np.add.reduceat(dur[idx].astype(np.int64), pos_first) if len(first) else np.zeros(0, dtype=np.int64)
    src = prev_work[first]
    dst = next_work[idx[pos_last]]
    names = list(arrays.activity_names.astype(str))
    nan_code = len(names)
    return pd.DataFrame({
        "source": pd.Categorical.from_codes(np.where(np.isnan(src), nan_code, src).astype(np.int64), categories=pd.Index([*names, START]).unique()),
        "target": pd.Categorical.from_codes(np.where(np.isnan(dst), nan_code, dst).astype(np.int64), categories=pd.Index([*names, END]).unique()),
        "t_us": totals,
        "case_id": pd.Categorical.from_codes(arrays.case[first], categories=arrays.case_ids.astype(str)),
    })
