"""Variants: the distinct sequences of activities (or of value-chain stages)
that cases follow.

Each case's sequence is hashed with two independent polynomial hashes over
its codes (vectorised over all events), cases are grouped by (length, hash),
and every case is then compared element by element with its group's first
case, so a hash collision can never merge two different variants.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

_BASES = (np.uint64(0x9E3779B97F4A7C15), np.uint64(0xC2B2AE3D27D4EB4F))


@dataclass
class Variants:
    """Variant index per case and one row per variant, most frequent first."""

    of_case: np.ndarray  # variant index per case (into table rows)
    table: pd.DataFrame  # variant, cases, length, path (tuple of names)


def variants(codes: np.ndarray, case_start: np.ndarray, names: np.ndarray) -> Variants:
    """Return the variants of the sequences ``codes[case_start[c]:case_start[c+1]]``."""
    n_cases = len(case_start) - 1
    if n_cases <= 0:
        return Variants(np.zeros(0, dtype=np.int64), pd.DataFrame({"variant": [], "cases": [], "length": [], "path": []}))
    group = _group_sequences(codes, case_start)
    # Representative case of each group: its first case.
    n_groups = int(group.max()) + 1
    rep = np.full(n_groups, n_cases, dtype=np.int64)
    np.minimum.at(rep, group, np.arange(n_cases))
    counts = np.bincount(group, minlength=n_groups)
    lengths = np.diff(case_start)[rep]
    paths = [tuple(names[codes[case_start[r]:case_start[r + 1]]].tolist()) for r in rep]
    table = pd.DataFrame({"group": np.arange(n_groups), "cases": counts, "length": lengths, "path": paths})
    # Most frequent first; equal counts in path order, so the output is deterministic.
    table["key"] = [" \x00 ".join(p) for p in paths]
    table = table.sort_values(["cases", "key"], ascending=[False, True], ignore_index=True)
    rank = np.empty(n_groups, dtype=np.int64)
    rank[table["group"].to_numpy()] = np.arange(n_groups)
    table = table.drop(columns=["group", "key"])
    table.insert(0, "variant", np.arange(1, n_groups + 1))
    return Variants(rank[group], table)


def _group_sequences(codes: np.ndarray, case_start: np.ndarray) -> np.ndarray:
    """Return a group index per case such that equal sequences share a group."""
    n = len(codes)
    n_cases = len(case_start) - 1
    lengths = np.diff(case_start)
    case = np.repeat(np.arange(n_cases), lengths)
    pos = np.arange(n) - case_start[:-1][case]
    values = codes.astype(np.uint64) + np.uint64(1)
    keys = [lengths.astype(np.uint64)]
    max_len = int(lengths.max()) if n_cases else 0
    with np.errstate(over="ignore"):
        for base in _BASES:
            powers = np.cumprod(np.full(max(max_len, 1), base, dtype=np.uint64))
            terms = values * powers[pos] if n else np.zeros(0, dtype=np.uint64)
            h = np.zeros(n_cases, dtype=np.uint64)
            nonempty = lengths > 0
            if n:
                h[nonempty] = np.add.reduceat(terms, case_start[:-1][nonempty])
            keys.append(h)
    # One 64-bit key per case from length and both hashes; cases that share a
    # key are verified element by element below, so a collision cannot merge variants.
    with np.errstate(over="ignore"):
        mixed = keys[1] ^ (keys[2] * np.uint64(0x94D049BB133111EB)) ^ (keys[0] * np.uint64(0xBF58476D1CE4E5B9))
    group, _ = pd.factorize(mixed)
    return _split_collisions(codes, case_start, group.astype(np.int64), lengths)


def _split_collisions(codes: np.ndarray, case_start: np.ndarray, group: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Verify every case against its group's first case; regroup exactly where they differ."""
    n_cases = len(lengths)
    n_groups = int(group.max()) + 1
    rep = np.full(n_groups, n_cases, dtype=np.int64)
    np.minimum.at(rep, group, np.arange(n_cases))
    case = np.repeat(np.arange(n_cases), lengths)
    pos = np.arange(len(codes)) - case_start[:-1][case]
    mirror = case_start[rep[group[case]]] + pos
    differs = codes != codes[mirror]
    if not differs.any():
        return group
    bad_cases = np.unique(case[differs])
    # Astronomically rare: regroup the affected cases by their exact sequences.
    seen: dict[tuple[int, ...], int] = {}
    out = group.copy()
    next_id = n_groups
    for c in bad_cases:
        seq = tuple(codes[case_start[c]:case_start[c + 1]].tolist())
        if seq not in seen:
            seen[seq] = next_id
            next_id += 1
        out[c] = seen[seq]
    _, out = np.unique(out, return_inverse=True)
    return out.ravel()


def collapse_repeats(codes: np.ndarray, arrays_case: np.ndarray, case_start: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Drop events whose code repeats the previous event's in the same case.

    Returns the kept codes, their new case offsets, and the kept positions.
    """
    n = len(codes)
    keep = np.ones(n, dtype=bool)
    if n > 1:
        keep[1:] = (codes[1:] != codes[:-1]) | (arrays_case[1:] != arrays_case[:-1])
    kept = np.flatnonzero(keep)
    new_case = arrays_case[kept]
    n_cases = len(case_start) - 1
    new_start = np.searchsorted(new_case, np.arange(n_cases + 1))
    return codes[kept], new_start.astype(np.int64), kept
