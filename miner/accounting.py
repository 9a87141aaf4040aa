"""Time accounting: when each ticket was delivered, and one exact partition of
its lead time into work and the kinds of waiting.

The rules (README "How vsm counts" states them for users):

* **States.** A ticket's state at a moment is its latest *status* event:
  every event but bookkeeping (field edits, comments, links). Bookkeeping
  changes nothing, so its time belongs to the state around it.
* **Delivery.** A ticket is delivered at the first done event (Resolved,
  Closed …) after which nothing undoes delivery. Only a return to work (a
  work event outside improve, not a pickup) or an explicit reopen (a rule
  with ``reopen = true``) undoes it. Bookkeeping, improvement (a review, a
  survey), further done events after delivery, and the XES ``complete`` of
  work begun before it (its start or schedule is the activity's previous event
  in the ticket: the work ends, it does not return) do not: lead time ends at
  delivery, and improvement after it is reported as its own post-delivery
  time. The event that undoes a delivery is a *reopen*: the first status
  event of the run of non-done states that holds the undoing event.
* **Open tickets.** A ticket never delivered is open: its current state runs
  until ``as_of`` (the export's latest moment, or ``--as-of``), and its lead
  time is its age. Lead-time statistics are over delivered tickets.
* **Pieces of time.** Each status event owns the time from its event to the
  next status event (or to its end timestamp, where the log has intervals),
  clipped to the lead time, less any time an earlier event's interval
  already covers: overlapping intervals count once. Time no state covers (the
  idle gap between two intervals, or before the first status event) is a
  *gap*, owned by the event that ends it and classified by it: before work it
  is a queue wait (a hand-off wait after a change of group), before a wait
  state that wait's kind, before delivery a queue wait. An open ticket whose
  last interval ended before ``as_of`` waits (queue) since. So, per ticket,
  lead time = Σ own + Σ gaps + tail, exactly.
* **Hand-off queue from evidence.** After a change of group, every queue or
  hand-off state until the receiving group's first work is hand-off wait,
  whatever its name. A work-kind state entered at the hand-off (the event
  that carries the group change, or a pickup or assignment status) and left
  for a different work activity of the same group is that group's queue too:
  Remedy's ``Assigned`` before ``In Progress``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd

from miner import segments
from miner.cases import NAT, CaseArrays
from miner.mapping import ALL_KINDS, EventClasses
from miner.valuechain import STAGES, WAIT_KINDS

WORK = ALL_KINDS.index("work")
WAIT = ALL_KINDS.index("wait")
DONE = ALL_KINDS.index("done")
BOOKKEEPING = ALL_KINDS.index("bookkeeping")
IMPROVE = STAGES.index("improve")

# Time classes: work, the kinds of waiting (including "reopened": time in a
# delivered state that a reopen later undid, when the ticket only seemed done),
# and what the mapping cannot tell.
CLASSES = ("work", "queue", "customer", "vendor", "internal", "handoff", "reopened", "unclassified")
WAIT_CLASSES = ("queue", "customer", "vendor", "internal", "handoff", "reopened")
C_WORK, C_QUEUE, C_HANDOFF, C_DONE, C_UNCLASSIFIED = (CLASSES.index(c) for c in ("work", "queue", "handoff", "reopened", "unclassified"))
IS_WAIT_CLASS = np.array([c in WAIT_CLASSES for c in CLASSES])  # time that is waiting
_WAIT_CLASS_OF_KIND = np.array([CLASSES.index(w) for w in WAIT_KINDS], dtype=np.int8)


@dataclass(eq=False)
class Accounting:
    """Delivery and the pieces of every ticket's lead time."""

    status: np.ndarray  # per event: a state of the ticket (not bookkeeping)
    work: np.ndarray  # per event: the ticket's own work (status, kind work, not a queue entered at a hand-off)
    pseudo_work: np.ndarray  # per event: a work-kind state that is the receiving group's queue
    reopen: np.ndarray  # per event: undoes a delivery
    reopen_episode: np.ndarray  # per event: from a reopen until the next delivery
    handoff_window: np.ndarray  # per event: between a change of group and that group's first work
    group_change: np.ndarray  # per event: carries a change of group
    delivered: np.ndarray  # per case
    delivery: np.ndarray  # per case: index of the delivering event, -1 when open
    lead_end: np.ndarray  # per case: µs when lead time ends (delivery, or as_of when open)
    lead_time: np.ndarray  # per case: µs (the age of an open ticket)
    in_lead: np.ndarray  # per event: before delivery
    own_us: np.ndarray  # per event: µs of lead time in its state
    own_class: np.ndarray  # per event: index into CLASSES
    gap_us: np.ndarray  # per event: µs of idle time before it that no state covers
    gap_class: np.ndarray  # per event: index into CLASSES
    tail_us: np.ndarray  # per event: an open ticket's idle time after its last interval (queue), at its last status event
    post_improve_us: np.ndarray  # per case: improvement work after delivery
    prev_status: np.ndarray  # per event: the index of the status event before it in its case, or -1

    @cached_property
    def time_us(self) -> np.ndarray:
        """Per event: all lead time it owns (own + gap + tail)."""
        return self.own_us + self.gap_us + self.tail_us

    @cached_property
    def work_us(self) -> np.ndarray:
        return np.where(self.own_class == C_WORK, self.own_us, 0) + np.where(self.gap_class == C_WORK, self.gap_us, 0)

    @cached_property
    def wait_us(self) -> np.ndarray:
        """Per event: its waiting time (every wait class, and delivered time a reopen undid)."""
        return (np.where(IS_WAIT_CLASS[self.own_class], self.own_us, 0) + np.where(IS_WAIT_CLASS[self.gap_class], self.gap_us, 0)
                + self.tail_us)

    def per_case_class(self, case: np.ndarray, n_cases: int) -> np.ndarray:
        """µs per case and class (n_cases × len(CLASSES)), integers."""
        out = np.zeros((n_cases, len(CLASSES)), dtype=np.int64)
        k = len(CLASSES)
        for values, cls in ((self.own_us, self.own_class), (self.gap_us, self.gap_class)):
            nz = values != 0
            if nz.any():
                flat = case[nz].astype(np.int64) * k + cls[nz]
                out += np.bincount(flat, weights=values[nz], minlength=n_cases * k).reshape(n_cases, k).astype(np.int64)
        nz = self.tail_us != 0
        if nz.any():
            out[:, C_QUEUE] += np.bincount(case[nz], weights=self.tail_us[nz], minlength=n_cases).astype(np.int64)
        return out

    def by_class_us(self) -> np.ndarray:
        """µs per class over these cases (exact integers)."""
        out = np.zeros(len(CLASSES), dtype=np.int64)
        for values, cls in ((self.own_us, self.own_class), (self.gap_us, self.gap_class)):
            for c in range(len(CLASSES)):
                out[c] += int(values[cls == c].sum())
        out[C_QUEUE] += int(self.tail_us.sum())
        return out


