"""Jira: changelog JSON in every API shape, the issue export (CSV and XLSX), errors."""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import connectors
from connectors.errors import BadOption, UnreadableExport
from connectors.eventlog import check_event_table
from tests.conftest import DATA, run_cli

JIRA = DATA / "jira"


def events(log: pd.DataFrame, case: str, *columns: str) -> list[tuple[object, ...]]:
    """Return (activity, UTC time, resource, group, *columns) for each event of ``case``, in order."""
    rows = log[log["case_id"] == case]
    out = []
    for _, row in rows.iterrows():
        values = [row["activity"], row["timestamp"].strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]]
        for name in ("resource", "group", *columns):
            value = row[name] if name in rows else None
            values.append(None if pd.isna(value) else value)
        out.append(tuple(values))
    return out


def accounting_holds(report: connectors.LoadReport) -> bool:
    return report.rows_read == report.rows_loaded + report.rows_rejected and report.rows_rejected == sum(
        r.count for r in report.rejections
    )


# --------------------------------------------------------------------------
# Detection


def _xlsx(tmp_path: Path, typed_dates: bool = False) -> Path:
    """Write the CSV fixture as Jira's XLSX export would: same columns, repeated headers kept."""
    from openpyxl import Workbook

    frame = pd.read_csv(JIRA / "issues.csv", dtype=str, keep_default_na=False, header=None)
    book = Workbook()
    sheet = book.active
    header = list(frame.iloc[0])
    dated = {i for i, name in enumerate(header) if name in ("Created", "Resolved", "Status Category Changed", "Updated")}
    for r, record in enumerate(frame.itertuples(index=False)):
        cells: list[object] = []
        for i, value in enumerate(record):
            if r and typed_dates and i in dated and value not in ("", "someday"):
                cells.append(pd.Timestamp(pd.to_datetime(value, format="%d/%b/%y %I:%M %p")).to_pydatetime())
            else:
                cells.append(value if value != "" else None)
        sheet.append(cells)
    path = tmp_path / "jira_issues.xlsx"
    book.save(path)
    return path


@pytest.mark.parametrize(
    "name, source, reason",
    [
        pytest.param("search_changelog.json", "jira-changelog", "'issues' with 'changelog.histories' (Jira search with expand=changelog)", id="search"),
        pytest.param("PROJ-7_changelog.json", "jira-changelog", "'values' of changelog histories (Jira GET /issue/{key}/changelog)", id="paged"),
        pytest.param("bulkfetch.json", "jira-changelog", "'issueChangeLogs' (Jira changelog/bulkfetch)", id="bulkfetch"),
        pytest.param("issues.csv", "jira", "columns 'Issue key', 'Issue Type' and 'Created' (Jira issue export)", id="csv"),
        pytest.param("xlsx", "jira", "columns 'Issue key', 'Issue Type' and 'Created' (Jira issue export)", id="xlsx"),
    ],
)
def test_detected_without_flags(tmp_path, name, source, reason):
    path = _xlsx(tmp_path) if name == "xlsx" else JIRA / name
    log, report = connectors.load(path)
    assert (report.source, report.source_reason) == (source, reason)
    assert report.flags[0] == f"--source {source}"
    assert accounting_holds(report)
    check_event_table(log)


def test_csv_detected_by_custom_field_without_issue_type(tmp_path):
    path = tmp_path / "export.csv"
    path.write_text("Issue key,Summary,Custom field (Team),Created\nAB-1,x,Ops,25/Feb/26 10:17 PM\n")
    log, report = connectors.load(path)
    assert report.source_reason == "columns 'Issue key' and 'Custom field (…)' (Jira issue export)"
    assert events(log, "AB-1") == [("Created", "2026-02-25 22:17:00.000", None, "Ops")]


# --------------------------------------------------------------------------
# Changelog JSON


