"""Where work waits: every ticket's lead time in work and the kinds of waiting.

The pieces of time come from :mod:`miner.accounting`: each state's time (to
the next state, or to its end timestamp in interval logs; overlaps counted
once), idle gaps between intervals, classified by what ends them, and an open
ticket's current state until the export's end. Time after delivery is not
lead time and is not counted. Each state's time is classified through the
mapping as work, queue, customer, vendor, internal or hand-off wait (a
hand-off wait runs from a change of group to that group's first work, decided
from where a state sits, not from its name), "reopened" (a delivered state that a
reopen undid) or unclassified.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from miner import segments
from miner.accounting import C_WORK, CLASSES, Accounting
from miner.cases import CaseArrays
from miner.stats import exact_key_sums

# The ends of a wait with no work before it, or none after it, in the ticket.
START, END = "(start)", "(end)"
OPEN = "(open)"  # the end of an open ticket's last wait: it still waits at the export's end
IDLE = "(idle)"  # the state of time that no state covers: gaps between intervals, and after an XES complete
__all__ = ["CLASSES", "END", "IDLE", "OPEN", "START", "WaitPart", "flow_efficiency", "wait_part"]


@dataclass
class WaitPart:
    """Waiting in one set of cases: event classes, additive totals, and the values behind the quantiles."""

    time_class: np.ndarray  # per event: index into CLASSES (of its own state's time)
    handoff_windows: np.ndarray  # per event: between a group change and the new group's first work
    by_class: pd.DataFrame  # class, us (microseconds within lead time)
    states: pd.DataFrame  # measure: activity, class, duration_us, case_id (one row per state, and per idle gap)
    runs: pd.DataFrame  # measure: source, target, t_us, case_id (one row per run of waiting between two works)
    via: pd.DataFrame  # additive: source, target, via, us (the waiting of those runs by the state it was spent in)


def wait_part(arrays: CaseArrays, acc: Accounting) -> WaitPart:
    """Return the time class of every event and the waiting measures of these cases."""
    totals = acc.by_class_us()
    by_class = pd.DataFrame({"class": list(CLASSES), "us": [int(x) for x in totals]})
    names = pd.Index(arrays.activity_names.astype(str))
    categories = names.append(pd.Index([IDLE])).unique() if IDLE not in names else names
    idle = int(categories.get_loc(IDLE))
    # One row per status event (its own time), and one per idle gap: categoricals, no string per event.
    gaps = np.flatnonzero((acc.gap_us > 0) | (acc.tail_us > 0))
    # States within lead time: the delivering event and what follows it own no lead time.
    st = np.flatnonzero(acc.status & acc.in_lead)
    gap_class = np.where(acc.gap_us[gaps] > 0, acc.gap_class[gaps], CLASSES.index("queue"))
    states = pd.DataFrame({
        "activity": pd.Categorical.from_codes(np.r_[arrays.activity[st].astype(np.int64), np.full(len(gaps), idle)], categories=categories),
        "class": pd.Categorical.from_codes(np.r_[acc.own_class[st], gap_class].astype(np.int64), categories=list(CLASSES)),
        "duration_us": np.r_[acc.own_us[st], acc.gap_us[gaps] + acc.tail_us[gaps]].astype(np.int64),
        "case_id": arrays.case_id_categorical(np.r_[arrays.case[st], arrays.case[gaps]]),
    })
    runs, via = _wait_runs(arrays, acc)
    return WaitPart(acc.own_class, acc.handoff_window, by_class, states, runs, via)


def flow_efficiency(work_s: np.ndarray, lead_s: np.ndarray) -> dict[str, float | None]:
    """Work time ÷ lead time: for the median ticket, and pooled over the tickets given (delivered ones)."""
    lead = lead_s.astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        per_ticket = np.where(lead > 0, work_s / lead, np.nan)
    valid = per_ticket[~np.isnan(per_ticket)]
    return {
        "median": float(np.median(valid)) if len(valid) else None,
        "pooled": math.fsum(work_s.tolist()) / math.fsum(lead.tolist()) if lead.sum() > 0 else None,
    }


VIA_COLUMNS = ["source", "target", "via", "us"]


def _wait_runs(arrays: CaseArrays, acc: Accounting) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One row per run of waiting between two pieces of work: (previous work, next work, µs, ticket);
    and the runs' waiting per (previous work, next work, state it was spent in), '(idle)' for gaps.

    Waiting pieces in a row (waiting states, idle gaps), not interrupted by
    work, are one wait, attributed to the work activities before and after it
    ('(start)' and '(end)' where there is none; '(open)' for the wait of an
    open ticket that runs until the export's end, which no delivery ends). An
    idle gap before a piece of work ends its run at that work.
    """
    wait_us = acc.wait_us.astype(np.int64)
    # A work event whose own time is waiting (an XES complete, a schedule: the instance is idle after it) ends a
    # piece of work and begins a wait, like the end of an interval.
    idle_after_work = acc.work & (acc.own_class != C_WORK) & (acc.own_us > 0)
    work = acc.work & ~idle_after_work
    member = wait_us > 0
    if not member.any():
        empty = pd.Categorical([], categories=[])
        return (pd.DataFrame({"source": empty, "target": empty, "t_us": pd.Series([], dtype=np.int64), "case_id": empty}),
                pd.DataFrame({c: pd.Series([], dtype=np.int64 if c == "us" else object) for c in VIA_COLUMNS}))
    act = arrays.activity.astype(np.float64)
    prev_work = segments.previous_valid(act, work, arrays.first_index)
    next_work = segments.bfill(act, work, arrays.end_index)
    # A member that is itself work carries only the gap before it, and closes its run.
    # Bookkeeping events between two waiting states do not cut the run: compare with the previous status event.
    before = acc.prev_status
    b = np.maximum(before, 0)
    prev_member = (before >= 0) & member[b] & ~work[b]
    run_start = member & ~prev_member
    idx = np.flatnonzero(member)
    first = np.flatnonzero(run_start)
    pos_first = np.searchsorted(idx, first)
    totals = np.add.reduceat(wait_us[idx], pos_first) if len(first) else np.zeros(0, dtype=np.int64)
    pos_last = np.r_[pos_first[1:] - 1, len(idx) - 1]
    last = idx[pos_last]
    src = prev_work[first]
    dst = np.where(work[last], act[last], next_work[last])
    names = list(arrays.activity_names.astype(str))
    nan_code = len(names)
    targets = pd.Index([*names, END, OPEN]).unique()
    end_code = np.where(acc.delivered[arrays.case[last]], targets.get_loc(END), targets.get_loc(OPEN))
    sources = pd.Index([*names, START]).unique()
    src_code = np.where(np.isnan(src), nan_code, src).astype(np.int64)
    dst_code = np.where(np.isnan(dst), end_code, dst).astype(np.int64)
    runs = pd.DataFrame({
        "source": pd.Categorical.from_codes(src_code, categories=sources),
        "target": pd.Categorical.from_codes(dst_code, categories=targets),
        "t_us": totals,
        "case_id": arrays.case_id_categorical(arrays.case[first]),
    })
    # Where each run's waiting was spent: the waiting state, or '(idle)' for the gap before a piece of work.
    states = pd.Index([*names, IDLE]).unique()
    via_code = np.where(acc.work[idx], states.get_loc(IDLE), arrays.activity[idx]).astype(np.int64)
    run_of = np.cumsum(run_start[idx]) - 1
    key = (src_code[run_of] * len(targets) + dst_code[run_of]) * len(states) + via_code
    keys, us = exact_key_sums(key, wait_us[idx], len(sources) * len(targets) * len(states))  # whole µs: exact in any partitioning
    pair, v = np.divmod(keys, len(states))
    via = pd.DataFrame({"source": sources.to_numpy(dtype=object)[pair // len(targets)],
                        "target": targets.to_numpy(dtype=object)[pair % len(targets)],
                        "via": states.to_numpy(dtype=object)[v], "us": us.astype(np.int64)})
    return runs, via