def account(arrays: CaseArrays, classes: EventClasses, as_of: int | None = None,
            instance_ends: np.ndarray | None = None, idle: np.ndarray | None = None) -> Accounting:
    """Return delivery and the lead-time pieces of every ticket (``as_of``: µs, the export's end).

    ``instance_ends`` flags, per event, an XES ``complete`` that ends an
    activity instance begun earlier in its ticket (:func:`instance_ends`): it
    never undoes a delivery. ``idle`` flags the XES transitions after which no
    one works on the instance (:func:`idle_transitions`): the time such a
    work event owns is waiting for the next work, not work.
    """
    n, n_cases = arrays.n_events, arrays.n_cases
    case = arrays.case
    kind = classes.kind
    status = kind != BOOKKEEPING
    if n and not status.all():
        # A ticket of bookkeeping only: its events are its states (unclassified).
        has_status = np.bincount(case[status], minlength=n_cases) > 0
        status |= ~has_status[case]
    reopen_flag = classes.reopen if classes.reopen is not None else np.zeros(n, dtype=bool)

    nxt = _next_status(arrays, status)
    delivery, reopen, episode = _delivery(arrays, classes, status, reopen_flag, instance_ends)
    delivered = delivery >= 0
    last = arrays.case_last_ts
    end_of_log = np.full(n_cases, as_of if as_of is not None else (int(last.max()) if n_cases else 0), dtype=np.int64)
    open_end = np.maximum(end_of_log, last)
    lead_end = np.where(delivered, arrays.ts[np.maximum(delivery, 0)], open_end) if n_cases else np.zeros(0, dtype=np.int64)
    lead_time = lead_end - arrays.case_first_ts
    idx = np.arange(n)
    in_lead = ~delivered[case] | (idx < delivery[case]) if n else np.zeros(0, dtype=bool)

    # Pieces: each status event's state, clipped to lead time, less what earlier intervals cover.
    le = lead_end[case] if n else np.zeros(0, dtype=np.int64)
    has_next = nxt >= 0
    finish = np.where(has_next, arrays.ts[np.maximum(nxt, 0)], np.where(delivered[case], arrays.case_last_ts[case], le))
    if arrays.end is not None:
        known = arrays.end != NAT
        finish = np.where(known, np.maximum(arrays.end, arrays.ts), finish)
    hi = np.minimum(finish, le)
    hi = np.where(status, np.maximum(hi, np.minimum(arrays.ts, le)), 0)
    first_ts = arrays.case_first_ts[case] if n else np.zeros(0, dtype=np.int64)
    prev_status = segments.previous_valid_index(status, arrays.first_index)  # per event: the status event before it
    if arrays.end is None:
        # Point states tile the time: the cover before an event is the previous status event's end.
        covered = np.where(status, hi, first_ts)
        prev_cover = segments.at(covered, prev_status, first_ts)
    else:
        covered = pd.Series(np.where(status, hi, first_ts)).groupby(case).cummax().to_numpy()
        prev_cover = segments.previous(covered, arrays.is_first, 0)
        prev_cover = np.where(arrays.is_first, first_ts, prev_cover)
    start = np.maximum(np.minimum(arrays.ts, le), prev_cover)
    own = np.where(status, np.maximum(hi - start, 0), 0).astype(np.int64)
    gap = np.where(status, np.maximum(np.minimum(arrays.ts, le) - prev_cover, 0), 0).astype(np.int64)
    tail = np.zeros(n, dtype=np.int64)
    if n and arrays.end is not None:
        last_status = _last_status_index(arrays, status)
        ok = (last_status >= 0) & ~delivered
        at = last_status[ok]
        tail[at] = np.maximum(lead_end[ok] - covered[at], 0)

    group_change, window, pseudo = _handoffs(arrays, classes, status, nxt)
    work = status & (kind == WORK) & ~pseudo
    own_class, gap_class = _classes(arrays, classes, status, prev_status, work, pseudo, window, group_change)
    if idle is not None:
        # After a complete (or a schedule, a suspend …) the work waits for its next step: a queue, or a hand-off
        # when that step comes with a change of group.
        waiting = (own_class == C_WORK) & idle
        handoff = (nxt >= 0) & group_change[np.maximum(nxt, 0)]
        own_class[waiting] = np.where(handoff[waiting], C_HANDOFF, C_QUEUE)

    post = np.zeros(n_cases, dtype=np.int64)
    after = status & ~in_lead & (kind == WORK) & (classes.stage == IMPROVE)
    if after.any():
        span = np.maximum(finish - arrays.ts, 0)
        post = np.bincount(case[after], weights=span[after], minlength=n_cases).astype(np.int64)
    return Accounting(status, work, pseudo, reopen, episode, window, group_change, delivered, delivery, lead_end, lead_time,
                      in_lead, own, own_class, gap, gap_class, tail, post, prev_status)


