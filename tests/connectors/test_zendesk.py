"""Zendesk: incremental ticket events, ticket audits, field history; errors; a property test."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import connectors
from connectors.errors import EmptyExport, UnreadableExport
from connectors.eventlog import check_event_table
from tests.conftest import DATA, run_cli

ZD = DATA / "zendesk"


def events(log: pd.DataFrame, case: str, *columns: str) -> list[tuple[object, ...]]:
    """Return (activity, UTC time, resource, group, *columns) for each event of ``case``, in order."""
    rows = log[log["case_id"] == case]
    out = []
    for _, row in rows.iterrows():
        values = [row["activity"], row["timestamp"].strftime("%Y-%m-%d %H:%M")]
        for name in ("resource", "group", *columns):
            value = row[name] if name in rows else None
            values.append(None if pd.isna(value) else value)
        out.append(tuple(values))
    return out


def accounting_holds(report: connectors.LoadReport) -> bool:
    return report.rows_read == report.rows_loaded + report.rows_rejected and report.rows_rejected == sum(
        r.count for r in report.rejections
    )


def _history_xlsx(tmp_path: Path) -> Path:
    frame = pd.read_csv(ZD / "ticket_field_history.csv", dtype=str, keep_default_na=False)
    path = tmp_path / "ticket_field_history.xlsx"
    frame.replace("", None).to_excel(path, index=False)
    return path


@pytest.mark.parametrize(
    "name, source, reason",
    [
        pytest.param("ticket_events.json", "zendesk-events", "'ticket_events' (Zendesk incremental ticket events export)", id="events"),
        pytest.param("ticket_events.jsonl", "zendesk-events", "a JSON array of ticket events with 'child_events' (Zendesk)", id="events-jsonl"),
        pytest.param("audits.json", "zendesk-audits", "'audits' (Zendesk ticket audits)", id="audits"),
        pytest.param("ticket_field_history.csv", "zendesk-history",
                     "columns 'ticket_id', 'field_name', 'value', 'updated' (Zendesk ticket field history)", id="history-csv"),
        pytest.param("xlsx", "zendesk-history",
                     "columns 'ticket_id', 'field_name', 'value', 'updated' (Zendesk ticket field history)", id="history-xlsx"),
    ],
)
def test_detected_without_flags(tmp_path, name, source, reason):
    path = _history_xlsx(tmp_path) if name == "xlsx" else ZD / name
    log, report = connectors.load(path)
    assert (report.source, report.source_reason) == (source, reason)
    assert report.flags[0] == f"--source {source}"
    assert accounting_holds(report)
    check_event_table(log)


# --------------------------------------------------------------------------
# Incremental ticket events

EVENTS_101 = [
    # The creating audit: status new (a Create child); priority, type and tags ride along.
    ("new", "2026-03-02 09:00", "900", None, None, "normal", "incident", "printer floor3", "Mail", 2),
    ("Assigned to group", "2026-03-02 09:30", "901", "20", "901", "normal", "incident", "printer floor3", "Web form", 6),
    ("Picked up by assignee", "2026-03-02 09:30", "901", "20", "901", "normal", "incident", "printer floor3", "Web form", 7),
    ("open", "2026-03-02 09:30", "901", "20", "901", "normal", "incident", "printer floor3", "Web form", 8),
    ("pending", "2026-03-02 10:00", "901", "20", "901", "normal", "incident", "printer floor3", "Web form", 10),
    ("open", "2026-03-03 08:00", "900", "20", "901", "normal", "incident", "printer floor3", "Mail", 12),
    # Group 20 -> 21 with a hand-over 901 -> 902 (no event) and priority normal -> high.
    ("Reassigned", "2026-03-03 09:00", "901", "21", "902", "high", "incident", "printer floor3", "Web form", 13),
    ("hold", "2026-03-03 15:00", "902", "21", "902", "high", "incident", "printer floor3", "Web form", 16),
    ("solved", "2026-03-04 10:00", "-1", "21", "902", "high", "incident", "printer floor3", "Rule", 17),
]
ATTRS = ("assignee", "priority", "type", "tags", "via", "source_row")


def test_ticket_events_per_ticket():
    log, report = connectors.load(ZD / "ticket_events.json")
    assert events(log, "101", *ATTRS) == EVENTS_101
    # Ticket 102 is created with a group and an assignee: one event carries them.
    # Its second audit has only an epoch 'timestamp'.
    assert events(log, "102", "assignee", "source_row") == [
        ("new", "2026-03-02 12:00", "910", "20", "903", 19),
        ("solved", "2026-03-03 11:00", "903", "20", "903", 22),
    ]
    assert list(log["case_id"].cat.categories) == ["101", "102"]


def test_ticket_events_accounting_and_report():
    log, report = connectors.load(ZD / "ticket_events.json")
    assert (report.rows_read, report.rows_loaded, report.rows_rejected, report.events) == (27, 22, 5, 11)
    assert accounting_holds(report)
    assert [(r.reason.split(" (")[0], r.count, r.examples) for r in report.rejections] == [
        ("no 'ticket_id'", 1, [{"row": 23}]),
        ("'created_at' is not a date", 1, [{"row": 24, "value": "a while ago"}]),
        ("repeats an audit already read", 3, [{"row": 25}, {"row": 26}, {"row": 27}]),
    ]
    assert report.derivation == (
        "22 child events loaded: 8 status changes, 2 group changes and 1 pickup (Picked up by assignee) became events; "
        "no event from 2 group or assignee values set at a ticket's creation (its first event carries them), "
        "1 assignee change that is not a pickup, 5 changes of other fields (priority 2, subject 1, type 1, tags 1) "
        "and 3 other child events (Comment 2, Notification 1)"
    )
    assert {role: c.column for role, c in report.columns.items()} == {
        "case_id": "ticket_events[].ticket_id",
        "activity": "child_events[].status",
        "timestamp": "ticket_events[].created_at",
        "resource": "ticket_events[].updater_id",
        "group": "child_events[].group_id",
    }
    assert report.notes[0] == "ticket events in 1 page: 12 audits holding 27 child events; a row is one child event, numbered in file order"
    assert "resource -1 is Zendesk itself (triggers and automations)" in report.notes
    assert any("1 audit without created_at read from 'timestamp' (epoch seconds)" in n for n in report.notes)


def test_duplicates_are_kept_on_request():
    log, report = connectors.load(ZD / "ticket_events.json", keep_duplicates=True)
    assert report.rows_rejected == 2
    # The repeated audit carries its previous_values (no group, no assignee, status new),
    # so kept, it gives its three events again: why repeats are rejected by default.
    assert report.events == 14
    repeated = [e for e in events(log, "101", "source_row") if e[1] == "2026-03-02 09:30"]
    assert [(e[0], e[4]) for e in repeated] == [
        ("Assigned to group", 6), ("Picked up by assignee", 7), ("open", 8), ("Assigned to group", 25), ("Picked up by assignee", 26), ("open", 27)
    ]


def test_json_lines_read_like_the_json():
    lines, report = connectors.load(ZD / "ticket_events.jsonl")
    assert events(lines, "101", *ATTRS) == EVENTS_101
    assert report.notes[0] == "ticket events in JSON lines: 7 audits holding 18 child events; a row is one child event, numbered in file order"


@pytest.mark.parametrize(
    "make, note",
    [
        pytest.param(lambda d: d["ticket_events"], "ticket events in a JSON array: 12 audits holding 27 child events; a row is one child event, numbered in file order", id="array-of-events"),
        pytest.param(lambda d: [{"ticket_events": d["ticket_events"][:5]}, {"ticket_events": d["ticket_events"][5:]}],
                     "ticket events in 2 pages: 12 audits holding 27 child events; a row is one child event, numbered in file order", id="array-of-pages"),
    ],
)
def test_arrays_of_events_or_pages(tmp_path, make, note):
    doc = json.loads((ZD / "ticket_events.json").read_text())
    path = tmp_path / "events.json"
    path.write_text(json.dumps(make(doc), indent=1))
    log, report = connectors.load(path)
    expected, _ = connectors.load(ZD / "ticket_events.json")
    assert events(log, "101", *ATTRS) == events(expected, "101", *ATTRS)
    assert events(log, "102", *ATTRS) == events(expected, "102", *ATTRS)
    assert report.notes[0] == note


# --------------------------------------------------------------------------
# Ticket audits


def test_audits_per_ticket():
    log, report = connectors.load(ZD / "audits.json")
    assert events(log, "201", "assignee", "priority", "tags", "via", "source_row") == [
        ("new", "2026-04-01 08:00", "700", None, None, "low", "vpn", "email", 2),
        ("Assigned to group", "2026-04-01 08:20", "701", "30", "701", "low", "vpn", "web", 6),
        ("Picked up by assignee", "2026-04-01 08:20", "701", "30", "701", "low", "vpn", "web", 7),
        ("open", "2026-04-01 08:20", "701", "30", "701", "low", "vpn", "web", 8),
        ("pending", "2026-04-01 09:00", "701", "30", "701", "low", "vpn client", "web", 10),
        # 10:00+02:00
        ("open", "2026-04-02 08:00", "700", "30", "701", "low", "vpn client", "email", 13),
        ("solved", "2026-04-02 11:00", "701", "30", "701", "low", "vpn client", "web", 14),
    ]
    # A Create that sets a status other than 'new' is still the first status; it carries the group.
    assert events(log, "202") == [("open", "2026-04-03 07:00", "705", "31")]


def test_audits_accounting_counts_comments():
    log, report = connectors.load(ZD / "audits.json")
    assert (report.rows_read, report.rows_loaded, report.rows_rejected, report.events) == (18, 17, 1, 8)
    assert [(r.reason, r.count, r.examples) for r in report.rejections] == [("the audit has no 'created_at' time", 1, [{"row": 18}])]
    assert report.derivation == (
        "17 audit events loaded: 6 status changes, 1 group change and 1 pickup (Picked up by assignee) became events; "
        "no event from 1 group or assignee value set at a ticket's creation (its first event carries them), "
        "4 changes of other fields (tags 2, priority 1, 360001234 1) and 4 other audit events (Comment 3, Notification 1)"
    )
    assert report.columns["activity"].column == "events[].value where field_name is 'status'"


def test_one_audit_and_an_array_of_audits(tmp_path):
    doc = json.loads((ZD / "audits.json").read_text())
    one = tmp_path / "one.json"
    one.write_text(json.dumps({"audit": doc["audits"][0]}))
    log, report = connectors.load(one)
    assert (report.source, events(log, "201")) == ("zendesk-audits", [("new", "2026-04-01 08:00", "700", None)])
    array = tmp_path / "array.json"
    array.write_text(json.dumps(doc["audits"]))
    log, report = connectors.load(array)
    assert report.source_reason == "a JSON array of audits with 'events' (Zendesk ticket audits)"
    assert report.events == 8


# --------------------------------------------------------------------------
# Field history table

HISTORY_301 = [
    ("new", "2026-05-01 08:00", "800", None, None, "normal", 2),
    ("Assigned to group", "2026-05-01 08:05", "-1", "40", None, "normal", 4),
    # Rows of one ticket at one time are one update: the open event sees the assignee set with it.
    ("open", "2026-05-01 08:10", "802", "40", "802", "normal", 5),
    ("Picked up by assignee", "2026-05-01 08:10", "802", "40", "802", "normal", 6),
    # 09:00 repeats 'open': folded.
    ("pending", "2026-05-01 09:30", "802", "40", "802", "normal", 8),
    # Group 40 -> 41 and the assignee cleared in the same update.
    ("Reassigned", "2026-05-02 10:00", "802", "41", None, "normal", 9),
    ("Picked up by assignee", "2026-05-02 11:00", "803", "41", "803", "normal", 11),
    ("solved", "2026-05-03 12:00", "803", "41", "803", "normal", 13),
]
HISTORY_302 = [  # written out of time order
    ("new", "2026-05-04 09:00", "804", None, 15),
    ("open", "2026-05-04 10:00", "804", None, 16),
    ("solved", "2026-05-05 10:00", "804", None, 14),
]
HISTORY_304 = [  # created with a group (its first update sets the status): one event carries it
    ("new", "2026-05-06 09:00", "805", "50", 20),
    ("Reassigned", "2026-05-06 10:00", "806", "51", 22),
]


def test_history_per_ticket():
    log, report = connectors.load(ZD / "ticket_field_history.csv")
    assert events(log, "301", "assignee", "priority", "source_row") == HISTORY_301
    assert events(log, "302", "source_row") == HISTORY_302
    assert events(log, "304", "source_row") == HISTORY_304


def test_history_accounting_and_report():
    log, report = connectors.load(ZD / "ticket_field_history.csv")
    assert (report.rows_read, report.rows_loaded, report.rows_rejected, report.events) == (21, 18, 3, 13)
    assert accounting_holds(report)
    assert [(r.reason, r.count, r.examples) for r in report.rejections] == [
        ("no ticket id in 'ticket_id'", 1, [{"row": 17}]),
        ("'updated' is not a date (ISO 8601 without a zone, taken as UTC)", 1, [{"row": 18, "value": "yesterday"}]),
        ("exact duplicate of an earlier row (pass --keep-duplicates to keep)", 1, [{"row": 19}]),
    ]
    assert report.derivation == (
        "18 rows loaded: 8 status changes, 3 group changes and 2 pickups (Picked up by assignee) became events; "
        "no event from 1 repeat of the ticket's status, 1 group or assignee value set at a ticket's creation "
        "(its first event carries them), 1 assignee change that is not a pickup and 2 changes of other fields (priority 1, subject 1)"
    )
    assert {role: c.column for role, c in report.columns.items()} == {
        "case_id": "ticket_id",
        "activity": "value where field_name is 'status'",
        "timestamp": "updated",
        "resource": "user_id",
        "group": "value where field_name is 'group_id'",
    }
    assert report.notes[-2:] == [
        "no previous-value column: a change replaces the ticket's value from the row before it in time order; "
        "rows of one ticket at one time are one update",
        "a ticket's first update that sets its status is taken as its creation: the group and assignee it sets give no event",
    ]


def test_history_xlsx_reads_like_the_csv(tmp_path):
    log, report = connectors.load(_history_xlsx(tmp_path))
    assert events(log, "301", "assignee", "priority", "source_row") == HISTORY_301
    assert (report.rows_read, report.rows_rejected, report.events) == (21, 3, 13)


def test_history_column_variants_and_options(tmp_path):
    text = (ZD / "ticket_field_history.csv").read_text().splitlines()
    upper = tmp_path / "snowflake.csv"
    upper.write_text("\n".join(["FIELD_NAME,TICKET_ID,UPDATED_AT,UPDATER_ID,NEW_VALUE", *text[1:]]) + "\n")
    log, report = connectors.load(upper)
    assert report.source == "zendesk-history"
    assert events(log, "301", "assignee", "priority", "source_row") == HISTORY_301
    odd = tmp_path / "odd.csv"
    odd.write_text("\n".join(["field_name,tkt,changed_on,who,value", *text[1:]]) + "\n")
    log, report = connectors.load(odd, source="zendesk-history", case_col="tkt", timestamp_col="changed_on", resource_col="who")
    assert events(log, "301", "assignee", "priority", "source_row") == HISTORY_301
    assert report.columns["case_id"].reason == "given"


# --------------------------------------------------------------------------
# Errors, as the command line shows them


@pytest.mark.parametrize(
    "args, message",
    [
        pytest.param(["truncated_events.json"],
                     "{dir}/truncated_events.json: is truncated (line 143, column 17: Expecting value); export it again in full",
                     id="truncated"),
        pytest.param(["empty_events.json"],
                     "{dir}/empty_events.json: the Zendesk ticket events export holds no events ('ticket_events' is empty); "
                     "export again with an earlier start_time", id="empty"),
        pytest.param(["tickets_export.json"],
                     "{dir}/tickets_export.json: a Zendesk tickets export holds each ticket's current fields, not its history; "
                     "export ticket events (GET /api/v2/incremental/ticket_events.json?start_time=…) or ticket audits", id="tickets-export"),
        pytest.param(["wrong_shape.json", "--source", "zendesk-events"],
                     "{dir}/wrong_shape.json: not a Zendesk ticket events export: expected 'ticket_events' at the top "
                     "(found keys 'count', 'next_page', 'users'); export GET /api/v2/incremental/ticket_events.json, "
                     "or pass the right --source", id="wrong-shape-events"),
        pytest.param(["ticket_events.json", "--source", "zendesk-audits"],
                     "{dir}/ticket_events.json: not a Zendesk ticket audits export: expected 'audits' at the top "
                     "(found keys 'count', 'end_of_stream', 'end_time', 'next_page', 'ticket_events'); "
                     "export GET /api/v2/tickets/{{id}}/audits.json, or pass the right --source", id="events-as-audits"),
        pytest.param(["ticket_events.json", "--source", "zendesk-history"],
                     "{dir}/ticket_events.json: a Zendesk field history is a table (CSV, XLSX or Parquet), but this file is json; "
                     "pass --source zendesk-events or zendesk-audits for JSON", id="json-as-history"),
        pytest.param(["ticket_field_history.csv", "--source", "zendesk-events"],
                     "{dir}/ticket_field_history.csv: a Zendesk ticket events export is JSON, but this file is text; "
                     "pass --source zendesk-history for a field-history table", id="csv-as-events"),
        pytest.param(["ticket_events.json", "--group-col", "group_id"],
                     "{dir}/ticket_events.json: --group-col does not apply to a Zendesk ticket events export (its events come "
                     "from the fields it records); leave it out, or pass --source csv to read the file as a plain table", id="column-option"),
        pytest.param(["ticket_field_history.csv", "--case-col", "tid"],
                     "{dir}/ticket_field_history.csv: no column 'tid' for case_id "
                     "(columns: 'field_name', 'ticket_id', 'updated', 'user_id', 'value')", id="missing-given-column"),
    ],
)
def test_errors_are_one_line(args, message):
    result = run_cli("inspect", str(ZD / args[0]), *args[1:])
    assert result.exit_code == 2
    assert result.stderr == f"Error: {message.format(dir=ZD)}\n"
    assert result.stdout == ""


def test_unknown_json_is_not_claimed():
    result = run_cli("inspect", str(ZD / "wrong_shape.json"))
    assert result.exit_code == 2
    assert result.stderr.startswith(f"Error: {ZD}/wrong_shape.json: not a kind of export vsm knows (json); pass --source with one of ")


def test_history_missing_field_column_says_what_to_do():
    result = run_cli("inspect", str(DATA / "jira" / "issues.csv"), "--source", "zendesk-history")
    assert result.exit_code == 2
    assert result.stderr == (
        f"Error: {DATA}/jira/issues.csv: no ticket id column ('ticket_id' or 'ticket' or 'ticketid') "
        "in a Zendesk field history; pass --case-col NAME\n"
    )


def test_truncated_json_lines(tmp_path):
    path = tmp_path / "events.jsonl"
    text = (ZD / "ticket_events.jsonl").read_text()
    path.write_text(text[: len(text) - 40])
    with pytest.raises(UnreadableExport, match=r"events.jsonl: is truncated \(line 7, column \d+: .*\); export it again in full$"):
        connectors.load(path)


def test_empty_is_an_empty_export():
    with pytest.raises(EmptyExport):
        connectors.load(ZD / "empty_events.json")


def test_inspect_prints_the_reading():
    result = run_cli("inspect", str(ZD / "ticket_events.json"))
    assert result.exit_code == 0
    assert "Rows        27 read = 22 loaded + 5 rejected" in result.stdout
    assert "Events      11 (22 child events loaded: 8 status changes" in result.stdout
    assert result.stderr.startswith("Warning: 5 of 27 rows rejected: ")


# --------------------------------------------------------------------------
# Property: random histories against a brute-force reading

FIELDS = {"status": ["new", "open", "pending", "hold", "solved", ""], "group_id": ["7", "8", ""],
          "assignee_id": ["50", "51", ""], "priority": ["low", "high"], "subject": ["a"]}
change = st.sampled_from(list(FIELDS)).flatmap(
    lambda f: st.tuples(st.just(f), st.sampled_from(FIELDS[f]), st.integers(0, 6), st.sampled_from(["1", "2"]))
)
table = st.lists(st.tuples(st.sampled_from(["11", "12", "13"]), change), min_size=1, max_size=30)


def reference(rows: list[tuple[str, tuple[str, str, int, str]]]) -> list[tuple[str, str, int, str, str | None]]:
    """The module docstring's rules, one row at a time: (ticket, activity, minute, resource, group)."""
    seen, unique = set(), []
    for number, row in enumerate(rows, start=2):
        if row not in seen:  # exact duplicates are rejected
            seen.add(row)
            unique.append((number, row))
    out = []
    for ticket in dict.fromkeys(t for _, (t, _) in unique):
        mine = sorted(((c[2], n, c) for n, (t, c) in unique if t == ticket), key=lambda x: (x[0], x[1]))
        state: dict[str, str | None] = {"status": None, "group_id": None, "assignee_id": None}
        # The first update (rows at the ticket's first minute) is its creation if it sets the status.
        first = mine[0][0]
        creation = any(c[0] == "status" for m, _, c in mine if m == first)
        found = []
        for minute, _, (field, value, _, user) in mine:
            at_creation = creation and minute == first
            new = value or None
            old = state.get(field)
            if field == "status" and new is not None and new != old:
                found.append([ticket, new, minute, user])
            elif field == "group_id" and new is not None and new != old and not at_creation:
                found.append([ticket, "Reassigned" if old is not None else "Assigned to group", minute, user])
            elif field == "assignee_id" and new is not None and old is None and not at_creation:
                found.append([ticket, "Picked up by assignee", minute, new])
            if field in state:
                state[field] = new
            # The group an event carries is the ticket's group after all rows at that minute.
            for event in found:
                if event[2] == minute:
                    event[4:] = [state["group_id"]]
        out += [tuple(e) for e in found]
    return out