def test_search_changelog_events_per_issue():
    log, report = connectors.load(JIRA / "search_changelog.json")
    extra = ("status_category", "assignee", "priority")
    # PROJ-1: created 09:00+01:00; histories are listed newest first in the file and
    # sorted here; 'To Do' is the fromString of the first status change.
    assert events(log, "PROJ-1", *extra) == [
        ("To Do", "2026-02-01 08:00:00.000", "Alice", None, "new", None, "Medium"),
        ("Picked up by assignee", "2026-02-01 09:00:00.000", "Bob", None, "new", "Bob", "Medium"),
        ("In Progress", "2026-02-01 10:30:00.000", "Bob", "Service Desk", "indeterminate", "Bob", "Medium"),
        ("Assigned to group", "2026-02-01 10:30:00.000", "Bob", "Service Desk", "indeterminate", "Bob", "Medium"),
        ("Reassigned", "2026-02-02 14:00:00.000", "Bob", "Network", "indeterminate", "Carol", "High"),
        ("Done", "2026-02-03 14:00:00.000", "Carol", "Network", "done", "Carol", "High"),
    ]
    # PROJ-2 never changed: its current status at created; the reporter created it.
    assert events(log, "PROJ-2", *extra) == [("To Do", "2026-02-04 08:15:00.000", "Dana", None, "new", None, "Low")]
    # PROJ-3: 'Open' has no category in the file; two histories are rejected.
    assert events(log, "PROJ-3", *extra) == [
        ("Open", "2026-02-05 10:00:00.000", "Bob", None, None, None, "Medium"),
        ("Picked up by assignee", "2026-02-05 10:05:00.000", "Bob", None, "indeterminate", "Bob", "Medium"),
        ("In Progress", "2026-02-05 10:05:00.000", "Bob", None, "indeterminate", "Bob", "Medium"),
    ]
    first = log[log["case_id"] == "PROJ-1"].iloc[0]
    assert (first["issue_type"], first["project"], first["resolution"], first["current_status"], first["current_status_category"]) == (
        "Bug", "PROJ", "Fixed", "Done", "done"
    )
    assert list(log["case_id"].cat.categories) == ["PROJ-1", "PROJ-2", "PROJ-3"]
    # Rows are numbered in file order: PROJ-1's creation record is row 1, its items 2-10.
    assert list(log.loc[log["case_id"] == "PROJ-1", "source_row"]) == [1, 10, 8, 9, 4, 2]


def test_search_changelog_accounting_and_report():
    log, report = connectors.load(JIRA / "search_changelog.json")
    # 13 items + 3 creation records; 2 rejected (one history without created, one unreadable).
    assert (report.rows_read, report.rows_loaded, report.rows_rejected, report.events) == (16, 14, 2, 10)
    assert accounting_holds(report)
    rejected = {r.reason: (r.count, r.examples) for r in report.rejections}
    assert rejected["the history has no 'created' time"] == (1, [{"row": 14}])
    bad = next(v for k, v in rejected.items() if k.startswith("'created' is not a date"))
    assert bad == (1, [{"row": 13, "value": "next tuesday"}])
    assert report.derivation == (
        "3 of 3 issue creation records give the issue's first status; 11 changelog items loaded: "
        "3 status changes, 2 pickups (Picked up by assignee) and 2 team changes became events; 4 changes of other fields give none "
        "(resolution 1, assignee (not a pickup) 1, priority 1, Sprint 1)"
    )
    assert {role: c.column for role, c in report.columns.items()} == {
        "case_id": "issues[].key",
        "activity": "items[].toString where field is 'status'",
        "timestamp": "histories[].created",
        "resource": "histories[].author.displayName",
        "group": "items[].toString where field is 'Team'",
    }
    assert report.notes[0] == (
        "Jira search results with changelog (issues[].changelog.histories[]): 3 issue entries, 8 histories, 13 items; "
        "a row is one changelog item or issue creation record, numbered in file order"
    )
    assert any(n.startswith("status categories of 3 statuses learned from the issues' current status") for n in report.notes)
    assert report.flags == ["--source jira-changelog"]