def _next_status(arrays: CaseArrays, status: np.ndarray) -> np.ndarray:
    """Per event: the index of the next status event of its case (strictly after), or -1."""
    n = arrays.n_events
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    at_or_after = segments.next_valid_index(status, arrays.end_index)
    out = np.full(n, -1, dtype=np.int64)
    out[:-1] = at_or_after[1:]
    out[:-1] = np.where((out[:-1] >= 0) & arrays.same_case_next, out[:-1], -1)
    return out


def _last_status_index(arrays: CaseArrays, status: np.ndarray) -> np.ndarray:
    """Per case: the index of its last status event, or -1."""
    src = segments.last_valid_index(status, arrays.first_index)
    return src[arrays.case_start[1:] - 1] if arrays.n_cases else np.zeros(0, dtype=np.int64)


# XES transitions after which an activity instance is not being worked on (a complete only when it ends an
# instance opened earlier: in a log of completes only, an event's state runs until the next).
IDLE_TRANSITIONS = ("schedule", "assign", "reassign", "suspend", "ate_abort", "pi_abort", "withdraw", "autoskip", "manualskip")


def idle_transitions(transition: pd.Series, ends: np.ndarray) -> np.ndarray:
    """Per event: its activity instance is idle after it: a complete that ends an instance opened earlier in its
    ticket (``ends``, :func:`instance_ends`), a schedule or (re)assignment, a suspend, an abort, a withdrawal or a
    skip. The work is done between a start (or resume) and what follows it."""
    values = transition.astype("category")
    names = pd.Index(values.cat.categories.astype(str).str.lower())
    codes = values.cat.codes.to_numpy()
    idle = np.where(codes >= 0, names.isin(IDLE_TRANSITIONS)[np.maximum(codes, 0)], False)
    return idle | ends


