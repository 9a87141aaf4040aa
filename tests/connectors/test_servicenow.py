"""ServiceNow exports: list exports, audit snapshots, sys_audit and metric_instance."""

from __future__ import annotations

import csv
import io
import random
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import connectors
from connectors.errors import EmptyExport, MissingColumn
from connectors.eventlog import check_event_table
from tests.conftest import DATA, run_cli

SN = DATA / "servicenow"

# sys_ids in sys_audit.csv and metric_instance.csv
DOC_A = "9d385017c611228701d22104cc95c371"
DOC_B = "46e18c0fa9fe19810066a0083f76bd56"
DOC_C = "c83c5e5347c12200e0ef563dbb9a7190"
DOC_D = "f1e2d3c4b5a697887766554433221100"
SERVICE_DESK = "d625dccec0a8016700a222a0f7900d06"
NETWORK = "287ebd7da9fe198100f92cc8d1d2154e"
HARDWARE = "8a5055c9c61122780043563ef53438e3"
BETH = "46d44a23a9fe19810012d100cca80666"
FRED = "5137153cc611227c000bbd1bd8cd2005"


def traces(log: pd.DataFrame, *columns: str) -> dict[str, list[tuple[object, ...]]]:
    """Return each case's events as (activity, 'YYYY-MM-DD HH:MM', *columns), None for missing."""
    out: dict[str, list[tuple[object, ...]]] = {}
    stamps = log["timestamp"].dt.strftime("%Y-%m-%d %H:%M")
    extra = [log[c].astype(object).where(log[c].notna(), None) for c in columns]
    for i, case in enumerate(log["case_id"].astype(str)):
        row = (str(log["activity"].iat[i]), stamps.iat[i], *(c.iat[i] for c in extra))
        out.setdefault(case, []).append(row)
    return out


def activities(log: pd.DataFrame) -> dict[str, list[str]]:
    return {case: [e[0] for e in events] for case, events in traces(log).items()}


# --- Detection and accounting -------------------------------------------------------

FIXTURES = [
    pytest.param("incident_list.csv", "servicenow", id="list"),
    pytest.param("incident_list_labels.csv", "servicenow", id="list-label-headers"),
    pytest.param("incident_audit.csv", "servicenow-audit", id="audit"),
    pytest.param("incident_audit_labels.csv", "servicenow-audit", id="audit-label-headers-raw-codes"),
    pytest.param("incident_pre_helsinki.csv", "servicenow-audit", id="audit-pre-helsinki-names"),
    pytest.param("incident_state_codes.csv", "servicenow-audit", id="audit-pre-helsinki-codes"),
    pytest.param("change_request_audit.csv", "servicenow-audit", id="audit-change-request"),
    pytest.param("sc_req_item_audit.csv", "servicenow-audit", id="audit-sc-req-item"),
    pytest.param("sys_audit.csv", "servicenow-sys-audit", id="sys-audit"),
    pytest.param("metric_instance.csv", "servicenow-metric", id="metric-instance"),
]


@pytest.mark.parametrize(("name", "source"), FIXTURES)
def test_source_is_detected_without_flags(name: str, source: str) -> None:
    log, report = connectors.load(SN / name)
    assert report.source == source
    assert report.source_reason
    assert report.flags[0] == f"--source {source}"


@pytest.mark.parametrize(("name", "source"), FIXTURES)
def test_every_row_is_accounted_for(name: str, source: str) -> None:
    log, report = connectors.load(SN / name)
    check_event_table(log)
    assert report.rows_read == report.rows_loaded + report.rows_rejected
    assert report.rows_rejected == sum(r.count for r in report.rejections)
    assert report.events == len(log)
    assert f"give {report.events:,} event" in report.derivation or f"give {report.events} events" in report.derivation


def test_a_list_export_with_update_columns_stays_a_list_export(tmp_path: Path) -> None:
    # List exports often show "Updated" and "Updates" too; one row per ticket is no snapshot.
    path = tmp_path / "list.csv"
    path.write_text(
        "number,opened_at,state,sys_updated_on,sys_mod_count\n"
        "INC1,2024-01-01 10:00:00,New,2024-01-02 10:00:00,3\n"
        "INC2,2024-01-01 11:00:00,New,2024-01-02 11:00:00,1\n"
    )
    log, report = connectors.load(path)
    assert report.source == "servicenow"
    assert activities(log) == {"INC1": ["Opened"], "INC2": ["Opened"]}


def test_generic_tables_are_not_taken_for_servicenow(tmp_path: Path) -> None:
    path = tmp_path / "events.csv"
    path.write_text("case,activity,timestamp\nc1,open,2024-01-01 10:00:00\nc1,close,2024-01-01 11:00:00\n")
    _, report = connectors.load(path)
    assert report.source == "csv"


# --- List export ------------------------------------------------------------------------


def test_list_export_gives_opened_resolved_closed_per_ticket() -> None:
    log, report = connectors.load(SN / "incident_list.csv")
    assert traces(log, "group", "resource") == {
        "INC0010001": [
            ("Opened", "2024-03-01 09:00", "Service Desk", "Beth Anglin"),
            ("Resolved", "2024-03-01 11:30", "Service Desk", "Beth Anglin"),
            ("Closed", "2024-03-04 11:30", "Service Desk", "Beth Anglin"),
        ],
        "INC0010002": [
            ("Opened", "2024-03-02 08:15", "Network", "Fred Luddy"),
            # resolved_by, not assigned_to, resolved it
            ("Resolved", "2024-03-02 10:00", "Network", "David Loo"),
        ],
        "INC0010003": [("Opened", "2024-03-03 14:00", "Service Desk", None)],  # '?' is no one
        "INC0010007": [("Opened", "2024-03-05 10:00", "Hardware", "Abel Tuter")],
    }
    assert report.derivation == "4 ticket rows give 7 events (4 opened, 2 resolved, 1 closed)"
    assert (report.rows_read, report.rows_loaded, report.rows_rejected) == (7, 4, 3)
    rejected = {r.reason: (r.count, r.examples) for r in report.rejections}
    assert rejected == {
        "no ticket number in 'number'": (1, [{"row": 5}]),
        "'opened_at' is not a date read as ISO 8601 without a zone, taken as UTC": (1, [{"row": 6, "value": "2024-02-31 10:00:00"}]),
        "no date in 'opened_at' (the Opened event)": (1, [{"row": 7}]),
    }
    assert any("1 value is not a date in 'resolved_at'" in w and "row 8" in w for w in report.warnings)


