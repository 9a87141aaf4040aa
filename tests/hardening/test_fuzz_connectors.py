"""Fuzzing the connectors: whatever the bytes, ``connectors.load`` either
returns a valid canonical table whose row accounting holds, or raises
:class:`~connectors.errors.VsmError`. Never another exception, never a hang.

Inputs are random tables (column names from the vendors' vocabularies, blank
and repeated; cells with placeholders, unicode, quotes, delimiters, newlines
and dates in many formats or none) written with a random delimiter, line end
and encoding, and random JSON in the shapes of Jira's changelog and Zendesk's
event and audit exports with fields left out or of the wrong type; any of
them may be cut short.

The properties also check that nothing is lost: a returned table has
``rows_read = rows_loaded + rows_rejected``, the rejections add up, events
equal rows loaded where rows are events one to one (at most one event per row
for the Jira and Zendesk sources), and for a generic CSV ``rows_read`` is the
number of records Python's csv module finds in the same bytes. A load that
runs longer than 20 s fails as a hang.

In CI each property runs 250 examples (about 16 s for the module). For a
longer run on demand::

    VSM_FUZZ_EXAMPLES=5000 python -m pytest tests/hardening/test_fuzz_connectors.py -m slow

``-m slow`` runs the long variants (``VSM_FUZZ_EXAMPLES`` examples each,
2,000 by default); ``VSM_FUZZ_EXAMPLES`` alone also sets the count of the CI
variants. Every crash fuzzing found is pinned as an explicit regression test
in test_regressions.py.
"""

from __future__ import annotations

import csv
import io
import json
import os
import signal
from contextlib import contextmanager
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

import connectors
from connectors.errors import VsmError
from connectors.eventlog import check_event_table

CI_EXAMPLES = int(os.environ.get("VSM_FUZZ_EXAMPLES", "250"))
LONG_EXAMPLES = int(os.environ.get("VSM_FUZZ_EXAMPLES", "2000"))
# A load of a few dozen rows takes milliseconds; this much means a hang.
HANG_SECONDS = 20

SOURCES_FOR_TABLES = ["auto"] * 9 + ["csv", "servicenow", "servicenow-audit", "servicenow-sys-audit",
                      "servicenow-metric", "jira", "zendesk-history"]
SOURCES_FOR_JSON = ["auto"] * 5 + ["jira-changelog", "zendesk-events", "zendesk-audits", "csv", "xes"]


@contextmanager
def time_limit(seconds: int):
    """Fail the example if the body runs longer than ``seconds`` (a hang)."""

    def on_alarm(signum, frame):  # noqa: ARG001
        raise TimeoutError(f"load did not finish within {seconds} s")

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def load_checked(path: Path, source: str = "auto", **options: object) -> connectors.LoadReport | None:
    """Load ``path``; on success check the table and the accounting. Return the report, or None on a VsmError."""
    with time_limit(HANG_SECONDS):
        try:
            table, report = connectors.load(path, source=source, **options)
        except VsmError as exc:
            message = str(exc)
            assert message and "\n" not in message, f"a VsmError must be one line: {message!r}"
            event(f"refused: {type(exc).__name__}")
            return None
    event(f"loaded as {report.source}")
    check_event_table(table)
    assert len(table) == report.events
    assert report.rows_rejected == sum(r.count for r in report.rejections)
    assert 0 <= report.rows_rejected <= report.rows_read
    assert report.rows_read == report.rows_loaded + report.rows_rejected
    assert report.events > 0, "a load that gives no event must say so with an error"
    if report.derivation == "one event per row":
        assert report.events == report.rows_loaded
    if report.source in ("jira-changelog", "zendesk-events", "zendesk-audits", "zendesk-history"):
        assert report.events <= report.rows_loaded, "these sources give at most one event per row"
    assert table["case_id"].notna().all() and table["activity"].notna().all() and table["timestamp"].notna().all()
    return report


# --------------------------------------------------------------------------
# Strategies: cells, dates, tables

