"""Zendesk exports: incremental ticket events, ticket audits, and field history.

Three sources, one set of rules:

* ``zendesk-events``: the incremental ticket events export,
  ``{ticket_events[], next_page, count, end_of_stream, end_time}``, whose
  events are audits (``{id, ticket_id, timestamp, created_at, updater_id,
  via, child_events[]}``); in a child event the changed field is its own key
  (``{"status": "solved", "previous_value": "open", "event_type":
  "Change"}``). A top-level array of such events, an array of pages, and JSON
  lines (one event per line) are read too.
* ``zendesk-audits``: the ticket audits API, ``{audits[] {id, ticket_id,
  created_at, author_id, events[] {type, field_name, value,
  previous_value}}}``.

Either JSON may carry sideloaded ``groups[] {id, name}`` and ``users[] {id,
name}`` beside its events or audits, on each page.
* ``zendesk-history``: a warehouse table of field changes, ``ticket_id,
  field_name, value, updated, user_id`` (Fivetran's ``ticket_field_history``
  and similar).

A *row* is one child event (events export), one audit event (audits), or one
table row (field history). ``source_row`` is the row's 1-based position among
the file's child or audit events, or the table's row number.

Events, from the ``Create`` and ``Change`` rows, in time order per ticket:

* ``status`` set to a value other than the ticket's previous status: an event
  named by the status (``new``, ``open``, ``pending`` (waiting on the
  requester), ``hold`` (waiting on a third party), ``solved``, ``closed``),
  exactly as Zendesk spells it;
* ``group_id`` changed to a group: ``Reassigned`` whose ``group`` is the new
  group id (``Assigned to group`` when the ticket had none);
* ``assignee_id`` set when the ticket had no assignee: ``Picked up by assignee``, whose
  resource is the new assignee.

A ticket's creation gives one event, its first status, which carries the
group and assignee it was created with (as the ServiceNow and Jira
connectors do): ``Create`` rows of group_id and assignee_id give no event. A
field history marks no creation, so there a ticket's first update is taken as
its creation when it sets the status.

The previous value is the row's ``previous_value`` where Zendesk gives it,
else the ticket's value before the row in time order. Other rows give no
event: a status equal to the previous one, other assignee changes, comments,
notifications and changes of other fields. ``priority``, ``type``, ``tags``,
``assignee`` and ``group`` hold each ticket's value after the audit that gave
the event (forward-filled per ticket); ``via`` is the audit's channel. The
resource of the other events is the audit's author (``updater_id``,
``author_id`` or ``user_id``; ``-1`` is Zendesk itself: triggers and
automations).

Groups, resources and assignees are ids, unless names are known: the
export's sideloaded ``groups`` and ``users`` (a page fetched with
``include=users,groups``) or ``--names`` files name them
(:mod:`connectors.names`); ids with no name stay ids, and a note says which.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from connectors.columns import normalise
from connectors.dates import parse_timestamps
from connectors.errors import BadOption, EmptyExport, MissingColumn, UnreadableExport
from connectors.eventlog import (
    ACTIVITY,
    CASE_ID,
    GROUP,
    RESOURCE,
    SEQUENCE,
    SOURCE_ROW,
    TIMESTAMP,
    make_event_table,
)
from connectors.generic import to_frame
from connectors.names import Named, Names, from_sideloads, name_categorical, name_values, names_note, read_names
from connectors.options import LoadOptions
from connectors.probe import Probe, Source
from connectors.report import LoadReport, Rejects
from connectors.textio import json_column

ASSIGNED = "Picked up by assignee"
REASSIGNED = "Reassigned"
ASSIGNED_TO_GROUP = "Assigned to group"
STATUSES = ("new", "open", "pending", "hold", "solved", "closed")

# Fields with a meaning of their own; the others ride along or give nothing.
STATUS, GROUP_ID, ASSIGNEE_ID = "status", "group_id", "assignee_id"
ATTRIBUTE_FIELDS = ("priority", "type", "tags")
TRACKED = (STATUS, GROUP_ID, ASSIGNEE_ID, *ATTRIBUTE_FIELDS)
FIELD_CHANGES = {"create", "change"}
# Keys of an incremental child event that are not the changed field.
_CHILD_META = {"id", "via", "via_reference_id", "event_type", "previous_value", "added_tags", "removed_tags", "audit_id", "created_at"}

# Column names (normalised) of the field-history table, best first.
HISTORY_COLUMNS = {
    "case_id": ("ticket id", "ticket", "ticketid"),
    "field": ("field name", "field", "fieldname", "property"),
    "value": ("value", "new value", "newvalue", "to value"),
    "timestamp": ("updated", "updated at", "timestamp", "created at", "changed at", "valid from"),
    "resource": ("user id", "updater id", "author id", "updated by", "user"),
    "previous": ("previous value", "old value", "oldvalue", "from value"),
}


# --------------------------------------------------------------------------
# Detection


def detect_events(probe: Probe) -> str | None:
    """Recognise the incremental ticket events export (and its array and JSON-lines forms)."""
    if probe.kind != "json":
        return None
    doc = probe.json
    if isinstance(doc, dict):
        if isinstance(doc.get("ticket_events"), list):
            return "'ticket_events' (Zendesk incremental ticket events export)"
        if isinstance(doc.get("tickets"), list) and ({"end_of_stream", "next_page", "after_cursor"} & set(doc)):
            return "'tickets' (a Zendesk incremental tickets export)"
    first = _first_object(doc)
    if first is not None and "child_events" in first and "ticket_id" in first:
        return "a JSON array of ticket events with 'child_events' (Zendesk)"
    if first is not None and isinstance(first.get("ticket_events"), list):
        return "a JSON array of 'ticket_events' pages (Zendesk)"
    return None


def detect_audits(probe: Probe) -> str | None:
    """Recognise the ticket audits API (one page, an array of pages, or an array of audits)."""
    if probe.kind != "json":
        return None
    doc = probe.json
    if isinstance(doc, dict):
        if isinstance(doc.get("audits"), list):
            return "'audits' (Zendesk ticket audits)"
        if isinstance(doc.get("audit"), dict):
            return "one 'audit' (Zendesk ticket audits)"
    first = _first_object(doc)
    if first is not None and isinstance(first.get("events"), list) and "ticket_id" in first:
        return "a JSON array of audits with 'events' (Zendesk ticket audits)"
    if first is not None and isinstance(first.get("audits"), list):
        return "a JSON array of 'audits' pages (Zendesk)"
    return None


def detect_history(probe: Probe) -> str | None:
    """Recognise a field-history table by its columns."""
    if not probe.is_table:
        return None
    found = _history_columns(set(probe.header), {})
    if all(found.get(role) for role in ("case_id", "field", "value", "timestamp")):
        names = ", ".join(repr(found[r]) for r in ("case_id", "field", "value", "timestamp"))
        return f"columns {names} (Zendesk ticket field history)"
    return None


def _first_object(doc: object) -> dict[str, object] | None:
    if isinstance(doc, list):
        return next((x for x in doc if isinstance(x, dict)), None)
    return None


# --------------------------------------------------------------------------
# One pass over the JSON


class _Walk:
    """Columns built by one pass over an events or audits document.

    Records (audits) and rows (child events or audit events) get parallel
    lists; rows are numbered in file order as they are met.
    """

    def __init__(self) -> None:
        self.rows = 0
        self.pages = 0
        self.form = ""  # how the records came: "1 page", "3 pages", "a JSON array"
        self.empty_records = 0
        # per record
        self.case: list[object] = []
        self.created_at: list[object] = []
        self.epoch: list[object] = []
        self.author: list[object] = []
        self.record_id: list[object] = []
        self.via: list[object] = []
        self.first_row: list[int] = []
        # per row
        self.record: list[int] = []
        self.kind: list[object] = []
        self.field: list[object] = []
        self.value: list[object] = []
        self.previous: list[object] = []
        self.has_previous: list[bool] = []
        # sideloaded (include=users,groups): {id, name, …} objects
        self.groups: list[object] = []
        self.users: list[object] = []

    def sideloads(self, page: dict[str, object]) -> None:
        """Keep a page's sideloaded ``groups`` and ``users``."""
        for key, into in (("groups", self.groups), ("users", self.users)):
            found = page.get(key)
            if isinstance(found, list):
                into.extend(found)

    def record_start(self, record: dict[str, object], author_key: str) -> int:
        r = len(self.case)
        self.case.append(record.get("ticket_id"))
        self.created_at.append(record.get("created_at"))
        self.epoch.append(record.get("timestamp"))
        self.author.append(record.get(author_key))
        self.record_id.append(record.get("id"))
        via = record.get("via")
        self.via.append(via.get("channel") if isinstance(via, dict) else via)
        self.first_row.append(self.rows + 1)
        return r

    def ticket_event(self, event: object) -> None:
        """Add one incremental ticket event (an audit with child events)."""
        if not isinstance(event, dict):
            return
        r = self.record_start(event, "updater_id")
        children = event.get("child_events")
        if not isinstance(children, list) or not children:
            self.empty_records += 1
            return
        record, kind, field, value, previous, has_previous = (
            self.record, self.kind, self.field, self.value, self.previous, self.has_previous
        )
        for child in children:
            self.rows += 1
            record.append(r)
            if not isinstance(child, dict):
                kind.append(None)
                field.append(None)
                value.append(None)
                previous.append(None)
                has_previous.append(False)
                continue
            event_type = child.get("event_type")
            kind.append(event_type)
            name = None
            if event_type == "Create" or event_type == "Change":
                for candidate in TRACKED:
                    if candidate in child:
                        name = candidate
                        break
                else:
                    name = next((k for k in child if k not in _CHILD_META), None)
            field.append(name)
            v = child.get(name) if name is not None else None
            value.append(" ".join(map(str, v)) if isinstance(v, list) else v)
            if "previous_value" in child:
                p = child["previous_value"]
                previous.append(" ".join(map(str, p)) if isinstance(p, list) else p)
                has_previous.append(True)
            else:
                previous.append(None)
                has_previous.append(False)

    def audit(self, audit: object) -> None:
        """Add one ticket audit (with its events)."""
        if not isinstance(audit, dict):
            return
        r = self.record_start(audit, "author_id")
        events = audit.get("events")
        if not isinstance(events, list) or not events:
            self.empty_records += 1
            return
        for event in events:
            self.rows += 1
            self.record.append(r)
            if not isinstance(event, dict):
                event = {}
            event_type = event.get("type")
            self.kind.append(event_type)
            self.field.append(event.get("field_name") if event_type in ("Create", "Change") else None)
            v = event.get("value")
            self.value.append(" ".join(map(str, v)) if isinstance(v, list) else v)
            if "previous_value" in event:
                p = event["previous_value"]
                self.previous.append(" ".join(map(str, p)) if isinstance(p, list) else p)
                self.has_previous.append(True)
            else:
                self.previous.append(None)
                self.has_previous.append(False)


