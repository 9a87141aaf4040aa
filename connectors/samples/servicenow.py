"""ServiceNow incident samples: the process, the list export and the audit-snapshot export.

The process is one flow per incident category. A ticket is raised with the
Service Desk (or through the portal, with no group until a dispatcher sets
it), picked up, worked, and either resolved there or escalated to the
category's resolver group. Injected behaviour:

* ping-pong: resolver groups return tickets to the Service Desk "for more
  information" and the Service Desk sends them back; a ticket may also go to
  a wrong group first, or hop to another resolver group and come back;
* waits: On Hold with the hold reasons Awaiting Caller (customer wait),
  Awaiting Vendor (third party) and Awaiting Change; queue waits between a
  hand-off and the pickup;
* reopens: the caller rejects a resolution (Resolved -> In Progress);
* noise (audit export only): updates that change other fields (work notes,
  priority, short description, another agent of the same group taking over),
  so consecutive snapshots repeat the same state.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from connectors.samples import render
from connectors.samples.chain import (
    DETOUR,
    PICKER,
    REQUESTER,
    RESOLVER,
    RETURN,
    SYSTEM,
    Flow,
    Step,
    compile_process,
    wait,
)
from connectors.samples.people import make_people
from connectors.samples.rows import Rows, actors, changed_value, interleave, with_takeovers
from connectors.samples.simulate import (
    ASSIGNED,
    ASSIGNED_TO_GROUP,
    CREATE,
    REASSIGNED,
    SYSTEM_ACTOR,
    Trace,
    simulate,
)
from connectors.samples.truth import Events, Export, Meaning

SERVICE_DESK = "Service Desk"
GROUPS = [SERVICE_DESK, "Network", "Desktop Support", "Application Support", "Database"]
HOLD_REASONS = {
    "On Hold (Awaiting Caller)": "Awaiting Caller",
    "On Hold (Awaiting Vendor)": "Awaiting Vendor",
    "On Hold (Awaiting Change)": "Awaiting Change",
}
STATES = ["New", "In Progress", *HOLD_REASONS, "Resolved", "Closed", "Canceled"]

# Category -> (weight, resolver group, subcategories, short descriptions).
CATEGORIES: dict[str, tuple[float, str, tuple[str, ...], tuple[str, ...]]] = {
    "Inquiry / Help": (0.34, SERVICE_DESK, ("Password Reset", "Account Locked", "How To"), (
        "Password reset for SAP", "Account locked after password change", "Cannot log in to Workday",
        "How do I map a shared drive", "Reset MFA token", "Request access to Teams channel",
    )),
    "Software": (0.24, "Application Support", ("Email", "Operating System", "Application"), (
        "Outlook keeps asking for password", "Excel crashes when opening macro file", "Windows update fails with 0x80070002",
        "CRM page loads very slowly", "Cannot install Adobe Reader", "Error 500 in expense tool",
    )),
    "Network": (0.16, "Network", ("VPN", "Wireless", "DNS", "DHCP"), (
        "VPN disconnects every few minutes", "No Wi-Fi on 3rd floor", "Cannot resolve intranet host name",
        "Slow network in Building B", "Laptop gets no IP address", "Remote site link down",
    )),
    "Hardware": (0.16, "Desktop Support", ("Laptop", "Monitor", "Printer", "Keyboard"), (
        "Laptop does not power on", "Second monitor not detected", "Printer jams on every page",
        "Docking station not charging", "Keyboard keys stuck", "Battery swells on laptop",
    )),
    "Database": (0.10, "Database", ("Oracle", "MS SQL Server", "DB2"), (
        "Report query times out", "Database backup job failed", "Tablespace almost full",
        "Cannot connect to reporting DB", "Deadlocks in order database", "Replication lag on read replica",
    )),
}


def _incident_flow(category: str) -> Flow:
    weight, resolver, _, _ = CATEGORIES[category]
    quick = resolver == SERVICE_DESK
    detours = tuple(g for g in GROUPS if g not in (SERVICE_DESK, resolver))
    # Inquiries the Service Desk cannot answer go to Application Support.
    owner = "Application Support" if quick else RESOLVER
    steps = {
        "new": Step("New", group=SERVICE_DESK, actor=REQUESTER),
        "new_portal": Step("New", actor=REQUESTER),
        "triage": Step(group=SERVICE_DESK),
        "cancel": Step("Canceled"),
        "sd_pick": Step(pick=True, actor=PICKER),
        "sd_work": Step("In Progress"),
        "sd_hold": Step("On Hold (Awaiting Caller)"),
        "sd_resume": Step("In Progress", actor=REQUESTER),
        "sd_resolve": Step("Resolved"),
        "escalate": Step(group=owner),
        "misroute": Step(group=DETOUR),
        "wrong_pick": Step(pick=True, actor=PICKER),
        "forward": Step(group=owner),
        "l2_pick": Step(pick=True, actor=PICKER),
        "hold_vendor": Step("On Hold (Awaiting Vendor)"),
        "hold_caller": Step("On Hold (Awaiting Caller)"),
        "hold_change": Step("On Hold (Awaiting Change)"),
        "l2_resume": Step("In Progress"),
        "return_sd": Step(group=RETURN),
        "sd2_pick": Step(pick=True, actor=PICKER),
        "sd2_hold": Step("On Hold (Awaiting Caller)"),
        "sd2_resume": Step("In Progress", actor=REQUESTER),
        "reescalate": Step(group=RETURN),
        "hop": Step(group=DETOUR),
        "hop_pick": Step(pick=True, actor=PICKER),
        "hop_back": Step(group=RETURN),
        "resolve": Step("Resolved"),
        "reopen": Step("In Progress", actor=REQUESTER),
        "close_auto": Step("Closed", actor=SYSTEM),
        "close_confirm": Step("Closed", actor=REQUESTER),
    }
    vendor = 0.08 if category in ("Inquiry / Help", "Software") else 0.16
    change = 0.04 if category in ("Software", "Network", "Database") else 0.0
    moves = {
        "new": [("sd_pick", 0.97, wait("12m", 1.0)), ("cancel", 0.03, wait("2h"))],
        "new_portal": [("triage", 1.0, wait("25m", 1.0))],
        "triage": [("sd_pick", 1.0, wait("15m", 1.0))],
        "sd_pick": [("sd_work", 1.0, wait("3m", 0.7))],
        "sd_work": (
            [("sd_resolve", 0.80, wait("7m", 0.7)), ("escalate", 0.07, wait("20m")), ("sd_hold", 0.08, wait("10m")), ("misroute", 0.05, wait("20m"))]
            if quick else
            [("sd_resolve", 0.12, wait("25m")), ("escalate", 0.66, wait("20m")), ("sd_hold", 0.10, wait("15m")), ("misroute", 0.12, wait("25m"))]
        ),
        "sd_hold": [("sd_resume", 1.0, wait("18h", 1.0))],
        "sd_resume": [("sd_resolve", 0.6 if quick else 0.2, wait("15m")), ("escalate", 0.4 if quick else 0.8, wait("20m"))],
        "escalate": [("l2_pick", 1.0, wait("3h", 1.0))],
        "misroute": [("forward", 0.45, wait("2h", 1.0)), ("wrong_pick", 0.55, wait("90m", 1.0))],
        "wrong_pick": [("return_sd", 0.6, wait("40m")), ("forward", 0.4, wait("30m"))],
        "forward": [("l2_pick", 1.0, wait("2h", 1.0))],
        "l2_pick": [
            ("resolve", 0.50 - vendor - change + 0.12, wait("1.5d", 1.0)),
            ("hold_vendor", vendor, wait("6h")),
            ("hold_change", change, wait("1d")),
            ("hold_caller", 0.11, wait("4h")),
            ("return_sd", 0.17, wait("5h")),
            ("hop", 0.10, wait("8h")),
        ],
        "hold_vendor": [("l2_resume", 1.0, wait("3d", 0.8))],
        "hold_change": [("l2_resume", 1.0, wait("6d", 0.5))],
        "hold_caller": [("l2_resume", 1.0, wait("1d", 1.0))],
        "l2_resume": [
            ("resolve", 0.72, wait("8h")),
            ("hold_vendor", 0.08, wait("6h")),
            ("hold_caller", 0.08, wait("4h")),
            ("return_sd", 0.06, wait("6h")),
            ("hop", 0.06, wait("8h")),
        ],
        "return_sd": [("sd2_pick", 1.0, wait("40m", 1.0))],
        "sd2_pick": [("sd2_hold", 0.6, wait("10m")), ("reescalate", 0.4, wait("30m"))],
        "sd2_hold": [("sd2_resume", 1.0, wait("1d", 1.0))],
        "sd2_resume": [("reescalate", 0.85, wait("15m")), ("sd_resolve", 0.15, wait("1h"))],
        "reescalate": [("l2_pick", 1.0, wait("2h", 1.0))],
        "hop": [("hop_pick", 1.0, wait("3h", 1.0))],
        "hop_pick": [("hop_back", 0.5, wait("5h")), ("resolve", 0.3, wait("1d")), ("hold_vendor", 0.2, wait("4h"))],
        "hop_back": [("l2_pick", 1.0, wait("2h", 1.0))],
        "resolve": [
            ("close_auto", 0.62, wait("1s", 0.0, fixed="3d", jitter="1h")),
            ("close_confirm", 0.24, wait("5h", 1.0)),
            ("reopen", 0.14, wait("20h", 1.0)),
        ],
        "sd_resolve": [
            ("close_auto", 0.55, wait("1s", 0.0, fixed="3d", jitter="1h")),
            ("close_confirm", 0.35, wait("3h", 1.0)),
            ("reopen", 0.10, wait("1d", 1.0)),
        ],
        "reopen": [
            ("resolve", 0.60, wait("1d")),
            ("hold_caller", 0.15, wait("6h")),
            ("return_sd", 0.10, wait("6h")),
            ("escalate", 0.10, wait("4h")),
            ("hop", 0.05, wait("8h")),
        ],
    }
    moves["l2_pick"] = [m for m in moves["l2_pick"] if m[1] > 0]
    return Flow(
        name=category,
        weight=weight,
        start=(("new", 0.7), ("new_portal", 0.3)),
        steps=steps,
        moves=moves,
        resolvers=(resolver,),
        detours=detours,
    )


def incident_flows() -> list[Flow]:
    """Return one flow per incident category."""
    return [_incident_flow(c) for c in CATEGORIES]


# --------------------------------------------------------------------------
# Exports

DATE_FORMAT = "%d/%m/%Y %H:%M:%S"  # a common instance setting: dd/MM/yyyy HH:mm:ss, in UTC
AUDIT_COLUMNS = [
    "number", "opened_at", "short_description", "caller_id", "category", "subcategory", "contact_type",
    "impact", "urgency", "priority", "state", "hold_reason", "assignment_group", "assigned_to",
    "resolved_at", "closed_at", "reassignment_count", "reopen_count", "sys_updated_on", "sys_updated_by", "sys_mod_count",
]
LIST_COLUMNS = [
    "number", "opened_at", "short_description", "caller_id", "category", "subcategory", "priority", "state",
    "assignment_group", "assigned_to", "resolved_at", "closed_at", "sys_updated_on", "reopen_count", "reassignment_count",
]
LEVELS = ["1 - High", "2 - Medium", "3 - Low"]
PRIORITIES = ["1 - Critical", "2 - High", "3 - Moderate", "4 - Low", "5 - Planning"]
CONTACT_TYPES = ["Phone", "Email", "Walk-in", "Self-service"]
EDITS = ["affects whole team", "urgent: customer demo today", "see attached screenshot", "user working from home"]
EMPTY_LIST = "(empty)"  # what a list export shows for an empty field

# Updates that change no state, group or pickup (audit export only).
NOTE, PRIORITY, DESCRIPTION, TAKEOVER, COMMENT = range(5)
NOISE_COUNTS = np.array([0.55, 0.28, 0.12, 0.05])  # how many such updates fall between two events
NOISE_KINDS = np.array([0.40, 0.15, 0.12, 0.18, 0.15])


MEANINGS = {
    "New": Meaning("queue", stage=0),
    "In Progress": Meaning("work", stage=1),
    "On Hold (Awaiting Caller)": Meaning("customer wait"),
    "On Hold (Awaiting Vendor)": Meaning("vendor wait"),
    "On Hold (Awaiting Change)": Meaning("queue"),
    "Resolved": Meaning("done", stage=2, done=True),
    "Closed": Meaning("done", stage=3, done=True),
    "Canceled": Meaning("done", stage=3, done=True),
    REASSIGNED: Meaning("queue", status=False),
    ASSIGNED_TO_GROUP: Meaning("queue", status=False),
    ASSIGNED: Meaning("work", status=False),
}
# A list export has no history: the time from opening to resolution is neither work nor waiting (SEMANTICS.md: unknown).
LIST_MEANINGS = {
    "Opened": Meaning("unknown", stage=0),
    "Resolved": Meaning("done", stage=1, done=True),
    "Closed": Meaning("done", stage=2, done=True),
}
SUBCATEGORIES = [sub for _, _, subs, _ in CATEGORIES.values() for sub in subs]
DESCRIPTIONS = [d for _, _, _, descs in CATEGORIES.values() for d in descs]
# Each description, then its edited versions: code = base * (1 + len(EDITS)) + (0 or 1 + edit).
DESCRIPTION_TEXTS = [text for d in DESCRIPTIONS for text in (d, *(f"{d} - {e}" for e in EDITS))]


@dataclass
class Incidents:
    """A simulated incident table, row by row as the audit export shows it."""

    trace: Trace
    rows: Rows
    number: pa.Array  # per ticket
    opened_text: pa.Array  # per ticket
    subcategory: np.ndarray  # per ticket, codes into SUBCATEGORIES
    contact: np.ndarray  # per ticket
    impact: np.ndarray  # per ticket, 0..2
    # per row
    state: np.ndarray  # codes into trace labels
    group: np.ndarray
    assignee: np.ndarray
    urgency: np.ndarray
    description: np.ndarray  # codes into DESCRIPTION_TEXTS
    updated_by: np.ndarray  # person id or SYSTEM_ACTOR
    mod_count: np.ndarray
    reassignments: np.ndarray
    reopens: np.ndarray
    resolved_at: np.ndarray  # -1: empty
    closed_at: np.ndarray  # -1: empty


def simulate_incidents(tickets: int, seed: int) -> Incidents:
    """Run the incident process for ``tickets`` tickets and lay out the audit rows."""
    process = compile_process(incident_flows(), labels=list(STATES), groups=list(GROUPS))
    people = make_people(process.groups, tickets, np.random.default_rng([seed, 1]), big=(SERVICE_DESK,))
    rng = np.random.default_rng([seed, 2])
    trace = simulate(process, people, tickets, rng)
    n = tickets
    ttype = trace.ticket_type
    # Ticket attributes.
    sub_first = np.cumsum([0, *(len(CATEGORIES[c][2]) for c in process.type_names)])
    sub_count = np.diff(sub_first)
    subcategory = sub_first[ttype] + (rng.random(n) * sub_count[ttype]).astype(np.int64)
    desc_first = np.cumsum([0, *(len(CATEGORIES[c][3]) for c in process.type_names)])
    desc_count = np.diff(desc_first)
    description0 = desc_first[ttype] + (rng.random(n) * desc_count[ttype]).astype(np.int64)
    first_rec = trace.first_record()
    portal = trace.group[first_rec] < 0
    contact = np.where(portal, CONTACT_TYPES.index("Self-service"), rng.choice(3, size=n, p=[0.55, 0.35, 0.10]))
    impact = rng.choice(3, size=n, p=[0.1, 0.3, 0.6])
    urgency0 = rng.choice(3, size=n, p=[0.15, 0.35, 0.5])

    rows = interleave(trace, rng, NOISE_COUNTS, NOISE_KINDS)
    rec = rows.record
    tk = rows.ticket
    m = len(rows)
    u = rng.random((m, 3))
    kind = rows.kind
    label = trace.label[rec]
    rec_kind = trace.kind[rec]
    ev = rows.is_event
    group = trace.group[rec]
    assignee, takeover = with_takeovers(trace, rows, kind == TAKEOVER, u[:, 0])
    kind = np.where((kind == TAKEOVER) & ~takeover, NOTE, kind)
    urgency = changed_value(rows, urgency0, kind == PRIORITY, 3, u[:, 1])
    edit = kind == DESCRIPTION
    stride = 1 + len(EDITS)
    edited = description0[tk] * stride + 1 + (u[:, 2] * len(EDITS)).astype(np.int64)
    description = rows.carry(rows.first | edit, np.where(rows.first, description0[tk] * stride, edited))

    noise_actor = np.where((kind == COMMENT) | (assignee < 0), trace.requester[tk], assignee)
    updated_by = np.where(ev, actors(trace, rows, assignee), noise_actor)

    labels = process.labels
    state = trace.state[rec]
    prev_state = np.full(m, -1, np.int16)
    prev_state[1:] = np.where(rows.first[1:], -1, state[:-1])
    resolved, closed = labels.index("Resolved"), labels.index("Closed")
    reopen = ev & (rec_kind != CREATE) & (prev_state == resolved) & (state != resolved) & (state != closed)
    reassigned = ev & (label == labels.index(REASSIGNED))
    resolved_time = rows.carry(rows.first | (ev & (label == resolved)), np.where(label == resolved, rows.time, -1))
    resolved_at = np.where((state == resolved) | (state == closed), resolved_time, -1)
    closed_at = np.where(state == closed, rows.carry(rows.first | (ev & (label == closed)), np.where(label == closed, rows.time, -1)), -1)

    opened = trace.time[first_rec]
    return Incidents(
        trace=trace,
        rows=rows,
        number=render.padded("INC", 10_001 + np.arange(n), 7),
        opened_text=render.timestamps(opened, DATE_FORMAT),
        subcategory=subcategory,
        contact=contact,
        impact=impact,
        state=state,
        group=group,
        assignee=assignee,
        urgency=urgency,
        description=description,
        updated_by=updated_by,
        mod_count=rows.cumulative(np.ones(m, bool)) - 1,
        reassignments=rows.cumulative(reassigned),
        reopens=rows.cumulative(reopen),
        resolved_at=resolved_at,
        closed_at=closed_at,
    )


def _columns(inc: Incidents, at: np.ndarray, *, empty: str) -> dict[str, pa.Array]:
    """Return every export column for the rows ``at``; ``empty`` fills empty fields."""
    trace, people, process = inc.trace, inc.trace.people, inc.trace.process
    tk = inc.rows.ticket[at]
    state = inc.state[at]
    state_text = [_STATE_TEXT.get(x, x) for x in process.labels]
    hold_text = [HOLD_REASONS.get(x, "") for x in process.labels]
    logins = [*people.logins, "system"]
    who = inc.updated_by[at]
    return {
        "number": pc.take(inc.number, pa.array(tk)),
        "opened_at": pc.take(inc.opened_text, pa.array(tk)),
        "short_description": render.labelled(inc.description[at], DESCRIPTION_TEXTS),
        "caller_id": render.labelled(trace.requester[tk], people.names),
        "category": render.labelled(trace.ticket_type[tk], process.type_names),
        "subcategory": render.labelled(inc.subcategory[tk], SUBCATEGORIES),
        "contact_type": render.labelled(inc.contact[tk], CONTACT_TYPES),
        "impact": render.labelled(inc.impact[tk], LEVELS),
        "urgency": render.labelled(inc.urgency[at], LEVELS),
        "priority": render.labelled(inc.impact[tk] + inc.urgency[at], PRIORITIES),
        "state": render.labelled(state, state_text),
        "hold_reason": render.labelled(state, [h or empty for h in hold_text]),
        "assignment_group": render.labelled(inc.group[at], process.groups, empty),
        "assigned_to": render.labelled(inc.assignee[at], people.names, empty),
        "resolved_at": render.optional_timestamps(inc.resolved_at[at], DATE_FORMAT, empty),
        "closed_at": render.optional_timestamps(inc.closed_at[at], DATE_FORMAT, empty),
        "reassignment_count": render.counts(inc.reassignments[at]),
        "reopen_count": render.counts(inc.reopens[at]),
        "sys_updated_on": render.timestamps(inc.rows.time[at], DATE_FORMAT),
        "sys_updated_by": render.labelled(np.where(who == SYSTEM_ACTOR, len(people.logins), who), logins),
        "sys_mod_count": render.counts(inc.mod_count[at]),
    }


_STATE_TEXT = {label: "On Hold" for label in HOLD_REASONS}


def write_audit(inc: Incidents, path: str | os.PathLike[str]) -> int:
    """Write the audit-snapshot CSV (one row per update); return the rows written."""
    m = len(inc.rows)

    def chunk(a: int, b: int) -> pa.Table:
        cols = _columns(inc, np.arange(a, b), empty="")
        return pa.table({c: cols[c] for c in AUDIT_COLUMNS})

    render.write_csv(path, m, chunk)
    return m


def write_list(inc: Incidents, path: str | os.PathLike[str]) -> int:
    """Write the list export (each ticket as it stands at export time); return the rows written."""
    last = _last_rows(inc)
    cols = _columns(inc, last, empty=EMPTY_LIST)
    render.write_csv(path, len(last), lambda a, b: pa.table({c: cols[c].slice(a, b - a) for c in LIST_COLUMNS}))
    return len(last)


def _last_rows(inc: Incidents) -> np.ndarray:
    last = np.ones(len(inc.rows), bool)
    last[:-1] = inc.rows.first[1:]
    return np.flatnonzero(last)


def audit_events(inc: Incidents) -> Events:
    """Return the events the audit export holds: every trace record, with the assignee after the update."""
    trace = inc.trace
    at = np.flatnonzero(inc.rows.is_event)
    return Events(
        case=trace.ticket.astype(np.int64),
        time=trace.time,
        label=trace.label,
        group=trace.group,
        resource=inc.assignee[at],
        labels=trace.process.labels,
        groups=trace.process.groups,
        resources=trace.people.names,
        cases=trace.tickets,
        meanings=MEANINGS,
    )


def list_events(inc: Incidents) -> Events:
    """Return the events a list export gives: Opened, and Resolved and Closed where filled."""
    last = _last_rows(inc)
    n = len(last)
    trace = inc.trace
    opened = trace.time[trace.first_record()]
    times = np.stack([opened, inc.resolved_at[last], inc.closed_at[last]], axis=1)
    present = times >= 0
    case = np.repeat(np.arange(n, dtype=np.int64)[:, None], 3, axis=1)[present]
    label = np.repeat(np.arange(3)[None, :], n, axis=0)[present]
    return Events(
        case=case,
        time=times[present],
        label=label,
        group=inc.group[last][case],
        resource=inc.assignee[last][case],
        labels=list(LIST_MEANINGS),
        groups=trace.process.groups,
        resources=trace.people.names,
        cases=n,
        meanings=LIST_MEANINGS,
    )


def audit_sample(tickets: int, seed: int, path: str | os.PathLike[str]) -> Export:
    """Write an audit-snapshot export; return what the truth needs."""
    inc = simulate_incidents(tickets, seed)
    rows = write_audit(inc, path)
    notes = [
        "ServiceNow incident audit snapshot: one row per update, each a full copy of the ticket's fields, "
        "dates as dd/MM/yyyy HH:mm:ss in UTC; rows sorted by number, then sys_mod_count",
        "resource is assigned_to after the update; group is assignment_group after the update; "
        "a ticket's first row gives one event, its initial state (New), with the group it was opened in "
        "(none for portal tickets, which a dispatcher then sends to the Service Desk: 'Assigned to group')",
        "folded rows change only other fields: work notes and comments (nothing visible), urgency and priority, "
        "short_description, or assigned_to from one agent to another of the same group (not a pickup)",
        "reassignment_count counts Reassigned events (changes from one group to another); reopen_count counts reopens",
        "incident states have no backward move besides reopens, so rework shows as reopens and as returns to the "
        "Service Desk 'for more information' (bounces), not as rework_loops",
    ]
    return Export(rows, "data rows of the CSV (one per update)", audit_events(inc), inc.number.to_pylist,
                  inc.trace.ticket_type, inc.trace.process.type_names, notes)


def list_sample(tickets: int, seed: int, path: str | os.PathLike[str]) -> Export:
    """Write a list export; return what the truth needs."""
    inc = simulate_incidents(tickets, seed)
    rows = write_list(inc, path)
    last = _last_rows(inc)
    totals = {
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
    return Export(rows, "data rows of the CSV (one per ticket)", list_events(inc), inc.number.to_pylist,
                  inc.trace.ticket_type, inc.trace.process.type_names, notes, totals)