def test_list_export_keeps_every_other_column_as_an_attribute() -> None:
    log, _ = connectors.load(SN / "incident_list.csv")
    first = log[log["case_id"] == "INC0010002"].iloc[0]
    assert (first["priority"], first["category"], first["state"], first["reopen_count"]) == ("1 - Critical", "Network", "Resolved", "1")
    assert first["resolved_by"] == "David Loo"
    assert {"opened_at", "number", "assignment_group", "assigned_to"}.isdisjoint(log.columns)


def test_list_export_with_label_headers_and_day_first_dates() -> None:
    log, report = connectors.load(SN / "incident_list_labels.csv")
    assert traces(log, "group") == {
        "INC0020001": [("Opened", "2024-03-05 09:00", "Service Desk"), ("Resolved", "2024-03-05 17:45", "Service Desk"), ("Closed", "2024-03-08 18:00", "Service Desk")],
        "INC0020002": [("Opened", "2024-03-13 22:10", "Network"), ("Resolved", "2024-03-14 08:00", "Network")],
        "INC0020003": [("Opened", "2024-04-01 07:30", None)],  # '(empty)' group
    }
    assert report.columns["case_id"].column == "Number"
    assert report.columns["timestamp"].column == "Opened"
    assert report.columns["group"].column == "Assignment group"
    assert "--dayfirst" in report.flags
    assert report.derivation == "3 ticket rows give 6 events (3 opened, 2 resolved, 1 closed)"


def test_list_export_from_xlsx_with_label_headers(tmp_path: Path) -> None:
    path = tmp_path / "incident.xlsx"
    pd.DataFrame({
        "Number": ["INC0060001", "INC0060002", None],
        "Opened": pd.to_datetime(["2024-02-01 08:00", "2024-02-02 09:30", "2024-02-03 10:00"]),
        "Resolved": pd.to_datetime(["2024-02-01 12:00", None, "2024-02-03 11:00"]),
        "Assignment group": ["Service Desk", "Network", "Network"],
        "Assigned to": ["Beth Anglin", None, "Fred Luddy"],
        "Priority": ["3 - Moderate", "1 - Critical", "4 - Low"],
    }).to_excel(path, index=False, sheet_name="Page 1")
    log, report = connectors.load(path)
    assert report.source == "servicenow"
    assert traces(log, "group", "resource", "Priority") == {
        "INC0060001": [
            ("Opened", "2024-02-01 08:00", "Service Desk", "Beth Anglin", "3 - Moderate"),
            ("Resolved", "2024-02-01 12:00", "Service Desk", "Beth Anglin", "3 - Moderate"),
        ],
        "INC0060002": [("Opened", "2024-02-02 09:30", "Network", None, "1 - Critical")],
    }
    assert (report.rows_read, report.rows_rejected) == (3, 1)
    assert report.rejections[0].examples == [{"row": 4}]  # the spreadsheet's row number


def test_list_export_warns_when_a_ticket_is_resolved_before_it_opened(tmp_path: Path) -> None:
    path = tmp_path / "list.csv"
    path.write_text("number,opened_at,resolved_at,state\nINC1,2024-01-02 10:00:00,2024-01-01 10:00:00,Resolved\n")
    log, report = connectors.load(path)
    assert activities(log) == {"INC1": ["Resolved", "Opened"]}  # in time order, as recorded
    assert report.warnings == ["1 ticket with 'resolved_at' before 'opened_at' (first: row 2)"]


def test_list_export_without_assignee_takes_who_resolved_and_closed(tmp_path: Path) -> None:
    path = tmp_path / "list.csv"
    path.write_text(
        "number,opened_at,resolved_at,closed_at,state,resolved_by,closed_by\n"
        "INC1,2024-01-01 10:00:00,2024-01-01 11:00:00,2024-01-02 11:00:00,Closed,Beth,system\n"
    )
    log, report = connectors.load(path)
    assert traces(log, "resource") == {"INC1": [("Opened", "2024-01-01 10:00", None), ("Resolved", "2024-01-01 11:00", "Beth"), ("Closed", "2024-01-02 11:00", "system")]}
    assert report.columns["resource"].column == "resolved_by, closed_by"


def test_a_column_flag_the_source_cannot_use_is_reported(tmp_path: Path) -> None:
    log, report = connectors.load(SN / "incident_list.csv", activity_col="state")
    assert set(log["activity"].astype(str)) == {"Opened", "Resolved", "Closed"}
    assert "--activity-col is ignored: the servicenow source decides the activity itself" in report.warnings
    assert "--activity-col state" not in report.flags


def test_list_export_timezone_option_moves_every_event(tmp_path: Path) -> None:
    log, report = connectors.load(SN / "incident_list_labels.csv", timezone="Europe/Berlin")
    assert traces(log)["INC0020001"][0] == ("Opened", "2024-03-05 08:00")  # 09:00 CET
    assert "--timezone Europe/Berlin" in report.flags


# --- Audit snapshots ----------------------------------------------------------------------


