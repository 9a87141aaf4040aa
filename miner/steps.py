"""Figures per designed step: time in it, waiting before it, its target, and
how often its output is complete and accurate (%C&A).

Per ticket, :func:`step_values` measures each step of the ticket's own
designed stream (columns ``step<j>_work_s``, ``step<j>_wait_s``,
``step<j>_reached``, ``step<j>_back``); :func:`step_table` turns those ticket
columns into one row per step, so it works the same on one log or on many
partitions of cases.

The wait of a step is the waiting attributed to its stage (waits take the stage
of the work they wait for). %C&A (complete and accurate) is the share of the
tickets that reached the step that, once they moved on from it, never had to
come back to it.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from miner.cases import US, CaseArrays
from miner.design import Design
from miner.mapping import EventClasses
from miner.valuechain import STAGES
from miner.variants import collapse_repeats
from miner.waits import CLASSES

WORK_CLASS = CLASSES.index("work")
WAIT_CLASSES = [CLASSES.index(c) for c in ("queue", "customer", "vendor", "internal", "handoff")]
EXAMPLES = 3


def max_steps(design: Design) -> int:
    return max((len(s.steps) for s in design.streams), default=0)


def step_values(
    arrays: CaseArrays, classes: EventClasses, tclass: np.ndarray, duration: np.ndarray, design: Design, assigned: np.ndarray
) -> pd.DataFrame:
    """Return, per ticket, work and wait in each step of its designed stream, and whether it came back."""
    n_cases = arrays.n_cases
    case = arrays.case
    stage = classes.stage.astype(np.int64)
    dur = duration.astype(np.float64)
    is_work = tclass == WORK_CLASS
    is_wait = np.isin(tclass, WAIT_CLASSES)
    returned = _returns(arrays, classes)
    out: dict[str, np.ndarray] = {}
    for j in range(max_steps(design)):
        work = np.zeros(n_cases)
        wait = np.zeros(n_cases)
        reached = np.zeros(n_cases, dtype=bool)
        back = np.zeros(n_cases, dtype=bool)
        for s_index, stream in enumerate(design.streams):
            if j >= len(stream.steps):
                continue
            step = stream.steps[j]
            tickets = assigned == s_index
            if not tickets.any():
                continue
            sel = (stage == STAGES.index(step.stage)) & tickets[case]
            if step.activities:
                sel &= np.isin(arrays.activity_names, list(step.activities))[arrays.activity]
            work += np.bincount(case[sel & is_work], weights=dur[sel & is_work], minlength=n_cases)
            wait += np.bincount(case[sel & is_wait], weights=dur[sel & is_wait], minlength=n_cases)
            reached |= (np.bincount(case[sel], minlength=n_cases) > 0) & tickets
            back |= returned[:, STAGES.index(step.stage)] & tickets
        out[f"step{j}_work_s"] = work / US
        out[f"step{j}_wait_s"] = wait / US
        out[f"step{j}_reached"] = reached
        out[f"step{j}_back"] = back & reached
    return pd.DataFrame(out)


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
            ids = tickets["case_id"].take(idx[reached][over]).to_numpy(dtype=object)  # only the tickets over target
            excess = total[over] - (step.target_s or 0)
            order = np.lexsort((ids, -excess)) if over.any() else np.zeros(0, dtype=int)
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
                    "examples_over_target": [str(x) for x in ids[order][:EXAMPLES]],
                }
            )
    return pd.DataFrame(rows)


def _returns(arrays: CaseArrays, classes: EventClasses) -> np.ndarray:
    """Return per case and stage whether the case came back to the stage after leaving it."""
    n_cases = arrays.n_cases
    mapped = classes.stage >= 0
    codes = classes.stage[mapped].astype(np.int64)
    case = arrays.case[mapped]
    starts = np.searchsorted(case, np.arange(n_cases + 1)).astype(np.int64)
    codes, starts, _ = collapse_repeats(codes, case, starts)
    path_case = np.repeat(np.arange(n_cases), np.diff(starts))
    visits = np.zeros((n_cases, len(STAGES)), dtype=np.int64)
    np.add.at(visits, (path_case, codes), 1)
    return visits >= 2
