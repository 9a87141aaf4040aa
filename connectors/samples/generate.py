"""The one entry point: simulate a source's process, write its export and its truth."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from connectors.samples import eventcsv, jira, servicenow, zendesk
from connectors.samples.truth import Events, truth_document, write_truth

SAMPLE_SOURCES = ("servicenow", "servicenow-audit", "jira", "zendesk", "csv")


@dataclass(frozen=True)
class SampleResult:
    """What :func:`generate` wrote."""

    path: Path
    truth_path: Path
    rows: int  # data rows (CSV) or records (JSON) in the export, as the truth defines them
    events: int  # events vsm must load from it


def generate(source: str, *, tickets: int, seed: int, path: str | os.PathLike[str]) -> SampleResult:
    """Write a sample export of ``tickets`` tickets for ``source`` to ``path``, and its truth beside it."""
    if source not in SAMPLE_SOURCES:
        raise ValueError(f"unknown sample source {source!r}; choose from {', '.join(SAMPLE_SOURCES)}")
    if tickets < 1:
        raise ValueError("a sample needs at least one ticket")
    out = Path(path)
    writer = _WRITERS[source]
    rows, rows_definition, events, case_ids, case_types, type_names, notes, extra, *more = writer(tickets, seed, out)
    doc = truth_document(
        events,
        source=source,
        seed=seed,
        export=out.name,
        rows=rows,
        rows_definition=rows_definition,
        case_ids=case_ids,
        case_types=case_types,
        type_names=type_names,
        notes=notes,
        extra_totals=extra,
        legend=more[0] if more else None,
    )
    truth_path = out.with_name(out.name + ".truth.json")
    write_truth(doc, truth_path)
    return SampleResult(out, truth_path, rows, len(events.case))


Written = tuple[int, str, Events, "np.ndarray | None", np.ndarray, list[str], list[str], dict[str, object]]


def _servicenow_audit(tickets: int, seed: int, out: Path) -> Written:
    inc = servicenow.simulate_incidents(tickets, seed)
    rows = servicenow.write_audit(inc, out)
    events = servicenow.audit_events(inc)
    notes = [
        "ServiceNow incident audit snapshot: one row per update, each a full copy of the ticket's fields, "
        "dates as dd/MM/yyyy HH:mm:ss in UTC; rows sorted by number, then sys_mod_count",
        "resource is assigned_to after the update; group is assignment_group after the update; "
        "a ticket's first row gives one event, its initial state (New), with the group it was opened in",
        "folded rows change only other fields: work notes and comments (nothing visible), urgency and priority, "
        "short_description, or assigned_to from one agent to another of the same group (not a pickup)",
        "reassignment_count counts Reassigned events (changes from one group to another); reopen_count counts reopens",
        "incident states have no backward move besides reopens, so rework shows as reopens and as returns to the "
        "Service Desk 'for more information' (bounces), not as rework_loops",
    ]
    return rows, "data rows of the CSV (one per update)", events, _ids(inc, tickets), inc.trace.ticket_type, inc.trace.process.type_names, notes, {}


def _servicenow_list(tickets: int, seed: int, out: Path) -> Written:
    inc = servicenow.simulate_incidents(tickets, seed)
    rows = servicenow.write_list(inc, out)
    events = servicenow.list_events(inc)
    last = inc.rows.first.copy()
    last = np.r_[last[1:], True]
    extra = {
        "reopen_count_column": int(inc.reopens[last].sum()),
        "reassignment_count_column": int(inc.reassignments[last].sum()),
        "open_at_export": int((inc.closed_at[last] < 0).sum()),
    }
    notes = [
        "ServiceNow incident list export: one row per ticket as it stands at export time, display values, "
        "dates as dd/MM/yyyy HH:mm:ss in UTC, '(empty)' for empty fields",
        "each row gives Opened (opened_at), Resolved (resolved_at) and Closed (closed_at) where filled; every event "
        "carries the row's assignment_group and assigned_to",
        "the list export has no history: reopens, bounces and waits of the simulated process are not in its events; "
        "reopen_count_column and reassignment_count_column are the sums of those columns",
    ]
    return rows, "data rows of the CSV (one per ticket)", events, _ids(inc, tickets), inc.trace.ticket_type, inc.trace.process.type_names, notes, extra


def _jira(tickets: int, seed: int, out: Path) -> Written:
    issues = jira.simulate_issues(tickets, seed)
    n_issues, n_items = jira.write(issues, out, seed)
    events = jira.events(issues)
    notes = [
        "Jira Cloud search response (/rest/api/3/search/jql?expand=changelog) with every issue on one page; "
        "times as the API writes them for a user in America/Chicago (offset -0600, -0500 after 9 March 2025)",
        "an issue's first event is its first status at fields.created, by its reporter, with no team (issues are created "
        "without one); status items give events named by toString, by the history's author; a 'Team' item gives "
        "Reassigned ('Assigned to group' for the first team), by the author; an assignee item from nobody gives Assigned, "
        "whose resource is the new assignee",
        "folded histories change only priority, labels, Sprint, Rank or the assignee within the team; resolution items "
        "ride along with status changes and an assignee item clearing the assignee rides along with each team change",
        "'Automation for Jira' (an app) triages service requests and closes resolved ones",
    ]
    return (
        n_issues + n_items, "changelog items plus one creation record per issue (the connector's rows)", events,
        np.asarray(jira.keys(issues).to_pylist(), dtype=object) if tickets <= _detail_limit() else None,
        issues.trace.ticket_type, issues.trace.process.type_names, notes, {"histories": int(len(issues.rows) - tickets)},
    )


def _zendesk(tickets: int, seed: int, out: Path) -> Written:
    zd = zendesk.simulate_tickets(tickets, seed)
    children = zendesk.write(zd, out)
    events = zendesk.events(zd)
    notes = [
        "Zendesk incremental ticket events export (include=comment_events) on one page, audits of all tickets in time "
        "order; created_at in UTC ISO 8601 with Z, timestamp in epoch seconds",
        "groups and resources are Zendesk ids (see legend); a status child gives an event named by the status, by the "
        "audit's updater_id (-1: Zendesk's automations); a group_id change gives Reassigned ('Assigned to group' for a "
        "ticket that had none), by the updater; an assignee_id set on an unassigned ticket gives Assigned, whose "
        "resource is the new assignee",
        "a ticket's creation audit gives one event, its first status (new), dated at the audit and carrying the group "
        "its Create children set (web-form tickets are created in Support, e-mailed ones with no group and routed later)",
        "folded audits hold only a comment, or change priority, tags, type, or the assignee within the group; "
        "comments and an assignee_id cleared on a group change ride along with events",
    ]
    extra = {"audits": len(zd.rows)}
    ids = np.asarray([str(i + 1) for i in range(tickets)], dtype=object) if tickets <= _detail_limit() else None
    return (children, "child events (the connector's rows)", events, ids, zd.trace.ticket_type, zd.trace.process.type_names,
            notes, extra, zendesk.legend(zd))


def _csv(tickets: int, seed: int, out: Path) -> Written:
    log = eventcsv.simulate_log(tickets, seed)
    rows = eventcsv.write(log, out)
    events = eventcsv.events(log)
    notes = [
        "generic event log: one row per activity, columns case_id, activity, timestamp (ISO 8601, UTC), resource, "
        "group, ticket_type, priority; rows sorted by case, then time; every row is an event",
        "resource is empty for system activities (Queued, automatic closure); group is the group that holds the ticket "
        "after the activity ('Assign to group' carries the new group, its resource is who handed the ticket over)",
    ]
    ids = np.asarray(log.case_ids.to_pylist(), dtype=object) if tickets <= _detail_limit() else None
    return rows, "data rows of the CSV (one per event)", events, ids, log.trace.ticket_type, log.trace.process.type_names, notes, {}


def _detail_limit() -> int:
    from connectors.samples.truth import CASE_DETAIL_LIMIT

    return CASE_DETAIL_LIMIT


def _ids(inc: servicenow.Incidents, tickets: int) -> np.ndarray | None:
    from connectors.samples.truth import CASE_DETAIL_LIMIT

    return servicenow.case_ids(inc) if tickets <= CASE_DETAIL_LIMIT else None


_WRITERS = {
    "servicenow-audit": _servicenow_audit,
    "servicenow": _servicenow_list,
    "jira": _jira,
    "zendesk": _zendesk,
    "csv": _csv,
}