def _walk_events(doc: object, path: Path) -> _Walk:
    walk = _Walk()
    if isinstance(doc, dict) and isinstance(doc.get("tickets"), list) and "ticket_events" not in doc:
        raise UnreadableExport(
            f"{path}: a Zendesk tickets export holds each ticket's current fields, not its history; "
            "export ticket events (GET /api/v2/incremental/ticket_events.json?start_time=…) or ticket audits"
        )
    pages = [doc] if isinstance(doc, dict) else doc if isinstance(doc, list) else []
    is_array = isinstance(doc, list) and "child_events" in (_first_object(doc) or {})
    if is_array:
        pages = [{"ticket_events": doc}]
    for page in pages:
        events = page.get("ticket_events") if isinstance(page, dict) else None
        if not isinstance(events, list):
            raise UnreadableExport(
                f"{path}: not a Zendesk ticket events export: expected 'ticket_events' at the top "
                f"({_found(page)}); export GET /api/v2/incremental/ticket_events.json, or pass the right --source"
            )
        walk.pages += 1
        walk.sideloads(page)  # type: ignore[arg-type]
        for event in events:
            walk.ticket_event(event)
    walk.form = "a JSON array" if is_array else _plural(walk.pages, "page")
    if not walk.case:
        raise EmptyExport(
            f"{path}: the Zendesk ticket events export holds no events ('ticket_events' is empty); "
            "export again with an earlier start_time"
        )
    return walk


