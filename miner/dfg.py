"""The directly-follows graph: which activity follows which, how often, after how long.

Semantics are pm4py's: within a case, events in timestamp order (ties in
input order) and each event followed by the next one. The wait on an edge
a → b runs from the end of a (its end timestamp where known, else its
timestamp) to the timestamp of b, and is never negative.
"""

from __future__ import annotations

import numpy as np

from miner.cases import CaseArrays


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