def test_paged_changelog_takes_the_case_from_the_file_name():
    log, report = connectors.load(JIRA / "PROJ-7_changelog.json")
    assert events(log, "PROJ-7", "assignee") == [
        ("In Progress", "2017-02-28 15:24:59.366", "Erin", None, None),
        ("Picked up by assignee", "2017-02-28 16:00:00.000", "Frank", None, "Frank"),
        ("Resolved", "2017-03-01 22:30:00.000", "Frank", None, "Frank"),
    ]
    assert "case id 'PROJ-7' taken from the file name: the paged changelog does not name its issue" in report.notes
    assert report.columns["case_id"].column == "the file name"
    assert (report.rows_read, report.events) == (4, 3)
    assert report.derivation == (
        "4 changelog items loaded: 2 status changes and 1 pickup (Picked up by assignee) became events; "
        "1 change of other fields gives none (resolution 1)"
    )


def test_paged_changelog_without_a_key_in_the_name_uses_the_stem(tmp_path):
    path = tmp_path / "changes.json"
    shutil.copy(JIRA / "PROJ-7_changelog.json", path)
    log, report = connectors.load(path)
    assert list(log["case_id"].cat.categories) == ["changes"]
    assert any(n.startswith("case id 'changes' is the file's stem") for n in report.notes)


def test_bulkfetch_cases_are_issue_ids():
    log, report = connectors.load(JIRA / "bulkfetch.json")
    assert events(log, "10100") == [
        ("In Progress", "2025-06-02 06:00:00.000", "Alice", None),
        ("Done", "2025-06-03 06:00:00.000", "Alice", None),
    ]
    # Items of one history keep their order: the pickup, then the status change.
    assert events(log, "10101", "assignee") == [
        ("Picked up by assignee", "2025-06-02 10:00:00.000", "Bob", None, "Bob"),
        ("In Progress", "2025-06-02 10:00:00.000", "Bob", None, "Bob"),
    ]
    assert report.columns["case_id"].column == "issueChangeLogs[].issueId"
    assert (report.rows_read, report.rows_rejected, report.events) == (4, 0, 4)


def test_cases_keep_their_order_of_first_appearance(tmp_path):
    # The first issue's only event is a team change, the second's a status change:
    # cases still come in file order, as the event table promises.
    history = {"id": "1", "author": {"displayName": "Ann"}, "created": "2025-06-02T08:00:00.000+0000"}
    doc = {"issueChangeLogs": [
        {"issueId": "9", "changeHistories": [{**history, "items": [{"field": "Team", "fromString": None, "toString": "Ops"}]}]},
        {"issueId": "1", "changeHistories": [{**history, "items": [{"field": "status", "fromString": "A", "toString": "B"}]}]},
    ]}
    path = tmp_path / "bulk.json"
    path.write_text(json.dumps(doc))
    log, report = connectors.load(path)
    assert list(log["case_id"].astype(str)) == ["9", "1"]
    assert list(log["case_id"].cat.categories) == ["9", "1"]


def _activities(log: pd.DataFrame) -> list[tuple[str, str, str]]:
    return [(str(c), str(a), t.isoformat()) for c, a, t in zip(log["case_id"], log["activity"], log["timestamp"], strict=True)]


@pytest.mark.parametrize(
    "make, like",
    [
        pytest.param(lambda d: d["issues"], "search_changelog.json", id="array-of-issues"),
        pytest.param(lambda d: [{"issues": d["issues"][:1]}, {"issues": d["issues"][1:]}], "search_changelog.json", id="array-of-pages"),
        pytest.param(lambda d: d["issues"][0], None, id="one-issue"),
    ],
)
def test_other_search_shapes_give_the_same_events(tmp_path, make, like):
    doc = json.loads((JIRA / "search_changelog.json").read_text())
    path = tmp_path / "export.json"
    path.write_text(json.dumps(make(doc)))
    log, report = connectors.load(path)
    expected, _ = connectors.load(JIRA / "search_changelog.json")
    if like is None:
        expected = expected[expected["case_id"] == "PROJ-1"]
    assert _activities(log) == _activities(expected)
    assert report.source == "jira-changelog"