@settings(max_examples=150, deadline=None)
@given(table)
def test_random_histories_match_the_reference(rows):
    base = pd.Timestamp("2026-05-01 08:00")
    lines = ["ticket_id,field_name,value,updated,user_id"]
    lines += [f"{t},{f},{v},{base + pd.Timedelta(minutes=m):%Y-%m-%d %H:%M:%S},{u}" for t, (f, v, m, u) in rows]
    expected = reference(rows)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "history.csv"
        path.write_text("\n".join(lines) + "\n")
        if not expected:  # nothing sets a status, a group or an assignee
            with pytest.raises(EmptyExport, match="no events: none of the"):
                connectors.load(path, source="zendesk-history")
            return
        log, report = connectors.load(path, source="zendesk-history")

    def column(name: str) -> list[object]:
        return [None if pd.isna(v) else str(v) for v in log[name]] if name in log else [None] * len(log)

    minutes = [int((t.tz_localize(None) - base) / pd.Timedelta(minutes=1)) for t in log["timestamp"]]
    got = list(zip(column("case_id"), column("activity"), minutes, column("resource"), column("group"), strict=True))
    assert got == expected
    assert report.rows_read == len(rows)
    assert report.rows_rejected == len(rows) - len(set(rows))
    assert accounting_holds(report)


