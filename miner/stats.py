"""Grouped statistics over flat arrays, without a Python loop per group."""

from __future__ import annotations

import numpy as np
import pandas as pd


def grouped_quantiles(keys: np.ndarray, values: np.ndarray, qs: tuple[float, ...]) -> tuple[np.ndarray, np.ndarray, list[np.ndarray]]:
    """Return distinct keys, their counts, and per key the quantiles ``qs`` of ``values``.

    Quantiles interpolate linearly between order statistics, as
    ``numpy.quantile`` does by default (so the median of an even count is the
    mean of the two middle values, as in pm4py and ``statistics.median``).
    """
    keys_out, counts, out, _ = grouped_stats(keys, values, qs)
    return keys_out, counts, out


def grouped_stats(keys: np.ndarray, values: np.ndarray, qs: tuple[float, ...]) -> tuple[np.ndarray, np.ndarray, list[np.ndarray], np.ndarray]:
    """:func:`grouped_quantiles`, and also each key's sum of ``values`` (exact for integers, in any order)."""
    if len(keys) == 0:
        return np.zeros(0, dtype=keys.dtype), np.zeros(0, dtype=np.int64), [np.zeros(0) for _ in qs], np.zeros(0, dtype=values.dtype)
    keys = keys.astype(np.int64)
    kmin = int(keys.min())
    if np.issubdtype(values.dtype, np.integer) and int(keys.max()) - kmin < FEW_KEYS and len(keys) >= FEW_KEYS_ROWS:
        return _few_keys_stats(keys - kmin, kmin, values, qs)
    k, v = _sort_by_key_then_value(keys, values)
    starts = np.flatnonzero(np.r_[True, k[1:] != k[:-1]])
    counts = np.diff(np.r_[starts, len(k)])
    sums = np.add.reduceat(v, starts)
    v = v.astype(np.float64)
    out = []
    for q in qs:
        pos = q * (counts - 1)
        lo = np.floor(pos).astype(np.int64)
        hi = np.ceil(pos).astype(np.int64)
        frac = pos - lo
        out.append(v[starts + lo] + (v[starts + hi] - v[starts + lo]) * frac)
    return k[starts], counts, out, sums


# Up to this many distinct keys (and from this many rows on), grouped_stats selects each key's order
# statistics from its own values instead of sorting every value: a few dozen keys over a million
# values (the measures of miner.analysis) cost a third of a full sort.
FEW_KEYS = 256
FEW_KEYS_ROWS = 4096


def _few_keys_stats(keys: np.ndarray, kmin: int, values: np.ndarray, qs: tuple[float, ...]) -> tuple[np.ndarray, np.ndarray, list[np.ndarray], np.ndarray]:
    """:func:`grouped_stats` of integer ``values`` under keys ``0 <= keys < FEW_KEYS`` (shifted by ``kmin``).

    The values are grouped by key (a stable radix sort of 16-bit keys), each key's
    sum is exact, and each quantile's two order statistics come from
    ``np.partition`` of the key's own values: the same figures as sorting them all.
    """
    small = keys.astype(np.int16)
    order = np.argsort(small, kind="stable")
    v = values[order]
    per_key = np.bincount(small, minlength=FEW_KEYS)
    present = np.flatnonzero(per_key)
    counts = per_key[present]
    starts = np.r_[0, np.cumsum(counts)[:-1]]
    sums = np.add.reduceat(v, starts)
    positions = [q * (counts - 1) for q in qs]
    lows = [np.floor(p).astype(np.int64) for p in positions]
    highs = [np.ceil(p).astype(np.int64) for p in positions]
    low_values = [np.empty(len(counts), dtype=v.dtype) for _ in qs]
    high_values = [np.empty(len(counts), dtype=v.dtype) for _ in qs]
    for j, (start, count) in enumerate(zip(starts.tolist(), counts.tolist(), strict=True)):
        kth = sorted({int(a[j]) for a in (*lows, *highs)})
        part = np.partition(v[start:start + count], kth) if count > 1 else v[start:start + count]
        for i in range(len(qs)):
            low_values[i][j] = part[lows[i][j]]
            high_values[i][j] = part[highs[i][j]]
    out = []
    for p, lo, low, high in zip(positions, lows, low_values, high_values, strict=True):
        low, high = low.astype(np.float64), high.astype(np.float64)
        out.append(low + (high - low) * (p - lo))
    return present.astype(np.int64) + kmin, counts.astype(np.int64), out, sums


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


DENSE_KEYS = 1 << 22  # key spaces up to this size are counted with bincount, larger ones by sorting
LOW_BITS = 26  # int64 values are split in two parts whose float64 sums stay exact (each part's sum < 2**53)


def exact_key_sums(keys: np.ndarray, values: np.ndarray, space: int) -> tuple[np.ndarray, np.ndarray]:
    """The distinct ``keys`` (ascending, each below ``space``) and the exact int64 sum of ``values`` (int64, ≥ 0) for each.

    A small key space is two bincounts (the values' high and low bits, each
    float64 sum exact), without sorting; a large one sorts the keys.
    """
    if space <= DENSE_KEYS:
        low = np.bincount(keys, weights=values & ((1 << LOW_BITS) - 1), minlength=space)
        high = np.bincount(keys, weights=values >> LOW_BITS, minlength=space)
        present = np.flatnonzero(np.bincount(keys, minlength=space))
        return present, (high[present].astype(np.int64) << LOW_BITS) + low[present].astype(np.int64)
    order = np.argsort(keys, kind="stable")
    ordered = keys[order]
    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]]) if len(ordered) else np.zeros(0, dtype=np.int64)
    return ordered[starts], np.add.reduceat(values[order], starts) if len(starts) else np.zeros(0, dtype=np.int64)