def test_audit_snapshot_gives_events_only_where_something_changes() -> None:
    log, report = connectors.load(SN / "incident_audit.csv")
    assert traces(log, "group", "resource") == {
        # Rows are newest first in the file, and updates 2 and 3 share a minute:
        # sys_mod_count orders them.
        "INC0030001": [
            ("New", "2024-03-04 09:00", "Service Desk", None),
            # update 1 changes only the priority: folded
            ("Reassigned", "2024-03-04 09:20", "Network", None),
            ("Picked up by assignee", "2024-03-04 09:20", "Network", "Fred Luddy"),
            ("In Progress", "2024-03-04 09:20", "Network", "Fred Luddy"),
            ("On Hold (Awaiting Caller)", "2024-03-04 13:15", "Network", "Fred Luddy"),
            # update 5 repeats On Hold: folded, not rework
            ("In Progress", "2024-03-05 11:00", "Network", "Fred Luddy"),
            ("Resolved", "2024-03-05 15:30", "Network", "Fred Luddy"),
            ("Closed", "2024-03-08 15:30", "Network", "Fred Luddy"),
        ],
        "INC0030002": [
            ("New", "2024-03-14 08:00", None, None),
            ("Assigned to group", "2024-03-14 08:30", "Service Desk", None),
            ("Picked up by assignee", "2024-03-14 09:00", "Service Desk", "Beth Anglin"),
            # update 3 empties assigned_to ('?'): no event; update 4 picks it up again
            ("Picked up by assignee", "2024-03-14 09:40", "Service Desk", "Abel Tuter"),
            ("In Progress", "2024-03-14 09:40", "Service Desk", "Abel Tuter"),
            # a hand-off that also changes the person: one Reassigned, no pickup
            ("Reassigned", "2024-03-14 09:45", "Hardware", "David Loo"),
            ("Canceled", "2024-03-14 11:00", "Hardware", "David Loo"),
        ],
    }
    assert report.derivation == (
        "16 snapshot rows give 15 events: 9 state changes (2 of them a ticket's first state), "
        "3 hand-offs (Reassigned, Assigned to group), 3 pickups (Picked up by assignee); "
        "3 rows change none of state, group or assignee, so add no event"
    )
    assert [(r.reason, r.count, r.examples[0]["row"]) for r in report.rejections] == [
        ("no ticket number in 'number'", 1, 13),
        ("no date in 'sys_updated_on' (the time of the update)", 1, 19),
        ("'sys_updated_on' is not a date read as m-d-yyyy h:MM:SS AM", 1, 16),  # 30 February
    ]
    assert "--monthfirst" in report.flags
    # attributes as of each row: the priority changed at update 1
    assert log.loc[log["activity"] == "Closed", "priority"].tolist() == ["2 - High"]
    assert log["source_row"].tolist()[:4] == [10, 8, 7, 7]


def test_audit_snapshot_with_label_headers_raw_codes_and_hold_reasons() -> None:
    log, report = connectors.load(SN / "incident_audit_labels.csv")
    assert traces(log, "resource") == {
        "INC0040001": [
            ("New", "2024-03-01 09:00", None),
            ("Picked up by assignee", "2024-03-01 09:30", "Beth Anglin"),
            ("In Progress", "2024-03-01 09:30", "Beth Anglin"),
            ("On Hold (Awaiting Vendor)", "2024-03-13 10:00", "Beth Anglin"),
            # the reason changed while on hold: the ticket now waits on someone else
            ("On Hold (Awaiting Caller)", "2024-03-13 10:05", "Beth Anglin"),
            ("Resolved", "2024-03-14 08:00", "Beth Anglin"),
        ]
    }
    assert "columns Updated and Updates" in report.source_reason
    assert report.columns["timestamp"].column == "Updated"
    assert "label 'Updated' of field sys_updated_on" in report.columns["timestamp"].reason
    assert "'State': raw state codes (1, 2, 3, 6) mapped to labels by the number prefix (INC: incident)" in report.notes
    assert report.derivation.endswith("1 row changes none of state, group or assignee, so add no event")


def test_pre_helsinki_incident_state_names_pass_through_and_unknown_codes_are_kept() -> None:
    log, report = connectors.load(SN / "incident_pre_helsinki.csv")
    assert activities(log) == {
        "INC0000045": ["New", "Picked up by assignee", "Active", "Awaiting User Info", "Active", "Resolved", "Closed"],
        "INC0000047": ["New", "Picked up by assignee", "Active", "Reassigned", "Awaiting Vendor", "state -100"],
    }
    assert report.columns["activity"].column == "incident_state"
    assert report.columns["timestamp"].column == "sys_updated_at"
    assert report.warnings == ["'incident_state': state codes vsm does not know, kept as 'state <code>': -100 for incident (1 value)"]
    assert "--dayfirst" in report.flags
    assert report.derivation.startswith("12 snapshot rows give 13 events: 10 state changes")


def test_pre_helsinki_incident_state_codes() -> None:
    log, report = connectors.load(SN / "incident_state_codes.csv")
    assert activities(log) == {
        "INC0050001": ["New", "Picked up by assignee", "Active", "Awaiting User Info", "Active", "Awaiting Problem", "Resolved", "Closed"],
    }
    assert any(n.startswith("incident_state codes 4 and 5 exist only before the Helsinki release") for n in report.notes)


