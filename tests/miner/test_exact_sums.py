"""miner.stats.exact_key_sums: whole-microsecond sums per key, exact however large, in both of its paths."""

from __future__ import annotations

import numpy as np
import pytest

from miner.stats import exact_key_sums


@pytest.mark.parametrize("space", [60, 1 << 23])  # bincount's dense path, and the sorting path
def test_exact_key_sums_are_exact_for_large_values(space):
    rng = np.random.default_rng(7)
    keys = rng.integers(0, 60, 50_000)
    values = rng.integers(0, 10**15, 50_000)  # sums far beyond 2**53: float64 would round them
    got_keys, sums = exact_key_sums(keys, values, space)
    assert got_keys.tolist() == sorted(set(keys.tolist()))
    assert sums.tolist() == [sum(int(v) for v in values[keys == k]) for k in got_keys]