def _walk_audits(doc: object, path: Path) -> _Walk:
    walk = _Walk()
    if isinstance(doc, dict) and isinstance(doc.get("audit"), dict):
        doc = {"audits": [doc["audit"]]}
    pages = [doc] if isinstance(doc, dict) else doc if isinstance(doc, list) else []
    is_array = isinstance(doc, list) and isinstance((_first_object(doc) or {}).get("events"), list)
    if is_array:
        pages = [{"audits": doc}]
    for page in pages:
        audits = page.get("audits") if isinstance(page, dict) else None
        if not isinstance(audits, list):
            raise UnreadableExport(
                f"{path}: not a Zendesk ticket audits export: expected 'audits' at the top "
                f"({_found(page)}); export GET /api/v2/tickets/{{id}}/audits.json, or pass the right --source"
            )
        walk.pages += 1
        walk.sideloads(page)  # type: ignore[arg-type]
        for audit in audits:
            walk.audit(audit)
    walk.form = "a JSON array" if is_array else _plural(walk.pages, "page")
    if not walk.case:
        raise EmptyExport(f"{path}: the Zendesk audits export holds no audits ('audits' is empty); export tickets that have history")
    return walk


def _found(node: object) -> str:
    if isinstance(node, dict):
        keys = ", ".join(repr(k) for k in sorted(node)[:8])
        return f"found keys {keys}" if keys else "found an empty object"
    return f"found a {type(node).__name__}"


# --------------------------------------------------------------------------
# Loading


def load_events(probe: Probe, options: LoadOptions) -> tuple[pd.DataFrame, LoadReport]:
    """Load the incremental ticket events export."""
    walk = _walk_events(_json(probe, options, "a Zendesk ticket events export"), probe.path)
    report = LoadReport(str(probe.path), "zendesk-events", "")
    json_lines = _is_json_lines(probe) and walk.form == "a JSON array"
    form = "JSON lines" if json_lines else walk.form
    report.notes.append(
        f"ticket events in {form}: {_plural(len(walk.case), 'audit')} holding {_plural(walk.rows, 'child event')}; "
        "a row is one child event, numbered in file order"
    )
    names = {"record": "ticket_events[]", "row": "child event", "author": "ticket_events[].updater_id",
             "activity": "child_events[].status", "group": "child_events[].group_id"}
    return _load_walk(walk, probe, options, report, names), report


def load_audits(probe: Probe, options: LoadOptions) -> tuple[pd.DataFrame, LoadReport]:
    """Load the ticket audits export."""
    walk = _walk_audits(_json(probe, options, "a Zendesk audits export"), probe.path)
    report = LoadReport(str(probe.path), "zendesk-audits", "")
    report.notes.append(
        f"audits in {walk.form}: {_plural(len(walk.case), 'audit')} holding {_plural(walk.rows, 'audit event')}; "
        "a row is one audit event, numbered in file order"
    )
    names = {"record": "audits[]", "row": "audit event", "author": "audits[].author_id",
             "activity": "events[].value where field_name is 'status'", "group": "events[].value where field_name is 'group_id'"}
    return _load_walk(walk, probe, options, report, names), report


def _json(probe: Probe, options: LoadOptions, what: str) -> object:
    _refuse_column_options(options, probe.path, f"{what} (its events come from the fields it records)")
    if probe.kind != "json":
        raise UnreadableExport(f"{probe.path}: {what} is JSON, but this file is {probe.kind}; pass --source zendesk-history for a field-history table")
    return probe.json


