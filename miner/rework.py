"""Rework: work done again, tickets reopened, sent back, or bounced between groups."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from miner import segments
from miner.cases import US, CaseArrays
from miner.accounting import Accounting
from miner.mapping import ALL_KINDS, EventClasses
from miner.stats import grouped_table


def rework_cases_per_activity(arrays: CaseArrays) -> dict[str, int]:
    """Return, per activity, the number of cases in which it occurs at least twice.

    This is pm4py's ``get_rework_cases_per_activity``. On snapshot exports
    the connector has already folded rows that repeat a state, so a repeat
    here is a genuine return to the activity.
    """
    names = arrays.activity_names
    n_act = max(len(names), 1)
    key = arrays.case.astype(np.int64) * n_act + arrays.activity
    uniq, counts = np.unique(key, return_counts=True)
    repeated = uniq[counts >= 2] % n_act
    per_act = np.bincount(repeated, minlength=len(names))
    order = sorted((i for i in range(len(names)) if per_act[i]), key=lambda i: (-per_act[i], str(names[i])))
    return {str(names[i]): int(per_act[i]) for i in order}


# --- Rework per ticket -----------------------------------------------------------------
#
# Each rework event has exactly one kind, so the kinds add up (README "How vsm
# counts"). Only the ticket's own work counts (not pickups, not a queue entered
# at a hand-off, not bookkeeping such as field edits):
#
# reopen      the event that undoes a delivery (miner.accounting): an explicit
#             reopen, or the first state after a delivery of a run that returns
#             to work. Cost: from the reopen to the next delivery.
# bounce      X → Y → X in the ticket's group sequence with consecutive repeats
#             removed (X → Y → X → Y is two), flagged at the return to X. A
#             hand-off to another group is a reassignment, never rework.
#             Cost: the time in the intermediate group.
# backflow    among work events in stages the ticket's design names, a move to
#             a stage earlier in the designed order. Work in a stage the design
#             lacks is an extra step (conformance), not rework.
#             Cost: from the backflow until the ticket is back at the stage it had reached.
# repetition  a work activity the same group already did in the ticket, after
#             other work (resuming after a wait is not rework; a different
#             group's work after a hand-off is the stream's next step).
# self-loop   the same work activity twice in a row in the same group, by another
#             person: someone did it again. The same person repeating it (a
#             second session of the work, or a row that restates an unchanged
#             state, as BPIC 2013's rows do when another field changed) is the
#             work going on, not rework; so is a repeat with no person on either
#             event (nothing shows that anyone redid it).
#
# Events inside a reopen episode (from the reopen to the next delivery) or in
# the returned visit of a bounce belong to that reopen or bounce and are not
# counted again. Priority: reopen > bounce > backflow > repetition > self-loop.

WORK = ALL_KINDS.index("work")
DONE = ALL_KINDS.index("done")
KEY_SEP = " → "  # joins the two parts of a key in examples (from → to)


@dataclass
class Rework:
    """Rework in one set of cases: per ticket, per event, and additive tables that merge by summing.

    ``examples`` holds, per table and key, the costliest tickets (table, key, case_id, cost).
    """

    per_ticket: pd.DataFrame  # one row per case: counts and seconds per kind, bounces, reassignments
    event_kind: pd.DataFrame  # per event flags: self_loop, repetition, backflow, reopen, bounce (+ costs in µs)
    pairs: pd.DataFrame  # pair, bounces, tickets, time_us
    repeated: pd.DataFrame  # activity, repetitions, self_loops, tickets, time_us
    handoffs: pd.DataFrame  # from_group, to_group, handoffs, followed_by_rework, bounced_back
    loops: pd.DataFrame  # from_activity, to_activity, loops, tickets, time_us: work sent back to earlier work
    examples: pd.DataFrame  # table, key, case_id, cost


KINDS = ("reopens", "bounces", "backflows", "repetitions", "self_loops")


def rework(arrays: CaseArrays, classes: EventClasses, acc: Accounting, stage_rank: np.ndarray,
           instance_step: np.ndarray | None = None, person: np.ndarray | None = None) -> Rework:
    """Return every kind of rework per ticket, with the time it cost.

    ``stage_rank`` gives, per event, its stage's position in the ticket's
    designed order (-1 when the event has no stage, or one the design lacks).
    ``instance_step`` flags events that only move one activity instance along
    its XES lifecycle (schedule, start, suspend …, not complete): they are
    neither rework nor what separates two pieces of work. ``person`` gives,
    per event, a code for who did it (-1: nobody named; None: the log names
    nobody); a self-loop needs two named, different people.
    """
    n = arrays.n_events
    case = arrays.case
    act = arrays.activity.astype(np.int64)
    duration = acc.time_us
    steps = instance_step if instance_step is not None else np.zeros(n, dtype=bool)
    work = acc.work & ~classes.inherited & ~steps
    runs = _group_runs(arrays)
    excluded = acc.reopen_episode | runs.returned
    reopen = acc.reopen

    # backflows, among work events in designed stages
    stage_events = work & (stage_rank >= 0)
    backflow = _after_in_subsequence(stage_events, case, lambda prev, cur: stage_rank[cur] < stage_rank[prev]) & ~excluded
    backflow_time = np.where(backflow, _backflow_time(backflow, stage_events, stage_rank, arrays, acc), 0.0)

    # self-loops and repetitions, by the same group
    g = runs.group_of_event
    status = acc.status & ~steps
    prev_status = segments.previous_valid_index(status, arrays.first_index) if steps.any() else acc.prev_status
    prev_act = segments.at(act.astype(np.float64), prev_status)
    prev_group = segments.at(g.astype(np.float64), prev_status)
    prev_is_work = segments.at(work.astype(np.float64), prev_status) == 1
    self_loop = work & prev_is_work & (prev_act == act) & (prev_group == g) & ~excluded & ~backflow
    if person is None:
        self_loop[:] = False
    else:
        prev_person = segments.at(person.astype(np.float64), prev_status)
        self_loop &= (person >= 0) & (prev_person >= 0) & (prev_person != person)
    # What doing a piece of work again cost: the time its state held (a ticket log's state runs until the next
    # event), or in a log of XES lifecycles, the work from its start (or resume) to its complete.
    cost_us = _instance_work(acc.work_us, prev_status, arrays) if steps.any() else duration.astype(np.int64)
    n_act = max(len(arrays.activity_names), 1)
    n_grp = len(arrays.group_names) + 1 if arrays.group_names is not None else 1
    key = (case.astype(np.int64) * n_grp + (g + 1)) * n_act + act
    seen_before = np.zeros(n, dtype=bool)
    w = np.flatnonzero(work)
    seen_before[w] = pd.Series(key[w]).duplicated().to_numpy()
    prev_work_act = segments.previous_valid(act.astype(np.float64), work, arrays.first_index)
    repetition = work & seen_before & (prev_work_act != act) & ~self_loop & ~backflow & ~excluded

    # reopens: from the reopen to the next delivery
    episode_id = np.cumsum(reopen)
    cost = np.where(acc.reopen_episode, duration, 0).astype(np.float64)
    totals = np.bincount(episode_id, weights=cost, minlength=int(episode_id.max()) + 1 if n else 1)
    reopen_time = np.where(reopen, totals[episode_id] if n else 0.0, 0.0)

    dur = cost_us.astype(np.float64)
    per = pd.DataFrame({"case": np.arange(arrays.n_cases)})
    for name, flags, c in (
        ("self_loops", self_loop, dur * self_loop),
        ("repetitions", repetition, dur * repetition),
        ("backflows", backflow, backflow_time),
        ("reopens", reopen, reopen_time),
    ):
        per[name] = np.bincount(case[flags], minlength=arrays.n_cases)
        per[f"{name}_s"] = np.bincount(case, weights=c, minlength=arrays.n_cases) / US

    pairs, handoffs, pair_examples, handoff_examples = _ping_pong(arrays, per, runs, self_loop | repetition | backflow | reopen)
    per["any_rework"] = per[list(KINDS)].sum(axis=1) > 0
    events = pd.DataFrame({"self_loop": self_loop, "repetition": repetition, "backflow": backflow, "reopen": reopen,
                           "bounce": runs.bounce_event, "backflow_us": backflow_time, "reopen_us": reopen_time})
    by_act = pd.DataFrame({"a": act, "case": case, "rep": repetition, "loop": self_loop, "t": cost_us * (repetition | self_loop)})
    by_act = by_act[by_act["rep"] | by_act["loop"]]
    if len(by_act):
        repeated = grouped_table({"a": by_act["a"].to_numpy()}, [
            ("repetitions", "sum", by_act["rep"].to_numpy()), ("self_loops", "sum", by_act["loop"].to_numpy()),
            ("tickets", "nunique", by_act["case"].to_numpy()), ("time_us", "sum", by_act["t"].to_numpy())])
    else:
        repeated = by_act.groupby("a").agg(repetitions=("rep", "sum"), self_loops=("loop", "sum"), tickets=("case", "nunique"), time_us=("t", "sum")).reset_index()
    repeated["activity"] = arrays.activity_names[repeated["a"].to_numpy()].astype(str) if len(repeated) else []
    loops, loop_examples = _loops(arrays, prev_work_act, repetition, cost_us)
    examples = pd.concat([
        examples_frame("repeated", by_act["a"].to_numpy(), by_act["case"], by_act["t"] / US, arrays,
                       key_names=arrays.activity_names.astype(str).astype(object)),
        loop_examples, pair_examples, handoff_examples,
    ], ignore_index=True)
    return Rework(per, events, pairs, repeated[["activity", "repetitions", "self_loops", "tickets", "time_us"]], handoffs, loops, examples)


EXAMPLES = 3


def examples_frame(
    table: str, keys: np.ndarray | pd.Series, case: pd.Series | np.ndarray, cost: pd.Series | np.ndarray, arrays: CaseArrays,
    k: int = EXAMPLES, key_names: np.ndarray | None = None,
) -> pd.DataFrame:
    """Return example tickets per key: at least the ``k`` costliest (ties: by ticket id), to be cut with
    :func:`top_examples` (which the analysis does once for all its examples).

    ``keys`` are strings, or integer codes into ``key_names``.
    """
    case = np.asarray(case, dtype=np.int64)
    cost = np.asarray(cost, dtype=np.float64)
    if key_names is None:
        key_codes, key_names = pd.factorize(np.asarray(keys, dtype=object))
        key_names = np.asarray(key_names, dtype=object)
    else:
        key_codes = np.asarray(keys, dtype=np.int64)
    if len(case) > 4 * k:
        # Before building any strings, keep per key only the tickets that can make
        # its top k: each ticket at its highest cost, down to the k-th cost (ties kept).
        cases = int(case.max()) + 1
        pair = key_codes.astype(np.int64) * cases + case
        order = np.argsort(pair, kind="stable")
        sorted_pair = pair[order]
        starts = np.flatnonzero(np.r_[True, sorted_pair[1:] != sorted_pair[:-1]])
        cost = np.maximum.reduceat(cost[order], starts)  # each (key, ticket) once, at its highest cost
        key_codes, case = sorted_pair[starts] // cases, sorted_pair[starts] % cases
        order = np.lexsort((-cost, key_codes))
        sorted_keys = key_codes[order]
        starts = np.flatnonzero(np.r_[True, sorted_keys[1:] != sorted_keys[:-1]])
        sizes = np.diff(np.r_[starts, len(order)])
        kth = cost[order][starts + np.minimum(k, sizes) - 1]  # the k-th largest cost of each key
        keep = order[cost[order] >= np.repeat(kth, sizes)]
        key_codes, case, cost = key_codes[keep], case[keep], cost[keep]
    frame = pd.DataFrame({"key": key_names[key_codes], "case_id": arrays.case_id_index.array.take(case), "cost": cost})
    if frame.empty:
        return top_examples(frame.assign(table=table), k)
    # Not yet cut to the top k of each key: the partition's examples are cut once, all together
    # (miner.analysis), which keeps the same tickets (the top k of a union is the top k of its parts' top k).
    return frame.assign(table=table)[["table", "key", "case_id", "cost"]]


def top_examples(frame: pd.DataFrame, k: int = EXAMPLES) -> pd.DataFrame:
    """Keep, per (table, key), each ticket once at its highest cost, and the ``k`` costliest tickets."""
    if frame.empty:
        return pd.DataFrame({"table": pd.Series([], dtype=object), "key": pd.Series([], dtype=object),
                             "case_id": pd.Series([], dtype=object), "cost": pd.Series([], dtype=np.float64)})
    frame = frame.sort_values(["table", "key", "cost", "case_id"], ascending=[True, True, False, True], kind="stable")
    frame = frame.drop_duplicates(["table", "key", "case_id"])
    return frame.groupby(["table", "key"], sort=False).head(k)[["table", "key", "case_id", "cost"]].reset_index(drop=True)


def _loops(arrays: CaseArrays, prev: np.ndarray, repetition: np.ndarray, dur: np.ndarray) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Rework loops: work sent back to an activity the ticket had done earlier.

    A loop is a repetition that goes back: the repeated activity was first done
    before the work activity the ticket comes from (Design → Review → Design).
    ``prev`` is, per event, the activity of the work before it (NaN: none).
    """
    act = arrays.activity.astype(np.int64)
    known = ~np.isnan(prev)
    prev_act = np.where(known, prev, 0).astype(np.int64)
    candidate = repetition & known & (prev_act != act)
    columns = ["from_activity", "to_activity", "loops", "tickets", "time_us"]
    # Only the tickets with a candidate need the first occurrence of each activity.
    in_scope = np.zeros(arrays.n_cases, dtype=bool)
    in_scope[arrays.case[candidate]] = True
    scope = np.flatnonzero(in_scope[arrays.case])
    n_act = max(len(arrays.activity_names), 1)
    key = arrays.case[scope].astype(np.int64) * n_act + act[scope]
    uniques = pd.unique(key)  # in order of first appearance
    first_of_key = scope[np.flatnonzero(~pd.Series(key).duplicated().to_numpy())]
    index = pd.Index(uniques)
    cand = np.flatnonzero(candidate)
    case_c = arrays.case[cand].astype(np.int64)
    first_seen = first_of_key[index.get_indexer(case_c * n_act + act[cand])]
    prev_first_pos = first_of_key[index.get_indexer(case_c * n_act + prev_act[cand])]
    idx = cand[first_seen < prev_first_pos]
    if len(idx) == 0:
        return pd.DataFrame(columns=columns), top_examples(pd.DataFrame())
    frame = pd.DataFrame({"src": prev_act[idx], "dst": act[idx], "case": arrays.case[idx], "t": dur[idx]})
    names = arrays.activity_names
    n = len(names)
    frame["key"] = frame["src"] * n + frame["dst"]
    table = frame.groupby("key").agg(loops=("case", "size"), tickets=("case", "nunique"), time_us=("t", "sum")).reset_index()
    table["from_activity"] = names[(table["key"] // n).to_numpy()].astype(str)
    table["to_activity"] = names[(table["key"] % n).to_numpy()].astype(str)
    row = np.searchsorted(table["key"].to_numpy(), frame["key"].to_numpy())  # each loop's row of the (sorted) table
    key_names = table["from_activity"].to_numpy(dtype=object) + KEY_SEP + table["to_activity"].to_numpy(dtype=object)
    return table[columns], examples_frame("loops", row, frame["case"], frame["t"] / US, arrays, key_names=key_names)


def _after_in_subsequence(mask: np.ndarray, case: np.ndarray, test) -> np.ndarray:  # type: ignore[no-untyped-def]
    """Flag events of ``mask`` for which ``test(previous, current)`` holds, the previous
    being the case's preceding event of ``mask``."""
    idx = np.flatnonzero(mask)
    out = np.zeros(len(mask), dtype=bool)
    if len(idx) < 2:
        return out
    prev, cur = idx[:-1], idx[1:]
    ok = case[prev] == case[cur]
    hit = np.zeros(len(cur), dtype=bool)
    hit[ok] = test(prev[ok], cur[ok])
    out[cur[hit]] = True
    return out


def _instance_work(work_us: np.ndarray, prev_status: np.ndarray, arrays: CaseArrays) -> np.ndarray:
    """Per event: the work time of the events after ``prev_status`` (the status event before it that is no
    instance step; -1: none, from the ticket's start) up to and including it (µs, exact)."""
    total = np.r_[0, np.cumsum(work_us.astype(np.int64))]
    idx = np.arange(arrays.n_events)
    lo = np.where(prev_status >= 0, prev_status + 1, arrays.first_index)
    return total[idx + 1] - total[lo]


def _backflow_time(backflow: np.ndarray, stage_events: np.ndarray, rank: np.ndarray, arrays: CaseArrays, acc: Accounting) -> np.ndarray:
    """µs from each backflow until the ticket is back at the stage it had reached before."""
    n = arrays.n_events
    out = np.zeros(n, dtype=np.float64)
    if not backflow.any():
        return out
    reached = segments.cummax(np.where(stage_events, rank, -1), arrays.case)
    before = segments.previous(reached, arrays.is_first, -1)
    below = stage_events & (rank < before)
    # Time in states from a backflow while the ticket stays below the stage it had reached.
    below_f = segments.ffill(below.astype(np.float64), stage_events, arrays.first_index, fill=0.0).astype(bool)
    cost = np.where(below_f, acc.time_us, 0).astype(np.float64)
    # An episode ends at the case's next backflow or at its end: never in the next case (whose moves down
    # that are not backflows, reopens say, would otherwise land on this case's backflow).
    episode = np.cumsum(backflow | arrays.is_first)
    totals = np.bincount(episode, weights=cost, minlength=int(episode.max()) + 1)
    out[backflow] = totals[episode[backflow]]
    return out


@dataclass
class GroupRuns:
    """Each case's group sequence: runs of equal groups (events without a group skipped)."""

    group_of_event: np.ndarray  # per event: the group holding the ticket (ffilled), -1 before any
    event: np.ndarray  # per run: its first event
    case: np.ndarray
    group: np.ndarray
    ts: np.ndarray
    reassign: np.ndarray  # per run: starts with a change of group
    bounce: np.ndarray  # per run: returns to the group before the previous one (X → Y → X)
    bounce_event: np.ndarray  # per event: the first event of a bounce run
    returned: np.ndarray  # per event: in a bounce run (the returned visit)


def _group_runs(arrays: CaseArrays) -> GroupRuns:
    n = arrays.n_events
    empty_i = np.zeros(0, dtype=np.int64)
    if arrays.group is None:
        none = np.zeros(n, dtype=bool)
        return GroupRuns(np.full(n, -1, dtype=np.int64), empty_i, empty_i, empty_i, empty_i, none[:0], none[:0], none, none)
    g = arrays.group.astype(np.int64)
    has = g >= 0
    filled = segments.ffill(g.astype(np.float64), has, arrays.first_index, fill=-1.0).astype(np.int64)
    idx = np.flatnonzero(has)
    gc = arrays.case[idx]
    gg = g[idx]
    start_run = np.ones(len(idx), dtype=bool)
    start_run[1:] = (gc[1:] != gc[:-1]) | (gg[1:] != gg[:-1])
    run_event = idx[start_run]
    run_case = gc[start_run]
    run_group = gg[start_run]
    m = len(run_event)
    reassign = np.zeros(m, dtype=bool)
    reassign[1:] = run_case[1:] == run_case[:-1]
    bounce = np.zeros(m, dtype=bool)
    if m > 2:
        bounce[2:] = (run_case[2:] == run_case[:-2]) & (run_group[2:] == run_group[:-2])
    bounce_event = np.zeros(n, dtype=bool)
    bounce_event[run_event[bounce]] = True
    run_of = segments.run_index(run_event, n)
    valid = (run_of >= 0) & (run_case[np.maximum(run_of, 0)] == arrays.case) if m else np.zeros(n, dtype=bool)
    returned = valid & bounce[np.maximum(run_of, 0)] if m else np.zeros(n, dtype=bool)
    return GroupRuns(filled, run_event, run_case, run_group, arrays.ts[run_event], reassign, bounce, bounce_event, returned)


def _ping_pong(arrays: CaseArrays, per: pd.DataFrame, runs: GroupRuns, rework_events: np.ndarray) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Count bounces and reassignments on each case's group sequence; attribute rework to hand-offs."""
    n_cases = arrays.n_cases
    empty_pairs = pd.DataFrame(columns=["pair", "bounces", "tickets", "time_us"])
    empty_handoffs = pd.DataFrame(columns=["from_group", "to_group", "handoffs", "followed_by_rework", "bounced_back"])
    no_examples = top_examples(pd.DataFrame())
    if arrays.group is None:
        per["bounces"] = 0
        per["reassignments"] = 0
        per["bounce_s"] = 0.0
        return empty_pairs, empty_handoffs, no_examples, no_examples
    run_event, run_case, run_group, run_ts = runs.event, runs.case, runs.group, runs.ts
    m = len(run_event)
    reassign = runs.reassign
    per["reassignments"] = np.bincount(run_case[reassign], minlength=n_cases)
    bounce = runs.bounce  # flagged at the return to X
    per["bounces"] = np.bincount(run_case[bounce], minlength=n_cases)
    time_in_middle = np.zeros(m, dtype=np.float64)
    b = np.flatnonzero(bounce)
    time_in_middle[b] = run_ts[b] - run_ts[b - 1]
    per["bounce_s"] = np.bincount(run_case, weights=time_in_middle, minlength=n_cases) / US

    names = arrays.group_names
    if len(b):
        x, y = run_group[b], run_group[b - 1]
        lo, hi = np.minimum(x, y), np.maximum(x, y)
        frame = pd.DataFrame({"lo": lo, "hi": hi, "case": run_case[b], "t": (run_ts[b] - run_ts[b - 1]).astype(np.int64)})
        pairs = grouped_table({"lo": lo, "hi": hi}, [("bounces", "size", None), ("tickets", "nunique", frame["case"].to_numpy()),
                                                      ("time_us", "sum", frame["t"].to_numpy())])
        pairs["pair"] = [" ↔ ".join(sorted((str(names[a]), str(names[c])))) for a, c in zip(pairs["lo"], pairs["hi"], strict=True)]
        # Each bounce's pair as a row number of the (sorted) pair table: no string per bounce.
        width = np.int64(len(names))
        row = np.searchsorted(pairs["lo"].to_numpy() * width + pairs["hi"].to_numpy(), lo * width + hi)
        pair_examples = examples_frame("pairs", row, frame["case"], frame["t"] / US, arrays,
                                       key_names=pairs["pair"].to_numpy(dtype=object))
        pairs = pairs[["pair", "bounces", "tickets", "time_us"]]
    else:
        pairs = empty_pairs
        pair_examples = no_examples

    # Hand-offs (group changes) and what followed each one until the next.
    h = np.flatnonzero(reassign)
    if len(h) == 0:
        return pairs, empty_handoffs, pair_examples, no_examples
    seg_of_event = segments.run_index(run_event[h], arrays.n_events)
    valid = (seg_of_event >= 0) & (run_case[h][np.maximum(seg_of_event, 0)] == arrays.case)
    followed = np.zeros(len(h), dtype=bool)
    hit = valid & rework_events
    followed[np.unique(seg_of_event[hit])] = True
    returned = np.zeros(len(h), dtype=bool)
    returned[np.isin(h + 1, b)] = True  # the next run goes back to the sender
    frame = pd.DataFrame({"f": run_group[h - 1], "t": run_group[h], "rw": followed, "back": returned, "case": run_case[h]})
    table = grouped_table({"f": frame["f"].to_numpy(), "t": frame["t"].to_numpy()},
                          [("handoffs", "size", None), ("followed_by_rework", "sum", followed), ("bounced_back", "sum", returned)])
    table["from_group"] = names[table["f"].to_numpy()].astype(str)
    table["to_group"] = names[table["t"].to_numpy()].astype(str)
    bad = frame[frame["rw"] | frame["back"]]
    # Each such hand-off as a row number of the (sorted) hand-off table, named once per row.
    width = np.int64(len(names))
    keys = np.searchsorted(table["f"].to_numpy() * width + table["t"].to_numpy(), bad["f"].to_numpy() * width + bad["t"].to_numpy())
    key_names = (table["from_group"].to_numpy(dtype=object) + KEY_SEP + table["to_group"].to_numpy(dtype=object))
    # Every such hand-off counts the same; the tickets with the longest stay after it come first.
    hb = h[bad.index.to_numpy()]
    nxt = np.minimum(hb + 1, m - 1)
    same_case = (hb + 1 < m) & (run_case[nxt] == run_case[hb])
    until = np.where(same_case, run_ts[nxt], arrays.case_last_ts[run_case[hb]])
    cost = (until - run_ts[hb]) / US
    handoff_examples = examples_frame("handoffs", keys, bad["case"], cost, arrays, key_names=key_names)
    return pairs, table[["from_group", "to_group", "handoffs", "followed_by_rework", "bounced_back"]], pair_examples, handoff_examples