def instance_ends(arrays: CaseArrays, transition: pd.Series) -> np.ndarray:
    """Per event: an XES ``complete`` of an activity that another transition (schedule, start, resume …)
    opened earlier in its ticket. Where an activity's work is begun by those, its complete ends work (or
    closes the work item), it does not begin any; in a log of completes only, none is flagged."""
    values = transition.astype("category")
    names = pd.Index(values.cat.categories.astype(str).str.lower())
    codes = values.cat.codes.to_numpy()
    complete = np.where(codes >= 0, names.isin(["complete", "completed"])[np.maximum(codes, 0)], False)
    opening = (codes >= 0) & ~complete
    out = np.zeros(arrays.n_events, dtype=bool)
    if arrays.n_events < 2 or not (complete.any() and opening.any()):
        return out
    order = np.lexsort((np.arange(arrays.n_events), arrays.activity, arrays.case))  # per ticket and activity, in time order
    c, a = arrays.case[order], arrays.activity[order]
    first = np.r_[True, (c[1:] != c[:-1]) | (a[1:] != a[:-1])]
    opened = np.cumsum(opening[order]) - opening[order]  # openings before each event, over the whole log
    opened_before = opened - opened[np.flatnonzero(first)][np.cumsum(first) - 1]  # … within its ticket and activity
    out[order] = complete[order] & (opened_before > 0)
    return out