@pytest.mark.parametrize(
    ("name", "expected", "how"),
    [
        pytest.param(
            "change_request_audit.csv",
            {
                "CHG0030001": ["New", "Picked up by assignee", "Assess", "Reassigned", "Authorize", "Reassigned", "Scheduled", "Implement", "Review", "Closed"],
                "CHG0030002": ["New", "Canceled"],
            },
            "by the number prefix (CHG: change_request)",
            id="change-request-by-number-prefix",
        ),
        pytest.param(
            "sc_req_item_audit.csv",
            {
                "RITM0010001": ["Pending", "Assigned to group", "Open", "Picked up by assignee", "Work in Progress", "Closed Complete"],
                "RITM0010002": ["Open", "Picked up by assignee", "Work in Progress", "Closed Incomplete"],
                "RITM0010003": ["Open", "Closed Skipped"],
            },
            "by the table in each row (sc_req_item)",
            id="sc-req-item-by-sys-class-name",
        ),
    ],
)
def test_raw_state_codes_are_read_with_the_tickets_table(name: str, expected: dict[str, list[str]], how: str) -> None:
    log, report = connectors.load(SN / name)
    assert activities(log) == expected
    assert any(n.startswith("'state': raw state codes") and n.endswith(how) for n in report.notes)


SNAPSHOT_HEADER = "number,state,sys_mod_count,sys_updated_on"


@pytest.mark.parametrize(
    ("text", "expected", "note"),
    [
        pytest.param(
            "number,sys_class_name,state,sys_mod_count,sys_updated_on\n"
            "X1,Requested Item,1,0,2024-01-01 10:00:00\nX1,Requested Item,3,1,2024-01-01 11:00:00\n"
            "X2,Change Request,-5,0,2024-01-01 10:00:00\nX2,Change Request,3,1,2024-01-01 11:00:00\n",
            {"X1": ["Open", "Closed Complete"], "X2": ["New", "Closed"]},
            "mapped to labels by the table in each row (change_request, sc_req_item)",
            id="display-class-names-decide-the-table",
        ),
        pytest.param(
            f"{SNAPSHOT_HEADER}\nT1,-5,0,2024-01-01 10:00:00\nT1,1,1,2024-01-01 11:00:00\nT1,7,2,2024-01-01 12:00:00\n",
            {"T1": ["Pending", "Open", "Closed Skipped"]},
            "mapped to labels as sc_req_item states: the codes seen (-5, 1, 7) fit no other table",
            id="no-table-no-prefix-codes-decide",
        ),
        pytest.param(
            f"{SNAPSHOT_HEADER}\nT1,1,0,2024-01-01 10:00:00\nT1,2,1,2024-01-01 11:00:00\n",
            {"T1": ["New", "In Progress"]},
            "as incident states: the codes seen (1, 2) fit incident, sc_req_item",
            id="ambiguous-codes-read-as-incident",
        ),
        pytest.param(
            f"{SNAPSHOT_HEADER}\nINC1,New,0,2024-01-01 10:00:00\nINC1,2,1,2024-01-01 11:00:00\nINC1,In Progress,2,2024-01-01 12:00:00\n",
            {"INC1": ["New", "In Progress"]},
            "display values (In Progress, New) used as they are",
            id="raw-code-and-display-value-are-one-state",
        ),
        pytest.param(
            # A to nothing is no hand-off; nothing to A is a group assignment again.
            f"{SNAPSHOT_HEADER},assignment_group\nINC1,New,0,2024-01-01 10:00:00,A\nINC1,,1,2024-01-01 11:00:00,\nINC1,New,2,2024-01-01 12:00:00,A\n",
            {"INC1": ["New", "Assigned to group"]},
            None,
            id="row-without-state-keeps-the-previous",
        ),
    ],
)
def test_small_snapshots(tmp_path: Path, text: str, expected: dict[str, list[str]], note: str | None) -> None:
    path = tmp_path / "audit.csv"
    path.write_text(text)
    log, report = connectors.load(path)
    assert report.source == "servicenow-audit"
    assert activities(log) == expected
    assert report.warnings == []
    if note:
        assert any(note in n for n in report.notes), report.notes


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        pytest.param(
            "audit.csv", "number,state,sys_mod_count,sys_updated_on\nINC1,,0,2024-01-01 10:00:00\nINC1,,1,2024-01-01 11:00:00\n",
            r"audit\.csv: no events: 2 rows loaded, but none has a state in 'state', and none changes the group or "
            r"assignee; pass --activity-col with the column that holds the state$",
            id="snapshot-without-states",
        ),
        pytest.param(
            "list.csv", "number,opened_at,state\n,2024-01-01 10:00:00,New\nINC2,?,New\n",
            r"list\.csv: every row was rejected: no ticket number in 'number' \(1\); no date in 'opened_at' \(the Opened event\) \(1\)$",
            id="list-every-row-rejected",
        ),
        pytest.param(
            "sys_audit.csv",
            "documentkey,fieldname,oldvalue,newvalue,sys_created_on\nabc,priority,3,2,2024-01-01 10:00:00\n",
            r"no events: 1 row loaded, but none changes state, incident_state, assignment_group or assigned_to; "
            r"export the sys_audit rows of those fields$",
            id="sys-audit-of-other-fields",
        ),
        pytest.param(
            "metric.csv",
            "definition,id,start,end,value\nCreate to Resolve Duration,abc,2024-01-01 10:00:00,2024-01-01 11:00:00,true\n",
            r"no events: 1 row loaded, but no definition measures a state, an assignment group or an assignee "
            r"\(Create to Resolve Duration\); export instances of 'Incident State Duration'",
            id="metric-of-other-definitions",
        ),
    ],
)
def test_an_export_that_gives_no_event_is_one_clear_error(tmp_path: Path, name: str, text: str, message: str) -> None:
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(EmptyExport, match=message):
        connectors.load(path)


def test_user_columns_override_the_defaults(tmp_path: Path) -> None:
    log, report = connectors.load(SN / "incident_audit.csv", resource_col="sys_updated_by")
    assert report.columns["resource"].column == "sys_updated_by"
    assert report.columns["resource"].reason == "given with --resource-col"
    assert "--resource-col sys_updated_by" in report.flags
    # the updater is filled from the first row, so the only pickups are none
    assert "Picked up by assignee" not in set(log["activity"].astype(str))


