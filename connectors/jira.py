"""Jira exports: the REST API changelog (JSON) and the issue export (CSV or XLSX).

**Changelog JSON** (source ``jira-changelog``), in any of the API's shapes:

* ``GET /rest/api/3/issue/{key}/changelog``: ``{startAt, maxResults, total,
  isLast, values[]}``. It does not name its issue, so the case id is the Jira
  key in the file name (``PROJ-123.json``, ``PROJ-123_changelog.json``), or
  the file's stem;
* ``/rest/api/3/search/jql?expand=changelog`` (or the older ``/search``, or
  one issue from ``GET /issue/{key}?expand=changelog``):
  ``{issues[] {key, fields, changelog {histories[]}}}``;
* ``POST /rest/api/3/changelog/bulkfetch``: ``{issueChangeLogs[] {issueId,
  changeHistories[]}}``; the case id is the numeric issue id;
* a top-level array of issues, of histories, or of any of these pages.

A *row* is one changelog item (one field changed in one history), plus one
creation record for each issue that carries its ``fields``. Events:

* a ``status`` item: an event named by its ``toString``, at the history's
  ``created``, whose resource is the history's author;
* an ``assignee`` item from nobody to a person: ``Picked up by assignee``, whose resource
  is that person. Other assignee changes give no event; the ``assignee``
  column of later events follows them;
* a team item (field ``Team``, ``Assignment group`` …): ``Reassigned``, whose
  ``group`` is the new team (``Assigned to group`` when there was none);
* a creation record: an event named by the issue's first status, at
  ``fields.created``, whose resource is the creator (or the reporter). The
  first status is the ``fromString`` of the earliest status change, or the
  current status if the status never changed.

``assignee``, ``group`` and ``priority`` hold the value after the history
that gave the event (before an issue's first change of the field, that
change's ``fromString``; with no change, the issue's current value).
``status_category`` is the Jira category key (``new``, ``indeterminate``,
``done``) of the issue's status after the event, where the file says it:
changelog items carry no category, so categories are learned from the current
statuses of the issues in the file. ``issue_type``, ``project``,
``resolution``, ``current_status`` and ``current_status_category`` are the
issue's fields as exported. ``source_row`` is the row's 1-based position:
rows are numbered in file order, an issue's creation record before its items.

**Issue export** (source ``jira``, CSV or XLSX): one wide row per issue, no
history. Each row gives ``Created`` at *Created*, the current *Status* at
*Status Category Changed* when that differs from *Created* and *Resolved*
(it is when the issue entered its current status category, the only other
dated status the export has), and ``Resolved`` at *Resolved*. Columns that
Jira repeats for multi-valued fields (``Labels``, ``Labels.1`` … after
numbering) are joined into one column under the first name, values separated
by ``"; "``.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from connectors.columns import normalise
from connectors.dates import ParsedTimes, parse_timestamps
from connectors.errors import BadOption, EmptyExport, MissingColumn, UnreadableExport
from connectors.eventlog import (
    ACTIVITY,
    BUILD_ORDER,
    CASE_ID,
    GROUP,
    RESOURCE,
    SEQUENCE,
    SOURCE_ROW,
    TIMESTAMP,
    make_event_table,
)
from connectors.generic import to_frame
from connectors.options import LoadOptions
from connectors.probe import Probe, Source
from connectors.report import LoadReport, Rejects
from connectors.textio import json_column

KEY_PATTERN = re.compile(r"[A-Z][A-Z0-9_]+-\d+")
# Changelog fields (compared lower-cased) that hold the team or group.
GROUP_FIELDS = {"team", "assignment group", "group", "support group", "assignment team", "queue"}
# Jira's status category names, as its CSV export writes them, and their keys.
CATEGORY_KEYS = {"to do": "new", "in progress": "indeterminate", "done": "done", "no category": "undefined"}

ASSIGNED = "Picked up by assignee"
REASSIGNED = "Reassigned"
ASSIGNED_TO_GROUP = "Assigned to group"
CREATED = "Created"
RESOLVED = "Resolved"

# What each row is, once its field name is known.
_OTHER, _STATUS, _ASSIGNEE, _GROUP, _PRIORITY, _CREATION = range(6)
_ISSUE_FIELDS = ("issue_type", "project", "resolution", "current_status", "current_status_category")


# --------------------------------------------------------------------------
# Changelog JSON


def detect_changelog(probe: Probe) -> str | None:
    """Recognise the changelog shapes by their top-level keys."""
    if probe.kind != "json":
        return None
    return _shape_reason(probe.json)


def _shape_reason(doc: object) -> str | None:
    if isinstance(doc, list):
        first = next((x for x in doc if isinstance(x, dict)), None)
        if first is None:
            return None
        if _is_history(first):
            return "a JSON array of changelog histories (Jira)"
        inner = _shape_reason(first)
        return f"a JSON array of {inner}" if inner else None
    if not isinstance(doc, dict):
        return None
    if isinstance(doc.get("issues"), list) and _looks_like_issues(doc["issues"]):
        return "'issues' with 'changelog.histories' (Jira search with expand=changelog)"
    if isinstance(doc.get("issueChangeLogs"), list):
        return "'issueChangeLogs' (Jira changelog/bulkfetch)"
    if isinstance(doc.get("values"), list) and {"startAt", "isLast", "total", "maxResults"} & set(doc):
        values = doc["values"]
        if not values or _is_history(values[0]):
            return "'values' of changelog histories (Jira GET /issue/{key}/changelog)"
    if isinstance(doc.get("histories"), list):
        return "'histories' (a Jira changelog)"
    if isinstance(doc.get("key"), str) and ("changelog" in doc or "fields" in doc):
        return "one Jira issue with 'key', 'fields' and 'changelog'"
    if "issueId" in doc and isinstance(doc.get("changeHistories"), list):
        return "one issue's 'changeHistories' (Jira changelog/bulkfetch)"
    return None


def _is_history(node: object) -> bool:
    return isinstance(node, dict) and isinstance(node.get("items"), list) and ("created" in node or "author" in node)


def _looks_like_issues(issues: list[object]) -> bool:
    first = next((x for x in issues if isinstance(x, dict)), None)
    return first is None or "key" in first or "changelog" in first or "fields" in first


class _Walk:
    """Columns built by one pass over a changelog document.

    Issues, histories and items each get parallel lists; rows (creation
    records and items) are numbered in file order as they are met.
    """

    def __init__(self, fallback_case: str) -> None:
        self.fallback_case = fallback_case
        self.rows = 0
        self.shapes: Counter[str] = Counter()
        self.no_changelog = 0
        # per issue
        self.case: list[object] = []
        self.created: list[object] = []
        self.creator: list[object] = []
        self.created_row: list[int] = []  # 0: no creation record
        self.status: list[object] = []
        self.status_category: list[object] = []
        self.assignee: list[object] = []
        self.priority: list[object] = []
        self.issue_fields: dict[str, list[object]] = {name: [] for name in _ISSUE_FIELDS}
        # per history
        self.h_issue: list[int] = []
        self.h_id: list[object] = []
        self.h_created: list[object] = []
        self.h_author: list[object] = []
        self.h_row: list[int] = []  # row of the history's first item
        # per item
        self.i_hist: list[int] = []
        self.i_field: list[object] = []
        self.i_from: list[object] = []
        self.i_to: list[object] = []

    def visit(self, node: object) -> bool:
        """Walk a document or one element of a top-level array; return whether its shape is known."""
        if isinstance(node, list):
            if node and _is_history(node[0]):
                self.shapes["paged"] += 1
                self.add(self.fallback_case, None, node)
                return True
            return bool(node) and all([self.visit(x) for x in node])
        if not isinstance(node, dict):
            return False
        if isinstance(node.get("issues"), list) and _looks_like_issues(node["issues"]):
            self.shapes["search"] += 1
            for issue in node["issues"]:
                self.issue(issue)
            return True
        if isinstance(node.get("issueChangeLogs"), list):
            self.shapes["bulkfetch"] += 1
            for log in node["issueChangeLogs"]:
                if isinstance(log, dict):
                    self.add(_text(log.get("issueId")), None, log.get("changeHistories"))
            return True
        if isinstance(node.get("values"), list) and {"startAt", "isLast", "total", "maxResults"} & set(node):
            self.shapes["paged"] += 1
            self.add(self.fallback_case, None, node["values"])
            return True
        if isinstance(node.get("histories"), list):
            self.shapes["paged"] += 1
            self.add(self.fallback_case, None, node["histories"])
            return True
        if isinstance(node.get("key"), str) and ("changelog" in node or "fields" in node):
            self.shapes["search"] += 1
            self.issue(node)
            return True
        if "issueId" in node and isinstance(node.get("changeHistories"), list):
            self.shapes["bulkfetch"] += 1
            self.add(_text(node.get("issueId")), None, node["changeHistories"])
            return True
        return False

    def issue(self, issue: object) -> None:
        if not isinstance(issue, dict):
            return
        changelog = issue.get("changelog")
        if changelog is None:
            self.no_changelog += 1
        histories = changelog.get("histories") if isinstance(changelog, dict) else None
        fields = issue.get("fields")
        self.add(issue.get("key") or _text(issue.get("id")), fields if isinstance(fields, dict) else None, histories)

    def add(self, case: object, fields: dict[str, object] | None, histories: object) -> None:
        k = len(self.case)
        self.case.append(case)
        if fields is not None:
            self.rows += 1
            self.created_row.append(self.rows)
            self.created.append(fields.get("created"))
            self.creator.append(_person(fields.get("creator")) or _person(fields.get("reporter")))
            status = fields.get("status")
            self.status.append(_get(status, "name"))
            self.status_category.append(_get(_get(status, "statusCategory"), "key"))
            self.assignee.append(_person(fields.get("assignee")))
            self.priority.append(_get(fields.get("priority"), "name"))
            self.issue_fields["issue_type"].append(_get(fields.get("issuetype"), "name"))
            self.issue_fields["project"].append(_get(fields.get("project"), "key"))
            self.issue_fields["resolution"].append(_get(fields.get("resolution"), "name"))
            self.issue_fields["current_status"].append(self.status[-1])
            self.issue_fields["current_status_category"].append(self.status_category[-1])
        else:
            self.created_row.append(0)
            for column in (self.created, self.creator, self.status, self.status_category, self.assignee, self.priority):
                column.append(None)
            for column in self.issue_fields.values():
                column.append(None)
        if not isinstance(histories, list):
            return
        i_hist, i_field, i_from, i_to = self.i_hist, self.i_field, self.i_from, self.i_to
        for history in histories:
            if not isinstance(history, dict):
                continue
            items = history.get("items")
            h = len(self.h_issue)
            self.h_issue.append(k)
            self.h_id.append(history.get("id"))
            self.h_created.append(history.get("created"))
            self.h_author.append(_person(history.get("author")))
            self.h_row.append(self.rows + 1)
            if not isinstance(items, list):
                continue
            for item in items:
                self.rows += 1
                i_hist.append(h)
                if isinstance(item, dict):
                    i_field.append(item.get("field"))
                    i_from.append(item.get("fromString"))
                    i_to.append(item.get("toString"))
                else:
                    i_field.append(None)
                    i_from.append(None)
                    i_to.append(None)


def load_changelog(probe: Probe, options: LoadOptions) -> tuple[pd.DataFrame, LoadReport]:
    """Load a Jira changelog JSON document."""
    path = probe.path
    _refuse_column_options(options, path, "a Jira changelog (its events come from the changes it records)")
    if probe.kind != "json":
        raise UnreadableExport(f"{path}: a Jira changelog is JSON, but this file is {probe.kind}; pass --source jira for a CSV or XLSX issue export")
    fallback, from_name = case_from_file_name(path)
    walk = _Walk(fallback)
    doc = probe.json
    if not walk.visit(doc):
        found = ", ".join(sorted(doc)[:8]) if isinstance(doc, dict) else f"a {type(doc).__name__}"
        raise UnreadableExport(
            f"{path}: not a Jira changelog: expected 'values' (GET /issue/KEY/changelog), 'issues' with "
            f"'changelog' (search with expand=changelog) or 'issueChangeLogs' (changelog/bulkfetch) at the top, "
            f"found {found or 'an empty object'}; export it with one of those endpoints"
        )
    if not walk.case:
        raise EmptyExport(f"{path}: the Jira export holds no issues; check the search (JQL) or the page that was saved")
    if walk.shapes["search"] and walk.no_changelog == len(walk.case) and not walk.h_issue:
        raise UnreadableExport(
            f"{path}: {'the issue has no' if len(walk.case) == 1 else f'none of the {len(walk.case):,} issues has a'} "
            "'changelog'; search again with expand=changelog"
        )
    if walk.rows == 0:
        raise EmptyExport(f"{path}: the Jira changelog holds no histories with items; export issues that have changes")
    report = LoadReport(str(path), "jira-changelog", "")
    report.notes.append(_shape_note(walk))
    if walk.shapes["paged"]:
        if from_name:
            report.notes.append(f"case id {fallback!r} taken from the file name: the paged changelog does not name its issue")
        else:
            report.notes.append(
                f"case id {fallback!r} is the file's stem: the paged changelog does not name its issue and the "
                "file name holds no Jira key (name the file after the issue, e.g. PROJ-123.json)"
            )
    if walk.no_changelog and walk.h_issue:
        report.notes.append(f"{walk.no_changelog:,} issues carry no 'changelog'; only their creation is known")
    table = _changelog_events(walk, report, options)
    return table, report


def case_from_file_name(path: Path) -> tuple[str, bool]:
    """Return the Jira key in the file's name (or its stem), and whether a key was found."""
    match = KEY_PATTERN.search(path.name)
    return (match.group(0), True) if match else (path.stem, False)


