"""--as-of: the export's end, until which open tickets wait in their current state."""

from __future__ import annotations

import json

from tests.conftest import run_cli

ROWS = """case_id,activity,timestamp
A,New,2025-03-03T09:00:00Z
A,In Progress,2025-03-03T10:00:00Z
A,Resolved,2025-03-03T12:00:00Z
B,New,2025-03-03T09:00:00Z
B,In Progress,2025-03-03T11:00:00Z
B,Awaiting Customer,2025-03-03T12:00:00Z
"""


def test_open_tickets_wait_until_as_of(tmp_path):
    path = tmp_path / "log.csv"
    path.write_text(ROWS, encoding="utf-8")
    default = json.loads(run_cli("compare", path, "--json", "-").stdout)
    later = json.loads(run_cli("compare", path, "--as-of", "2025-03-05T12:00:00Z", "--json", "-").stdout)
    # By default the export ends at its latest time (12:00): B's customer wait has just begun.
    assert default["open_tickets"]["tickets"] == 1
    assert default["open_tickets"]["age_median_s"] == 3 * 3600
    assert default["waits"]["by_class"]["customer"] == 0.0
    # Two days later, B has waited 48 h on the customer; A, delivered, is unchanged.
    assert later["open_tickets"]["age_median_s"] == 51 * 3600
    assert later["open_tickets"]["as_of"] == "2025-03-05T12:00:00+00:00"
    assert later["open_tickets"]["waiting_now"] == {"customer": 1}
    assert later["waits"]["by_class"]["customer"] == 48 * 3600
    assert later["lead_time_s"] == default["lead_time_s"] == {"median": 3 * 3600.0, "p90": 3 * 3600.0, "mean": 3 * 3600.0, "tickets": 1}


def test_as_of_that_is_not_a_date_is_one_line_and_exit_2(tmp_path):
    path = tmp_path / "log.csv"
    path.write_text(ROWS, encoding="utf-8")
    result = run_cli("compare", path, "--as-of", "next friday")
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines()[-1] == (
        "Error: --as-of 'next friday' is not a date; write it like 2025-03-31 or 2025-03-31T18:00")