def _is_json_lines(probe: Probe) -> bool:
    head = probe.sniffed.text_head.lstrip()
    return head.startswith("{") and isinstance(probe.json, list)


def _load_walk(walk: _Walk, probe: Probe, options: LoadOptions, report: LoadReport, names: dict[str, str]) -> pd.DataFrame:
    path = str(probe.path)
    n = walk.rows
    if n == 0:
        raise EmptyExport(f"{path}: the {_plural(len(walk.case), 'audit')} hold no {names['row']}s; export tickets that have changes")
    record = np.asarray(walk.record, dtype=np.int64)
    first_row = np.asarray(walk.first_row, dtype=np.int64)
    rows = np.arange(1, n + 1, dtype=np.int64)

    created_at = json_column(walk.created_at)
    parsed = parse_timestamps(_arrow_text(created_at), options=options.dates, name="created_at", path=path, rows=first_row,
                              cases=json_column(walk.case))
    times = parsed.values
    present = _present(created_at)
    epoch = json_column(walk.epoch)
    fallback = ~present & _present(epoch)
    description = parsed.description
    if fallback.any():
        by_epoch = parse_timestamps(pd.Series(_arrow_text(_only(epoch, fallback)).to_pandas()), options=options.dates,
                                    name="timestamp", path=path, rows=first_row)
        times = times.where(~pd.Series(fallback), by_epoch.values)
        description = f"{description}; {_plural(int(fallback.sum()), 'audit')} without created_at read from 'timestamp' ({by_epoch.description})"
        bad = parsed.bad | (fallback & by_epoch.bad)
    else:
        bad = parsed.bad
    report.notes.append(f"timestamps in 'created_at': {description}")
    report.notes.extend(parsed.notes)
    report.warnings.extend(parsed.warnings)
    report.flags.extend(f for f in parsed.flags if f not in report.flags)

    case = _Coded.of(json_column(walk.case))
    rejects = Rejects(n, rows)
    rejects.add("no 'ticket_id'", (case.codes < 0)[record])
    rejects.add("the audit has no 'created_at' time", ~(present | fallback)[record])
    rejects.add(f"'created_at' is not a date ({parsed.description})", bad[record], pd.Series(created_at[record], dtype=object))
    if not options.keep_duplicates:
        ids = pd.factorize(json_column(walk.record_id), use_na_sentinel=True)[0]
        dup = pd.DataFrame({"case": case.codes, "id": ids}).duplicated().to_numpy() & (ids >= 0)
        rejects.add("repeats an audit already read (same ticket and id; overlapping pages?); pass --keep-duplicates to keep it", dup[record])

    changes = _Changes(
        case=case.take(record),
        time=times.to_numpy(dtype="datetime64[us]")[record],
        row=rows,
        record=record,
        author=_Coded.of(json_column(walk.author)).take(record),
        kind=_Coded.of(json_column(walk.kind)),
        field=_Coded.of(json_column(walk.field)),
        value=json_column(walk.value),
        previous=json_column(walk.previous),
        has_previous=np.asarray(walk.has_previous, dtype=bool),
        via=_Coded.of(json_column(walk.via)).take(record),
    )
    rejects.fill(report, n)
    id_names = from_sideloads(walk.groups, walk.users)
    id_names.update(read_names(options.names))
    table, counts = _derive(changes, rejects.kept, report, names=id_names)
    _require_events(table, counts, report, names["row"])
    report.events = len(table)
    report.derivation = _derivation(counts, names["row"])
    if walk.empty_records:
        report.notes.append(f"{_plural(walk.empty_records, 'audit')} with no {names['row']}s give no rows")
    _choose(report, names, counts)
    return table


