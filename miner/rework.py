"""Rework: activities that happen more than once in a ticket."""

from __future__ import annotations

import numpy as np

from miner.cases import CaseArrays


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
