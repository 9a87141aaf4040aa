"""Directly-follows graph semantics on hand-built logs."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from miner.discovery import discover
from tests.helpers import make_log


def edges(log):
    return {(r.source, r.target): (int(r.count), r.median_wait_s, r.p90_wait_s) for r in discover(log).edges.itertuples()}


def test_counts_and_waits():
    log = make_log([("A", "a", 0), ("A", "b", 10), ("A", "c", 40), ("B", "a", 0), ("B", "b", 30), ("B", "b", 31)])
    got = edges(log)
    assert got[("a", "b")] == (2, 1200.0, 600 + 0.9 * 1200)  # waits 600 s and 1800 s
    assert got[("b", "c")] == (1, 1800.0, 1800.0)
    assert got[("b", "b")] == (1, 60.0, 60.0)
    found = discover(log)
    assert found.start_activities == {"a": 2}
    assert found.end_activities == {"b": 1, "c": 1}


def test_equal_timestamps_keep_input_order():
    log = make_log([("A", "x", 0), ("A", "z", 5), ("A", "y", 5), ("A", "w", 9)])
    assert set(edges(log)) == {("x", "z"), ("z", "y"), ("y", "w")}


def test_events_out_of_order_in_file_are_sorted_by_time():
    log = make_log([("A", "late", 50), ("A", "early", 0), ("B", "only", 3), ("A", "middle", 20)])
    assert set(edges(log)) == {("early", "middle"), ("middle", "late")}


def test_interval_waits_run_from_end_to_next_start_and_never_negative():
    log = make_log(
        [("A", "a", 0, 30), ("A", "b", 40, 45), ("A", "c", 44, None)],
        columns=("case_id", "activity", "minutes", "end_minutes"),
    )
    got = edges(log)
    assert got[("a", "b")][1] == 600.0  # 30 → 40 min
    assert got[("b", "c")][1] == 0.0  # c starts before b ends: overlap, no wait


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 5), st.sampled_from("abcd"), st.integers(0, 100)), min_size=1, max_size=60))
def test_counts_equal_brute_force(rows):
    log = make_log([(f"c{c}", a, m) for c, a, m in rows])
    expected: dict[tuple[str, str], int] = {}
    for case in {r[0] for r in rows}:
        # stable sort by time keeps input order for ties, as pm4py does
        seq = [a for c, a, m in sorted((r for r in rows if r[0] == case), key=lambda r: r[2])]
        for x, y in zip(seq, seq[1:], strict=False):
            expected[(x, y)] = expected.get((x, y), 0) + 1
    got = {k: v[0] for k, v in edges(log).items()}
    assert got == expected
    assert sum(got.values()) == len(rows) - len({r[0] for r in rows})
