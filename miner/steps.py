"""Figures per designed step: time in it, waiting before it, its target, and
how often its output is complete and accurate (%C&A)."""

from __future__ import annotations

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


def step_table(
    arrays: CaseArrays, classes: EventClasses, tclass: np.ndarray, duration: np.ndarray, design: Design, assigned: np.ndarray
) -> pd.DataFrame:
    """Return one row per designed step of every stream that has tickets.

    Work and wait times are per ticket that reached the step (medians over
    those tickets); the wait of a step is the waiting attributed to its stage
    (waits take the stage of the work they wait for). %C&A (complete and
    accurate) is the share of the tickets that reached the step that, once
    they moved on from it, never had to come back to it.
    """
    n_cases = arrays.n_cases
    case = arrays.case
    stage = classes.stage.astype(np.int64)
    dur = duration.astype(np.float64)
    is_work = tclass == WORK_CLASS
    is_wait = np.isin(tclass, WAIT_CLASSES)
    returned = _returns(arrays, classes)
    rows = []
    for s_index, stream in enumerate(design.streams):
        tickets = assigned == s_index
        n_tickets = int(tickets.sum())
        if n_tickets == 0:
            continue
        for j, step in enumerate(stream.steps):
            sel = (stage == STAGES.index(step.stage)) & tickets[case]
            if step.activities:
                sel &= np.isin(arrays.activity_names, list(step.activities))[arrays.activity]
            work = np.bincount(case[sel & is_work], weights=dur[sel & is_work], minlength=n_cases) / US
            wait = np.bincount(case[sel & is_wait], weights=dur[sel & is_wait], minlength=n_cases) / US
            reached = np.bincount(case[sel], minlength=n_cases) > 0
            reached &= tickets
            total = work + wait
            r = int(reached.sum())
            over = reached & (total > step.target_s) if step.target_s else np.zeros(n_cases, bool)
            s = STAGES.index(step.stage)
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
                    "work_median_s": float(np.median(work[reached])) if r else None,
                    "wait_median_s": float(np.median(wait[reached])) if r else None,
                    "time_median_s": float(np.median(total[reached])) if r else None,
                    "time_p90_s": float(np.quantile(total[reached], 0.9)) if r else None,
                    "work_total_s": float(work[reached].sum()),
                    "wait_total_s": float(wait[reached].sum()),
                    "target_s": step.target_s,
                    "over_target": int(over.sum()),
                    "over_target_share": (int(over.sum()) / r) if r and step.target_s else None,
                    "median_excess_s": float(np.median(total[over] - step.target_s)) if over.any() else None,
                    "complete_accurate": (1.0 - float((returned[:, s] & reached).sum()) / r) if r else None,
                    "examples_over_target": [str(x) for x in arrays.case_ids[np.flatnonzero(over)[np.argsort(-total[over])][:3]]] if over.any() else [],
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
