"""The built-in rules on the vocabularies of real ticketing tools.

Each name is pinned to the (stage, kind, wait) its rule gives, with the rule's
own stage ("inherit" for waits and hand-offs), so that a change of order or of
a keyword shows here as the names it moves. Decoys are names a naive keyword
rule gets wrong: "Awaiting customer feedback" is a wait, not improvement work;
"Quality Indicator Fixed" is bookkeeping, not a fix; "Log Work" is not logging
a ticket.
"""

from __future__ import annotations

import numpy as np
import pytest

import connectors
from miner.cases import case_arrays
from miner.mapping import ALL_KINDS, apply_mapping, builtin_mapping
from miner.valuechain import STAGES, WAIT_KINDS
from tests.conftest import real_log
from tests.helpers import make_log

REOPEN = "reopen"


def rule_classes(names: list[str], source: str = "csv") -> dict[str, tuple]:
    """Return, per name, the (rule stage, kind, wait[, "reopen"]) of the built-in rule that takes it."""
    mapping = builtin_mapping(source)
    log = make_log([(f"T{i}", name, 0) for i, name in enumerate(names)])
    classes = apply_mapping(log, case_arrays(log), mapping)
    names_of = np.asarray(log["activity"].astype(str))
    out: dict[str, tuple] = {}
    for name, r in zip(names_of, classes.rule, strict=True):
        if r < 0:
            out[name] = ("unmapped",)
            continue
        rule = mapping.rules[r]
        got = (rule.stage, rule.kind, rule.wait)
        out[name] = (*got, REOPEN) if rule.reopen else got
    return out


def expect(text: str) -> tuple:
    """'inherit wait customer' -> ('inherit', 'wait', 'customer'); stage keys as in STAGES."""
    parts = text.split()
    stage, kind = parts[0], parts[1]
    wait = parts[2] if len(parts) > 2 and parts[2] != REOPEN else None
    return (stage, kind, wait, REOPEN) if parts[-1] == REOPEN else (stage, kind, wait)