def test_array_of_histories_is_a_paged_changelog(tmp_path):
    doc = json.loads((JIRA / "PROJ-7_changelog.json").read_text())
    path = tmp_path / "PROJ-7.json"
    path.write_text(json.dumps(doc["values"]))
    log, report = connectors.load(path)
    expected, _ = connectors.load(JIRA / "PROJ-7_changelog.json")
    assert _activities(log) == _activities(expected)
    assert report.source_reason == "a JSON array of changelog histories (Jira)"


def test_overlapping_pages_are_rejected_as_repeats_unless_kept(tmp_path):
    doc = json.loads((JIRA / "bulkfetch.json").read_text())
    path = tmp_path / "pages.json"
    path.write_text(json.dumps([doc, doc]))
    log, report = connectors.load(path)
    assert (report.rows_read, report.rows_rejected, report.events) == (8, 4, 4)
    assert report.rejections[0].reason == "repeats an issue or history already read (overlapping pages?); pass --keep-duplicates to keep it"
    assert report.rejections[0].examples == [{"row": 5}, {"row": 6}, {"row": 7}]
    kept, report = connectors.load(path, keep_duplicates=True)
    assert (report.rows_rejected, report.events) == (0, 8)


# --------------------------------------------------------------------------
# Issue export: CSV and XLSX


CSV_EVENTS = {
    # Status changed at Resolved: no separate status event.
    "PROJ-1": [("Created", "2026-02-25 22:17:00.000", "Alice", "Service Desk", None),
               ("Resolved", "2026-02-27 09:05:00.000", "Bob", "Service Desk", None)],
    "PROJ-2": [("Created", "2026-02-26 08:00:00.000", "Dana", "Network", None),
               ("In Progress", "2026-02-26 11:30:00.000", "Carol", "Network", "indeterminate")],
    # Status changed at Created: nothing but Created.
    "PROJ-3": [("Created", "2026-03-01 09:00:00.000", "Erin", None, None)],
    "PROJ-4": [("Created", "2026-03-02 13:00:00.000", "Alice", "Service Desk", None),
               ("Resolved", "2026-03-03 16:45:00.000", "Bob", "Service Desk", None),
               ("Closed", "2026-03-04 10:00:00.000", "Bob", "Service Desk", "done")],
}


def test_issue_export_events_per_issue():
    log, report = connectors.load(JIRA / "issues.csv")
    for case, expected in CSV_EVENTS.items():
        assert events(log, case, "status_category") == expected, case
    assert list(log["case_id"].cat.categories) == list(CSV_EVENTS)
    assert list(log.loc[log["case_id"] == "PROJ-4", "source_row"]) == [5, 5, 5]


def test_issue_export_joins_repeated_columns_and_renames_attributes():
    log, report = connectors.load(JIRA / "issues.csv")
    first = log[log["case_id"] == "PROJ-1"].iloc[0]
    assert (first["Labels"], first["Sprint"], first["Watchers"]) == ("hardware; printer", "Sprint 6; Sprint 7", "alice; bob")
    proj3 = log[log["case_id"] == "PROJ-3"].iloc[0]
    assert pd.isna(proj3["Labels"]) and proj3["Watchers"] == "erin"
    assert (first["issue_type"], first["priority"], first["project"], first["current_status"], first["current_status_category"]) == (
        "Bug", "High", "PROJ", "Done", "done"
    )
    assert not {"Labels.1", "Sprint.1", "Watchers.1", "Created", "Resolved"} & set(log.columns)
    assert "repeated columns joined with '; ': Labels (2), Sprint (2), Watchers (2)" in report.notes