def _delivery(arrays: CaseArrays, classes: EventClasses, status: np.ndarray, reopen_flag: np.ndarray,
              ends: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return per case the index of its delivering event (-1: open), and per event the reopens and reopen episodes."""
    n, n_cases = arrays.n_events, arrays.n_cases
    reopen = np.zeros(n, dtype=bool)
    episode = np.zeros(n, dtype=bool)
    delivery = np.full(n_cases, -1, dtype=np.int64)
    s = np.flatnonzero(status)
    if len(s) == 0:
        return delivery, reopen, episode
    sc = arrays.case[s]
    done = classes.kind[s] == DONE
    first = np.r_[True, sc[1:] != sc[:-1]]
    prev_done = np.r_[False, done[:-1]] & ~first
    # Runs of non-done states; a run after a done state that holds work or an explicit reopen undoes the delivery.
    run_start = ~done & (first | prev_done)
    run = np.cumsum(run_start) - 1
    returns = (classes.kind[s] == WORK) & (classes.stage[s] != IMPROVE) & ~classes.inherited[s]
    if ends is not None:
        returns &= ~ends[s]  # the complete of work begun before: it ends, it does not return
    undo = reopen_flag[s] | returns
    n_runs = int(run_start.sum())
    has_undo = np.bincount(run[~done & undo], minlength=n_runs) > 0 if n_runs else np.zeros(0, dtype=bool)
    reopen_run = np.zeros(n_runs, dtype=bool)
    live_run = np.zeros(n_runs, dtype=bool)
    rs = np.flatnonzero(run_start)
    if n_runs:
        reopen_run = prev_done[rs] & has_undo
        live_run = first[rs] | reopen_run
    if n_runs:
        in_live = ~done & (run >= 0) & live_run[np.maximum(run, 0)]
        in_reopen = ~done & (run >= 0) & reopen_run[np.maximum(run, 0)]
    else:
        in_live = in_reopen = np.zeros(len(s), dtype=bool)
    reopen[s[rs[reopen_run]]] = True
    episode[s[in_reopen]] = True
    # Delivery: the first done state after the case's last live run (or its first done state, if none).
    last_live = np.full(n_cases, -1, dtype=np.int64)
    lp = np.flatnonzero(in_live)
    if len(lp):
        lc = sc[lp]
        tail_of_case = np.r_[lc[1:] != lc[:-1], True]
        last_live[lc[tail_of_case]] = lp[tail_of_case]
    case_first_pos = np.searchsorted(sc, np.arange(n_cases))
    case_end_pos = np.searchsorted(sc, np.arange(n_cases), side="right")
    from_pos = np.where(last_live >= 0, last_live + 1, case_first_pos)
    # Per position (and one past the end): the next done state at or after it, else len(s).
    marker = np.full(len(s) + 1, len(s), dtype=np.int64)
    at_done = np.flatnonzero(done)
    marker[at_done] = at_done
    next_done = np.minimum.accumulate(marker[::-1])[::-1]
    d = next_done[np.minimum(from_pos, len(s))]
    ok = d < case_end_pos
    delivery[ok] = s[d[ok]]
    return delivery, reopen, episode


def _handoffs(arrays: CaseArrays, classes: EventClasses, status: np.ndarray, nxt: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return per event: carries a change of group; lies in a hand-off window; is a work-kind queue state."""
    n = arrays.n_events
    none = np.zeros(n, dtype=bool)
    if arrays.group is None or n == 0 or not (arrays.group >= 0).any():
        return none, none, none
    has_group = arrays.group >= 0
    g = segments.ffill(arrays.group.astype(np.float64), has_group, arrays.first_index)
    prev = segments.previous(g, arrays.is_first)
    change = ~np.isnan(prev) & ~np.isnan(g) & (g != prev)
    seg_start = segments.last_valid_index(change | arrays.is_first, arrays.first_index)
    by_change = change[seg_start]
    kind_work = status & (classes.kind == WORK)
    before = np.cumsum(kind_work) - kind_work
    first_work_kind = kind_work & (before - before[seg_start] == 0)
    # A work-kind state entered at the hand-off and left for other work of the same group: the group's queue.
    ok = nxt >= 0
    j = np.maximum(nxt, 0)
    next_is_other_work = ok & (classes.kind[j] == WORK) & (arrays.activity[j] != arrays.activity) & (g[j] == g)
    entered_at_handoff = change | classes.inherited
    pseudo = by_change & first_work_kind & entered_at_handoff & next_is_other_work
    work = kind_work & ~pseudo
    before = np.cumsum(work) - work
    window = by_change & (before - before[seg_start] == 0) & ~work
    return change, window, pseudo


def _classes(arrays: CaseArrays, classes: EventClasses, status: np.ndarray, prev_status: np.ndarray, work: np.ndarray,
             pseudo: np.ndarray, window: np.ndarray, change: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return each event's class for its own time and for the gap before it (``prev_status``: per event, the
    index of the status event before it in its case, or -1)."""
    kind = classes.kind
    n = arrays.n_events
    own = np.full(n, C_UNCLASSIFIED, dtype=np.int8)
    own[work] = C_WORK
    own[status & (kind == DONE)] = C_DONE
    waits = status & (kind == WAIT) & (classes.wait >= 0)
    own[waits] = _WAIT_CLASS_OF_KIND[classes.wait[waits]]
    queue_like = pseudo | (waits & ((own == C_QUEUE) | (own == C_HANDOFF)))
    own[window & queue_like] = C_HANDOFF
    own[pseudo & ~window] = C_QUEUE
    # The gap before an event: classified by the event that ends it.
    gap = own.copy()
    prev_in_window = segments.at(window, prev_status, False)
    gap[work] = C_QUEUE
    gap[work & (change | prev_in_window)] = C_HANDOFF
    gap[status & (kind == DONE)] = C_QUEUE
    return own, gap


UNKNOWN = ALL_KINDS.index("unknown")


def intake_events(arrays: CaseArrays, classes: EventClasses, acc: Accounting) -> np.ndarray:
    """Flag each ticket's intake queue: its first state, when that is a queue or hand-off wait
    (New, Open, Waiting for support, Queued/Awaiting Assignment). Being logged is engage."""
    first_status = np.zeros(arrays.n_events, dtype=bool)
    s = np.flatnonzero(acc.status)
    if len(s):
        sc = arrays.case[s]
        first_status[s[np.r_[True, sc[1:] != sc[:-1]]]] = True
    queue_like = (classes.wait == WAIT_KINDS.index("queue")) | (classes.wait == WAIT_KINDS.index("handoff"))
    return first_status & (classes.kind == WAIT) & (queue_like | ~classes.inherited)


def path_events(arrays: CaseArrays, classes: EventClasses, acc: Accounting, intake: np.ndarray) -> np.ndarray:
    """Flag the events that make a ticket's value-chain path: its work (and unknown
    states, for exports that cannot tell), the intake queue it starts in (engage:
    :func:`intake_events`) and its delivery (resolving is the deliver and support
    step when no work shows it). Waits, other done states and bookkeeping never
    add a stage, so a wait never makes a deviation.
    """
    unknown = acc.status & (classes.kind == UNKNOWN)
    delivery = np.zeros(arrays.n_events, dtype=bool)
    delivery[acc.delivery[acc.delivered]] = True
    return (acc.work | unknown | intake | delivery) & (classes.stage >= 0)