def _shape_note(walk: _Walk) -> str:
    names = {
        "paged": "paged issue changelog (values[])",
        "search": "search results with changelog (issues[].changelog.histories[])",
        "bulkfetch": "bulk changelog (issueChangeLogs[].changeHistories[])",
    }
    shapes = ", ".join(f"{names[s]}{f' x{n}' if n > 1 else ''}" for s, n in walk.shapes.items())
    rows = "a row is one changelog item" + (" or issue creation record" if any(walk.created_row) else "")
    return (
        f"Jira {shapes}: {len(walk.case):,} issue entries, {len(walk.h_issue):,} histories, {len(walk.i_hist):,} items; "
        f"{rows}, numbered in file order"
    )


def _changelog_events(walk: _Walk, report: LoadReport, options: LoadOptions) -> pd.DataFrame:
    path = report.path
    n_issues, n_items = len(walk.case), len(walk.i_hist)
    created_row = np.asarray(walk.created_row, dtype=np.int64)
    c_issue = np.flatnonzero(created_row > 0)
    n_creation = len(c_issue)
    n = n_creation + n_items
    i_hist = np.asarray(walk.i_hist, dtype=np.int64)
    h_issue = np.asarray(walk.h_issue, dtype=np.int64)
    item_rows = np.setdiff1d(np.arange(1, walk.rows + 1, dtype=np.int64), created_row[c_issue], assume_unique=True)

    # Rows: the creation records, then the items. A row's record is its
    # creation record (index = issue) or its history (index = n_issues + h).
    r_issue = np.concatenate([c_issue, h_issue[i_hist]])
    r_row = np.concatenate([created_row[c_issue], item_rows])
    r_record = np.concatenate([c_issue, n_issues + i_hist])
    is_creation = np.r_[np.ones(n_creation, bool), np.zeros(n_items, bool)]

    issue_case, case_names = _codes(json_column(walk.case))
    record_time_list = walk.created + walk.h_created
    record_time_raw = json_column(record_time_list)
    record_time = _arrow_text(record_time_list)
    record_rows = np.concatenate([created_row, np.asarray(walk.h_row, dtype=np.int64)])
    parsed = parse_timestamps(record_time, options=options.dates, name="created", path=path, rows=record_rows)
    report.notes.append(f"timestamps in 'created': {parsed.description}")
    report.notes.extend(parsed.notes)
    report.warnings.extend(parsed.warnings)
    report.flags.extend(f for f in parsed.flags if f not in report.flags)

    field_codes, field_names = _codes(json_column(walk.i_field))
    field_kind = np.array([_field_kind(name) for name in field_names], dtype=np.int8)
    item_kind = np.full(n_items, _OTHER, np.int8)
    item_kind[field_codes >= 0] = field_kind[field_codes[field_codes >= 0]]  # no field names at all: every item is _OTHER
    r_kind = np.concatenate([np.full(n_creation, _CREATION, np.int8), item_kind])

    rejects = Rejects(n, r_row)
    rejects.add("the issue has no 'key' or 'id'", issue_case[r_issue] < 0)
    record_present = pc.fill_null(pc.greater(pc.utf8_length(pc.utf8_trim_whitespace(record_time)), 0), False).to_numpy(zero_copy_only=False)
    rejects.add("the issue's fields have no 'created' time", is_creation & ~record_present[r_record])
    rejects.add("the history has no 'created' time", ~is_creation & ~record_present[r_record])
    rejects.add(
        f"'created' is not a date ({parsed.description})",
        parsed.bad[r_record],
        pd.Series(record_time_raw[r_record], dtype=object),  # object: no conversion of a million texts
    )
    rejects.add("the changelog item has no 'field'", ~is_creation & np.r_[np.zeros(n_creation, bool), field_codes < 0])
    if not options.keep_duplicates:
        dup_issue = pd.Series(issue_case).where(created_row > 0).duplicated().to_numpy() & (created_row > 0) & (issue_case >= 0)
        h_ids = pd.factorize(json_column(walk.h_id), use_na_sentinel=True)[0]
        dup_hist = pd.Series(issue_case[h_issue] * (h_ids.max(initial=0) + 1) + h_ids).duplicated().to_numpy() & (h_ids >= 0)
        record_dup = np.concatenate([dup_issue, dup_hist])
        rejects.add(
            "repeats an issue or history already read (overlapping pages?); pass --keep-duplicates to keep it",
            record_dup[r_record],
        )

    keep = np.flatnonzero(rejects.kept)
    times = parsed.values.to_numpy(dtype="datetime64[us]")
    row_case = issue_case[r_issue]
    order = keep[np.lexsort((r_row[keep], times[r_record[keep]].view("int64"), row_case[keep]))]
    s = _Sorted(row_case[order], r_record[order])
    kind = r_kind[order]
    item_index = order - n_creation  # position in the item lists; negative for creation records
    s.items = (item_index, json_column(walk.i_from), json_column(walk.i_to))

    # The issue's current value of each tracked field, per case (first issue entry wins).
    issue_of_case = np.full(len(case_names), -1, dtype=np.int64)
    valid = np.flatnonzero(issue_case >= 0)[::-1]
    issue_of_case[issue_case[valid]] = valid  # reversed, so the first entry is written last
    status = s.track(kind == _STATUS, _per_case(walk.status, issue_of_case))
    assignee = s.track(kind == _ASSIGNEE, _per_case(walk.assignee, issue_of_case))
    group = s.track(kind == _GROUP, _per_case([None] * n_issues, issue_of_case))
    priority = s.track(kind == _PRIORITY, _per_case(walk.priority, issue_of_case))

    creation = kind == _CREATION
    ev_first = np.flatnonzero(creation & (status.after >= 0))
    ev_status = np.flatnonzero((kind == _STATUS) & (status.new >= 0))
    ev_pickup = np.flatnonzero((kind == _ASSIGNEE) & (assignee.old < 0) & (assignee.new >= 0))
    ev_group = np.flatnonzero((kind == _GROUP) & (group.new >= 0) & (group.new != group.old))
    positions = np.concatenate([ev_first, ev_status, ev_pickup, ev_group])

    activity = np.concatenate([
        status.names(status.after[ev_first]),
        status.names(status.new[ev_status]),
        np.full(len(ev_pickup), ASSIGNED, dtype=object),
        np.where(group.old[ev_group] >= 0, REASSIGNED, ASSIGNED_TO_GROUP).astype(object),
    ])
    record_author = json_column(walk.creator + walk.h_author)
    resource = record_author[r_record[order][positions]]
    resource[len(ev_first) + len(ev_status):len(ev_first) + len(ev_status) + len(ev_pickup)] = assignee.names(assignee.new[ev_pickup])

    categories = _status_categories(walk)
    category_codes, category_names = _codes(np.array([categories.get(str(name)) for name in status.uniques], dtype=object))
    status_after = status.after[positions]
    status_category = pd.Categorical.from_codes(
        np.where(status_after >= 0, category_codes[status_after.clip(0)] if len(category_codes) else -1, -1),
        categories=pd.Index(category_names, dtype="str"),
    )
    events = pd.DataFrame({
        CASE_ID: pd.Categorical.from_codes(s.case[positions], categories=pd.Index(case_names, dtype="str")),
        ACTIVITY: pd.Series(activity, dtype=object),
        TIMESTAMP: pd.Series(times[r_record[order][positions]]).dt.tz_localize("UTC"),
        RESOURCE: pd.Series(resource, dtype=object),
        GROUP: group.categorical(positions),
        SOURCE_ROW: r_row[order][positions],
        # The connector read the items in this order: it decides ties, not the file's direction.
        SEQUENCE: positions,
        "status_category": status_category,
        "assignee": assignee.categorical(positions),
        "priority": priority.categorical(positions),
    })
    issue_of_event = r_issue[order][positions]
    for name in _ISSUE_FIELDS:
        codes, names = _codes(json_column(walk.issue_fields[name]))
        events[name] = pd.Categorical.from_codes(codes[issue_of_event], categories=pd.Index(names, dtype="str"))
    # Each row gives at most one event: in row order, cases come in order of first appearance.
    events = events.iloc[np.argsort(positions, kind="stable")].reset_index(drop=True)
    events = _drop_empty(events)

    rejects.fill(report, n)
    if not len(events):
        if not len(keep):
            reasons = "; ".join(f"{r.reason} ({r.count:,})" for r in report.rejections)
            raise EmptyExport(f"{path}: every row was rejected: {reasons}")
        raise EmptyExport(
            f"{path}: no events: none of the {len(keep):,} rows loaded changes a status, a team or the assignee "
            "of an unassigned issue, and no issue carries its 'fields.created'; export issues that have status changes"
        )
    table = make_event_table(events, attributes=[c for c in events.columns if c not in _ROLE_COLUMNS | {SEQUENCE}], report=report)
    report.events = len(table)

    group_fields = sorted({str(field_names[c]) for c in field_codes[item_index[(kind == _GROUP) & (item_index >= 0)]]})
    _choose_changelog_columns(report, walk, group_fields=group_fields, categories=categories)
    kept_items = int((~creation).sum())
    other = ~creation & ~np.isin(np.arange(len(kind)), positions)
    report.derivation = _changelog_derivation(
        kept_items=kept_items, kept_creation=int(creation.sum()),
        first=len(ev_first), statuses=len(ev_status), pickups=len(ev_pickup), groups=len(ev_group),
        other_fields=_field_counts(field_codes[item_index[other & (item_index >= 0)]], field_names),
    )
    return table


