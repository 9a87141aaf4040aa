"""Time in state, wait classes, hand-off waits, steps against targets, flow efficiency, groups."""

from __future__ import annotations

import pytest

from miner.design import parse_design_text
from miner.discovery import compare
from tests.helpers import make_log

COLUMNS = ("case_id", "activity", "minutes", "group")


def run(rows, design=None):
    found = compare(make_log(rows, columns=COLUMNS), design)
    return found, found.comparison


def test_wait_classes_and_handoff_window():
    rows = [
        ("A", "Log call", 0, "SD"),              # engage work 10
        ("A", "Investigate", 10, "SD"),          # work 20
        ("A", "Queued", 30, "L2"),               # group change: queue wait becomes hand-off wait, 40
        ("A", "Awaiting customer", 70, "L2"),    # customer wait stays customer, 20
        ("A", "Investigate", 90, "L2"),          # L2's first work, 30
        ("A", "Pending vendor", 120, "L2"),      # vendor wait, 60
        ("A", "Investigate", 180, "L2"),         # work, 20
        ("A", "Resolved", 200, "L2"),            # done: lead time ends
        ("A", "Closed", 900, "L2"),
    ]
    found, c = run(rows)
    by = c.by_class
    assert by["work"] == (10 + 20 + 30 + 20) * 60
    assert by["handoff"] == 40 * 60
    assert by["customer"] == 20 * 60
    assert by["vendor"] == 60 * 60
    assert by["queue"] == 0
    assert found.tickets["lead_time_s"].iloc[0] == 200 * 60
    assert c.flow_efficiency == {"median": pytest.approx(80 / 200), "pooled": pytest.approx(80 / 200)}


def test_wait_transitions_name_the_work_on_both_sides():
    rows = [("A", "Investigate", 0, "SD"), ("A", "Awaiting customer", 10, "SD"), ("A", "Pending vendor", 25, "SD"),
            ("A", "Investigate", 60, "SD"), ("A", "Resolved", 70, "SD")]
    _, c = run(rows)
    t = c.transitions.iloc[0]
    assert (t["source"], t["target"], t["waits"], t["total_s"]) == ("Investigate", "Investigate", 1, 50 * 60)


DESIGN = """
[[stream]]
name = "Incident"
applies_to = "default"
  [[stream.step]]
  stage = "engage"
  target = "15m"
  [[stream.step]]
  stage = "deliver and support"
  target = "1h"
"""


def test_steps_against_targets_and_complete_accurate():
    rows = [
        ("A", "Log call", 0, "SD"), ("A", "Investigate", 10, "SD"), ("A", "Resolved", 40, "SD"),          # engage 10, deliver 30
        ("B", "Log call", 0, "SD"), ("B", "Investigate", 30, "SD"), ("B", "Categorise", 120, "SD"),       # engage 30 → over by 15
        ("B", "Investigate", 130, "SD"), ("B", "Resolved", 140, "SD"),                                     # deliver 90+10=100 → over by 40
    ]
    _, c = run(rows, parse_design_text(DESIGN, "d.toml"))
    steps = c.steps.set_index("stage")
    engage, deliver = steps.loc["engage"], steps.loc["deliver_support"]
    assert (engage["tickets"], engage["over_target"], engage["median_excess_s"]) == (2, 1, (30 + 10 - 15) * 60)
    assert (deliver["over_target"], deliver["median_excess_s"]) == (1, (100 - 60) * 60)
    # B left engage and came back to it: engage is complete and accurate for A only.
    assert engage["complete_accurate"] == 0.5
    assert engage["work_median_s"] == pytest.approx((10 + 40) / 2 * 60)


def test_a_group_alone_in_handing_off_to_its_receivers_is_not_compared():
    """SD passes on within 5 minutes and L2 waits 3 h for it, but no other group hands off to L2 or L3:
    nothing tells SD's hand-offs from L2's queue, so nothing is flagged (tests/miner/test_groups.py compares)."""
    rows = []
    for i in range(6):
        rows += [(f"T{i}", "Log call", 0, "SD"), (f"T{i}", "Reassigned", 5, "L2"), (f"T{i}", "Categorise", 185, "L2"),
                 (f"T{i}", "Investigate", 190, "L2"), (f"T{i}", "Reassigned", 250, "SD"), (f"T{i}", "Log call", 260, "SD"),
                 (f"T{i}", "Reassigned", 265, "L3"), (f"T{i}", "Investigate", 275, "L3"), (f"T{i}", "Resolved", 400, "L3")]
    _, c = run(rows)
    groups = c.groups.set_index("group")
    assert groups.loc["SD", "handoffs_out"] == 12 and groups.loc["SD", "downstream_wait_s"] == 6 * (180 + 10) * 60
    assert groups["comparable_handoffs"].eq(0).all()
    assert groups["p_value"].isna().all() and not groups["moved_bottleneck"].any()


def test_a_wait_between_two_activities_names_the_states_it_was_spent_in():
    # Between two runs of 'Investigate': 180 min in 'Queued' (at L2: a hand-off wait) and 60 in 'Awaiting customer',
    # over two tickets; a comment in the middle of a wait is bookkeeping and no state of its own (the decoy).
    rows = []
    for t in ("A", "B"):
        rows += [(t, "Log call", 0, "SD"), (t, "Investigate", 10, "SD"), (t, "Queued", 30, "L2"),
                 (t, "Comment added", 60, "L2"), (t, "Queued", 90, "L2"), (t, "Awaiting customer", 120, "L2"),
                 (t, "Investigate", 150, "L2"), (t, "Resolved", 160, "L2")]
    _, c = run(rows)
    t = c.bottleneck_transitions
    assert list(zip(t["source"], t["target"], strict=True)) == [("Investigate", "Investigate")]  # 'Log call' is work: no wait before
    assert t["total_wait_s"].iloc[0] == 2 * 120 * 60
    assert t["via"].iloc[0] == [{"state": "Queued", "share": 0.75}, {"state": "Awaiting customer", "share": 0.25}]