PLACEHOLDER = st.sampled_from(["", " ", "?", "(empty)", "NULL", "null", "N/A", "#N/A", "NaN", "nan", "None", "-", "(none)"])
DATE_FORMATS = [
    "%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%dT%H:%M:%S.000%z", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d", "%d/%m/%Y %H:%M",
    "%m/%d/%Y %I:%M:%S %p", "%d.%m.%Y", "%d/%b/%y %I:%M %p", "%d-%b-%Y %H:%M", "%m-%d-%Y %I:%M:%S %p",
    "%Y/%m/%d %H:%M", "%b %d, %Y", "%d %b %Y %H:%M:%S", "%Y-%m-%dT%H:%M:%S%z", "%d/%m/%y",
]
GARBAGE_DATES = st.sampled_from([
    "31/02/2016", "2024-02-30", "2024-13-01", "0000-00-00", "00/00/0000 00:00", "25/Foo/26 10:17 PM",
    "9999-12-31T23:59:59Z", "0001-01-01T00:00:00Z", "1e10", "-1", "99999999999999999999", "1700000000",
    "1700000000000", "-99999999999", "inf", "2024-01-01T25:61:00", "2024-01-01T10:00:00+25:00", "12:30",
    "yesterday", "2024", "24-1-1", "１２/０１/２０２４", "2024-01-01\u200b", "\u00a02024-01-01\u00a0", "T",
])


@st.composite
def date_text(draw) -> str:
    import datetime as dt

    if draw(st.integers(0, 5)) == 0:
        return draw(GARBAGE_DATES)
    if draw(st.integers(0, 7)) == 0:
        return str(draw(st.integers(-(10**13), 10**13)))
    moment = draw(st.datetimes(min_value=dt.datetime(1, 1, 1), max_value=dt.datetime(9999, 12, 31),
                               timezones=st.sampled_from([None, dt.UTC, dt.timezone(dt.timedelta(hours=-6))])))
    fmt = draw(st.sampled_from(DATE_FORMATS))
    try:
        return moment.strftime(fmt)
    except ValueError:
        return moment.isoformat()


TEXT = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12
) | st.sampled_from([
    "In Progress", "New", "Resolved", "Closed", "On Hold", "2", "6", "-5", "open", "solved", "status", "group_id",
    "assignee_id", "Incident State Duration", "INC0001", "PROJ-1", "Service Desk", "=HYPERLINK(\"http://x\",\"y\")",
    "<script>alert(1)</script>", "مرحبا", "שלום", "🙂🚀", "a,b", "a;b", "a\tb", "a|b", 'say "hi"', "line\nbreak",
    "\r\n", "\ufeff", "start", "complete", "schedule",
])
CELL = st.one_of(PLACEHOLDER, TEXT, date_text(), st.integers(-5, 10**6).map(str))
COLUMN_NAME = st.sampled_from([
    "", " ", "case_id", "Case ID", "case:concept:name", "number", "ticket_id", "Issue key", "id", "activity",
    "Activity", "concept:name", "status", "state", "incident_state", "timestamp", "Timestamp", "time:timestamp",
    "sys_updated_on", "sys_mod_count", "opened_at", "resolved_at", "closed_at", "Created", "Resolved",
    "Status Category Changed", "updated", "field_name", "fieldname", "value", "newvalue", "oldvalue", "documentkey",
    "tablename", "sys_created_on", "definition", "start", "end", "field_value", "user_id", "resource", "group",
    "assignment_group", "assigned_to", "lifecycle:transition", "start_time", "end_time", "Labels",
]) | TEXT


@st.composite
def tables(draw) -> tuple[bytes, dict[str, object]]:
    """Return the bytes of a table (a damaged vendor shape, or anything) and how it was written."""
    if draw(st.integers(0, 2)):
        header, rows = draw(vendor_tables())
    else:
        width = draw(st.integers(1, 6))
        header = draw(st.lists(COLUMN_NAME, min_size=width, max_size=width))
        rows = []
        for _ in range(draw(st.integers(0, 12))):
            # Mostly well-formed rows; sometimes ragged.
            w = width if draw(st.integers(0, 9)) else draw(st.integers(0, width + 2))
            rows.append(draw(st.lists(CELL, min_size=w, max_size=w)))
    return encode_table(draw, header, rows)


