"""Open tickets gone silent: no event for longer than 95% of delivered tickets take in all. Truth is built in;
the decoys are open tickets that are old but were active lately, and open tickets silent for less than that."""

from __future__ import annotations

from miner.discovery import compare
from tests.helpers import make_log

DAY = 24 * 60


def scenario(silent: int) -> list[tuple]:
    rows: list[tuple] = []
    for i in range(40):  # delivered in 1 to 4.9 days: the 95th percentile is about 4.7 days
        start = i * 60
        rows += [(f"D{i}", "New", start), (f"D{i}", "In Progress", start + 30), (f"D{i}", "Resolved", start + DAY + i * 0.1 * DAY)]
    end = 120 * DAY  # the export's latest moment: the last decoy's event below
    for i in range(silent):  # approved 30 days before the export's end, and nothing since: a done state the mapping does not know
        start = end - 31 * DAY - i * 60
        rows += [(f"S{i}", "New", start), (f"S{i}", "In Progress", start + 60), (f"S{i}", "Approved", start + DAY)]
    for i in range(6):  # decoy: open for 100 days, but a customer replied 2 days ago
        rows += [(f"A{i}", "New", 10 * DAY), (f"A{i}", "Awaiting customer", 11 * DAY), (f"A{i}", "In Progress", end - 2 * DAY)]
    for i in range(4):  # decoy: silent for 4 days, under the 95th percentile of lead times
        rows += [(f"Q{i}", "New", end - 6 * DAY), (f"Q{i}", "Awaiting customer", end - 4 * DAY)]
    rows.append(("Z", "New", end))
    return rows


def test_silent_open_tickets_are_counted_with_the_activity_they_went_silent_after():
    found = compare(make_log(scenario(25)))
    silent = found.open_tickets["silent"]
    assert silent["tickets"] == 25
    assert silent["last_activities"] == {"Approved": 25}
    assert 4.6 * 86400 < silent["silent_over_s"] < 4.9 * 86400
    warned = [w for w in found.mapping.warnings if "open tickets have had no event" in w]
    assert warned == [
        "25 of the 36 open tickets have had no event for over 5 days before the export's end (95% of delivered tickets "
        "take less from first event to delivery); they went silent after 'Approved' (25). If such a state ends a ticket, "
        "name it done in a mapping file (vsm mapping init EXPORT -o mapping.toml; kind = \"done\"); if not, these "
        "tickets are stuck. Until then their time to the export's end counts as waiting (and as rework after a step back)"
    ]


def test_a_few_silent_tickets_are_reported_without_a_warning():
    found = compare(make_log(scenario(3)))
    assert found.open_tickets["silent"]["tickets"] == 3  # fewer than 20: figures only
    assert not [w for w in found.mapping.warnings if "open tickets have had no event" in w]


def test_too_few_delivered_tickets_to_say_what_is_long():
    rows = [("A", "New", 0), ("A", "Resolved", 60), ("B", "New", 0), ("B", "In Progress", 10), ("C", "New", 100 * DAY)]
    assert compare(make_log(rows)).open_tickets["silent"] is None
