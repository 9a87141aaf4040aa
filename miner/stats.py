"""Grouped statistics over flat arrays, without a Python loop per group."""

from __future__ import annotations

import numpy as np


def grouped_quantiles(keys: np.ndarray, values: np.ndarray, qs: tuple[float, ...]) -> tuple[np.ndarray, np.ndarray, list[np.ndarray]]:
    """Return distinct keys, their counts, and per key the quantiles ``qs`` of ``values``.

    Quantiles interpolate linearly between order statistics, as
    ``numpy.quantile`` does by default (so the median of an even count is the
    mean of the two middle values, as in pm4py and ``statistics.median``).
    """
    if len(keys) == 0:
        return np.zeros(0, dtype=keys.dtype), np.zeros(0, dtype=np.int64), [np.zeros(0) for _ in qs]
    k, v = _sort_by_key_then_value(keys.astype(np.int64), values)
    starts = np.flatnonzero(np.r_[True, k[1:] != k[:-1]])
    counts = np.diff(np.r_[starts, len(k)])
    out = []
    for q in qs:
        pos = q * (counts - 1)
        lo = np.floor(pos).astype(np.int64)
        hi = np.ceil(pos).astype(np.int64)
        frac = pos - lo
        out.append(v[starts + lo] + (v[starts + hi] - v[starts + lo]) * frac)
    return k[starts], counts, out


def quantiles(values: np.ndarray, qs: tuple[float, ...]) -> list[float | None]:
    """Return the quantiles of ``values`` (None when empty)."""
    if len(values) == 0:
        return [None for _ in qs]
    return [float(x) for x in np.quantile(values.astype(np.float64), qs)]


def segment_sums(values: np.ndarray, starts: np.ndarray, n: int) -> np.ndarray:
    """Return the sum of ``values`` over each segment starting at ``starts`` (empty segments give 0)."""
    if len(values) == 0:
        return np.zeros(len(starts), dtype=values.dtype)
    out = np.add.reduceat(values, np.minimum(starts, len(values) - 1))
    lengths = np.diff(np.r_[starts, n])
    return np.where(lengths > 0, out, 0)


def _sort_by_key_then_value(keys: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return keys and values sorted by key, then value.

    Integer values are packed with their key into one int64 and sorted in one
    pass when that fits, which is several times faster than a lexsort.
    """
    if np.issubdtype(values.dtype, np.integer) and len(values):
        lo = int(values.min())
        span = int(values.max()) - lo + 1
        kmin = int(keys.min())
        if (int(keys.max()) - kmin + 1) * span < 2**62:
            packed = np.sort((keys - kmin) * span + (values.astype(np.int64) - lo))
            return packed // span + kmin, (packed % span + lo).astype(np.float64)
    order = np.lexsort((values, keys))
    return keys[order], values[order].astype(np.float64)