def load_history(probe: Probe, options: LoadOptions) -> tuple[pd.DataFrame, LoadReport]:
    """Load a field-history table (one row per field change)."""
    path = str(probe.path)
    for role in ("activity", "end_timestamp", "group"):
        if role in options.given_columns():
            flag = "--" + role.replace("_", "-") + "-col"
            raise BadOption(f"{path}: {flag} does not apply to a Zendesk field history (its events come from field_name and value); leave it out, or pass --source csv")
    if not probe.is_table:
        raise UnreadableExport(f"{path}: a Zendesk field history is a table (CSV, XLSX or Parquet), but this file is {probe.kind}; pass --source zendesk-events or zendesk-audits for JSON")
    text = probe.table
    frame = to_frame(text)
    found = _history_columns(set(frame.columns), options.given_columns(), path)
    for role, what, fix in (
        ("case_id", "ticket id", "pass --case-col NAME"),
        ("field", "field name", "rename it field_name"),
        ("value", "value", "rename it value"),
        ("timestamp", "time", "pass --timestamp-col NAME"),
    ):
        if not found.get(role):
            wanted = " or ".join(repr(n.replace(" ", "_")) for n in HISTORY_COLUMNS[role][:3])
            raise MissingColumn(f"{path}: no {what} column ({wanted}) in a Zendesk field history; {fix}")
    report = LoadReport(path, "zendesk-history", "")
    report.notes.extend(text.notes)
    n = len(frame)
    rows = text.source_rows
    parsed = parse_timestamps(frame[found["timestamp"]], options=options.dates, name=found["timestamp"], path=path, rows=rows,
                              cases=frame[found["case_id"]])
    report.notes.append(f"timestamps in {found['timestamp']!r}: {parsed.description}")
    report.notes.extend(parsed.notes)
    report.warnings.extend(parsed.warnings)
    report.flags.extend(f for f in parsed.flags if f not in report.flags)

    case = _clean(frame[found["case_id"]])
    rejects = Rejects(n, rows)
    for rejection in text.rejected:
        rejects.extend(rejection)
    rejects.add(f"no ticket id in {found['case_id']!r}", case.isna().to_numpy())
    rejects.add(f"no time in {found['timestamp']!r}", _clean(frame[found["timestamp"]]).isna().to_numpy())  # blank is none
    rejects.add(f"{found['timestamp']!r} is not a date ({parsed.description})", parsed.bad, frame[found["timestamp"]])
    field = _clean(frame[found["field"]])
    rejects.add(f"no field name in {found['field']!r}", field.isna().to_numpy())
    if not options.keep_duplicates:
        rejects.add("exact duplicate of an earlier row (pass --keep-duplicates to keep)", frame.duplicated().to_numpy() & rejects.kept)

    previous = found.get("previous") or None
    resource = found.get("resource") or None
    time = parsed.values.to_numpy(dtype="datetime64[us]")
    # Rows of one ticket at one instant are one update, as an audit is.
    record = pd.DataFrame({"case": case.to_numpy(dtype=object), "time": time}).groupby(["case", "time"], sort=False, dropna=False).ngroup()
    changes = _Changes(
        case=_Coded.of(case.to_numpy(dtype=object)),
        time=time,
        row=rows,
        record=record.to_numpy(dtype=np.int64),
        author=_Coded.of(_clean(frame[resource]).to_numpy(dtype=object) if resource else np.full(n, None, dtype=object)),
        kind=_Coded(np.zeros(n, dtype=np.int64), np.asarray(["Change"], dtype=object)),
        field=_Coded.of(field.to_numpy(dtype=object)),
        value=_clean(frame[found["value"]]).to_numpy(dtype=object),
        previous=_clean(frame[previous]).to_numpy(dtype=object) if previous else np.full(n, None, dtype=object),
        has_previous=np.full(n, bool(previous)),
        via=None,
    )
    rejects.fill(report, n + sum(r.count for r in text.rejected))
    table, counts = _derive(changes, rejects.kept, report, first_update_creates=True, names=read_names(options.names))
    _require_events(table, counts, report, "row")
    report.events = len(table)
    report.derivation = _derivation(counts, "row")
    report.choose("case_id", found["case_id"], "given" if "case_id" in options.given_columns() else "the ticket each change belongs to")
    report.choose("activity", f"{found['value']} where {found['field']} is 'status'",
                  "the status set; group_id changes give Reassigned, assignee_id pickups 'Picked up by assignee'")
    report.choose("timestamp", found["timestamp"], "given" if "timestamp" in options.given_columns() else "when the field changed")
    if resource:
        report.choose("resource", resource, "given" if "resource" in options.given_columns() else "who changed the field; for 'Picked up by assignee', the new assignee")
    if counts["groups"]:
        report.choose("group", f"{found['value']} where {found['field']} is 'group_id'",
                      "the ticket's group after the change, named where a name is known (see the notes)" if counts["named"]
                      else "the ticket's group id after the change (--names FILE names group ids)")
    _note_system(report, counts)
    if not previous:
        report.notes.append("no previous-value column: a change replaces the ticket's value from the row before it in time order; rows of one ticket at one time are one update")
    report.notes.append("a ticket's first update that sets its status is taken as its creation: the group and assignee it sets give no event")
    return table, report


def _history_columns(columns: set[str], given: dict[str, str], path: str = "") -> dict[str, str]:
    by_name: dict[str, str] = {}
    for c in sorted(columns):
        by_name.setdefault(normalise(c), c)
    found = {}
    for role, wanted in HISTORY_COLUMNS.items():
        if role in given:
            if given[role] not in columns:
                shown = ", ".join(repr(c) for c in sorted(columns)[:12])
                raise MissingColumn(f"{path}: no column {given[role]!r} for {role} (columns: {shown})")
            found[role] = given[role]
            continue
        found[role] = next((by_name[w] for w in wanted if w in by_name), "")
    return found


# --------------------------------------------------------------------------
# From field changes to events, vectorised


class _Coded:
    """A column as integer codes (-1: missing or blank) into its distinct texts."""

    def __init__(self, codes: np.ndarray, names: np.ndarray) -> None:
        self.codes = codes
        self.names = names

    @classmethod
    def of(cls, values: np.ndarray) -> _Coded:
        return cls(*_codes(values))

    def take(self, index: np.ndarray) -> _Coded:
        return _Coded(self.codes[index], self.names)

    def texts(self, index: np.ndarray) -> np.ndarray:
        """Return the texts at ``index`` (None where missing)."""
        codes = self.codes[index]
        out = np.full(len(codes), None, dtype=object)
        out[codes >= 0] = self.names[codes[codes >= 0]]
        return out


class _Changes:
    """Field changes, one per input row, with the record (audit) each belongs to.

    ``kind`` is the row's type (Create, Change, Comment …), ``field`` the field
    it sets; ``case``, ``author`` and ``via`` are per row, like the rest.
    """

    def __init__(self, *, case: _Coded, time: np.ndarray, row: np.ndarray, record: np.ndarray, author: _Coded,
                 kind: _Coded, field: _Coded, value: np.ndarray, previous: np.ndarray, has_previous: np.ndarray,
                 via: _Coded | None) -> None:
        self.case, self.time, self.row, self.record, self.author = case, time, row, record, author
        self.kind, self.field, self.value, self.previous, self.has_previous = kind, field, value, previous, has_previous
        self.via = via


