"""Time in a log of XES lifecycles (schedule, start, complete as events of their own): work runs from a start to
its complete; after a complete, a schedule or a suspend the work waits. Truth is known minute by minute, and a
log of completes only, where each event's state runs until the next, is the decoy beside it."""

from __future__ import annotations

import pandas as pd
import pytest

import connectors
from miner.design import parse_design_text
from miner.discovery import compare
from tests.helpers import make_log

COLUMNS = ("case_id", "activity", "lifecycle:transition", "minutes", "resource")

LIFECYCLE_TICKET = [
    ("A", "Investigate", "schedule", 0, "ann"),   # scheduled, not started: waits 30
    ("A", "Investigate", "start", 30, "bob"),     # work 60
    ("A", "Investigate", "complete", 90, "bob"),  # done for now: waits 110 until the next start
    ("A", "Investigate", "start", 200, "cat"),    # work 30, by someone else: done again
    ("A", "Investigate", "complete", 230, "cat"),  # waits 10
    ("A", "Resolved", "complete", 240, "cat"),    # delivered: lead time 240
]
COMPLETES_ONLY_TICKET = [  # the decoy: no instance is opened, so each state runs until the next event
    ("B", "Investigate", "complete", 0, "bob"),   # work 60
    ("B", "Investigate", "complete", 60, "cat"),  # work 40, by someone else: done again
    ("B", "Resolved", "complete", 100, "cat"),
]


def write_csv(rows: list[tuple], path):  # type: ignore[no-untyped-def]
    """The rows as an event CSV (minutes become timestamps), for connectors.load to read in either lifecycle mode."""
    frame = pd.DataFrame(rows, columns=list(COLUMNS))
    frame["time"] = (pd.Timestamp("2025-01-06 09:00") + pd.to_timedelta(frame.pop("minutes"), unit="min")).dt.strftime("%Y-%m-%d %H:%M:%S")
    frame.to_csv(path, index=False)
    return path


def tickets(found) -> pd.DataFrame:  # type: ignore[no-untyped-def]
    return found.tickets.set_index("case_id")


def test_lifecycle_work_runs_from_start_to_complete_and_the_rest_waits():
    found = compare(make_log(LIFECYCLE_TICKET + COMPLETES_ONLY_TICKET, columns=COLUMNS), source="xes")
    t = tickets(found)
    assert t.loc["A", "lead_time_s"] == 240 * 60
    assert t.loc["A", "work_s"] == (60 + 30) * 60
    assert t.loc["B", "lead_time_s"] == 100 * 60
    assert t.loc["B", "work_s"] == 100 * 60  # the decoy's completes own their time as before
    c = found.comparison
    assert c.by_class["work"] == (90 + 100) * 60
    assert c.by_class["queue"] == (30 + 110 + 10) * 60
    assert sum(v for k, v in c.by_class.items() if k != "work") == (30 + 110 + 10) * 60


def test_work_done_again_costs_its_own_instance_not_the_wait_after_it():
    found = compare(make_log(LIFECYCLE_TICKET + COMPLETES_ONLY_TICKET, columns=COLUMNS), source="xes")
    t = tickets(found)
    assert t.loc["A", "self_loops"] == 1
    assert t.loc["A", "self_loops_s"] == 30 * 60  # the second session's start to complete, not the 10 after it
    assert t.loc["B", "self_loops"] == 1
    assert t.loc["B", "self_loops_s"] == 40 * 60  # a state log's repeated state: its own time


def test_a_suspend_waits_and_a_resume_works():
    rows = [
        ("C", "Investigate", "start", 0, "bob"),       # work 20
        ("C", "Investigate", "suspend", 20, "bob"),    # waits 100
        ("C", "Investigate", "resume", 120, "bob"),    # work 15
        ("C", "Investigate", "complete", 135, "bob"),  # waits 5
        ("C", "Resolved", "complete", 140, "bob"),
    ]
    found = compare(make_log(rows, columns=COLUMNS), source="xes")
    assert tickets(found).loc["C", "work_s"] == 35 * 60
    assert found.comparison.by_class["queue"] == 105 * 60
    assert tickets(found).loc["C", "self_loops"] == 0  # one instance, suspended and resumed: nothing done again


