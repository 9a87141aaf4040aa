"""Property tests: the per-case array helpers equal their plain definitions (a loop per event, or the
pandas expression they replace) on random logs."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from miner import segments
from miner.analysis import _cases_per_activity, _value_counts3


@st.composite
def logs(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Case index per event (sorted), a valid flag and a value per event; each event's case first index and end."""
    sizes = draw(st.lists(st.integers(1, 6), min_size=0, max_size=8))
    case = np.repeat(np.arange(len(sizes)), sizes).astype(np.int64)
    n = len(case)
    valid = np.array(draw(st.lists(st.booleans(), min_size=n, max_size=n)), dtype=bool)
    values = np.array(draw(st.lists(st.integers(0, 9), min_size=n, max_size=n)), dtype=np.float64)
    return case, valid, values, np.searchsorted(case, case, side="left")


def _end(case: np.ndarray) -> np.ndarray:
    return np.searchsorted(case, case, side="right")


@settings(max_examples=200, deadline=None)
@given(logs())
def test_the_latest_and_next_valid_events_are_those_of_the_case(log: tuple) -> None:
    case, valid, values, first = log
    end = _end(case)
    n = len(case)
    latest = [max((j for j in range(first[i], i + 1) if valid[j]), default=-1) for i in range(n)]
    earliest = [min((j for j in range(i, end[i]) if valid[j]), default=-1) for i in range(n)]
    before = [max((j for j in range(first[i], i) if valid[j]), default=-1) for i in range(n)]
    assert segments.last_valid_index(valid, first).tolist() == latest
    assert segments.next_valid_index(valid, end).tolist() == earliest
    assert segments.previous_valid_index(valid, first).tolist() == before
    expect = np.array([values[j] if j >= 0 else np.nan for j in before])
    assert np.array_equal(segments.previous_valid(values, valid, first), expect, equal_nan=True)
    assert np.array_equal(segments.ffill(values, valid, first), np.array([values[j] if j >= 0 else np.nan for j in latest]), equal_nan=True)
    assert np.array_equal(segments.bfill(values, valid, end, fill=-1), np.array([values[j] if j >= 0 else -1 for j in earliest]))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(-1, 7), max_size=30), st.sampled_from(["float", "int", "bool"]), st.booleans())
def test_values_at_an_index_are_np_where_with_its_type(index: list[int], kind: str, per_index_fill: bool) -> None:
    idx = np.array(index, dtype=np.int64)
    values = {"float": np.linspace(0.5, 7.5, 8), "int": np.arange(8, dtype=np.int64) * 3, "bool": np.arange(8) % 3 == 0}[kind]
    fills = [np.nan, -1, False] + ([np.arange(len(idx)) + 100] if per_index_fill else [])
    for fill in fills:
        expect = np.where(idx >= 0, values[np.maximum(idx, 0)], fill)
        got = segments.at(values, idx, fill)
        assert got.dtype == expect.dtype
        assert np.array_equal(got, expect, equal_nan=got.dtype.kind == "f")


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 40).flatmap(lambda n: st.tuples(st.just(n), st.sets(st.integers(0, max(n - 1, 0)), max_size=n))))
def test_run_index_is_the_last_start_at_or_before(drawn: tuple[int, set[int]]) -> None:
    n, starts = drawn
    starts_array = np.array(sorted(s for s in starts if s < n), dtype=np.int64)
    expect = np.searchsorted(starts_array, np.arange(n), side="right") - 1
    assert segments.run_index(starts_array, n).tolist() == expect.tolist()


@settings(max_examples=200, deadline=None)
@given(logs(), st.integers(1, 6))
def test_cases_per_activity_count_each_case_once(log: tuple, n_act: int) -> None:
    case = log[0]
    act = (log[2].astype(np.int64) % n_act)
    n_cases = int(case.max()) + 1 if len(case) else 0
    pairs = pd.Series(case * n_act + act).value_counts()
    pair_act = pairs.index.to_numpy() % n_act
    cases, repeated = _cases_per_activity(case, act, n_cases, n_act)
    assert cases.tolist() == np.bincount(pair_act, minlength=n_act).tolist()
    assert repeated.tolist() == np.bincount(pair_act[pairs.to_numpy() >= 2], minlength=n_act).tolist()


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 5), st.integers(-1, 4), st.integers(-1, 3)), max_size=60), st.booleans())
def test_triple_counts_match_pandas_value_counts_order_included(rows: list[tuple[int, int, int]], wide: bool) -> None:
    x, y, z = (np.array([r[i] for r in rows], dtype=np.int64) for i in range(3))
    if wide:  # codes far apart: the count per triple no longer fits, pandas counts them
        x = x * 1000
    expect = pd.DataFrame({"x": x, "y": y, "z": z}).value_counts().reset_index(name="n")
    got = _value_counts3(x, y, z)
    for column, values in zip(["x", "y", "z", "n"], got, strict=True):
        assert values.tolist() == expect[column].tolist()
