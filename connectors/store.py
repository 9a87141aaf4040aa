"""A store: what ``vsm pull`` wrote, read by every command like an export.

A store is a folder holding Parquet files and ``state.json``, which names the
current files and the watermark of the last pull::

    STORE/state.json             {"vsm_store": 1, "source": "servicenow", "files": {...}, "watermark": ...}
    STORE/records-N.parquet      one row per ticket: each field's value and display value
    STORE/sys_audit-N.parquet    the sys_audit rows of those tickets, as the Table API gives them
    STORE/metric_instance-N.parquet  (--history metric) their metric_instance rows, the definition by its name
    STORE/names-N.parquet        group and user sys_ids with their names
    STORE/ticket_events-N.jsonl  (Zendesk) the incremental export's ticket events, one a line
    STORE/issues-N.json          (Jira) the issues with their whole changelogs, as the search API gives them

A pull writes new files and then replaces ``state.json`` in one rename, so a
failed pull leaves the previous store readable. Reading a ServiceNow store is
reading its ``sys_audit`` file with the ``servicenow-sys-audit`` connector (or
its ``metric_instance`` file with ``servicenow-metric``: the same events and
load report as that file exported by hand), then naming what
sys_audit leaves as sys_ids: tickets by their number, groups and people by
their names, and adding the tickets' fields as attributes.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from connectors.errors import UnreadableExport
from connectors.eventlog import CASE_ID, GROUP, RESOURCE
from connectors.options import LoadOptions
from connectors.report import LoadReport

STATE = "state.json"
VERSION = 1
# Ticket fields carried as attributes (display values), when the records hold them.
TICKET_ATTRIBUTES = ("priority", "category", "subcategory", "contact_type", "impact", "urgency", "opened_at", "short_description")


def is_store(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` is a folder that ``vsm pull`` wrote."""
    return Path(path).is_dir() and (Path(path) / STATE).is_file()


def read_state(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The store's state file, or a one-line error."""
    state_path = Path(path) / STATE
    try:
        state = json.loads(state_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise UnreadableExport(f"{state_path}: not a readable vsm store state ({exc}); pull again into a new folder") from exc
    if not isinstance(state, dict) or state.get("vsm_store") != VERSION:
        raise UnreadableExport(f"{state_path}: not a vsm store of version {VERSION}; pull again into a new folder")
    return state


def load_store(path: str | os.PathLike[str], source: str, options: LoadOptions) -> tuple[pd.DataFrame, LoadReport]:
    """The canonical event table and load report of a store."""
    from connectors.sources import load

    store = Path(path)
    state = read_state(store)
    files = state.get("files", {})
    if state.get("source") not in ("servicenow", "zendesk", "jira") or "history" not in files:
        raise UnreadableExport(f"{store}: a store of {state.get('source')!r}, which this vsm cannot read; pull again")
    history = store / files["history"]
    if state["source"] in ("zendesk", "jira"):
        own = {"zendesk": "zendesk-events", "jira": "jira-changelog"}[state["source"]]
        if source not in ("auto", own):
            raise UnreadableExport(f"{store}: a {state['source']} store; leave out --source or give {own}")
        log, report = load(history, source=own, _options=options)
        report.path = str(store)
        report.source_reason = f"a store written by vsm pull ({STATE}); its history, {files['history']}, read as {own}"
        report.notes.append(f"pulled from {state.get('instance')} up to {state.get('watermark')}, last pull {state.get('pulled_at')}")
        return log, report
    kind, own = ("metric_instance", "servicenow-metric") if state.get("history") == "metric_instance" else (
        "sys_audit", "servicenow-sys-audit")
    if source not in ("auto", own):
        raise UnreadableExport(f"{store}: a ServiceNow store holds {kind} history; leave out --source or give {own}")
    log, report = load(history, source=own, _options=options)
    records = _records(store / files["records"]) if files.get("records") else pd.DataFrame()
    names = pd.read_parquet(store / files["names"]) if files.get("names") else pd.DataFrame(columns=["sys_id", "name"])
    log = _named(log, records, names, report)
    report.path = str(store)
    report.source_reason = f"a store written by vsm pull ({STATE}); its history, {files['history']}, read as {kind}"
    report.notes.append(
        f"pulled from {state.get('instance')} table {state.get('table')} up to {state.get('watermark')} UTC "
        f"(sys_updated_on), last pull {state.get('pulled_at')}"
    )
    return log, report


def _records(path: Path) -> pd.DataFrame:
    """The records' columns that naming the events needs, not all of them."""
    import pyarrow.parquet as pq

    present = set(pq.read_schema(path).names)
    wanted = ["sys_id", "number", *(c for f in TICKET_ATTRIBUTES for c in (f, f"{f}.display"))]
    return pd.read_parquet(path, columns=[c for c in wanted if c in present])


def _relabel(column: pd.Series, lookup: pd.Series) -> tuple[pd.Series, int]:
    """``column`` (categorical) with each category replaced by its name in ``lookup``, where known and unambiguous."""
    categories = column.cat.categories
    found = lookup.reindex(categories.astype(str))
    named = pd.Index(np.where(found.notna(), found.astype(object), categories.astype(object)))
    if not named.is_unique:  # two ids with one name: names would merge them, so keep the ids apart
        duplicated = named.duplicated(keep=False)
        named = pd.Index(np.where(duplicated, categories.astype(object), named))
    return column.cat.rename_categories(named), int(found.notna().sum())


def _named(log: pd.DataFrame, records: pd.DataFrame, names: pd.DataFrame, report: LoadReport) -> pd.DataFrame:
    """Tickets by number, groups and people by name, ticket fields as attributes."""
    if records.empty:
        return log
    by_id = records.drop_duplicates("sys_id", keep="last").set_index("sys_id")
    case_ids = log[CASE_ID].cat.categories.astype(str)
    silent = int((~by_id.index.isin(case_ids)).sum())
    if silent:
        report.warnings.append(
            f"{silent:,} of {len(by_id):,} pulled tickets have no state, group or assignee change in sys_audit and give "
            "no event (the instance may not audit inserts, or the table's fields are not audited)"
        )
    rows = by_id.index.get_indexer(case_ids)  # per ticket: its record, or -1
    codes = log[CASE_ID].cat.codes.to_numpy()
    for field in TICKET_ATTRIBUTES:
        column = f"{field}.display" if f"{field}.display" in by_id else field if field in by_id else None
        if column is None:
            continue
        per_case = np.append(by_id[column].to_numpy(dtype=object)[rows], None)
        per_case[np.append(rows < 0, False)] = None
        log[field] = pd.Categorical(per_case[codes])
    if "number" in by_id:
        log[CASE_ID], n = _relabel(log[CASE_ID], by_id["number"].dropna())
        # The sys_audit reading said the ids are sys_ids: no longer so.
        report.notes = [note for note in report.notes if not note.startswith("case ids are the tickets' sys_ids")]
        report.notes.append(f"case ids are ticket numbers for {n:,} of {len(case_ids):,} tickets (from the records' sys_id)")
    lookup = names.drop_duplicates("sys_id", keep="last").set_index("sys_id")["name"].dropna() if len(names) else pd.Series(dtype=object)
    for role in (GROUP, RESOURCE):
        if role in log and len(lookup):
            log[role], n = _relabel(log[role], lookup)
            if n:
                report.notes.append(f"{role} names for {n:,} of {len(log[role].cat.categories):,} sys_ids (from the pulled names)")
    return log