# Status names as ticketing tools ship them (and as teams rename them).
STATUSES = {
    # ServiceNow incident, request, change and problem
    "New": "engage wait queue",
    "In Progress": "deliver_support work",
    "Work in Progress": "deliver_support work",
    "On Hold": "inherit wait queue",
    "On Hold (Awaiting Caller)": "inherit wait customer",
    "On Hold (Awaiting Evidence)": "inherit wait customer",
    "On Hold (Awaiting Problem)": "inherit wait internal",
    "On Hold (Awaiting Vendor)": "inherit wait vendor",
    "On Hold (Awaiting Change)": "inherit wait internal",
    "Awaiting User Info": "inherit wait customer",
    "Awaiting Customer": "inherit wait customer",
    "Resolved": "deliver_support done",
    "Closed": "deliver_support done",
    "Canceled": "deliver_support done",
    "Closed Complete": "deliver_support done",
    "Closed Incomplete": "deliver_support done",
    "Closed Skipped": "deliver_support done",
    "Pending": "inherit wait queue",
    "Scheduled": "inherit wait queue",
    "Assess": "design_transition work",
    "Implement": "design_transition work",
    "Review": "design_transition work",
    "Root Cause Analysis": "improve work",
    "Fix in Progress": "obtain_build work",
    # Jira and Jira Service Management
    "Waiting for support": "engage wait queue",
    "Waiting for customer": "inherit wait customer",
    "Waiting for approval": "inherit wait internal",
    "Escalated": "inherit wait handoff",
    "Declined": "deliver_support done",
    "Under review": "design_transition work",
    "Under investigation": "deliver_support work",
    "Awaiting implementation": "inherit wait queue",
    "Implementing": "design_transition work",
    "Awaiting CAB approval": "inherit wait internal",
    "Planning": "plan work",
    "Completed": "deliver_support done",
    "To Do": "engage wait queue",
    "Backlog": "plan wait queue",
    "Selected for Development": "plan wait queue",
    "In Development": "obtain_build work",
    "Code Review": "obtain_build work",
    "Ready for QA": "inherit wait queue",
    "In Testing": "obtain_build work",
    "Blocked": "inherit wait internal",
    "Done": "deliver_support done",
    "Won't Do": "deliver_support done",
    "Reopened": "inherit wait queue reopen",
    "Re-opened": "inherit wait queue reopen",
    "Reopen": "inherit wait queue reopen",
    # Zendesk and Freshdesk / Freshservice
    "open": "engage wait queue",
    "pending": "inherit wait queue",
    "hold": "inherit wait queue",
    "solved": "deliver_support done",
    "Waiting on Customer": "inherit wait customer",
    "Waiting on Third Party": "inherit wait vendor",
    "Awaiting Customer Reply": "inherit wait customer",
    # TOPdesk, Cherwell
    "Registered": "engage wait queue",
    "Logged": "engage wait queue",
    "Waiting for user": "inherit wait customer",
    "Waiting for supplier": "inherit wait vendor",
    "Halted": "inherit wait queue",
    "Assigned": "inherit work",
    "Acknowledged": "engage work",
    "Awaiting Triage": "engage wait queue",
    "Triaged": "engage work",
    # BMC Remedy status reasons
    "Pending - Client Hold": "inherit wait customer",
    "Pending - Client Action Required": "inherit wait customer",
    "Pending - Supplier Delivery": "inherit wait vendor",
    "Pending - Third Party Vendor Action Reqd": "inherit wait vendor",
    "Pending - Infrastructure Change": "inherit wait internal",
    "Pending - Purchase Order Approval": "inherit wait internal",
    "Pending - Local Site Action Required": "inherit wait queue",
    # OTRS / Znuny
    "pending reminder": "inherit wait queue",
    "pending auto close+": "deliver_support done",
    "closed successful": "deliver_support done",
    "closed unsuccessful": "deliver_support done",
    "merged": "deliver_support done",
    # Waiting words win over stage words; vendors before the customer's "response"
    "Awaiting customer feedback": "inherit wait customer",
    "Awaiting Vendor Response": "inherit wait vendor",
    "Waiting for vendor reply": "inherit wait vendor",
    "On Hold - Third Party Response": "inherit wait vendor",
    "Awaiting information from supplier": "inherit wait vendor",
    "Awaiting Customer Confirmation": "inherit wait customer",
    "Awaiting Release": "inherit wait internal",
    "Awaiting Deployment": "inherit wait queue",
    "Awaiting Parts": "inherit wait vendor",
    "Needs more info": "inherit wait customer",
    "More information required": "inherit wait customer",
    "Pending Closure": "deliver_support done",
    "Resolved - awaiting confirmation": "deliver_support done",
    "Customer Responded": "inherit wait queue",
    "Stakeholder review": "design_transition work",  # decoy: "hold" inside a word is no hold
    # BPIC 2013 (VINST) status/sub-status
    "Queued/Awaiting Assignment": "inherit wait handoff",
    "Accepted/In Progress": "deliver_support work",
    "Accepted/Wait": "inherit wait queue",
    "Accepted/Assigned": "inherit work",
    "Completed/Closed": "deliver_support done",
    "Unmatched/Unmatched": "inherit unknown",
    # German
    "Neu": "engage wait queue",
    "Offen": "engage wait queue",
    "In Bearbeitung": "deliver_support work",
    "Warten auf Kunde": "inherit wait customer",
    "Warten auf Lieferant": "inherit wait vendor",
    "Wartet auf Rückmeldung": "inherit wait customer",
    "Zurückgestellt": "inherit wait queue",
    "Gelöst": "deliver_support done",
    "Geschlossen": "deliver_support done",
    "Wiedereröffnet": "inherit wait queue reopen",
    # French
    "Nouveau": "engage wait queue",
    "En cours": "deliver_support work",
    "En attente client": "inherit wait customer",
    "En attente fournisseur": "inherit wait vendor",
    "En attente d'un tiers": "inherit wait vendor",
    "Résolu": "deliver_support done",
    "Clos": "deliver_support done",
    "Rouvert": "inherit wait queue reopen",
    # Dutch
    "Nieuw": "engage wait queue",
    "In behandeling": "deliver_support work",
    "Wacht op klant": "inherit wait customer",
    "Wacht op leverancier": "inherit wait vendor",
    "Opgelost": "deliver_support done",
    "Gesloten": "deliver_support done",
    "Heropend": "inherit wait queue reopen",
    "Afgemeld": "deliver_support done",
    # Spanish
    "Nuevo": "engage wait queue",
    "En curso": "deliver_support work",
    "Esperando al cliente": "inherit wait customer",
    "Pendiente de proveedor": "inherit wait vendor",
    "Resuelto": "deliver_support done",
    "Cerrado": "deliver_support done",
    "Reabierto": "inherit wait queue reopen",
}