# Vendor table shapes: (column, kind of values) in the order an export writes them.
TEMPLATES: dict[str, list[tuple[str, str]]] = {
    "generic": [("case_id", "id"), ("activity", "state"), ("timestamp", "date"), ("resource", "person"), ("group", "group")],
    "generic-interval": [("Case ID", "id"), ("Activity", "state"), ("start_time", "date"), ("end_time", "date")],
    "generic-lifecycle": [("case:concept:name", "id"), ("concept:name", "state"), ("lifecycle:transition", "transition"),
                          ("time:timestamp", "date")],
    "servicenow-audit": [("number", "id"), ("sys_updated_on", "date"), ("sys_mod_count", "count"), ("state", "state"),
                         ("assignment_group", "group"), ("assigned_to", "person"), ("priority", "text")],
    "servicenow-list": [("number", "id"), ("state", "state"), ("opened_at", "date"), ("resolved_at", "date"),
                        ("closed_at", "date"), ("assignment_group", "group"), ("assigned_to", "person")],
    "sys_audit": [("sys_id", "text"), ("tablename", "table"), ("documentkey", "id"), ("fieldname", "field"),
                  ("oldvalue", "state"), ("newvalue", "state"), ("user", "person"), ("sys_created_on", "date")],
    "metric_instance": [("definition", "definition"), ("id", "id"), ("table", "table"), ("field", "field"),
                        ("field_value", "state"), ("value", "state"), ("start", "date"), ("end", "date"),
                        ("calculation_complete", "bool")],
    "zendesk-history": [("ticket_id", "id"), ("field_name", "field"), ("value", "state"), ("updated", "date"),
                        ("user_id", "person")],
    "jira-issues": [("Summary", "text"), ("Issue key", "id"), ("Status", "state"), ("Created", "date"),
                    ("Resolved", "date"), ("Labels", "text"), ("Labels", "text"), ("Status Category", "category"),
                    ("Status Category Changed", "date")],
}
VALUES = {
    "id": st.sampled_from(["INC0001", "INC0002", "INC0003", "PROJ-1", "PROJ-2", "101", "102", "9d38"]),
    "state": st.sampled_from(["New", "In Progress", "On Hold", "Resolved", "Closed", "1", "2", "3", "6", "7", "-5",
                              "open", "pending", "solved", "Done", "To Do", "🙂🚀", "مرحبا", "<b>x</b>"]),
    "person": st.sampled_from(["Beth Anglin", "Fred Luddy", "800", "-1", "system", "שלום"]),
    "group": st.sampled_from(["Service Desk", "Network", "Hardware", "20", "40"]),
    "count": st.integers(0, 9).map(str),
    "transition": st.sampled_from(["start", "complete", "schedule", "suspend"]),
    "table": st.sampled_from(["incident", "change_request", "sc_req_item", "problem"]),
    "field": st.sampled_from(["state", "status", "assignment_group", "assigned_to", "group_id", "assignee_id",
                              "priority", "incident_state"]),
    "definition": st.sampled_from(["Incident State Duration", "Assigned to Duration", "Assignment Group"]),
    "bool": st.sampled_from(["true", "false"]),
    "category": st.sampled_from(["To Do", "In Progress", "Done"]),
    "text": TEXT,
}