# Property: random incremental exports (Create audit first, then Changes with previous_value)

VALUES = {"status": ["new", "open", "pending", "solved"], "group_id": [7, 8, None], "assignee_id": [50, 51, None]}
change_child = st.sampled_from(list(VALUES)).flatmap(
    lambda f: st.tuples(st.just(f), st.sampled_from(VALUES[f]), st.sampled_from(VALUES[f]))
)
audit = st.tuples(st.integers(1, 5), st.sampled_from([1, 2]),
                  st.lists(st.one_of(change_child, st.just(("comment", None, None))), min_size=1, max_size=3))
ticket = st.tuples(st.sampled_from(["new", "open"]), st.sampled_from([None, 7]), st.sampled_from([None, 50]),
                   st.lists(audit, max_size=5))


def events_reference(tickets: list[tuple]) -> list[tuple[str, str, int, str, str | None]]:
    """(ticket, activity, minute, resource, group) by the module docstring's rules, audit by audit."""
    out = []
    for k, (status, group, assignee, audits) in enumerate(tickets):
        tid = str(100 + k)
        creation = [("status", status, None)] + [(f, v, None) for f, v in (("group_id", group), ("assignee_id", assignee)) if v is not None]
        ordered = [(0, 0, 9, creation, True)] + [(m, i + 1, a, ch, False) for i, (m, a, ch) in enumerate(audits)]
        ordered.sort(key=lambda x: (x[0], x[1]))
        # Before a field's first row, its value is that row's previous_value (Create rows have none).
        first_prev: dict[str, object] = {}
        for _, _, _, children, is_create in ordered:
            for field, _, prev in children:
                if field != "comment":
                    first_prev.setdefault(field, None if is_create else prev)
        state = {f: first_prev.get(f) for f in VALUES}
        seen: set[str] = set()
        for minute, _, author, children, is_create in ordered:
            found = []
            for field, value, prev in children:
                if field == "comment":
                    continue
                old = (state[field] if field in seen else None) if is_create else prev
                if field == "status" and value is not None and value != old:
                    found.append([value, str(author)])
                elif field == "group_id" and not is_create and value is not None and value != old:
                    found.append(["Reassigned" if old is not None else "Assigned to group", str(author)])
                elif field == "assignee_id" and not is_create and value is not None and old is None:
                    found.append(["Picked up by assignee", str(value)])
                state[field] = value
                seen.add(field)
            g = state["group_id"]
            out += [(tid, a, minute, r, None if g is None else str(g)) for a, r in found]
    return out