def test_events_and_pairs_agree_on_work_and_waiting(tmp_path):
    """The same log kept as separate events and joined into start–complete intervals splits time alike."""
    path = write_csv(LIFECYCLE_TICKET + COMPLETES_ONLY_TICKET, tmp_path / "lifecycle.csv")
    results = {}
    for mode in ("events", "pair"):
        log, _ = connectors.load(str(path), lifecycle=mode)
        found = compare(log, source="xes")
        results[mode] = (tickets(found)[["lead_time_s", "work_s"]].to_dict(), found.comparison.by_class)
    assert results["events"] == results["pair"]
    assert results["pair"][0]["work_s"] == {"A": 90 * 60, "B": 100 * 60}


@pytest.mark.parametrize("transition", ["schedule", "assign", "suspend"])
def test_waiting_transitions_hand_off_when_the_next_step_changes_group(transition):
    rows = [
        ("D", "Investigate", "start", 0, "bob", "L1"),        # work 10
        ("D", "Investigate", transition, 10, "bob", "L1"),    # waits 50, then L2 takes it: a hand-off wait
        ("D", "Investigate", "resume", 60, "eve", "L2"),      # work 20
        ("D", "Investigate", "complete", 80, "eve", "L2"),
        ("D", "Resolved", "complete", 80, "eve", "L2"),
    ]
    found = compare(make_log(rows, columns=(*COLUMNS, "group")), source="xes")
    assert tickets(found).loc["D", "work_s"] == 30 * 60
    assert found.comparison.by_class["handoff"] == 50 * 60


def test_the_wait_after_a_complete_runs_to_the_next_work_and_is_idle_time():
    rows = [
        ("E", "Investigate", "start", 0, "bob"),      # work 20
        ("E", "Investigate", "complete", 20, "bob"),  # waits 40 for the fix
        ("E", "Fix", "start", 60, "cat"),             # work 30
        ("E", "Fix", "complete", 90, "cat"),          # waits 15 until delivery
        ("E", "Resolved", "complete", 105, "cat"),
    ]
    found = compare(make_log(rows, columns=COLUMNS), source="xes")
    t = found.comparison.transitions
    assert sorted(zip(t["source"], t["target"], t["total_s"], strict=True)) == [
        ("Fix", "(end)", 15 * 60), ("Investigate", "Fix", 40 * 60)]
    via = found.comparison.bottleneck_transitions.set_index("source")["via"]
    assert via["Investigate"] == [{"state": "(idle)", "share": 1.0}]


STEP_DESIGN = """
[[stream]]
name = "Incident"
applies_to = "default"
  [[stream.step]]
  stage = "engage"
  [[stream.step]]
  stage = "deliver and support"
"""


def test_the_wait_after_a_complete_belongs_to_the_step_whose_work_follows(tmp_path):
    """Logged (engage) at 0–10, then 50 idle before the investigation (deliver and support) starts: as the gap before
    a paired interval, those 50 are deliver and support's waiting, in both readings of the log."""
    rows = [
        ("F", "Log call", "start", 0, "ann"),
        ("F", "Log call", "complete", 10, "ann"),
        ("F", "Investigate", "start", 60, "bob"),
        ("F", "Investigate", "complete", 90, "bob"),
        ("F", "Resolved", "complete", 90, "bob"),
    ]
    path = write_csv(rows, tmp_path / "steps.csv")
    for mode in ("events", "pair"):
        log, _ = connectors.load(str(path), lifecycle=mode)
        t = tickets(compare(log, parse_design_text(STEP_DESIGN, "steps.toml"), source="xes")).loc["F"]
        assert (t["step0_work_s"], t["step0_wait_s"], t["step1_work_s"], t["step1_wait_s"]) == (600, 0, 1800, 3000), mode