_ROLE_COLUMNS = {CASE_ID, ACTIVITY, TIMESTAMP, RESOURCE, GROUP, SOURCE_ROW}


def _field_kind(name: object) -> int:
    field = str(name).strip().lower()
    if field == "status":
        return _STATUS
    if field == "assignee":
        return _ASSIGNEE
    if field == "priority":
        return _PRIORITY
    if field in GROUP_FIELDS:
        return _GROUP
    return _OTHER


def _status_categories(walk: _Walk) -> dict[str, str]:
    """Return each status name's category key, as the issues in the file state it."""
    pairs: dict[str, str] = {}
    for name, category in zip(walk.status, walk.status_category, strict=True):
        if name is not None and category is not None:
            pairs.setdefault(str(name), str(category))
    return pairs


def _choose_changelog_columns(report: LoadReport, walk: _Walk, *, group_fields: list[str], categories: dict[str, str]) -> None:
    cases = []
    if walk.shapes["search"]:
        cases.append("issues[].key")
    if walk.shapes["bulkfetch"]:
        cases.append("issueChangeLogs[].issueId")
    if walk.shapes["paged"]:
        cases.append("the file name")
    report.choose("case_id", " and ".join(cases), "the issue each history belongs to")
    report.choose(
        "activity", "items[].toString where field is 'status'",
        "the status entered; an issue's first status (fromString of its earliest status change, or its current status) at fields.created"
        if walk.shapes["search"] else "the status entered",
    )
    report.choose("timestamp", "histories[].created", "when the change was made" + ("; fields.created for the first status" if walk.shapes["search"] else ""))
    report.choose("resource", "histories[].author.displayName", "who made the change; for 'Picked up by assignee', the person who picked the issue up")
    if group_fields:
        named = " or ".join(repr(f) for f in group_fields)
        report.choose("group", f"items[].toString where field is {named}", "the team after each history; its changes give Reassigned")
    if categories:
        report.notes.append(
            f"status categories of {len(categories):,} statuses learned from the issues' current status "
            f"(changelog items carry none): {', '.join(f'{k} = {v}' for k, v in list(categories.items())[:6])}"
            + (" …" if len(categories) > 6 else "")
        )