def test_issue_export_accounting_and_report():
    log, report = connectors.load(JIRA / "issues.csv")
    assert (report.rows_read, report.rows_loaded, report.rows_rejected, report.events) == (7, 4, 3, 8)
    assert accounting_holds(report)
    assert [(r.reason, r.count, r.examples) for r in report.rejections] == [
        ("no 'Issue key'", 1, [{"row": 6}]),
        ("'Created' is not a date (d/Mon/yy h:MM AM)", 1, [{"row": 7, "value": "someday"}]),
        ("repeats the 'Issue key' of an earlier row; pass --keep-duplicates to keep it", 1, [{"row": 8}]),
    ]
    assert report.derivation == (
        "one row per issue; 4 rows give 4 Created, 2 current statuses and 2 Resolved events; "
        "2 rows whose status was entered at Created or Resolved give no status event"
    )
    assert report.columns["resource"].column == "Creator / Assignee"
    assert report.columns["group"].column == "Custom field (Team)"
    assert "timestamps in 'Created': d/Mon/yy h:MM AM" in report.notes


def test_issue_export_time_zone_option():
    log, report = connectors.load(JIRA / "issues.csv", timezone="Europe/Berlin")
    assert events(log, "PROJ-1")[0] == ("Created", "2026-02-25 21:17:00.000", "Alice", "Service Desk")
    assert "--timezone Europe/Berlin" in report.flags


@pytest.mark.parametrize("typed", [pytest.param(False, id="text-dates"), pytest.param(True, id="excel-dates")])
def test_xlsx_export_reads_like_the_csv(tmp_path, typed):
    log, report = connectors.load(_xlsx(tmp_path, typed_dates=typed))
    assert report.source == "jira"
    for case, expected in CSV_EVENTS.items():
        assert events(log, case, "status_category") == expected, case
    assert (report.rows_read, report.rows_rejected, report.events) == (7, 3, 8)
    assert log.loc[log["case_id"] == "PROJ-1", "Labels"].iloc[0] == "hardware; printer"


# --------------------------------------------------------------------------
# Errors, as the command line shows them


@pytest.mark.parametrize(
    "args, message",
    [
        pytest.param(
            ["truncated.json"],
            "{dir}/truncated.json: is truncated (line 1, column 234: Unterminated string starting at); export it again in full",
            id="truncated",
        ),
        pytest.param(
            ["no_changelog.json"],
            "{dir}/no_changelog.json: the issue has no 'changelog'; search again with expand=changelog",
            id="no-changelog",
        ),
        pytest.param(
            ["not_jira.json", "--source", "jira-changelog"],
            "{dir}/not_jira.json: not a Jira changelog: expected 'values' (GET /issue/KEY/changelog), 'issues' with "
            "'changelog' (search with expand=changelog) or 'issueChangeLogs' (changelog/bulkfetch) at the top, "
            "found name, owner, tasks; export it with one of those endpoints",
            id="wrong-shape",
        ),
        pytest.param(
            ["issues.csv", "--source", "jira-changelog"],
            "{dir}/issues.csv: a Jira changelog is JSON, but this file is text; pass --source jira for a CSV or XLSX issue export",
            id="csv-as-changelog",
        ),
        pytest.param(
            ["search_changelog.json", "--case-col", "key"],
            "{dir}/search_changelog.json: --case-col does not apply to a Jira changelog (its events come from the changes it records); "
            "leave it out, or pass --source csv to read the file as a plain table",
            id="column-option",
        ),
    ],
)
def test_errors_are_one_line(args, message):
    result = run_cli("inspect", str(JIRA / args[0]), *args[1:])
    assert result.exit_code == 2
    assert result.stderr == f"Error: {message.format(dir=JIRA)}\n"
    assert result.stdout == ""


def test_unknown_json_is_not_claimed():
    result = run_cli("inspect", str(JIRA / "not_jira.json"))
    assert result.exit_code == 2
    assert result.stderr.startswith(f"Error: {JIRA}/not_jira.json: not a kind of export vsm knows (json); pass --source with one of ")


def test_errors_are_the_projects_classes():
    with pytest.raises(UnreadableExport):
        connectors.load(JIRA / "truncated.json")
    with pytest.raises(BadOption):
        connectors.load(JIRA / "issues.csv", activity_col="Status")


