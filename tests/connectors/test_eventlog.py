"""The canonical event table's order: events at the same time follow the direction the file is sorted in."""

from __future__ import annotations

import numpy as np
import pandas as pd

import connectors
from connectors.eventlog import file_order

HEADER = "Ticket,Status,Time\n"
# Each ticket's events in the order they happened; New and In Progress share a
# second, and so do Resolved and Closed.
HAPPENED = {
    "T1": [("New", "09:00:00"), ("In Progress", "09:00:00"), ("Resolved", "11:00:00"), ("Closed", "11:00:00")],
    "T2": [("New", "10:00:00"), ("In Progress", "10:00:00"), ("On Hold", "10:30:00"), ("Resolved", "12:00:00"), ("Closed", "12:00:00")],
    "T3": [("New", "13:00:00"), ("Resolved", "14:00:00"), ("Closed", "15:00:00")],
}


def rows(ticket: str, events: list[tuple[str, str]]) -> list[str]:
    return [f"{ticket},{status},2024-03-01 {time}\n" for status, time in events]


def write(tmp_path, lines: list[str]):
    path = tmp_path / "tickets.csv"
    path.write_text(HEADER + "".join(lines))
    return path


def sequences(log: pd.DataFrame) -> dict[str, list[str]]:
    return {str(c): list(g["activity"].astype(str)) for c, g in log.groupby("case_id", observed=True, sort=False)}


def expected() -> dict[str, list[str]]:
    return {t: [s for s, _ in events] for t, events in HAPPENED.items()}


def test_an_export_sorted_newest_first_loads_ties_in_the_order_they_happened(tmp_path):
    lines = [line for t, events in HAPPENED.items() for line in rows(t, events)][::-1]
    log, report = connectors.load(write(tmp_path, lines))
    assert sequences(log) == expected()
    # 5 pairs of consecutive events at different times (1 in T1, 2 in T2 and T3), all going back up the file;
    # 8 events share their second with another of their ticket.
    assert ("the file lists each case's events newest first (5 of 5 consecutive events at different times go back "
            "in time): events at the same time are taken in reverse file order (8 events at the same time as another "
            "of their case)") in report.notes
    assert report.warnings == []
    # A timestamp's ties are taken bottom-up: In Progress (row 12 of 13) comes after New (row 13).
    t1 = log[log["case_id"] == "T1"]
    assert list(t1["source_row"]) == [13, 12, 11, 10]


def test_an_ascending_export_keeps_file_order_without_a_note(tmp_path):
    lines = [line for t, events in HAPPENED.items() for line in rows(t, events)]
    log, report = connectors.load(write(tmp_path, lines))
    assert sequences(log) == expected()
    assert list(log["source_row"]) == list(range(2, 14))
    assert not any("newest first" in n or "oldest" in n for n in report.notes + report.warnings)


def test_a_mixed_export_keeps_file_order_and_warns_how_many_ties_are_a_guess(tmp_path):
    # T1 and T3 oldest first (3 pairs at different times go forward), T2 newest first (2 go back).
    lines = rows("T1", HAPPENED["T1"]) + rows("T2", HAPPENED["T2"])[::-1] + rows("T3", HAPPENED["T3"])
    log, report = connectors.load(write(tmp_path, lines))
    # Ties keep file order: T2's ties come out reversed, which the warning admits.
    assert sequences(log)["T1"] == expected()["T1"]
    assert sequences(log)["T2"] == ["In Progress", "New", "On Hold", "Closed", "Resolved"]
    assert report.warnings == [
        "the file lists cases' events neither oldest nor newest first (3 consecutive events at different times go "
        "forward in time, 2 back): 8 events at the same time as another of their case keep file order, which is a "
        "guess; sort the export by time, or give distinct times"
    ]


def test_file_order_counts_pairs_and_ties_per_case():
    case = np.array([0, 0, 0, 1, 1, 1])
    micros = np.array([5, 5, 9, 1, 2, 2])
    rows = np.array([7, 8, 2, 3, 4, 4])  # the last two events come from one row: not a guess
    seen = file_order(case, micros, rows, None)
    assert (seen.forward, seen.backward, seen.tied) == (1, 1, 2)
    assert seen.direction == "mixed"
