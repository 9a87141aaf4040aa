"""Filters keep or drop whole tickets and say how many each removed."""

from __future__ import annotations

import pytest

from connectors.errors import BadOption
from miner.filters import apply_filters
from tests.helpers import make_log

DAY = 24 * 60

ROWS = [
    # case, activity, minutes, group, priority
    ("A", "New", 0, "Desk", "P1"),
    ("A", "In Progress", 60, "Network", "P1"),
    ("A", "Resolved", 5 * DAY, "Network", "P1"),
    ("B", "New", 2 * DAY, "Desk", "P3"),
    ("B", "Resolved", 2 * DAY + 30, "Desk", "P3"),
    ("C", "New", 10 * DAY, "Desk", "P2"),
    ("C", "In Progress", 10 * DAY + 5, "Applications", "P2"),
    ("C", "Resolved", 11 * DAY, "Applications", "P2"),
]
COLUMNS = ("case_id", "activity", "minutes", "group", "priority")


def kept(log) -> list[str]:  # type: ignore[no-untyped-def]
    return sorted(set(log["case_id"].astype(str)))


def test_window_keeps_whole_tickets_by_their_first_event() -> None:
    log = make_log(ROWS, COLUMNS)  # T0 is Monday 2025-01-06 09:00
    out, notes = apply_filters(log, date_from="2025-01-07", date_to="2025-01-10")
    assert kept(out) == ["B"]
    assert len(out) == 2  # both of B's events, never single events
    assert [n.removed for n in notes] == [2]
    assert notes[0].text() == "Filter --from 2025-01-07 --to 2025-01-10: removed 2 of 3 tickets"


def test_bare_to_date_includes_the_day_and_resolved_anchor_uses_the_last_event() -> None:
    log = make_log(ROWS, COLUMNS)
    assert kept(apply_filters(log, date_to="2025-01-08")[0]) == ["A", "B"]  # B opened on the 8th
    # A was opened on the 6th but resolved on the 11th: in a window by resolution it counts there.
    assert kept(apply_filters(log, date_from="2025-01-11", window_by="resolved")[0]) == ["A", "C"]


def test_where_values_lists_globs_and_regexes_match_any_event_of_a_ticket() -> None:
    log = make_log(ROWS, COLUMNS)
    assert kept(apply_filters(log, where=["priority=P1"])[0]) == ["A"]
    assert kept(apply_filters(log, where=["priority=P1,P2"])[0]) == ["A", "C"]
    assert kept(apply_filters(log, where=["group=glob:Net*"])[0]) == ["A"]
    out, notes = apply_filters(log, where=["group=re:^(Net|App)", "priority=P2"])
    assert kept(out) == ["C"]
    assert [(n.tickets_before, n.removed) for n in notes] == [(3, 1), (2, 1)]


def test_bad_filters_are_one_line_errors() -> None:
    log = make_log(ROWS, COLUMNS)
    with pytest.raises(BadOption, match="no column 'team'"):
        apply_filters(log, where=["team=Desk"])
    with pytest.raises(BadOption, match="attr=value"):
        apply_filters(log, where=["Desk"])
    with pytest.raises(BadOption, match="not a date"):
        apply_filters(log, date_from="yesterday-ish")
    with pytest.raises(BadOption, match="no tickets are left"):
        apply_filters(log, date_from="2030-01-01")


def test_cli_load_report_says_what_each_filter_removed(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import json

    from click.testing import CliRunner

    from connectors.samples import generate
    from vsm.cli import cli

    export = tmp_path / "mt.csv"
    generate("multi-team", tickets=300, seed=3, path=export)
    result = CliRunner().invoke(cli, ["compare", str(export), "--where", "priority=P1,P2", "--json", "-"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    notes = [n for n in doc["load"]["notes"] if n.startswith("Filter")]
    assert len(notes) == 1 and notes[0].startswith("Filter --where priority=P1,P2: removed ")
    removed = int(notes[0].split("removed ")[1].split(" of")[0].replace(",", ""))
    assert 0 < removed < 300