def test_inspect_prints_the_reading():
    result = run_cli("inspect", str(JIRA / "search_changelog.json"))
    assert result.exit_code == 0
    assert "Source      jira-changelog  ('issues' with 'changelog.histories' (Jira search with expand=changelog))" in result.stdout
    assert "Rows        16 read = 14 loaded + 2 rejected" in result.stdout
    assert "Events      10 (3 of 3 issue creation records give the issue's first status;" in result.stdout


# --------------------------------------------------------------------------
# Property: random changelogs against a brute-force reading

STATUSES = ["To Do", "In Progress", "Review", "Done"]
PEOPLE = [None, "Ann", "Bo"]
TEAMS = [None, "Ops", "Net"]

item = st.one_of(
    st.builds(lambda a, b: {"field": "status", "fromString": a, "toString": b}, st.sampled_from(STATUSES), st.sampled_from(STATUSES)),
    st.builds(lambda a, b: {"field": "assignee", "fromString": a, "toString": b}, st.sampled_from(PEOPLE), st.sampled_from(PEOPLE)),
    st.builds(lambda a, b: {"field": "Team", "fromString": a, "toString": b}, st.sampled_from(TEAMS), st.sampled_from(TEAMS)),
    st.builds(lambda b: {"field": "labels", "fromString": None, "toString": b}, st.sampled_from(["x", "y"])),
)
history = st.tuples(st.integers(0, 5), st.sampled_from(PEOPLE[1:]), st.lists(item, min_size=0, max_size=3))
issue = st.tuples(st.sampled_from(STATUSES), st.lists(history, max_size=6))


def reference(issues: list[tuple[str, list[tuple[int, str, list[dict[str, object]]]]]]) -> list[tuple[str, str, int, object]]:
    """Events the module docstring promises, computed the slow, obvious way."""
    out = []
    for k, (current, histories) in enumerate(issues):
        key = f"P-{k + 1}"
        # (time, row, author, item): rows count the creation record first, then items in file order.
        rows, row = [], 1
        for minute, author, items in histories:
            for it in items:
                row += 1
                rows.append((minute, row, author, it))
        rows.sort(key=lambda r: (r[0], r[1]))
        statuses = [it for _, _, _, it in rows if it["field"] == "status"]
        first = statuses[0]["fromString"] if statuses else current
        found = [(key, first, -1, "Creator")]
        for minute, _, author, it in rows:
            if it["field"] == "status":
                found.append((key, it["toString"], minute, author))
            elif it["field"] == "assignee" and it["fromString"] is None and it["toString"] is not None:
                found.append((key, "Picked up by assignee", minute, it["toString"]))
            elif it["field"] == "Team" and it["toString"] is not None and it["toString"] != it["fromString"]:
                found.append((key, "Reassigned" if it["fromString"] is not None else "Assigned to group", minute, author))
        out += found
    return out


@settings(max_examples=150, deadline=None)
@given(st.lists(issue, min_size=1, max_size=4))
def test_random_changelogs_match_the_reference(issues):
    base = pd.Timestamp("2026-01-05 10:00", tz="UTC")
    doc = {"issues": []}
    for k, (current, histories) in enumerate(issues):
        doc["issues"].append({
            "key": f"P-{k + 1}",
            "fields": {"created": (base - pd.Timedelta(minutes=1)).isoformat(), "status": {"name": current},
                       "creator": {"displayName": "Creator"}},
            "changelog": {"histories": [
                {"id": str(i), "author": {"displayName": author}, "created": (base + pd.Timedelta(minutes=minute)).isoformat(), "items": items}
                for i, (minute, author, items) in enumerate(histories)
            ]},
        })
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "search.json"
        path.write_text(json.dumps(doc))
        log, report = connectors.load(path)
    got = [(str(c), str(a), int((t - base) / pd.Timedelta(minutes=1)), None if pd.isna(r) else str(r))
           for c, a, t, r in zip(log["case_id"], log["activity"], log["timestamp"], log["resource"], strict=True)]
    assert got == reference(issues)
    n_items = sum(len(items) for _, histories in issues for _, _, items in histories)
    assert (report.rows_read, report.rows_rejected) == (n_items + len(issues), 0)
    assert accounting_holds(report)
    assert report.events == len(got)