def _derive(ch: _Changes, kept: np.ndarray, report: LoadReport, *, first_update_creates: bool = False,
            names: Names | None = None) -> tuple[pd.DataFrame, dict[str, object]]:
    """Return the event table for the kept rows of ``ch`` and what each kind of row gave.

    With ``names``, group and user ids that have a name are replaced by it
    (:mod:`connectors.names`), and ``report`` notes how many had none.

    A ticket's creation gives one event, its first status, carrying the group
    and assignee it was created with: ``Create`` rows of group_id and
    assignee_id give no event. A field history marks no creation: with
    ``first_update_creates``, a ticket's first update is its creation when it
    sets the status (Zendesk's creating audit always does).
    """
    keep = np.flatnonzero(kept)
    # Case codes count up in order of first appearance (factorize), as the event table lists cases.
    case_codes = ch.case.codes[keep]
    case_names = ch.case.names
    order = keep[np.lexsort((ch.row[keep], ch.time[keep].view("int64"), case_codes))]
    case = np.empty(len(ch.row), dtype=np.int64)
    case[keep] = case_codes
    s = _Sorted(case[order], ch.record[order])

    # What each distinct kind and field name is, then per row by code.
    kind_is_change = np.isin(np.char.lower(ch.kind.names.astype(str)), list(FIELD_CHANGES))
    kind_is_create = np.char.lower(ch.kind.names.astype(str)) == "create"
    slot_of_field = np.array([TRACKED.index(f) if f in TRACKED else -1 for f in (str(n).lower() for n in ch.field.names)], dtype=np.int64)
    kind = ch.kind.codes[order]
    field = ch.field.codes[order]
    is_field_change = (kind >= 0) & kind_is_change[kind.clip(0)] if len(kind_is_change) else np.zeros(len(order), bool)
    slot = np.where(is_field_change & (field >= 0), slot_of_field[field.clip(0)] if len(slot_of_field) else -1, -1)
    value, previous, has_previous = ch.value[order], ch.previous[order], ch.has_previous[order]
    tracked = {name: s.track(slot == i, previous, value, has_previous) for i, name in enumerate(TRACKED)}

    status, group, assignee = tracked[STATUS], tracked[GROUP_ID], tracked[ASSIGNEE_ID]
    is_status, is_group, is_assignee = (slot == TRACKED.index(STATUS)), (slot == TRACKED.index(GROUP_ID)), (slot == TRACKED.index(ASSIGNEE_ID))
    ev_status = np.flatnonzero(is_status & (status.new >= 0) & (status.new != status.old))
    created = (kind >= 0) & kind_is_create[kind.clip(0)] if len(kind_is_create) else np.zeros(len(order), bool)
    if first_update_creates and len(order):
        record = ch.record[order]
        sets_status = np.zeros(int(record.max()) + 1, dtype=bool)
        sets_status[record[is_status]] = True
        created |= (record == record[s.case_start]) & sets_status[record]
    ev_group = np.flatnonzero(is_group & ~created & (group.new >= 0) & (group.new != group.old))
    ev_pickup = np.flatnonzero(is_assignee & ~created & (assignee.new >= 0) & (assignee.old < 0))
    positions = np.concatenate([ev_status, ev_group, ev_pickup])

    author = ch.author.take(order)
    resource = author.texts(positions)
    resource[len(ev_status) + len(ev_group):] = assignee.names(assignee.new[ev_pickup])
    events = pd.DataFrame({
        CASE_ID: pd.Categorical.from_codes(s.case[positions], categories=pd.Index(case_names.astype(str), dtype="str")),
        ACTIVITY: pd.Series(np.concatenate([
            status.names(status.new[ev_status]),
            np.where(group.old[ev_group] >= 0, REASSIGNED, ASSIGNED_TO_GROUP).astype(object),
            np.full(len(ev_pickup), ASSIGNED, dtype=object),
        ]), dtype=object),
        TIMESTAMP: pd.Series(ch.time[order][positions]).dt.tz_localize("UTC"),
        RESOURCE: pd.Series(resource, dtype=object),
        GROUP: group.categorical(positions),
        SOURCE_ROW: ch.row[order][positions],
        # The connector read the changes in this order: it decides ties, not the file's direction.
        SEQUENCE: positions,
        "assignee": assignee.categorical(positions),
    })
    for name in ATTRIBUTE_FIELDS:
        events[name] = tracked[name].categorical(positions)
    if names:
        _name_ids(events, names, report)
    if ch.via is not None:
        via = ch.via.take(order)
        events["via"] = pd.Categorical.from_codes(via.codes[positions], categories=pd.Index(via.names.astype(str), dtype="str"))
    # Each row gives at most one event: in row order, cases come in order of first appearance.
    events = events.iloc[np.argsort(positions, kind="stable")].reset_index(drop=True)
    required = (CASE_ID, ACTIVITY, TIMESTAMP, SOURCE_ROW)
    events = events.drop(columns=[c for c in events.columns if c not in required and events[c].isna().all()])
    table = make_event_table(events, attributes=[c for c in events.columns if c not in (*required, RESOURCE, GROUP, SEQUENCE)], report=report)

    made = np.zeros(len(order), dtype=bool)
    made[positions] = True
    unchanged = ~made & is_field_change
    counts: dict[str, object] = {
        "loaded": len(order),
        "statuses": len(ev_status),
        "groups": len(ev_group),
        "pickups": len(ev_pickup),
        "status_repeats": int((unchanged & is_status).sum()),
        "group_other": int((unchanged & is_group & ~created).sum()),
        "assignee_other": int((unchanged & is_assignee & ~created).sum()),
        "at_creation": int((unchanged & (is_group | is_assignee) & created).sum()),
        "other_fields": _tally(field[unchanged & ~is_status & ~is_group & ~is_assignee], ch.field.names, "(no field)", lower=True),
        "other_kinds": _tally(kind[~is_field_change], ch.kind.names, "(no type)"),
        "updater_system": bool((resource == "-1").any()),
        "named": bool(names),
    }
    return table, counts