def test_status_vocabulary_is_pinned():
    assert len(STATUSES) >= 80
    got = rule_classes(list(STATUSES))
    wrong = {name: got[name] for name, want in STATUSES.items() if got[name] != expect(want)}
    assert wrong == {}


# Activity logs of ITIL tools (BPIC 2014, Rabobank / HP Service Manager style):
# actions, not statuses, with rough relative frequencies.
ITIL_ACTIONS = {
    "Assignment": ("inherit wait handoff", 120),
    "Reassignment": ("inherit wait handoff", 60),
    "Operator Update": ("inherit work", 40),
    "Update from customer": ("inherit wait queue", 12),
    "Status Change": ("inherit unknown", 45),
    "Caused By CI": ("inherit bookkeeping", 30),
    "Quality Indicator Fixed": ("inherit bookkeeping", 8),  # decoy: "fix" is no build work
    "Quality Indicator Set": ("inherit bookkeeping", 8),
    "Quality Indicator": ("inherit bookkeeping", 4),
    "Description Update": ("inherit bookkeeping", 10),
    "External Vendor Assignment": ("inherit wait vendor", 6),
    "Vendor Reference": ("inherit bookkeeping", 3),
    "Mail to Customer": ("inherit work", 5),
    "Communication with customer": ("inherit work", 5),
    "Communication with vendor": ("inherit work", 3),
    "Analysis/Research": ("deliver_support work", 4),
    "Pending vendor": ("inherit wait vendor", 5),
    "Notify By Change": ("inherit bookkeeping", 2),
    "OO Response": ("inherit wait queue", 2),
    "Update": ("inherit bookkeeping", 15),
    "External update": ("inherit wait queue", 2),
    "Impact Change": ("inherit bookkeeping", 3),  # decoy: a field edit, not a change awaited
    "Urgency Change": ("inherit bookkeeping", 3),
    "Contact Change": ("inherit bookkeeping", 2),
    "Affected CI Change": ("inherit bookkeeping", 2),
    "Problem Closure": ("inherit bookkeeping", 1),  # the linked problem closed, not the incident
    "Problem Workaround": ("deliver_support work", 1),
    "Dial-in": ("inherit work", 1),
    "Callback Request": ("inherit work", 1),
    "Incident reproduction": ("deliver_support work", 1),
    "Referred": ("inherit wait handoff", 1),
    "Open": ("engage wait queue", 50),
    "Resolved": ("deliver_support done", 45),
    "Closed": ("deliver_support done", 50),
    "Reopen": ("inherit wait queue reopen", 3),
}