@st.composite
def vendor_tables(draw) -> tuple[list[str], list[list[str]]]:
    """Return a header and rows in one vendor's shape, then damaged: columns dropped, cells garbled."""
    columns = list(draw(st.sampled_from(list(TEMPLATES.values()))))
    if draw(st.integers(0, 3)) == 0 and len(columns) > 1:
        del columns[draw(st.integers(0, len(columns) - 1))]
    one = draw(st.sampled_from(DATE_FORMATS))  # an export writes all its dates alike, mostly
    formats = {i: one if draw(st.integers(0, 5)) else draw(st.sampled_from(DATE_FORMATS))
               for i, (_, kind) in enumerate(columns) if kind == "date"}
    base = draw(st.datetimes(min_value=__import__("datetime").datetime(1960, 1, 1),
                             max_value=__import__("datetime").datetime(2040, 1, 1)))
    rows = []
    for _ in range(draw(st.integers(1, 14))):
        row = []
        for i, (_, kind) in enumerate(columns):
            damage = draw(st.integers(0, 11))
            if damage == 0:
                row.append(draw(PLACEHOLDER))
            elif damage == 1:
                row.append(draw(CELL))
            elif kind == "date":
                moment = base + __import__("datetime").timedelta(minutes=draw(st.integers(-600, 60_000)))
                row.append(moment.strftime(formats[i].replace("%z", "+0100")))
            else:
                row.append(draw(VALUES[kind]))
        rows.append(row)
    return [name for name, _ in columns], rows


def encode_table(draw, header: list[str], rows: list[list[str]]) -> tuple[bytes, dict[str, object]]:
    delimiter = draw(st.sampled_from([",", ";", "\t", "|"]))
    quoting = draw(st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL, csv.QUOTE_NONNUMERIC]))
    newline = draw(st.sampled_from(["\n", "\r\n"]))
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, quoting=quoting, lineterminator=newline)
    writer.writerow(header)
    writer.writerows(rows)
    text = out.getvalue()
    encoding = draw(st.sampled_from(["utf-8", "utf-8", "utf-8-sig", "cp1252", "latin-1", "utf-16", "utf-16-le"]))
    data = text.encode(encoding, errors="replace")
    if draw(st.integers(0, 9)) == 0:
        data = data[: draw(st.integers(0, len(data)))]  # cut short
    return data, {"delimiter": delimiter, "encoding": encoding, "rows": len(rows)}


# --------------------------------------------------------------------------
# Strategies: JSON in the vendors' shapes, with omissions and type confusion

WRONG = st.one_of(st.none(), st.integers(-3, 3), st.booleans(), st.just([]), st.just({}), st.just(""),
                  st.just([1, "a"]), st.just({"x": 1}), st.floats(allow_nan=False, allow_infinity=False))


def maybe(draw, value: object) -> object:
    """Return ``value`` mostly, else a value of the wrong type."""
    return draw(WRONG) if draw(st.integers(0, 6)) == 0 else value


@st.composite
def jira_history(draw) -> dict[str, object]:
    items = []
    for _ in range(draw(st.integers(0, 3))):
        field = draw(st.sampled_from(["status", "assignee", "Team", "priority", "resolution", "Sprint"]))
        item: dict[str, object] = {"field": maybe(draw, field), "fieldtype": "jira"}
        item["fromString"] = maybe(draw, draw(TEXT))
        item["toString"] = maybe(draw, draw(TEXT))
        if draw(st.integers(0, 5)) == 0:
            del item[draw(st.sampled_from(["field", "fromString", "toString"]))]
        items.append(maybe(draw, item))
    history: dict[str, object] = {
        "id": maybe(draw, str(draw(st.integers(1, 30)))),
        "author": maybe(draw, {"accountId": "a1", "displayName": draw(TEXT)}),
        "created": maybe(draw, draw(json_date())),
        "items": maybe(draw, items),
    }
    if draw(st.integers(0, 5)) == 0:
        del history[draw(st.sampled_from(list(history)))]
    return history