def _changelog_derivation(
    *, kept_items: int, kept_creation: int, first: int, statuses: int, pickups: int, groups: int,
    other_fields: list[tuple[str, int]],
) -> str:
    made = [_plural(statuses, "status change"), _plural(pickups, "pickup") + " (Picked up by assignee)"]
    if groups:
        made.append(_plural(groups, "team change"))
    text = f"{_plural(kept_items, 'changelog item')} loaded: {_join(made)} became events"
    n_other = sum(count for _, count in other_fields)
    if n_other:
        shown = ", ".join(f"{name} {count:,}" for name, count in other_fields[:4])
        more = " …" if len(other_fields) > 4 else ""
        text += f"; {_plural(n_other, 'change')} of other fields {'gives' if n_other == 1 else 'give'} none ({shown}{more})"
    if kept_creation:
        text = f"{first:,} of {_plural(kept_creation, 'issue creation record')} give the issue's first status; " + text
    return text


def _field_counts(codes: np.ndarray, names: np.ndarray) -> list[tuple[str, int]]:
    counts = np.bincount(codes[codes >= 0], minlength=len(names))
    label = {i: "assignee (not a pickup)" for i, name in enumerate(names) if _field_kind(name) == _ASSIGNEE}
    out = [(label.get(i, str(names[i])), int(counts[i])) for i in np.argsort(-counts, kind="stable") if counts[i]]
    missing = int((codes < 0).sum())
    return out + ([("(no field)", missing)] if missing else [])