def test_a_given_column_that_is_not_there_is_one_clear_error() -> None:
    with pytest.raises(MissingColumn, match=r"incident_audit\.csv: no column 'owner' \(given with --group-col\); columns: number, sys_updated_on"):
        connectors.load(SN / "incident_audit.csv", group_col="owner")


def test_a_forced_source_names_the_missing_column_and_the_fix() -> None:
    with pytest.raises(MissingColumn, match=r"no sys_updated_on column \(the time of each update\); columns: number, .*; pass --timestamp-col to name it"):
        connectors.load(SN / "incident_list.csv", source="servicenow-audit")


# --- sys_audit ------------------------------------------------------------------------------


def test_sys_audit_gives_events_from_state_group_and_assignee_rows() -> None:
    log, report = connectors.load(SN / "sys_audit.csv")
    assert traces(log, "group", "resource") == {
        DOC_A: [
            # created in the extract: first state, no hand-off for the first group
            ("New", "2024-03-01 09:00", SERVICE_DESK, None),
            ("Picked up by assignee", "2024-03-01 09:30", SERVICE_DESK, BETH),
            ("In Progress", "2024-03-01 09:30", SERVICE_DESK, BETH),
            # the priority change at 10:00 gives nothing; state and hold_reason of
            # one update make one event
            ("On Hold (Awaiting Caller)", "2024-03-01 11:00", SERVICE_DESK, BETH),
            ("In Progress", "2024-03-01 12:00", SERVICE_DESK, BETH),
            ("Reassigned", "2024-03-01 12:30", NETWORK, BETH),
            # Beth to Fred at 12:45 only changes the resource
            ("Resolved", "2024-03-01 13:00", NETWORK, FRED),
        ],
        DOC_B: [
            # history starts after creation: the old value of the first change,
            # at the first audit row (a work note at 10:00)
            ("In Progress", "2024-03-02 10:00", SERVICE_DESK, None),
            ("Reassigned", "2024-03-02 11:00", HARDWARE, None),
            ("Resolved", "2024-03-02 11:00", HARDWARE, None),
        ],
        DOC_C: [("New", "2024-03-03 08:00", None, None), ("Assess", "2024-03-03 09:00", None, None), ("Canceled", "2024-03-04 09:00", None, None)],
        # only incident_state is audited, with the pre-Helsinki code 4
        DOC_D: [("New", "2024-03-05 08:00", None, None), ("Awaiting User Info", "2024-03-05 09:00", None, None), ("Active", "2024-03-06 09:00", None, None)],
    }
    assert report.derivation == (
        "29 audit rows give 16 events: 13 state changes (1 of them a first state taken from an old value), "
        "2 hand-offs (Reassigned, Assigned to group) and 1 pickup (Picked up by assignee), from 12 state, 3 assignment_group, "
        "2 assigned_to and 2 hold_reason rows; no event from 5 rows of other fields (priority 2, comments 1, "
        "close_notes 1, work_notes 1), 5 incident_state rows that repeat state, or changes that repeat a value "
        "or pass a ticket from one person to another"
    )
    assert [(r.reason, r.examples[0]["row"]) for r in report.rejections] == [
        ("no documentkey in 'documentkey'", 31),
        ("no field name in 'fieldname'", 33),
        ("'sys_created_on' is not a date read as ISO 8601 without a zone, taken as UTC", 32),
    ]
    assert any(n.startswith("case ids are the tickets' sys_ids from 'documentkey' (4 tickets)") for n in report.notes)
    assert any(n.startswith("1 ticket whose history starts after creation") for n in report.notes)


def test_sys_audit_events_point_at_the_rows_they_come_from() -> None:
    log, _ = connectors.load(SN / "sys_audit.csv")
    b = log[log["case_id"] == DOC_B]
    # the first state comes from the old value of row 22; Reassigned is row 23 but comes first
    assert list(zip(b["activity"].astype(str), b["source_row"], b["fieldname"].astype(str), strict=True)) == [
        ("In Progress", 22, "state"), ("Reassigned", 23, "assignment_group"), ("Resolved", 22, "state"),
    ]
    assert log.loc[log["activity"] == "Canceled", "reason"].tolist() == ["Withdrawn by requester"]


def test_sys_audit_with_label_headers(tmp_path: Path) -> None:
    text = (SN / "sys_audit.csv").read_text().splitlines()
    text[0] = "Sys ID,Table name,Document key,Field name,Old value,New value,User,Reason,Record checkpoint,Created"
    path = tmp_path / "sys_audit_labels.csv"
    path.write_text("\n".join(text) + "\n")
    log, report = connectors.load(path)
    expected, _ = connectors.load(SN / "sys_audit.csv")
    assert report.source == "servicenow-sys-audit"
    assert traces(log, "group", "resource") == traces(expected, "group", "resource")


# --- metric_instance --------------------------------------------------------------------------


