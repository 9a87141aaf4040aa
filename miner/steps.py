"""Figures per designed step: time in it, waiting before it, its target, and
how often its output is complete and accurate (%C&A).

Per ticket, :func:`step_values` measures each step of the ticket's own
designed stream (columns ``step<j>_work_s``, ``step<j>_wait_s``,
``step<j>_reached``, ``step<j>_back``); :func:`step_table` turns those ticket
columns into one row per step, so it works the same on one log or on many
partitions of cases.

The wait of a step is the waiting attributed to it: a wait belongs to the step
whose work it precedes or interrupts, and never makes a deviation. %C&A
(complete and accurate) is the share of the tickets that reached the step whose
output was not sent back to it nor reopened after it.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from miner import segments
from miner.accounting import C_WORK, Accounting
from miner.cases import US, CaseArrays
from miner.design import Design
from miner.mapping import EventClasses
from miner.valuechain import STAGES

EXAMPLES = 3


def max_steps(design: Design) -> int:
    return max((len(s.steps) for s in design.streams), default=0)


def step_values(
    arrays: CaseArrays, classes: EventClasses, acc: Accounting, design: Design, assigned: np.ndarray, path: np.ndarray, back: np.ndarray
) -> pd.DataFrame:
    """Return, per ticket, work and wait in each step of its designed stream, and whether its output came back.

    A wait belongs to the step whose work follows it (or, at the end of an open
    ticket, the step it interrupts): the stage a wait inherits, and for a step
    narrowed to activities, the activity of the next work. ``path`` flags the
    events of the ticket's value-chain path; ``back`` is, per case and stage,
    whether that stage's output was sent back or reopened (:func:`returns`).
    """
    n_cases = arrays.n_cases
    case = arrays.case
    stage = classes.stage.astype(np.int64)
    work_us = acc.work_us.astype(np.float64)
    wait_us = acc.wait_us.astype(np.float64)
    waitish = acc.status & ~acc.work & (wait_us > 0)
    present = path | waitish
    # The waiting an XES complete (or a schedule …) owns belongs to the step of the work that follows it, as the
    # gap before that work does when the log is paired into intervals.
    idle_work = acc.work & (acc.own_class != C_WORK) & (acc.own_us > 0)
    real_work = acc.work & ~idle_work
    wait_stage = stage
    if idle_work.any():
        following = segments.bfill(stage.astype(np.float64), real_work & (stage >= 0), arrays.end_index)
        wait_stage = np.where(idle_work & ~np.isnan(following), following, stage).astype(np.int64)
    # Each stream's events (of its tickets), in order: the steps of a stream look at those only.
    of_event = assigned[case]
    order = np.argsort(of_event, kind="stable")
    bounds = np.searchsorted(of_event[order], np.arange(len(design.streams) + 1))
    events = [order[bounds[i]:bounds[i + 1]] for i in range(len(design.streams))]
    out: dict[str, np.ndarray] = {}
    for j in range(max_steps(design)):
        work = np.zeros(n_cases)
        wait = np.zeros(n_cases)
        reached = np.zeros(n_cases, dtype=bool)
        came_back = np.zeros(n_cases, dtype=bool)
        for s_index, stream in enumerate(design.streams):
            if j >= len(stream.steps):
                continue
            step = stream.steps[j]
            tickets = assigned == s_index
            if not tickets.any():
                continue
            ev = events[s_index]
            sel = stage[ev] == STAGES.index(step.stage)
            sel_wait = wait_stage[ev] == STAGES.index(step.stage)
            if step.activities:
                named = np.isin(arrays.activity_names, list(step.activities))[arrays.activity]
                # Waits and gaps take the step of the work that follows them, else of the work before.
                hit = named & real_work
                after = segments.bfill(hit.astype(np.float64), real_work, arrays.end_index)
                before = segments.ffill(hit.astype(np.float64), real_work, arrays.first_index)
                follows = np.where(np.isnan(after), before, after) == 1
                sel &= np.where(acc.work, named, follows)[ev]
                sel_wait &= np.where(real_work, named, follows)[ev]
            ev_wait = ev[sel_wait]
            ev = ev[sel]
            work += np.bincount(case[ev], weights=work_us[ev], minlength=n_cases)
            wait += np.bincount(case[ev_wait], weights=wait_us[ev_wait], minlength=n_cases)
            reached |= (np.bincount(case[ev[present[ev]]], minlength=n_cases) > 0) & tickets
            came_back |= back[:, STAGES.index(step.stage)] & tickets
        out[f"step{j}_work_s"] = work / US
        out[f"step{j}_wait_s"] = wait / US
        out[f"step{j}_reached"] = reached
        out[f"step{j}_back"] = came_back & reached
    return pd.DataFrame(out)


def returns(arrays: CaseArrays, classes: EventClasses, acc: Accounting, backflow: np.ndarray, reopen: np.ndarray) -> np.ndarray:
    """Per case and stage: the stage's output was not right.

    A send-back (a backflow to stage R) counts against R, whose output the
    later step returned; a reopen counts against the stage of the work that
    last came before the delivery it undid. Nothing else is charged.
    """
    n_cases = arrays.n_cases
    out = np.zeros((n_cases, len(STAGES)), dtype=bool)
    stage = classes.stage.astype(np.int64)
    flows = backflow & (stage >= 0)
    out[arrays.case[flows], stage[flows]] = True
    last_work_stage = segments.previous_valid(stage.astype(np.float64), acc.work & (stage >= 0), arrays.first_index)
    r = reopen & ~np.isnan(last_work_stage)
    out[arrays.case[r], last_work_stage[r].astype(np.int64)] = True
    return out


def step_table(tickets: pd.DataFrame, design: Design) -> pd.DataFrame:
    """Return one row per designed step of every stream that has tickets (from the ticket columns)."""
    rows = []
    streams = tickets["designed_stream"]

    def column(name: str, idx: np.ndarray, dtype: object = None) -> np.ndarray:
        # One column's rows of one stream: never a copy of the whole (wide) ticket table.
        return tickets[name].to_numpy(dtype=dtype)[idx]

    for stream in design.streams:
        idx = np.flatnonzero((streams == stream.name).to_numpy(dtype=bool, na_value=False))
        n_tickets = len(idx)
        if n_tickets == 0:
            continue
        for j, step in enumerate(stream.steps):
            reached = column(f"step{j}_reached", idx, bool)
            r = int(reached.sum())
            work = column(f"step{j}_work_s", idx)[reached]
            wait = column(f"step{j}_wait_s", idx)[reached]
            total = work + wait
            over = (total > step.target_s) if step.target_s else np.zeros(r, bool)
            excess = total[over] - (step.target_s or 0)
            examples: list[str] = []
            if over.any():
                # The examples: the largest excesses (ties by ticket id), sorted among those that can be one only.
                k = min(EXAMPLES, len(excess))
                cand = np.flatnonzero(-excess <= np.partition(-excess, k - 1)[k - 1])
                ids = tickets["case_id"].take(idx[reached][over][cand]).to_numpy(dtype=object)
                examples = [str(x) for x in ids[np.lexsort((ids, -excess[cand]))][:EXAMPLES]]
            rows.append(
                {
                    "stream": stream.name,
                    "step": j + 1,
                    "stage": step.stage,
                    "label": step.label,
                    "practices": list(step.practices),
                    "optional": step.optional,
                    "tickets": r,
                    "reach_share": r / n_tickets,
                    "work_median_s": float(np.median(work)) if r else None,
                    "wait_median_s": float(np.median(wait)) if r else None,
                    "time_median_s": float(np.median(total)) if r else None,
                    "time_p90_s": float(np.quantile(total, 0.9)) if r else None,
                    "work_total_s": math.fsum(work.tolist()),
                    "wait_total_s": math.fsum(wait.tolist()),
                    "target_s": step.target_s,
                    "over_target": int(over.sum()),
                    "over_target_share": (int(over.sum()) / r) if r and step.target_s else None,
                    "median_excess_s": float(np.median(excess)) if over.any() else None,
                    "complete_accurate": (1.0 - float(column(f"step{j}_back", idx, bool)[reached].sum()) / r) if r else None,
                    "examples_over_target": examples,
                }
            )
    return pd.DataFrame(rows)