def _plural(count: int, noun: str) -> str:
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


def _join(parts: list[str]) -> str:
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


# --------------------------------------------------------------------------
# Issue export, CSV or XLSX


def detect_issue_export(probe: Probe) -> str | None:
    """Recognise Jira's issue export by its header."""
    if not probe.is_table:
        return None
    header = probe.normalised_header
    if {"issue key", "issue type", "created"} <= header:
        return "columns 'Issue key', 'Issue Type' and 'Created' (Jira issue export)"
    if "issue key" in header and any(h.startswith("custom field ") for h in header):
        return "columns 'Issue key' and 'Custom field (…)' (Jira issue export)"
    return None


# Columns renamed to vsm's attribute names; the rest keep the names Jira gives them.
_CSV_ATTRIBUTES = {
    "issue type": "issue_type",
    "priority": "priority",
    "project key": "project",
    "resolution": "resolution",
    "status": "current_status",
    "status category": "current_status_category",
    "assignee": "assignee",
    "reporter": "reporter",
}


def load_issue_export(probe: Probe, options: LoadOptions) -> tuple[pd.DataFrame, LoadReport]:
    """Load Jira's issue export (CSV or XLSX): three dated events per issue at most."""
    path = str(probe.path)
    _refuse_column_options(options, probe.path, "a Jira issue export (its events come from the Created, Status Category Changed and Resolved columns)")
    text = probe.table
    report = LoadReport(path, "jira", "")
    report.notes.extend(text.notes)
    frame = to_frame(text)
    frame, joined = _join_repeated(frame)
    if joined:
        report.notes.append("repeated columns joined with '; ': " + ", ".join(f"{name} ({k})" for name, k in joined.items()))
    by_name = {normalise(c): c for c in reversed(frame.columns)}

    def column(name: str) -> str | None:
        return by_name.get(name)

    key, created = column("issue key"), column("created")
    if key is None or created is None:
        missing = "Issue key" if key is None else "Created"
        raise MissingColumn(f"{path}: no column {missing!r}; a Jira issue export has 'Issue key' and 'Created' (export all fields)")
    resolved, changed, status = column("resolved"), column("status category changed"), column("status")
    assignee = column("assignee")
    creator = column("creator") or column("reporter")
    team = column("team") or column("custom field team") or column("custom field assignment group")

    n = len(frame)
    rows = text.source_rows
    rejects = Rejects(n, rows)
    for rejection in text.rejected:
        rejects.extend(rejection)
    issue = _clean(frame[key])
    rejects.add("no 'Issue key'", issue.isna().to_numpy())
    parsed: dict[str, ParsedTimes] = {}
    for col in (created, resolved, changed):
        if col is not None:
            parsed[col] = parse_timestamps(frame[col], options=options.dates, name=col, path=path, rows=rows)
            report.flags.extend(f for f in parsed[col].flags if f not in report.flags)
            report.notes.extend(parsed[col].notes)
            report.warnings.extend(parsed[col].warnings)
    t_created = parsed[created]
    report.notes.append(f"timestamps in {created!r}: {t_created.description}")
    if not t_created.description.startswith(("ISO 8601 with", "typed timestamps with")):
        report.notes.append(
            f"Jira writes dates in the exporting user's time zone without saying which: read as {options.dates.timezone}"
            + ("; pass --timezone with that user's zone if it differs" if options.dates.timezone == "UTC" else "")
        )
    rejects.add(f"no {created!r} time", t_created.values.isna().to_numpy() & ~t_created.bad)
    rejects.add(f"{created!r} is not a date ({t_created.description})", t_created.bad, frame[created])
    if not options.keep_duplicates:
        dup = issue.where(rejects.kept, None)
        rejects.add("repeats the 'Issue key' of an earlier row; pass --keep-duplicates to keep it", (dup.duplicated() & dup.notna()).to_numpy())
    kept = rejects.kept

    nat = pd.Series(pd.NaT, index=frame.index, dtype=t_created.values.dtype)
    t_resolved = parsed[resolved].values if resolved else nat
    t_changed = parsed[changed].values if changed else nat
    for col in (resolved, changed):
        if col is not None and parsed[col].bad[kept].any():
            bad = int(parsed[col].bad[kept].sum())
            report.warnings.append(f"{_plural(bad, 'value')} in {col!r} {'is' if bad == 1 else 'are'} not a date{'' if bad == 1 else 's'} ({parsed[col].description}); those rows give no event for it")
    status_text = _clean(frame[status]) if status else pd.Series(None, index=frame.index, dtype=object)
    has_status = (kept & t_changed.notna().to_numpy() & status_text.notna().to_numpy())
    same = ((t_changed == t_created.values) | (t_changed == t_resolved)).to_numpy(dtype=bool, na_value=False)
    rows_created = np.flatnonzero(kept)
    rows_status = np.flatnonzero(has_status & ~same)
    rows_resolved = np.flatnonzero(kept & t_resolved.notna().to_numpy())
    positions = np.concatenate([rows_created, rows_status, rows_resolved])

    categories = _clean(frame[column("status category")]).map(lambda v: CATEGORY_KEYS.get(v.lower(), v), na_action="ignore") if column("status category") else None
    person = _clean(frame[assignee]) if assignee else pd.Series(None, index=frame.index, dtype=object)
    maker = _clean(frame[creator]) if creator else pd.Series(None, index=frame.index, dtype=object)
    events = pd.DataFrame({
        CASE_ID: issue.to_numpy(dtype=object)[positions],
        ACTIVITY: np.concatenate([
            np.full(len(rows_created), CREATED, dtype=object),
            status_text.to_numpy(dtype=object)[rows_status],
            np.full(len(rows_resolved), RESOLVED, dtype=object),
        ]),
        TIMESTAMP: np.concatenate([
            _naive_utc(t_created.values)[rows_created], _naive_utc(t_changed)[rows_status], _naive_utc(t_resolved)[rows_resolved]
        ]),
        RESOURCE: np.concatenate([
            maker.to_numpy(dtype=object)[rows_created],
            person.to_numpy(dtype=object)[rows_status],
            person.to_numpy(dtype=object)[rows_resolved],
        ]),
        SOURCE_ROW: rows[positions],
        BUILD_ORDER: np.repeat(np.arange(3), [len(rows_created), len(rows_status), len(rows_resolved)]),
    })
    if team:
        events[GROUP] = _clean(frame[team]).to_numpy(dtype=object)[positions]
    if categories is not None:
        status_category = np.full(len(positions), None, dtype=object)
        status_category[len(rows_created):len(rows_created) + len(rows_status)] = categories.to_numpy(dtype=object)[rows_status]
        events["status_category"] = status_category
    used = {key, created, resolved, changed, team} - {None}
    attributes = []
    for col in frame.columns:
        if col in used:
            continue
        name = _CSV_ATTRIBUTES.get(normalise(col), col)
        if name in events.columns:
            name = f"src_{name}"
        values = frame[col]
        if name == "current_status_category" and categories is not None:
            values = categories
        events[name] = values.to_numpy()[positions]
        attributes.append(name)
    events = events.copy()  # one block per column after many inserts

    rejects.fill(report, n + sum(r.count for r in text.rejected))
    table = make_event_table(events, attributes=[c for c in events.columns if c not in _ROLE_COLUMNS | {BUILD_ORDER}], report=report)
    report.events = len(table)

    report.choose("case_id", key, "Jira's issue key")
    report.choose("activity", f"Created, {status or 'Status'}, Resolved",
                  f"'Created' and 'Resolved' events, and the current status at {changed or 'Status Category Changed'!r} "
                  "(when the issue entered the status's category; a status of the same category may have been entered later)")
    report.choose("timestamp", ", ".join(c for c in (created, changed, resolved) if c), "the export's dated columns (it has no history)")
    if creator or assignee:
        report.choose("resource", " / ".join(c for c in (creator, assignee) if c),
                      f"{creator!r} for Created, {assignee!r} for the other events" if creator and assignee else "the only person column")
    if team:
        report.choose("group", team, "the issue's team, the same on every event")
    n_same = int((has_status & same).sum())
    n_no_change = int(kept.sum()) - len(rows_status) - n_same
    report.derivation = (
        f"one row per issue; {_plural(int(kept.sum()), 'row')} give {len(rows_created):,} Created, "
        f"{len(rows_status):,} current statuses and {len(rows_resolved):,} Resolved events"
        + (f"; {_plural(n_same, 'row')} whose status was entered at Created or Resolved give no status event" if n_same else "")
        + (f"; {_plural(n_no_change, 'row')} {'has' if n_no_change == 1 else 'have'} no {changed or 'Status Category Changed'!r} or no status" if n_no_change else "")
    )
    report.notes.append("the export has no history: statuses between Created and the current one are not in it; export the changelog (source jira-changelog) for them")
    return table, report