def test_metric_instance_gives_intervals() -> None:
    log, report = connectors.load(SN / "metric_instance.csv")
    ends = log["end_timestamp"].dt.strftime("%H:%M").where(log["end_timestamp"].notna(), None)
    log = log.assign(end=ends)
    assert traces(log, "end", "group", "resource") == {
        DOC_A: [
            ("Assigned to group", "2024-03-01 09:00", "12:30", "Service Desk", None),
            ("New", "2024-03-01 09:00", "09:30", "Service Desk", None),
            ("Picked up by assignee", "2024-03-01 09:30", "12:45", "Service Desk", "Beth Anglin"),
            ("In Progress", "2024-03-01 09:30", "11:00", "Service Desk", "Beth Anglin"),
            ("On Hold", "2024-03-01 11:00", "12:00", "Service Desk", "Beth Anglin"),
            ("In Progress", "2024-03-01 12:00", "13:00", "Service Desk", "Beth Anglin"),
            ("Reassigned", "2024-03-01 12:30", None, "Network", "Beth Anglin"),
            # Beth to Fred at 12:45 is no pickup; Resolved is still open
            ("Resolved", "2024-03-01 13:00", None, "Network", "Fred Luddy"),
        ],
        DOC_B: [
            # value empty: the raw field_value 2 is mapped; the group interval without a value is no group
            ("In Progress", "2024-03-02 08:00", "09:00", None, None),
            ("Assigned to group", "2024-03-02 08:30", None, "Hardware", None),
            ("Picked up by assignee", "2024-03-02 08:45", "09:00", "Hardware", "Abel Tuter"),
            # nobody held the ticket from 09:00 to 10:00: a pickup again
            ("Picked up by assignee", "2024-03-02 10:00", None, "Hardware", "Abel Tuter"),
        ],
    }
    assert report.derivation == (
        "15 metric rows give 12 events: 6 state intervals, 3 hand-offs (Reassigned, Assigned to group) from "
        "4 assignment group intervals, 3 pickups (Picked up by assignee) from 4 assigned-to intervals (a change of person "
        "only sets the resource); no event from 1 row of other definitions (Create to Resolve Duration 1); "
        "4 events are intervals still open (no end)"
    )
    assert sorted((r.reason, r.examples[0]["row"]) for r in report.rejections) == [
        ("'end' is before 'start'", 19),
        ("'start' is not a date read as ISO 8601 without a zone, taken as UTC", 18),
        ("a state interval without a value", 13),
        ("no ticket sys_id in 'id'", 20),
    ]


# --- The command line --------------------------------------------------------------------------


def test_vsm_inspect_shows_how_a_snapshot_was_read() -> None:
    result = run_cli("inspect", SN / "incident_audit.csv")
    assert result.exit_code == 0
    out = result.stdout
    assert out.startswith("Source      servicenow-audit  (columns sys_updated_on and sys_mod_count, and 16 of 18 rows repeat a number")
    assert "Rows        19 read = 16 loaded + 3 rejected" in out
    assert "Events      15 (16 snapshot rows give 15 events: 9 state changes" in out
    assert "On Hold (Awaiting Caller)" in out
    assert out.rstrip().endswith("--source servicenow-audit --monthfirst")
    assert "Warning: 3 of 19 rows rejected" in result.stderr


def test_vsm_inspect_names_a_missing_column_in_one_line() -> None:
    result = run_cli("inspect", SN / "incident_list.csv", "--source", "servicenow-metric")
    assert result.exit_code == 2
    assert result.stderr.startswith("Error: ")
    assert "no definition column (what the metric measures)" in result.stderr
    assert result.stderr.count("\n") == 1


# --- Property: one event per change, and every row accounted for -------------------------------

RAW = {"1": "New", "2": "In Progress", "3": "On Hold", "6": "Resolved"}
STATES = [None, "New", "In Progress", "On Hold", "Resolved", "2", "3"]
GROUPS = [None, "Service Desk", "Network"]
PEOPLE = [None, "Beth", "Fred"]
HOLDS = [None, "Awaiting Caller", "1", "Awaiting Vendor"]

snapshot_rows = st.lists(
    st.tuples(
        st.sampled_from(["INC1", "INC2", "INC3", None]),  # None: a row without a number
        st.integers(0, 12),  # minutes: many updates share a minute
        st.sampled_from(STATES), st.sampled_from(HOLDS), st.sampled_from(GROUPS), st.sampled_from(PEOPLE),
    ),
    min_size=1, max_size=30,
)


def _reference(rows: list[tuple]) -> tuple[dict[str, list[tuple[str, int, str | None, str | None]]], int]:
    """Brute force: walk each ticket's updates in order and name every change."""
    label_of = {"1": "Awaiting Caller"}
    by_ticket: dict[str, list[tuple]] = {}
    for row in rows:
        if row[0] is not None:
            by_ticket.setdefault(row[0], []).append(row)
    out: dict[str, list[tuple[str, int, str | None, str | None]]] = {}
    silent = 0
    for ticket, updates in by_ticket.items():
        updates.sort(key=lambda r: (r[1], r[6]))  # minute, then sys_mod_count
        label = group = person = None
        events: list[tuple[str, int, str | None, str | None]] = []
        for i, (_, minute, state, hold, new_group, new_person, _) in enumerate(updates):
            before = len(events)
            if i and new_group is not None and new_group != group:
                events.append(("Assigned to group" if group is None else "Reassigned", minute, new_group, new_person))
            if i and new_person is not None and person is None:
                events.append(("Picked up by assignee", minute, new_group, new_person))
            new_label = label
            if state is not None:
                new_label = RAW.get(state, state)
                if new_label == "On Hold" and hold is not None:
                    new_label = f"On Hold ({label_of.get(hold, hold)})"
            if new_label is not None and new_label != label:
                events.append((new_label, minute, new_group, new_person))
            label, group, person = new_label, new_group, new_person
            silent += len(events) == before
        if events:
            out[ticket] = events
    return out, silent


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(snapshot_rows, st.randoms(use_true_random=False))
@example(  # a row without a state repeats the previous state
    [("INC1", 0, "New", None, None, None), ("INC1", 1, None, None, None, None), ("INC1", 2, "New", None, None, None)],
    random.Random(0),
)
@example(  # raw and display values of one state, and a new hold reason while on hold
    [("INC1", 0, "3", "1", "Network", "Beth"), ("INC1", 0, "On Hold", "Awaiting Caller", "Network", "Beth"),
     ("INC1", 1, "On Hold", "Awaiting Vendor", "Network", "Beth"), ("INC1", 1, "2", None, None, "Fred")],
    random.Random(1),
)
def test_snapshot_events_match_a_brute_force_reading(rows: list[tuple], rng) -> None:  # type: ignore[no-untyped-def]
    counters: dict[str | None, int] = {}
    numbered = []
    for row in rows:  # sys_mod_count: the order of the updates of each ticket
        counters[row[0]] = counters.get(row[0], -1) + 1
        numbered.append((*row, counters[row[0]]))
    shuffled = numbered[:]
    rng.shuffle(shuffled)  # exports come in any order
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["number", "sys_updated_on", "sys_mod_count", "state", "hold_reason", "assignment_group", "assigned_to"])
    for number, minute, state, hold, group, person, count in shuffled:
        writer.writerow([number or "", f"2024-01-01 10:{minute:02d}:00", count, state or "", hold or "", group or "", person or ""])
    expected, silent = _reference(numbered)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "audit.csv"
        path.write_text(buffer.getvalue())
        if not expected:
            with pytest.raises(EmptyExport, match=r"(no events: .* loaded, but none has a state)|(every row was rejected)"):
                connectors.load(path, source="servicenow-audit")
            return
        log, report = connectors.load(path, source="servicenow-audit")

    got = {
        case: [(a, int(t[-2:]), g, p) for a, t, g, p in events]
        for case, events in traces(log, "group", "resource").items()
    }
    assert got == expected
    check_event_table(log)
    without_number = sum(r[0] is None for r in rows)
    assert report.rows_read == len(rows)
    assert report.rows_rejected == without_number
    assert report.rows_loaded == len(rows) - without_number
    assert report.derivation.startswith(f"{report.rows_loaded:,} snapshot row")
    assert report.derivation.endswith(f"{silent:,} {'row changes' if silent == 1 else 'rows change'} none of state, group or assignee, so add no event")