def _sort_by_key_then_value(keys: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return keys and values (of their own type) sorted by key, then value.

    Integer values are packed with their key into one int64 and sorted in one
    pass when that fits, which is several times faster than a lexsort. Other
    values are sorted, then stably by key: the order of a lexsort, faster.
    """
    if not len(values):
        return keys, values
    kmin = int(keys.min())
    if np.issubdtype(values.dtype, np.integer):
        lo = int(values.min())
        span = int(values.max()) - lo + 1
        if (int(keys.max()) - kmin + 1) * span < 2**62:
            packed = np.sort((keys - kmin) * span + (values.astype(np.int64) - lo))
            return packed // span + kmin, (packed % span + lo).astype(values.dtype)
    by_value = np.argsort(values, kind="stable")
    shifted = keys[by_value] - kmin
    # A stable sort of 16-bit integers is a radix sort.
    if int(shifted.max()) < 2**15:
        shifted = shifted.astype(np.int16)
    order = by_value[np.argsort(shifted, kind="stable")]
    return keys[order], values[order]


def key_codes(frame: pd.DataFrame, keys: list[str]) -> tuple[np.ndarray, pd.DataFrame]:
    """Return a code per row for its combination of ``keys``, and the combinations (as strings) per code."""
    parts = []
    for k in keys:
        col = frame[k]
        if isinstance(col.dtype, pd.CategoricalDtype):
            parts.append((col.cat.codes.to_numpy().astype(np.int64), np.asarray(col.cat.categories, dtype=object)))
        else:
            c, u = pd.factorize(col)
            parts.append((c.astype(np.int64), np.asarray(u, dtype=object)))
    combined = np.zeros(len(frame), dtype=np.int64)
    for c, u in parts:
        combined = combined * (len(u) + 1) + c
    codes, uniques = pd.factorize(combined)
    rest = np.asarray(uniques, dtype=np.int64)
    columns = {}
    for k, (_, u) in zip(reversed(keys), reversed(parts), strict=True):
        columns[k] = u[rest % (len(u) + 1)].astype(str)
        rest = rest // (len(u) + 1)
    return codes.astype(np.int64), pd.DataFrame({k: columns[k] for k in keys})


def distinct_per_key(frame: pd.DataFrame, keys: list[str], column: str) -> pd.DataFrame:
    """Return each combination of ``keys`` (as strings) with the number of distinct values of ``column`` in its rows."""
    if frame.empty:
        return pd.DataFrame({**{k: pd.Series([], dtype=object) for k in keys}, "tickets": pd.Series([], dtype=np.int64)})
    codes, uniques = key_codes(frame, keys)
    values = frame[column]
    if isinstance(values.dtype, pd.CategoricalDtype):  # its codes tell the values apart already (-1: missing)
        d_codes, width = values.cat.codes.to_numpy().astype(np.int64), len(values.cat.categories) + 1
    else:
        d_codes, d_values = pd.factorize(values)
        width = len(d_values) + 1
    pairs = pd.unique(codes * width + d_codes)
    out = uniques.copy()
    out["tickets"] = np.bincount(pairs // width, minlength=len(uniques))
    return out


def grouped_table(keys: dict[str, np.ndarray], aggregations: list[tuple[str, str, np.ndarray | None]]) -> pd.DataFrame:
    """``DataFrame(...).groupby(list(keys)).agg(name=(column, how), ...).reset_index()`` for non-negative integer keys, in numpy.

    One row per distinct combination of ``keys``, in sorted order as groupby gives them: the key columns (of
    their own dtypes), then one int64 column per ``(name, how, values)`` in ``aggregations``, ``how`` being
    "size" (rows per group; ``values`` unused), "sum" (exact, as int64; booleans count) or "nunique"
    (distinct non-negative integer values). pandas' groupby costs milliseconds of fixed overhead a call,
    which the analysis pays per partition on small tables; this costs a sort.
    """
    names = list(keys)
    columns = [np.asarray(keys[k]) for k in names]
    n = len(columns[0])
    dims = [int(c.max()) + 1 if n else 1 for c in columns]
    combined = np.ravel_multi_index([c.astype(np.int64) for c in columns], dims) if n else np.zeros(0, dtype=np.int64)
    uniq, inverse = np.unique(combined, return_inverse=True)
    out: dict[str, np.ndarray] = {}
    for name, c, part in zip(names, columns, np.unravel_index(uniq, dims), strict=True):
        out[name] = part.astype(c.dtype)
    order = np.argsort(inverse, kind="stable")
    starts = np.flatnonzero(np.r_[True, inverse[order][1:] != inverse[order][:-1]]) if n else np.zeros(0, dtype=np.int64)
    for name, how, values in aggregations:
        if how == "size":
            out[name] = np.bincount(inverse, minlength=len(uniq)).astype(np.int64)
        elif how == "sum":
            v = np.asarray(values).astype(np.int64)[order]
            out[name] = np.add.reduceat(v, starts) if n else np.zeros(0, dtype=np.int64)
        elif how == "nunique":
            v = np.asarray(values).astype(np.int64)
            width = int(v.max()) + 1 if n else 1
            pairs = np.unique(inverse.astype(np.int64) * width + v)
            out[name] = np.bincount(pairs // width, minlength=len(uniq)).astype(np.int64)
        else:
            raise ValueError(f"unknown aggregation {how!r}")
    return pd.DataFrame(out)