# Jira issues converted to XES: every field edit, comment and link is an activity.
JIRA_XES = {
    "Create Issue": ("engage work", 50),
    "Change Field: Fix Version": ("inherit bookkeeping", 30),
    "Change Field: Link": ("inherit bookkeeping", 12),
    "Change Field: Assignee": ("inherit bookkeeping", 40),  # a field; the status is the state
    "Change Field: Priority": ("inherit bookkeeping", 10),
    "Change Field: Status": ("inherit unknown", 20),
    "Change Field: Resolution": ("inherit bookkeeping", 30),
    "Change Field: Sprint": ("inherit bookkeeping", 15),
    "Change Description": ("inherit bookkeeping", 10),
    "Change Summary": ("inherit bookkeeping", 5),
    "Add Comment": ("inherit bookkeeping", 80),
    "Edit Comment": ("inherit bookkeeping", 6),
    "Add Attachment": ("inherit bookkeeping", 12),
    "Add Watcher": ("inherit bookkeeping", 20),
    "Remove Watcher": ("inherit bookkeeping", 2),
    "Link Issue": ("inherit bookkeeping", 10),
    "Add Label": ("inherit bookkeeping", 4),
    "Log Work": ("inherit bookkeeping", 8),  # decoy: not logging a ticket (engage)
    "Assign Issue": ("inherit bookkeeping", 10),
    "Start Progress": ("deliver_support work", 30),
    "Stop Progress": ("inherit wait queue", 5),
    "Resolve Issue": ("deliver_support done", 45),
    "Close Issue": ("deliver_support done", 40),
    "Reopen Issue": ("inherit wait queue reopen", 4),
}


@pytest.mark.parametrize(
    "vocabulary",
    [pytest.param(ITIL_ACTIONS, id="itil-actions"), pytest.param(JIRA_XES, id="jira-xes")],
)
def test_action_vocabularies_are_classified(vocabulary):
    got = rule_classes(list(vocabulary))
    wrong = {name: got[name] for name, (want, _) in vocabulary.items() if got[name] != expect(want)}
    assert wrong == {}


@pytest.mark.parametrize(
    "vocabulary",
    [pytest.param(ITIL_ACTIONS, id="itil-actions"), pytest.param(JIRA_XES, id="jira-xes")],
)
def test_action_logs_are_covered_without_a_mapping_file(vocabulary):
    """At most 5% of events unclassified, bookkeeping counted as classified; a few unknown names stay unmapped."""
    rng = np.random.default_rng(7)
    names = list(vocabulary) + ["Frobnicate", "Zorglub"]  # names no rule knows
    weights = np.array([n for _, n in vocabulary.values()] + [3, 2], dtype=float)
    picks = rng.choice(len(names), size=4000, p=weights / weights.sum())
    rows = [(f"C{i // 8}", names[p], i % 8) for i, p in enumerate(picks)]
    log = make_log(rows)
    classes = apply_mapping(log, case_arrays(log), builtin_mapping("xes"))
    assert set(classes.unmapped) == {"Frobnicate", "Zorglub"}
    assert 0.95 <= classes.coverage < 1.0
    bookkeeping = classes.kind == ALL_KINDS.index("bookkeeping")
    assert bookkeeping.any() and (classes.rule[bookkeeping] >= 0).all()


def test_waits_take_the_stage_of_the_work_they_interrupt():
    """A wait inherits the next work's stage; JSM's intake queue is the engage step."""
    jsm = make_log(
        [
            ("S1", "Waiting for support", 0, "Service Request"),
            ("S1", "Work in progress", 5, "Service Request"),
            ("S1", "Waiting for customer", 10, "Service Request"),
            ("S1", "Add Comment", 15, "Service Request"),
            ("S1", "Work in progress", 20, "Service Request"),
            ("S1", "Resolved", 30, "Service Request"),
        ],
        columns=("case_id", "activity", "minutes", "issue_type"),
    )
    got = apply_mapping(jsm, case_arrays(jsm), builtin_mapping("jira-changelog"))
    assert [STAGES[s] for s in got.stage] == ["engage"] + ["deliver_support"] * 5
    assert WAIT_KINDS[got.wait[2]] == "customer" and ALL_KINDS[got.kind[3]] == "bookkeeping"
    snow = make_log(
        [
            ("I1", "New", 0),
            ("I1", "In Progress", 5),
            ("I1", "On Hold (Awaiting Change)", 10),
            ("I1", "In Progress", 20),
            ("I1", "Resolved", 30),
        ]
    )
    got = apply_mapping(snow, case_arrays(snow), builtin_mapping("servicenow-audit"))
    assert [STAGES[s] for s in got.stage] == ["engage"] + ["deliver_support"] * 4
    assert WAIT_KINDS[got.wait[2]] == "internal"


