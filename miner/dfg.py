"""The directly-follows graph: which activity follows which, how often, after how long.

Semantics are pm4py's: within a case, events in timestamp order (ties in
input order) and each event followed by the next one. The wait on an edge
a → b runs from the end of a (its end timestamp where known, else its
timestamp) to the timestamp of b, and is never negative.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from miner.cases import US, CaseArrays
from miner.stats import grouped_quantiles


@dataclass
class Dfg:
    edges: pd.DataFrame  # source, target, count, median_wait_s, p90_wait_s, mean_wait_s, total_wait_s
    start_activities: dict[str, int]
    end_activities: dict[str, int]


def edge_waits(arrays: CaseArrays) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return, for every directly-follows pair, its source code, target code and wait in µs."""
    if arrays.n_events < 2:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, empty
    follows = arrays.same_case_next
    src = arrays.activity[:-1][follows].astype(np.int64)
    dst = arrays.activity[1:][follows].astype(np.int64)
    wait = arrays.ts[1:][follows] - arrays.finish[:-1][follows]
    return src, dst, np.maximum(wait, 0)


def directly_follows(arrays: CaseArrays) -> Dfg:
    """Return the activity-level directly-follows graph with frequencies and waits."""
    names = arrays.activity_names
    n_act = max(len(names), 1)
    src, dst, wait = edge_waits(arrays)
    key = src * n_act + dst
    keys, counts, (median, p90, mean_helper) = grouped_quantiles(key, wait, (0.5, 0.9, 0.5))
    totals = np.bincount(np.searchsorted(keys, key), weights=wait.astype(np.float64), minlength=len(keys)) if len(keys) else np.zeros(0)
    edges = pd.DataFrame(
        {
            "source": names[keys // n_act].astype(str) if len(keys) else np.zeros(0, dtype=str),
            "target": names[keys % n_act].astype(str) if len(keys) else np.zeros(0, dtype=str),
            "count": counts,
            "median_wait_s": median / US,
            "p90_wait_s": p90 / US,
            "mean_wait_s": (totals / np.maximum(counts, 1)) / US,
            "total_wait_s": totals / US,
        }
    )
    del mean_helper
    edges = edges.sort_values(["count", "source", "target"], ascending=[False, True, True], ignore_index=True)
    starts = np.bincount(arrays.activity[arrays.is_first], minlength=len(names)) if arrays.n_events else np.zeros(0, int)
    ends = np.bincount(arrays.activity[arrays.is_last], minlength=len(names)) if arrays.n_events else np.zeros(0, int)
    return Dfg(edges, _named_counts(names, starts), _named_counts(names, ends))


def _named_counts(names: np.ndarray, counts: np.ndarray) -> dict[str, int]:
    order = sorted((i for i in range(len(counts)) if counts[i]), key=lambda i: (-counts[i], str(names[i])))
    return {str(names[i]): int(counts[i]) for i in order}