AUDIT_VALUES = {
    "state": ["", "1", "2", "3", "6"],
    "hold_reason": ["", "1", "4"],
    "assignment_group": ["", "G1", "G2"],
    "assigned_to": ["", "P1", "P2"],
    "priority": ["", "2", "3"],
}
HOLD_LABELS = {"1": "Awaiting Caller", "4": "Awaiting Vendor"}
audit_rows = st.lists(
    st.tuples(
        st.sampled_from(["DOC1", "DOC2"]),
        st.integers(0, 5),  # minute
        st.integers(0, 2),  # record_checkpoint
        st.sampled_from(sorted(AUDIT_VALUES)),
    ).flatmap(lambda r: st.tuples(*map(st.just, r), st.sampled_from(AUDIT_VALUES[r[3]]), st.sampled_from(AUDIT_VALUES[r[3]]))),
    min_size=1, max_size=25,
)


def _sys_audit_reference(rows: list[tuple]) -> dict[str, list[tuple[str, int, str | None, str | None]]]:
    """Brute force: replay each ticket's field changes update by update, then compare snapshots."""
    order = {"assignment_group": 0, "assigned_to": 1, "hold_reason": 2, "state": 3, "priority": 4}
    out: dict[str, list[tuple[str, int, str | None, str | None]]] = {}
    for doc in dict.fromkeys(r[0] for r in rows):
        mine = sorted((r for r in rows if r[0] == doc), key=lambda r: (r[1], r[2], order[r[3]]))
        values = {f: None for f in order}
        for field in order:  # before a field's first change: that change's old value
            first = next((r for r in mine if r[3] == field), None)
            values[field] = (first[4] or None) if first else None
        snapshots = []
        if any(values[f] for f in ("state", "hold_reason", "assignment_group", "assigned_to")):
            snapshots.append((mine[0][1], dict(values)))
        for key in dict.fromkeys((r[1], r[2]) for r in mine):
            update = [r for r in mine if (r[1], r[2]) == key]
            if all(r[3] == "priority" for r in update):
                continue
            for r in update:
                values[r[3]] = r[5] or None
            snapshots.append((key[0], dict(values)))
        label = group = person = None
        events = []
        for i, (minute, v) in enumerate(snapshots):
            if i and v["assignment_group"] and v["assignment_group"] != group:
                events.append(("Assigned to group" if group is None else "Reassigned", minute, v["assignment_group"], v["assigned_to"]))
            if i and v["assigned_to"] and person is None:
                events.append(("Picked up by assignee", minute, v["assignment_group"], v["assigned_to"]))
            new_label = label
            if v["state"]:
                new_label = RAW[v["state"]]
                if new_label == "On Hold" and v["hold_reason"]:
                    new_label = f"On Hold ({HOLD_LABELS[v['hold_reason']]})"
            if new_label is not None and new_label != label:
                events.append((new_label, minute, v["assignment_group"], v["assigned_to"]))
            label, group, person = new_label, v["assignment_group"], v["assigned_to"]
        if events:
            out[doc] = events
    return out


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(audit_rows)
@example([  # one update: state and hold reason together, listed state first
    ("DOC1", 0, 0, "state", "", "2"), ("DOC1", 1, 1, "state", "2", "3"), ("DOC1", 1, 1, "hold_reason", "", "1"),
    ("DOC1", 2, 2, "hold_reason", "1", ""), ("DOC1", 2, 2, "state", "3", "2"),
])
@example([  # two updates in one minute, told apart by record_checkpoint
    ("DOC1", 0, 0, "state", "", "2"), ("DOC1", 1, 1, "state", "2", "3"), ("DOC1", 1, 2, "state", "3", "2"),
])
@example([  # history that starts after creation, with a hand-off in the first update
    ("DOC2", 3, 0, "priority", "3", "2"), ("DOC2", 4, 1, "state", "2", "6"), ("DOC2", 4, 1, "assignment_group", "G1", "G2"),
])
def test_sys_audit_events_match_a_brute_force_replay(rows: list[tuple]) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["sys_id", "tablename", "documentkey", "fieldname", "oldvalue", "newvalue", "record_checkpoint", "sys_created_on"])
    for i, (doc, minute, checkpoint, field, old, new) in enumerate(rows):
        writer.writerow([f"s{i}", "incident", doc, field, old, new, checkpoint, f"2024-01-01 10:{minute:02d}:00"])
    expected = _sys_audit_reference(rows)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "sys_audit.csv"
        path.write_text(buffer.getvalue())
        if not expected:
            with pytest.raises(EmptyExport, match=r"no events: .* loaded, but none changes state"):
                connectors.load(path)
            return
        log, report = connectors.load(path)
    assert report.source == "servicenow-sys-audit"
    got = {
        case: [(a, int(t[-2:]), g, p) for a, t, g, p in events]
        for case, events in traces(log, "group", "resource").items()
    }
    assert got == expected
    check_event_table(log)
    assert report.rows_read == report.rows_loaded == len(rows)


