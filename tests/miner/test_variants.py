"""Variants at activity level and value-chain level."""

from __future__ import annotations

from collections import Counter

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from miner.discovery import discover
from miner.variants import _split_collisions, variants
from tests.helpers import make_log


@settings(max_examples=80, deadline=None)
@given(st.lists(st.lists(st.integers(0, 3), min_size=0, max_size=8), min_size=1, max_size=40))
def test_variants_equal_exact_grouping(sequences):
    codes = np.array([c for s in sequences for c in s], dtype=np.int64)
    starts = np.r_[0, np.cumsum([len(s) for s in sequences])].astype(np.int64)
    names = np.array(list("wxyz"), dtype=object)
    got = variants(codes, starts, names)
    expected = Counter(tuple("wxyz"[c] for c in s) for s in sequences)
    assert {tuple(p): n for p, n in zip(got.table["path"], got.table["cases"], strict=True)} == dict(expected)
    for i, s in enumerate(sequences):
        assert tuple(got.table["path"][got.of_case[i]]) == tuple("wxyz"[c] for c in s)
    assert list(got.table["cases"]) == sorted(got.table["cases"], reverse=True)


def test_forced_hash_collision_is_split_exactly():
    codes = np.array([0, 1, 1, 0, 0, 1], dtype=np.int64)
    starts = np.array([0, 2, 4, 6], dtype=np.int64)
    lengths = np.diff(starts)
    wrong = np.zeros(3, dtype=np.int64)  # pretend all three cases hashed alike
    group = _split_collisions(codes, starts, wrong, lengths)
    assert group[0] == group[2] != group[1]


def test_value_chain_variants_collapse_consecutive_stages():
    log = make_log([("A", "Log call", 0), ("A", "Categorise", 1), ("A", "Investigate", 5), ("A", "Resolve", 9),
                    ("B", "Log call", 0), ("B", "Investigate", 3)])
    found = discover(log)
    paths = dict(zip(found.tickets["case_id"], found.tickets["path"], strict=True))
    assert paths["A"] == "engage → deliver and support"
    assert paths == {"A": "engage → deliver and support", "B": "engage → deliver and support"}
    assert len(found.vc_variants) == 1
    assert len(found.variants) == 2