def _name_ids(events: pd.DataFrame, names: Names, report: LoadReport) -> None:
    """Replace the group and user ids of ``events`` that have a name by it; note how many had none."""
    groups, users = Named(), Named()
    events[GROUP] = name_categorical(events[GROUP].array, names.groups, groups)  # type: ignore[arg-type]
    events["assignee"] = name_categorical(events["assignee"].array, names.users, users)  # type: ignore[arg-type]
    events[RESOURCE] = pd.Series(name_values(events[RESOURCE].to_numpy(dtype=object), names.users, users), dtype=object)
    report.notes.append(names_note(names, groups, users))
    report.flags.extend(origin for origin in names.origins if origin.startswith("--names "))


def _tally(codes: np.ndarray, names: np.ndarray, missing: str, *, lower: bool = False) -> list[tuple[str, int]]:
    """Return (name, count) pairs for ``codes``, most frequent first."""
    counts: Counter[str] = Counter()
    for code, count in enumerate(np.bincount(codes[codes >= 0], minlength=len(names))):
        if count:
            counts[str(names[code]).lower() if lower else str(names[code])] += int(count)
    if (codes < 0).any():
        counts[missing] += int((codes < 0).sum())
    return counts.most_common()


def _require_events(table: pd.DataFrame, counts: dict[str, object], report: LoadReport, row: str) -> None:
    """Raise a one-line error when nothing in the file gives an event."""
    if len(table):
        return
    if not counts["loaded"]:
        reasons = "; ".join(f"{r.reason} ({r.count:,})" for r in report.rejections)
        raise EmptyExport(f"{report.path}: every {row} was rejected: {reasons}")
    raise EmptyExport(
        f"{report.path}: no events: none of the {_plural(int(str(counts['loaded'])), row)} loaded sets a ticket's status, "
        "group or assignee; export a time window that holds ticket updates"
    )


def _derivation(counts: dict[str, object], row: str) -> str:
    """Say which rows became events and which gave none; ``row`` names one row."""

    def n(key: str) -> int:
        value = counts[key]
        assert isinstance(value, int)
        return value

    made = [_plural(n("statuses"), "status change"), _plural(n("groups"), "group change"), _plural(n("pickups"), "pickup") + " (Picked up by assignee)"]
    text = f"{_plural(n('loaded'), row)} loaded: {_join(made)} became events"
    none = []
    if n("status_repeats"):
        none.append(f"{_plural(n('status_repeats'), 'repeat')} of the ticket's status")
    if n("at_creation"):
        none.append(f"{_plural(n('at_creation'), 'group or assignee value')} set at a ticket's creation (its first event carries them)")
    if n("assignee_other"):
        none.append(f"{_plural(n('assignee_other'), 'assignee change')} that {'is' if n('assignee_other') == 1 else 'are'} not a pickup")
    if n("group_other"):
        none.append(f"{_plural(n('group_other'), 'group change')} to no group or the same group")
    for key, what in (("other_fields", "change") , ("other_kinds", row)):
        found = counts[key]
        assert isinstance(found, list)
        if found:
            total = sum(c for _, c in found)
            shown = ", ".join(f"{f} {c:,}" for f, c in found[:4]) + (" …" if len(found) > 4 else "")
            label = f"{_plural(total, what)} of other fields" if key == "other_fields" else f"{total:,} other {what}{'' if total == 1 else 's'}"
            none.append(f"{label} ({shown})")
    if none:
        text += "; no event from " + _join(none)
    return text


def _choose(report: LoadReport, names: dict[str, str], counts: dict[str, object]) -> None:
    report.choose("case_id", f"{names['record']}.ticket_id", "the ticket each audit belongs to")
    report.choose("activity", names["activity"], "the status a Create or Change sets; group_id changes give Reassigned, assignee_id pickups 'Picked up by assignee'")
    report.choose("timestamp", f"{names['record']}.created_at", "when the audit was made")
    report.choose("resource", names["author"], "who made the change; for 'Picked up by assignee', the new assignee")
    if counts["groups"]:
        report.choose("group", names["group"], "the ticket's group after the audit, named where a name is known (see the notes)" if counts["named"]
                      else "the ticket's group id after the audit (Zendesk exports ids, not names: --names FILE names them)")
    _note_system(report, counts)