@settings(max_examples=150, deadline=None)
@given(st.lists(ticket, min_size=1, max_size=3))
def test_random_ticket_events_match_the_reference(tickets):
    base = pd.Timestamp("2026-03-02 09:00", tz="UTC")
    records, n_children = [], 0
    for k, (status, group, assignee, audits) in enumerate(tickets):
        create = [{"status": status, "event_type": "Create"}]
        create += [{f: v, "event_type": "Create"} for f, v in (("group_id", group), ("assignee_id", assignee)) if v is not None]
        records.append({"id": k * 100, "ticket_id": 100 + k, "created_at": base.isoformat(), "updater_id": 9, "child_events": create})
        n_children += len(create)
        for i, (minute, author, children) in enumerate(audits):
            kids = [{"type": "Comment", "body": "hi", "event_type": "Comment"} if f == "comment"
                    else {f: v, "previous_value": p, "event_type": "Change"} for f, v, p in children]
            records.append({"id": k * 100 + i + 1, "ticket_id": 100 + k, "created_at": (base + pd.Timedelta(minutes=minute)).isoformat(),
                            "updater_id": author, "child_events": kids})
            n_children += len(kids)
    expected = events_reference(tickets)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "events.json"
        path.write_text(json.dumps({"ticket_events": records, "end_of_stream": True}))
        log, report = connectors.load(path)
    group = log["group"] if "group" in log else [None] * len(log)
    got = [(str(c), str(a), int((t - base) / pd.Timedelta(minutes=1)), str(r), None if pd.isna(g) else str(g))
           for c, a, t, r, g in zip(log["case_id"], log["activity"], log["timestamp"], log["resource"], group, strict=True)]
    assert got == expected
    assert (report.rows_read, report.rows_rejected) == (n_children, 0)
    assert accounting_holds(report)
