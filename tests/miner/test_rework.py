"""Rework kinds, ping-pong and hand-offs on hand-built logs."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from miner.discovery import compare
from tests.helpers import make_log


def run(rows, columns=("case_id", "activity", "minutes", "group")):
    found = compare(make_log(rows, columns=columns))
    return found, found.comparison


def per_ticket(rows, columns=("case_id", "activity", "minutes", "group")):
    found, _ = run(rows, columns)
    return found.tickets.set_index("case_id")


PEOPLE = ("case_id", "activity", "minutes", "group", "resource")


def test_self_loop_repetition_and_resumption():
    rows = [
        ("A", "Investigate", 0, "L1", "ana"),
        ("A", "Investigate", 10, "L1", "bo"),         # another person does it again: self-loop, costs its 20 min
        ("A", "Awaiting customer", 30, "L1", "bo"),  # a wait …
        ("A", "Investigate", 40, "L1", "bo"),        # … then resumption: not rework
        ("A", "Test", 50, "L1", "bo"),
        ("A", "Investigate", 60, "L1", "bo"),        # repetition after other work: 15 min
        ("A", "Resolved", 75, "L1", "bo"),
    ]
    t = per_ticket(rows, PEOPLE).loc["A"]
    assert (t["self_loops"], t["self_loops_s"]) == (1, 20 * 60)
    assert (t["repetitions"], t["repetitions_s"]) == (1, 15 * 60)
    assert t["reopens"] == 0
    assert bool(t["any_rework"])


def test_the_same_person_again_is_the_work_going_on_not_a_self_loop():
    # Decoys a naive rule counts as self-loops: a second session of the same work by the same
    # person, a row restating an unchanged state (BPIC 2013 writes one whenever another field
    # changes), and a repeat where nobody is named.
    rows = [
        ("A", "Investigate", 0, "L1", "ana"),
        ("A", "Investigate", 10, "L1", "ana"),   # second session, same person
        ("A", "Investigate", 30, "L1", "ana"),   # and a third
        ("A", "Resolved", 75, "L1", "ana"),
        ("B", "In Progress", 0, "L2", "cy"),
        ("B", "In Progress", 50, "L2", "cy"),    # restated state
        ("B", "Resolved", 60, "L2", "cy"),
        ("C", "Investigate", 0, "L1", None),
        ("C", "Investigate", 5, "L1", None),     # nobody named on either
        ("C", "Resolved", 9, "L1", None),
    ]
    t = per_ticket(rows, PEOPLE)
    assert t["self_loops"].tolist() == [0, 0, 0]
    assert not t["any_rework"].any()
    # Without a person column, a repeat shows nobody redoing anything either.
    t = per_ticket([r[:4] for r in rows])
    assert t["self_loops"].tolist() == [0, 0, 0]


def test_reopen_costs_the_time_until_the_next_delivery():
    rows = [("A", "Investigate", 0, "L1"), ("A", "Resolved", 10, "L1"), ("A", "Investigate", 100, "L1"),
            ("A", "Resolved", 130, "L1"), ("A", "Closed", 500, "L1")]
    t = per_ticket(rows).loc["A"]
    assert (t["reopens"], t["reopens_s"]) == (1, 30 * 60)


def test_backflow_to_an_earlier_stage_of_the_design():
    # Service request design: engage → deliver and support. 'Categorise' is engage.
    rows = [("A", "Log request", 0, "SD", "request"), ("A", "Fulfil request", 10, "SD", "request"),
            ("A", "Categorise", 25, "SD", "request"), ("A", "Fulfil request", 40, "SD", "request"), ("A", "Close", 50, "SD", "request")]
    t = per_ticket(rows, ("case_id", "activity", "minutes", "group", "ticket_type")).loc["A"]
    assert t["backflows"] == 1
    assert t["backflows_s"] == 15 * 60  # back in engage from 25 to 40 min


def test_ping_pong_bounces_reassignments_and_pairs():
    rows = [("A", "Investigate", 0, "L1"), ("A", "Reassigned", 10, "L2"), ("A", "Reassigned", 30, "L1"),
            ("A", "Reassigned", 35, "L2"), ("A", "Investigate", 60, "L2"), ("A", "Resolved", 70, "L2"),
            ("B", "Investigate", 0, "L1"), ("B", "Resolved", 5, "L1")]
    found, c = run(rows)
    per = found.tickets.set_index("case_id")
    assert (per.loc["A", "bounces"], per.loc["A", "reassignments"]) == (2, 3)
    assert per.loc["A", "bounce_s"] == (20 + 5) * 60  # time in the middle group of each bounce
    assert per.loc["B", "bounces"] == 0
    assert c.pairs.to_dict("records") == [{"pair": "L1 ↔ L2", "bounces": 2, "tickets": 1, "time_s": 1500.0, "examples": ["A"]}]


def _brute_force_bounces(groups: list[str | None]) -> tuple[int, int]:
    seq = []
    for g in groups:
        if g is None:
            continue
        if not seq or seq[-1] != g:
            seq.append(g)
    bounces = sum(1 for k in range(len(seq) - 2) if seq[k] == seq[k + 2])
    return bounces, max(len(seq) - 1, 0)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.lists(st.sampled_from(["X", "Y", "Z", None]), min_size=1, max_size=12), min_size=1, max_size=6))
def test_ping_pong_equals_brute_force_on_random_group_sequences(sequences):
    rows = [(f"c{i}", "Investigate", k, g) for i, seq in enumerate(sequences) for k, g in enumerate(seq)]
    found, c = run(rows)
    per = found.tickets.set_index("case_id")
    for i, seq in enumerate(sequences):
        assert (per.loc[f"c{i}", "bounces"], per.loc[f"c{i}", "reassignments"]) == _brute_force_bounces(seq)


def test_handoffs_followed_by_rework_and_sent_back():
    rows = [("A", "Investigate", 0, "L1"), ("A", "Test", 5, "L1"), ("A", "Reassigned", 10, "L2"), ("A", "Investigate", 20, "L2"),
            ("A", "Reassigned", 40, "L1"), ("A", "Investigate", 50, "L1"), ("A", "Resolved", 60, "L1")]
    _, c = run(rows)
    table = {(h.from_group, h.to_group): (h.handoffs, h.followed_by_rework, h.bounced_back) for h in c.handoffs.itertuples()}
    # L2's investigation is the stream's next step, not rework; it sent the ticket back: a bounce,
    # and L1's investigation on its return belongs to that bounce (not counted again as a repetition).
    assert table[("L1", "L2")] == (1, 0, 1)
    assert table[("L2", "L1")] == (1, 0, 0)