@st.composite
def jira_documents(draw) -> object:
    def issue() -> object:
        fields = {
            "created": maybe(draw, draw(json_date())),
            "status": maybe(draw, {"name": draw(TEXT), "statusCategory": maybe(draw, {"key": draw(st.sampled_from(["new", "indeterminate", "done"]))})}),
            "assignee": maybe(draw, {"displayName": draw(TEXT)}),
            "issuetype": maybe(draw, {"name": "Bug"}),
        }
        node: dict[str, object] = {
            "key": maybe(draw, f"PROJ-{draw(st.integers(1, 5))}"),
            "fields": maybe(draw, fields),
            "changelog": maybe(draw, {"histories": maybe(draw, draw(st.lists(jira_history(), max_size=4)))}),
        }
        if draw(st.integers(0, 5)) == 0:
            del node[draw(st.sampled_from(list(node)))]
        return node

    shape = draw(st.sampled_from(["search", "paged", "bulkfetch", "array"]))
    if shape == "search":
        return {"startAt": 0, "total": 3, "issues": maybe(draw, [issue() for _ in range(draw(st.integers(0, 4)))])}
    if shape == "paged":
        return {"startAt": 0, "maxResults": 100, "total": 3, "isLast": True,
                "values": maybe(draw, draw(st.lists(jira_history(), max_size=5)))}
    if shape == "bulkfetch":
        logs = [maybe(draw, {"issueId": maybe(draw, str(draw(st.integers(1, 4)))),
                             "changeHistories": maybe(draw, draw(st.lists(jira_history(), max_size=4)))})
                for _ in range(draw(st.integers(0, 3)))]
        return {"issueChangeLogs": logs, "nextPageToken": None}
    return [issue() for _ in range(draw(st.integers(0, 3)))]


@st.composite
def zendesk_documents(draw) -> object:
    def child() -> object:
        field = draw(st.sampled_from(["status", "group_id", "assignee_id", "priority", "tags", "subject", "comment"]))
        value = draw(st.sampled_from(["new", "open", "pending", "hold", "solved", "closed"])) if field == "status" else draw(TEXT)
        node: dict[str, object] = {field: maybe(draw, value), "event_type": maybe(draw, draw(st.sampled_from(["Create", "Change", "Comment", "Notification"])))}
        if draw(st.booleans()):
            node["previous_value"] = maybe(draw, draw(TEXT))
        return maybe(draw, node)

    def record(children_key: str) -> object:
        node: dict[str, object] = {
            "id": maybe(draw, draw(st.integers(1, 20))),
            "ticket_id": maybe(draw, draw(st.integers(1, 4))),
            "created_at": maybe(draw, draw(json_date())),
            "timestamp": maybe(draw, draw(st.integers(0, 2_000_000_000))),
            "updater_id": maybe(draw, draw(st.integers(-1, 900))),
            "author_id": maybe(draw, draw(st.integers(-1, 900))),
            "via": maybe(draw, draw(st.sampled_from(["Mail", "Web form", "Rule"]))),
            children_key: maybe(draw, [child() for _ in range(draw(st.integers(0, 4)))]),
        }
        if draw(st.integers(0, 5)) == 0:
            del node[draw(st.sampled_from(list(node)))]
        return node

    def audit_event() -> object:
        node = {"type": maybe(draw, draw(st.sampled_from(["Create", "Change", "Comment"]))),
                "field_name": maybe(draw, draw(st.sampled_from(["status", "group_id", "assignee_id", "priority"]))),
                "value": maybe(draw, draw(TEXT))}
        if draw(st.booleans()):
            node["previous_value"] = maybe(draw, draw(TEXT))
        return maybe(draw, node)

    shape = draw(st.sampled_from(["events", "events-array", "audits", "audits-array"]))
    if shape.startswith("events"):
        records = [record("child_events") for _ in range(draw(st.integers(0, 5)))]
        if shape == "events-array":
            return records
        return {"ticket_events": maybe(draw, records), "next_page": None, "count": len(records), "end_of_stream": True}
    audits = []
    for _ in range(draw(st.integers(0, 5))):
        node = record("events")
        if isinstance(node, dict) and isinstance(node.get("events"), list):
            node["events"] = [audit_event() for _ in range(draw(st.integers(0, 4)))]
        audits.append(node)
    return audits if shape == "audits-array" else {"audits": maybe(draw, audits), "count": len(audits)}


JSON_DATE_FORMATS = ["%Y-%m-%dT%H:%M:%S.000%z", "%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%d %H:%M:%S"]


@st.composite
def json_date(draw) -> str:
    """A date as the APIs write them, mostly; sometimes anything."""
    import datetime as dt

    if draw(st.integers(0, 9)) == 0:
        return draw(date_text())
    moment = draw(st.datetimes(min_value=dt.datetime(2015, 1, 1), max_value=dt.datetime(2030, 1, 1),
                               timezones=st.just(dt.timezone(dt.timedelta(hours=-6)))))
    return moment.strftime(draw(st.shared(st.sampled_from(JSON_DATE_FORMATS), key="json-date-format")))