VENDOR_WAITS = [
    pytest.param("servicenow-audit", "On Hold (Awaiting Problem)", id="snow-problem"),
    pytest.param("servicenow-audit", "On Hold (Awaiting Change)", id="snow-change"),
    pytest.param("servicenow-audit", "On Hold (Awaiting Caller)", id="snow-caller"),
    pytest.param("servicenow-audit", "Authorize", id="snow-authorize"),
    pytest.param("servicenow", "Scheduled", id="snow-scheduled"),
    pytest.param("jira-changelog", "Waiting for customer", id="jira-customer"),
    pytest.param("jira-changelog", "Awaiting Release", id="jira-release"),
    pytest.param("jira-changelog", "Awaiting Approval", id="jira-approval"),
    pytest.param("zendesk-events", "pending", id="zendesk-pending"),
    pytest.param("zendesk-events", "hold", id="zendesk-hold"),
]


@pytest.mark.parametrize("source, activity", VENDOR_WAITS)
def test_vendor_waits_inherit_their_stage(source, activity):
    stage, kind, *_ = rule_classes([activity], source)[activity]
    assert (stage, kind) == ("inherit", "wait")


@pytest.mark.parametrize(
    "source, activity, want",
    [
        pytest.param("jira-changelog", "Waiting for support", "engage wait queue", id="jsm-intake"),
        pytest.param("jira-changelog", "Reopened", "inherit wait queue reopen", id="jira-reopened"),
        pytest.param("jira-changelog", "Backlog", "plan wait queue", id="jira-backlog"),
        pytest.param("servicenow-audit", "New", "engage wait queue", id="snow-new"),
        pytest.param("zendesk-events", "new", "engage wait queue", id="zendesk-new"),
    ],
)
def test_intake_queues_and_reopens_in_vendor_rules(source, activity, want):
    assert rule_classes([activity], source)[activity] == expect(want)


@pytest.mark.parametrize(
    "activity, want",
    [
        pytest.param("Estimate", "plan work", id="estimate"),
        pytest.param("Prioritise", "plan work", id="prioritise"),
        pytest.param("Prioritize backlog", "plan work", id="prioritize"),
        pytest.param("Schedule", "plan work", id="schedule"),
        pytest.param("Schedule intervention", "plan work", id="schedule-intervention"),
        pytest.param("Backlog grooming", "plan work", id="grooming"),
        pytest.param("Sprint planning", "plan work", id="sprint-planning"),
        pytest.param("Triage", "engage work", id="triage"),
        pytest.param("Assign seriousness", "engage work", id="rating-is-triage"),
        pytest.param("Scheduled", "inherit wait queue", id="scheduled-is-a-wait"),
    ],
)
def test_plan_and_triage(activity, want):
    assert rule_classes([activity])[activity] == expect(want)


@pytest.mark.real_logs
@pytest.mark.parametrize("name", ["bpic2013_closed_problems.csv", "helpdesk.xes.gz"])
def test_real_itsm_logs_are_covered_without_a_mapping_file(name):
    log, report = connectors.load(real_log(name))
    classes = apply_mapping(log, case_arrays(log), builtin_mapping(report.source))
    assert classes.coverage >= 0.95, classes.unmapped
