"""Operations within each case's contiguous run of events, on flat arrays.

Events are sorted by case, so "within a case" means within a segment of the
arrays. These replace pandas' groupby(case).shift/ffill/bfill/cummax, which
re-factorise the case column on every call.
"""

from __future__ import annotations

import numpy as np


def previous(values: np.ndarray, is_first: np.ndarray, fill: float = np.nan) -> np.ndarray:
    """Return each event's predecessor in its case (``fill`` for a case's first event)."""
    out = np.empty(len(values), dtype=np.result_type(values.dtype, np.asarray(fill).dtype))
    if len(values):
        out[1:] = values[:-1]
        out[is_first] = fill
    return out


def last_valid_index(valid: np.ndarray, case_first_index: np.ndarray) -> np.ndarray:
    """Per event: the index of the latest valid event of its case at or before it, or -1."""
    latest = np.arange(len(valid))
    latest[~valid] = -1
    np.maximum.accumulate(latest, out=latest)
    latest[latest < case_first_index] = -1
    return latest


def next_valid_index(valid: np.ndarray, case_end_index: np.ndarray) -> np.ndarray:
    """Per event: the index of the earliest valid event of its case at or after it, or -1.

    ``case_end_index`` is, per event, one past the last event of its case.
    """
    n = len(valid)
    earliest = np.arange(n)
    earliest[~valid] = n
    backwards = earliest[::-1]
    np.minimum.accumulate(backwards, out=backwards)
    earliest[earliest >= case_end_index] = -1
    return earliest


def ffill(values: np.ndarray, valid: np.ndarray, case_first_index: np.ndarray, fill: float = np.nan) -> np.ndarray:
    """Forward-fill ``values`` within cases from the events where ``valid`` holds."""
    return at(values, last_valid_index(valid, case_first_index), fill)


def bfill(values: np.ndarray, valid: np.ndarray, case_end_index: np.ndarray, fill: float = np.nan) -> np.ndarray:
    """Backward-fill ``values`` within cases from the events where ``valid`` holds."""
    return at(values, next_valid_index(valid, case_end_index), fill)


def previous_valid_index(valid: np.ndarray, case_first_index: np.ndarray) -> np.ndarray:
    """Per event: the index of the latest valid event strictly before it in its case, or -1."""
    src = last_valid_index(valid, case_first_index)
    before = np.empty_like(src)
    if len(src):
        before[0] = -1
        before[1:] = src[:-1]
        before[before < case_first_index] = -1  # at a case's first event, the predecessor's source is another case's
    return before


def at(values: np.ndarray, index: np.ndarray, fill: float | np.ndarray = np.nan) -> np.ndarray:
    """``values`` at each ``index``, and ``fill`` (a value, or one per index) where the index is -1.

    The result has ``np.where``'s type: that of ``values`` and ``fill`` together.
    """
    out = values.take(index)  # -1 takes the last value, a stand-in that the fill replaces
    dtype = np.result_type(values, fill)
    if out.dtype != dtype:
        out = out.astype(dtype)
    missing = index < 0
    out[missing] = np.asarray(fill)[missing] if np.ndim(fill) else fill
    return out


def previous_valid(values: np.ndarray, valid: np.ndarray, case_first_index: np.ndarray, fill: float = np.nan) -> np.ndarray:
    """Per event: the value of the latest valid event strictly before it in its case."""
    return at(values, previous_valid_index(valid, case_first_index), fill)


def run_index(starts: np.ndarray, n: int) -> np.ndarray:
    """Per position 0 … n-1: the index into ``starts`` (sorted, distinct positions) of the last start at or
    before it, or -1 (``np.searchsorted(starts, np.arange(n), side="right") - 1`` without the searches)."""
    marks = np.zeros(n, dtype=np.int64)
    marks[starts] = 1
    out = np.cumsum(marks, out=marks)
    out -= 1
    return out


def cummax(values: np.ndarray, case: np.ndarray) -> np.ndarray:
    """Running maximum within each case (values must be finite)."""
    if len(values) == 0:
        return values.astype(np.float64)
    v = values.astype(np.float64)
    span = float(np.nanmax(v) - np.nanmin(v)) + 1.0
    offset = case.astype(np.float64) * span * 2
    return np.maximum.accumulate(v - np.nanmin(v) + offset) - offset + np.nanmin(v)


def cumsum(values: np.ndarray, case_start: np.ndarray, case: np.ndarray) -> np.ndarray:
    """Running sum within each case."""
    total = np.cumsum(values)
    before = np.r_[0, total][case_start[:-1]]
    return total - before[case]