@st.composite
def json_bytes(draw) -> bytes:
    doc = draw(jira_documents() | zendesk_documents())
    indent = draw(st.sampled_from([None, 1]))
    data = json.dumps(doc, indent=indent, ensure_ascii=draw(st.booleans())).encode("utf-8")
    if draw(st.integers(0, 7)) == 0:
        data = data[: draw(st.integers(1, max(1, len(data))))]  # truncated
    return data


# --------------------------------------------------------------------------
# Properties


def _check_table(tmp_path: Path, data: bytes, how: dict[str, object], source: str, given_delimiter: bool) -> None:
    path = tmp_path / "export.csv"
    path.write_bytes(data)
    options = {"delimiter": how["delimiter"]} if given_delimiter else {}
    report = load_checked(path, source, **options)
    if report is not None and report.source == "csv" and given_delimiter and not how["encoding"].startswith("utf-16"):
        # The generic reader keeps every record it was given: rows read are the data records
        # Python's csv module finds, less blank lines (which are not records).
        text = data.decode("utf-8-sig" if how["encoding"].startswith("utf-8") else how["encoding"], errors="replace")
        try:
            records = list(csv.reader(io.StringIO(text, newline=""), delimiter=how["delimiter"]))[1:]
        except csv.Error:
            return
        width = len(next(csv.reader(io.StringIO(text, newline=""), delimiter=how["delimiter"])))
        expected = sum(1 for r in records if r and not (len(r) != width and not any(c.strip() for c in r)))
        assert report.rows_read == expected


FUZZ = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                                   HealthCheck.function_scoped_fixture])


@settings(max_examples=CI_EXAMPLES, **FUZZ)
@given(table=tables(), source=st.sampled_from(SOURCES_FOR_TABLES), given_delimiter=st.booleans())
def test_random_tables_load_or_fail_with_a_vsm_error(tmp_path, table, source, given_delimiter):
    _check_table(tmp_path, table[0], table[1], source, given_delimiter)


@settings(max_examples=CI_EXAMPLES, **FUZZ)
@given(data=json_bytes(), source=st.sampled_from(SOURCES_FOR_JSON))
def test_random_vendor_json_loads_or_fails_with_a_vsm_error(tmp_path, data, source):
    path = tmp_path / "export.json"
    path.write_bytes(data)
    load_checked(path, source)


@settings(max_examples=CI_EXAMPLES, **FUZZ)
@given(data=st.binary(max_size=600), suffix=st.sampled_from([".csv", ".json", ".xlsx", ".xes", ".xes.gz", ".parquet"]))
def test_random_bytes_load_or_fail_with_a_vsm_error(tmp_path, data, suffix):
    path = tmp_path / f"export{suffix}"
    path.write_bytes(data)
    load_checked(path)


def _require_slow(request) -> None:
    if "slow" not in (request.config.getoption("markexpr") or ""):
        pytest.skip("long fuzzing: run it with -m slow (and VSM_FUZZ_EXAMPLES=N)")


@pytest.mark.slow
def test_random_tables_long(request, tmp_path):
    _require_slow(request)

    @settings(max_examples=LONG_EXAMPLES, **FUZZ)
    @given(table=tables(), source=st.sampled_from(SOURCES_FOR_TABLES), given_delimiter=st.booleans())
    def run(table, source, given_delimiter):
        _check_table(tmp_path, table[0], table[1], source, given_delimiter)

    run()


@pytest.mark.slow
def test_random_vendor_json_long(request, tmp_path):
    _require_slow(request)

    @settings(max_examples=LONG_EXAMPLES, **FUZZ)
    @given(data=json_bytes(), source=st.sampled_from(SOURCES_FOR_JSON))
    def run(data, source):
        path = tmp_path / "export.json"
        path.write_bytes(data)
        load_checked(path, source)

    run()