# Columns with one value per issue: a repeat of one (a merged export) is kept apart, never
# joined, so that the issue key stays 'PROJ-1', not 'PROJ-1; PROJ-1'.
_SINGLE_VALUED = {"issue key", "issue id", "created", "resolved", "status", "status category",
                  "status category changed", "issue type", "assignee", "reporter", "creator", "team",
                  "custom field team", "custom field assignment group"}


def _join_repeated(frame: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, int]]:
    """Join columns that Jira repeats (``Labels``, ``Labels.1`` …) into the first one."""
    names = list(frame.columns)
    present = set(names)
    groups: dict[str, list[str]] = {}
    for name in names:
        match = re.fullmatch(r"(.+)\.(\d+)", name)
        if match and match.group(1) in present and normalise(match.group(1)) not in _SINGLE_VALUED:
            groups.setdefault(match.group(1), [match.group(1)]).append(name)
    if not groups:
        return frame, {}
    out = {}
    drop = {c for cols in groups.values() for c in cols[1:]}
    for name in names:
        if name in drop:
            continue
        if name in groups:
            # Not pyarrow's binary_join_element_wise: with null_handling="skip"
            # it drops rows (pyarrow 26), so the columns would fall out of line.
            joined = _clean(frame[name])
            for other in groups[name][1:]:
                part = _clean(frame[other])
                joined = joined.where(part.isna(), (joined + "; " + part).where(joined.notna(), part))
            out[name] = joined
        else:
            out[name] = frame[name]
    return pd.DataFrame(out, index=frame.index), {name: len(cols) for name, cols in groups.items()}