# --- Volume ---------------------------------------------------------------------------------------


def _write_audit(path: Path, rows: int, seed: int = 7) -> None:
    """Write an incident audit snapshot: ~10 updates per ticket, states mostly repeating."""
    rng = np.random.default_rng(seed)
    per = np.full(rows // 10, 10)
    per[: rows - per.sum()] += 1
    tickets = len(per)
    first = np.repeat(np.r_[0, np.cumsum(per)[:-1]], per)
    update = np.arange(rows) - first
    start = rng.integers(1_704_067_200, 1_735_689_600, tickets).repeat(per)
    step = rng.exponential(3 * 3600, rows).astype(np.int64)
    step[first == np.arange(rows)] = 0
    elapsed = np.cumsum(step)
    when = start + elapsed - elapsed[first]
    advance = rng.random(rows) < 0.3
    advance[update == 0] = False
    level = np.cumsum(advance)
    level = np.minimum(level - level[first], 4)
    states = np.array(["New", "In Progress", "On Hold", "Resolved", "Closed"])
    group_at = np.where(rng.random(rows) < 0.1, rng.integers(0, 60, rows), -1)
    group_at[update == 0] = rng.integers(0, 60, int((update == 0).sum()))
    holder = np.maximum.accumulate(np.where(group_at >= 0, np.arange(rows), 0))
    table = pa.table({
        "number": pc.binary_join_element_wise("INC", pc.utf8_lpad(pa.array((first // 10 + 10_000).astype(str)), 7, "0"), ""),
        "sys_updated_on": pc.strftime(pa.array(when, pa.timestamp("s")), format="%Y-%m-%d %H:%M:%S"),
        "sys_mod_count": pa.array(update.astype(str)),
        "state": pa.array(states[level]),
        "hold_reason": pa.array(np.where(states[level] == "On Hold", "Awaiting Caller", "")),
        "assignment_group": pa.array(np.char.add("Group ", group_at[holder].astype(str))),
        "assigned_to": pa.array(np.where(level >= 1, np.char.add("Resolver ", (first % 300).astype(str)), "")),
        "priority": pa.array(np.array(["1 - Critical", "2 - High", "3 - Moderate", "4 - Low"])[first % 4]),
        "category": pa.array(np.array(["Hardware", "Software", "Network", "Database"])[(first // 7) % 4]),
    })
    pacsv.write_csv(table, path, write_options=pacsv.WriteOptions(quoting_style="none"))


@pytest.mark.slow
def test_a_million_row_snapshot_loads_in_well_under_two_seconds(tmp_path: Path, request: pytest.FixtureRequest) -> None:
    if "slow" not in (request.config.getoption("markexpr") or ""):
        pytest.skip("timing test: run it on an idle machine with -m slow")
    path = tmp_path / "audit_1m.csv"
    _write_audit(path, 1_000_000)
    best = float("inf")
    for _ in range(3):
        began = time.perf_counter()
        log, report = connectors.load(path)
        best = min(best, time.perf_counter() - began)
    assert report.source == "servicenow-audit"
    assert report.rows_loaded == 1_000_000
    assert best < 2.0, f"best of 3 loads took {best:.2f} s"


def test_audit_times_in_the_repeated_autumn_hour_follow_the_ticket_order(tmp_path):
    # Amsterdam's clocks went back at 03:00 CEST on 2024-10-27: the update at 02:10
    # after one at 02:45 is winter time, and so is the 02:40 after it.
    path = tmp_path / "audit.csv"
    path.write_text(
        "number,sys_updated_on,sys_mod_count,state,assignment_group,assigned_to\n"
        "INC0010001,2024-10-27 01:50:00,0,New,Network,\n"
        "INC0010001,2024-10-27 02:45:00,1,In Progress,Network,Fred Luddy\n"
        "INC0010001,2024-10-27 02:10:00,2,On Hold,Network,Fred Luddy\n"
        "INC0010001,2024-10-27 02:40:00,3,Resolved,Network,Fred Luddy\n"
    )
    log, report = connectors.load(path, timezone="Europe/Amsterdam")
    assert report.source == "servicenow-audit"
    assert [(str(a), t.strftime("%H:%M")) for a, t in zip(log["activity"], log["timestamp"], strict=True)] == [
        ("New", "23:50"), ("Picked up by assignee", "00:45"), ("In Progress", "00:45"), ("On Hold", "01:10"), ("Resolved", "01:40"),
    ]
    assert ("3 times in 'sys_updated_on' within the hour Europe/Amsterdam repeats when summer time ends, placed by the "
            "order of their case's events in the file (2 read as winter time)") in report.notes
    assert not any("summer time" in w for w in report.warnings)