def _note_system(report: LoadReport, counts: dict[str, object]) -> None:
    if counts["updater_system"]:
        report.notes.append("resource -1 is Zendesk itself (triggers and automations)")


class _Tracked:
    """One field's values along the sorted rows, as integer codes (-1: none)."""

    def __init__(self, new: np.ndarray, old: np.ndarray, after: np.ndarray, uniques: np.ndarray) -> None:
        self.new = new  # the value a changing row sets
        self.old = old  # the value it replaces
        self.after = after  # the ticket's value after each row's record
        self.uniques = uniques

    def names(self, codes: np.ndarray) -> np.ndarray:
        out = np.full(len(codes), None, dtype=object)
        out[codes >= 0] = self.uniques[codes[codes >= 0]]
        return out

    def categorical(self, positions: np.ndarray) -> pd.Categorical:
        return pd.Categorical.from_codes(self.after[positions], categories=pd.Index(self.uniques, dtype="str"))


class _Sorted:
    """Rows sorted by case and time, with where each case starts and each record ends."""

    def __init__(self, case: np.ndarray, record: np.ndarray) -> None:
        n = len(case)
        self.case = case
        self.index = np.arange(n)
        first = np.r_[True, case[1:] != case[:-1]] if n else np.zeros(0, bool)
        self.case_start = np.maximum.accumulate(np.where(first, self.index, 0)) if n else self.index
        # A record's rows share a case, a time and consecutive row numbers, so they are adjacent.
        last = (np.r_[record[1:] != record[:-1], True] | np.r_[first[1:], True]) if n else np.zeros(0, bool)
        ends = np.flatnonzero(last)
        self.record_end = ends[np.searchsorted(ends, self.index)] if n else self.index

    def track(self, changes: np.ndarray, old: np.ndarray, new: np.ndarray, has_old: np.ndarray) -> _Tracked:
        """Follow one field along each case.

        ``changes`` marks the rows that set the field to ``new``. The value a
        row replaces is its ``old`` where ``has_old`` (Zendesk's
        previous_value), else the value set by the case's last change before
        it. Before a case's first change, the value is that change's ``old``
        if it has one, else none.
        """
        n = len(changes)
        where = np.flatnonzero(changes)
        k = len(where)
        codes, uniques = _codes(np.concatenate([new[where], old[where]]))
        new_c = np.full(n, -1, dtype=np.int64)
        given_old = np.full(n, -1, dtype=np.int64)
        new_c[where] = codes[:k]
        given_old[where] = codes[k:]
        last = np.maximum.accumulate(np.where(changes, self.index, -1)) if n else self.index
        last = np.where(last >= self.case_start, last, -1)
        before = np.r_[-1, last[:-1]] if n else last
        before = np.where(before >= self.case_start, before, -1)
        derived_old = np.where(before >= 0, new_c[before.clip(0)], -1)
        old_c = np.where(has_old, given_old, derived_old)
        initial = np.full(int(self.case.max()) + 1 if n else 0, -1, dtype=np.int64)
        if k:
            cases, first = np.unique(self.case[where], return_index=True)
            initial[cases] = np.where(has_old[where[first]], given_old[where[first]], -1)
        at_end = last[self.record_end] if n else last
        after = np.where(at_end >= 0, new_c[at_end.clip(0)], initial[self.case]) if n else new_c
        return _Tracked(new_c, old_c, after, uniques)


# --------------------------------------------------------------------------
# Helpers


def _codes(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return integer codes (-1 for missing or blank) and the distinct texts."""
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    if len(uniques) == 0:
        return codes.astype(np.int64), np.asarray([], dtype=object)
    texts = np.asarray([str(u).strip() for u in uniques], dtype=object)
    remap, names = pd.factorize(texts)
    remap = np.where(texts == "", -1, remap)
    codes = np.where(codes >= 0, remap[codes.clip(0)], -1).astype(np.int64)
    return codes, np.asarray(names, dtype=object)


def _only(values: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Return a copy of object array ``values`` with None outside ``mask``."""
    out = values.copy()
    out[~mask] = None
    return out


def _present(values: np.ndarray) -> np.ndarray:
    return np.asarray(pd.notna(values) & (values != ""), dtype=bool)


def _arrow_text(values: np.ndarray) -> pa.Array:
    try:
        return pa.array(values, pa.string(), from_pandas=True)
    except (pa.ArrowTypeError, pa.ArrowInvalid):
        return pa.array([None if v is None else str(v) for v in values], pa.string())


def _clean(column: pd.Series) -> pd.Series:
    text = column.astype("str").where(column.notna(), None).str.strip()
    return text.where(text != "", None)


def _plural(count: int, noun: str) -> str:
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


def _join(parts: list[str]) -> str:
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


def _refuse_column_options(options: LoadOptions, path: Path, what: str) -> None:
    given = options.given_columns()
    if given:
        flag = "--" + next(iter(given)).replace("_id", "").replace("_", "-") + "-col"
        raise BadOption(f"{path}: {flag} does not apply to {what}; leave it out, or pass --source csv to read the file as a plain table")


SOURCES = [
    Source("zendesk-events", "Zendesk incremental ticket events export (JSON or JSON lines)", detect_events, load_events),
    Source("zendesk-audits", "Zendesk ticket audits (JSON)", detect_audits, load_audits),
    Source("zendesk-history", "Zendesk ticket field history table (CSV, XLSX or Parquet)", detect_history, load_history),
]