# --------------------------------------------------------------------------
# Helpers


class _Tracked:
    """One field's values along the sorted rows, as integer codes (-1: none)."""

    def __init__(self, new: np.ndarray, old: np.ndarray, after: np.ndarray, uniques: np.ndarray) -> None:
        self.new = new  # the value a changing row sets
        self.old = old  # the value it replaces
        self.after = after  # the value after each row's record
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
        # (position of each sorted row in the item lists, fromString, toString); set by the caller.
        self.items: tuple[np.ndarray, np.ndarray, np.ndarray] = (self.index, self.index, self.index)
        first = np.r_[True, case[1:] != case[:-1]] if n else np.zeros(0, bool)
        self.case_start = np.maximum.accumulate(np.where(first, self.index, 0)) if n else self.index
        # A record's rows share a case, a time and consecutive row numbers, so they are adjacent.
        last = np.r_[record[1:] != record[:-1], True] | np.r_[first[1:], True] if n else np.zeros(0, bool)
        ends = np.flatnonzero(last)
        self.record_end = ends[np.searchsorted(ends, self.index)] if n else self.index

    def track(self, changes: np.ndarray, current: np.ndarray) -> _Tracked:
        """Follow one field: ``changes`` marks its items, ``current`` is the value per case code when it never changes."""
        n = len(changes)
        where = np.flatnonzero(changes)
        item_index, item_from, item_to = self.items
        at = item_index[where]
        codes, uniques = _codes(np.concatenate([item_to[at], item_from[at], current]))
        k = len(where)
        new_c = np.full(n, -1, dtype=np.int64)
        old_c = np.full(n, -1, dtype=np.int64)
        new_c[where] = codes[:k]
        old_c[where] = codes[k:2 * k]
        current_c = codes[2 * k:]
        # Before a case's first change the value is what that change replaced.
        initial = current_c.copy()
        if k:
            cases, first = np.unique(self.case[where], return_index=True)
            initial[cases] = old_c[where[first]]
        last = np.maximum.accumulate(np.where(changes, self.index, -1)) if n else self.index
        last = np.where(last >= self.case_start, last, -1)
        at_end = last[self.record_end] if n else last
        after = np.where(at_end >= 0, new_c[at_end.clip(0)], initial[self.case]) if n else new_c
        return _Tracked(new_c, old_c, after, uniques)


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


def _per_case(values: list[object], issue_of_case: np.ndarray) -> np.ndarray:
    out = np.full(len(issue_of_case), None, dtype=object)
    has = issue_of_case >= 0
    out[has] = json_column(values)[issue_of_case[has]]
    return out


def _arrow_text(values: list[object]) -> pa.Array:
    """Return ``values`` as Arrow strings (a list converts many times faster than an object array)."""
    try:
        return pa.array(values, pa.string())
    except (pa.ArrowTypeError, pa.ArrowInvalid):
        return pa.array([None if v is None else str(v) for v in values], pa.string())


def _drop_empty(frame: pd.DataFrame) -> pd.DataFrame:
    """Drop the optional columns that hold no value at all."""
    required = (CASE_ID, ACTIVITY, TIMESTAMP, SOURCE_ROW)
    return frame.drop(columns=[c for c in frame.columns if c not in required and frame[c].isna().all()])


def _naive_utc(values: pd.Series) -> np.ndarray:
    return values.to_numpy(dtype="datetime64[us]")


def _clean(column: pd.Series) -> pd.Series:
    text = column.astype("str").where(column.notna(), None).str.strip()
    return text.where(text != "", None)


def _person(value: object) -> object:
    if isinstance(value, dict):
        return value.get("displayName") or value.get("name") or value.get("emailAddress") or value.get("accountId")
    return value


def _get(value: object, key: str) -> object:
    return value.get(key) if isinstance(value, dict) else None


def _text(value: object) -> str | None:
    return None if value is None else str(value)


def _refuse_column_options(options: LoadOptions, path: Path, what: str) -> None:
    given = options.given_columns()
    if given:
        flag = "--" + next(iter(given)).replace("_id", "").replace("_", "-") + "-col"
        raise BadOption(f"{path}: {flag} does not apply to {what}; leave it out, or pass --source csv to read the file as a plain table")


SOURCES = [
    Source("jira-changelog", "Jira changelog JSON (issue changelog, search with expand=changelog, bulkfetch)", detect_changelog, load_changelog),
    Source("jira", "Jira issue export, CSV or XLSX (one row per issue)", detect_issue_export, load_issue_export),
]
