"""Generic event-log samples: one CSV row per activity, ITIL-flavoured names.

Columns ``case_id, activity, timestamp, resource, group, ticket_type,
priority``; ISO 8601 timestamps in UTC. Three ticket types with their own
streams:

* Service Request: a password reset is logged, fulfilled and closed within
  minutes; access requests go to Identity & Access, may wait for the
  customer, are resolved and closed;
* Incident: logged, categorised, assigned to a resolver group, queued,
  investigated (sometimes over several sessions), resolved and closed, with an
  optional problem review; first-line fixes stay with the Service Desk;
* Change: logged, assessed, designed, reviewed by the CAB, built, tested,
  deployed, closed and reviewed after implementation; lead times of weeks.

Injected behaviour: rework loops (CAB review -> Design solution, Test ->
Build), reopens (Resolve -> Reopen), ping-pong (Service Desk <-> resolver
groups "for more information", Development <-> QA on failed tests), waits
(Awaiting customer, Pending vendor, Queued, the weekly CAB) and repeated
sessions of the same activity by the same person: decoys a naive rule counts
as self-loops, which are the work going on, not rework.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

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
from connectors.samples.simulate import SYSTEM_ACTOR, Trace, simulate
from connectors.samples.truth import Events, Export, Meaning

COLUMNS = ["case_id", "activity", "timestamp", "resource", "group", "ticket_type", "priority"]
TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
SERVICE_DESK = "Service Desk"
GROUPS = [SERVICE_DESK, "Network", "Server Team", "Application Support", "Identity & Access", "Change Management",
          "Development", "QA", "Release Management"]
PRIORITIES = ["P1", "P2", "P3", "P4"]
PREFIXES = {"Service Request": "SR", "Incident": "INC", "Change": "CHG"}

MEANINGS = {
    "Log request": Meaning("work", stage=0),
    "Log incident": Meaning("work", stage=0),
    "Log change": Meaning("work", stage=0),
    "Categorise": Meaning("work", stage=1),
    "Assess change": Meaning("work", stage=1),
    "Design solution": Meaning("work", stage=2),
    "CAB review": Meaning("work", stage=3),
    "Fulfil request": Meaning("work", stage=4),
    "Investigate": Meaning("work", stage=4),
    "Build": Meaning("work", stage=4),
    "Test": Meaning("work", stage=5),
    "Deploy": Meaning("work", stage=6),
    "Reopen": Meaning("work", stage=4, reopen=True),
    "Resolve": Meaning("done", stage=7, done=True),
    "Close": Meaning("done", stage=8, done=True),
    "Assign to group": Meaning("queue", status=False),
    "Queued": Meaning("queue"),
    "Awaiting customer": Meaning("customer wait"),
    "Pending vendor": Meaning("vendor wait"),
    "Problem review": Meaning("work", status=False),
    "Post-implementation review": Meaning("work", status=False),
}


def _service_request() -> Flow:
    steps = {
        "log": Step("Log request", group=SERVICE_DESK, actor=REQUESTER),
        "fulfil_now": Step("Fulfil request", pick=True, actor=PICKER),
        "close_now": Step("Close"),
        "assign": Step("Assign to group", group=RESOLVER),
        "queued": Step("Queued", actor=SYSTEM),
        "fulfil": Step("Fulfil request", pick=True, actor=PICKER),
        "await": Step("Awaiting customer"),
        "resolve": Step("Resolve"),
        "reopen": Step("Reopen", actor=REQUESTER),
        "close": Step("Close", actor=SYSTEM),
    }
    moves = {
        "log": [("fulfil_now", 0.55, wait("3m", 0.6)), ("assign", 0.45, wait("10m"))],
        "fulfil_now": [("close_now", 0.9, wait("4m", 0.6)), ("await", 0.1, wait("5m"))],
        "close_now": [],
        "assign": [("queued", 1.0, wait("1m", 0.3))],
        "queued": [("fulfil", 1.0, wait("5h", 1.0))],
        "fulfil": [("resolve", 0.7, wait("1h", 1.0)), ("await", 0.2, wait("30m")), ("fulfil", 0.1, wait("2h"))],
        "await": [("fulfil", 1.0, wait("1d", 1.0))],
        "resolve": [("close", 0.9, wait("1d", 0.6)), ("reopen", 0.1, wait("1d"))],
        "reopen": [("fulfil", 1.0, wait("2h"))],
    }
    return Flow("Service Request", 0.45, "log", steps, {k: v for k, v in moves.items() if v},
                resolvers=("Identity & Access", "Application Support"), detours=("Server Team",))


def _incident() -> Flow:
    steps = {
        "log": Step("Log incident", group=SERVICE_DESK, pick=True, actor=PICKER),
        "categorise": Step("Categorise"),
        "sd_investigate": Step("Investigate"),
        "assign": Step("Assign to group", group=RESOLVER),
        "misassign": Step("Assign to group", group=DETOUR),
        "forward": Step("Assign to group", group=RESOLVER),
        "queued": Step("Queued", actor=SYSTEM),
        "investigate": Step("Investigate", pick=True, actor=PICKER),
        "await": Step("Awaiting customer"),
        "vendor": Step("Pending vendor"),
        "back_to_sd": Step("Assign to group", group=RETURN),
        "sd_ask": Step("Awaiting customer", pick=True, actor=PICKER),
        "sd_return": Step("Assign to group", group=RETURN),
        "resolve": Step("Resolve"),
        "reopen": Step("Reopen", actor=REQUESTER),
        "close": Step("Close", actor=SYSTEM),
        "problem_review": Step("Problem review", group="Server Team", pick=True, actor=PICKER),
    }
    moves = {
        "log": [("categorise", 1.0, wait("4m", 0.6))],
        "categorise": [("sd_investigate", 0.25, wait("10m")), ("assign", 0.65, wait("15m")), ("misassign", 0.10, wait("15m"))],
        "sd_investigate": [("resolve", 0.7, wait("30m", 1.0)), ("assign", 0.3, wait("20m"))],
        "assign": [("queued", 1.0, wait("1m", 0.3))],
        "misassign": [("forward", 0.5, wait("2h", 1.0)), ("queued", 0.5, wait("1m", 0.3))],
        "forward": [("queued", 1.0, wait("1m", 0.3))],
        "queued": [("investigate", 1.0, wait("3h", 1.0))],
        "investigate": [("resolve", 0.5, wait("6h", 1.0)), ("investigate", 0.12, wait("4h")), ("await", 0.1, wait("1h")),
                        ("vendor", 0.1, wait("2h")), ("back_to_sd", 0.13, wait("3h")), ("forward", 0.05, wait("2h"))],
        "await": [("investigate", 1.0, wait("20h", 1.0))],
        "vendor": [("investigate", 1.0, wait("3d", 0.8))],
        "back_to_sd": [("sd_ask", 1.0, wait("1h", 1.0))],
        "sd_ask": [("sd_return", 1.0, wait("1d", 1.0))],
        "sd_return": [("queued", 1.0, wait("1m", 0.3))],
        "resolve": [("close", 0.88, wait("2d", 0.5)), ("reopen", 0.12, wait("1d", 1.0))],
        "reopen": [("investigate", 1.0, wait("1h"))],
        "close": [("problem_review", 0.15, wait("5d", 0.7)), ("end", 0.85, wait("1s"))],
    }
    steps["end"] = Step()
    return Flow("Incident", 0.40, "log", steps, moves, resolvers=("Network", "Server Team", "Application Support"),
                detours=("Network", "Server Team", "Application Support"))


def _change() -> Flow:
    steps = {
        "log": Step("Log change", group="Change Management", pick=True, actor=PICKER),
        "assess": Step("Assess change"),
        "to_dev": Step("Assign to group", group="Development"),
        "design": Step("Design solution", pick=True, actor=PICKER),
        "to_cab": Step("Assign to group", group="Change Management"),
        "queued": Step("Queued", actor=SYSTEM),
        "cab": Step("CAB review", pick=True, actor=PICKER),
        "cab_back": Step("Assign to group", group=RETURN),
        "redesign": Step("Design solution", pick=True, actor=PICKER),
        "build": Step("Build", pick=True, actor=PICKER),
        "vendor": Step("Pending vendor"),
        "rebuild_after_vendor": Step("Build"),
        "to_qa": Step("Assign to group", group="QA"),
        "test": Step("Test", pick=True, actor=PICKER),
        "test_back": Step("Assign to group", group=RETURN),
        "fix": Step("Build", pick=True, actor=PICKER),
        "to_release": Step("Assign to group", group="Release Management"),
        "deploy": Step("Deploy", pick=True, actor=PICKER),
        "close": Step("Close"),
        "pir": Step("Post-implementation review", group="Change Management", pick=True, actor=PICKER),
    }
    moves = {
        "log": [("assess", 1.0, wait("1d", 0.8))],
        "assess": [("to_dev", 1.0, wait("2d", 0.8))],
        "to_dev": [("design", 1.0, wait("2d", 0.8))],
        "design": [("to_cab", 1.0, wait("3d", 0.7))],
        "to_cab": [("queued", 1.0, wait("1m", 0.3))],
        "queued": [("cab", 1.0, wait("3.5d", 0.4))],
        "cab": [("cab_back", 0.25, wait("2h")), ("approved", 0.75, wait("4h"))],
        "cab_back": [("redesign", 1.0, wait("1d"))],
        "redesign": [("to_cab", 1.0, wait("2d"))],
        "approved": [("build", 1.0, wait("1d"))],
        "build": [("to_qa", 0.85, wait("4d", 0.7)), ("vendor", 0.15, wait("2d"))],
        "vendor": [("rebuild_after_vendor", 1.0, wait("4d", 0.7))],
        "rebuild_after_vendor": [("to_qa", 1.0, wait("2d"))],
        "to_qa": [("test", 1.0, wait("1d", 0.8))],
        "test": [("to_release", 0.7, wait("2d", 0.7)), ("test_back", 0.3, wait("1d"))],
        "test_back": [("fix", 1.0, wait("1d"))],
        "fix": [("to_qa_again", 1.0, wait("2d"))],
        "to_qa_again": [("test", 1.0, wait("1d"))],
        "to_release": [("deploy", 1.0, wait("2d", 0.8))],
        "deploy": [("close", 1.0, wait("4h"))],
        "close": [("pir", 0.6, wait("5d", 0.6)), ("end", 0.4, wait("1s"))],
    }
    steps["end"] = Step()
    steps["approved"] = Step("Assign to group", group=RETURN)
    steps["to_qa_again"] = Step("Assign to group", group=RETURN)
    return Flow("Change", 0.15, "log", steps, moves, resolvers=("Development",))


def flows() -> list[Flow]:
    """Return the three streams: service requests, incidents and changes."""
    return [_service_request(), _incident(), _change()]


@dataclass
class Log:
    """A simulated activity log."""

    trace: Trace
    case_ids: pa.Array
    priority: np.ndarray  # per ticket


def simulate_log(tickets: int, seed: int) -> Log:
    """Run the three streams and keep the recorded activities."""
    process = compile_process(flows(), labels=list(MEANINGS), groups=list(GROUPS))
    people = make_people(process.groups, tickets, np.random.default_rng([seed, 1]), big=(SERVICE_DESK,))
    rng = np.random.default_rng([seed, 2])
    trace = simulate(process, people, tickets, rng, mode="activities")
    ttype = trace.ticket_type
    numbers = np.empty(tickets, np.int64)
    for t in range(len(process.type_names)):
        at = np.flatnonzero(ttype == t)
        numbers[at] = 10_001 + np.arange(len(at))
    prefixes = [PREFIXES[t] for t in process.type_names]
    ids = render.concat(render.pick(ttype, prefixes), render.numbers(numbers))
    priority = rng.choice(4, size=tickets, p=[0.05, 0.2, 0.5, 0.25])
    return Log(trace, ids, priority)


def write(log: Log, path: str | os.PathLike[str]) -> int:
    """Write the event log CSV; return its data rows."""
    trace = log.trace
    people = trace.people
    n = len(trace.ticket)
    resource = np.where(trace.actor == SYSTEM_ACTOR, -1, trace.actor)

    def chunk(a: int, b: int) -> pa.Table:
        tk = trace.ticket[a:b]
        return pa.table({
            "case_id": log.case_ids.take(pa.array(tk)),
            "activity": render.labelled(trace.label[a:b], trace.process.labels),
            "timestamp": render.timestamps(trace.time[a:b], TIME_FORMAT),
            "resource": render.labelled(resource[a:b], people.names),
            "group": render.labelled(trace.group[a:b], trace.process.groups),
            "ticket_type": render.labelled(trace.ticket_type[tk], trace.process.type_names),
            "priority": render.labelled(log.priority[tk], PRIORITIES),
        })

    render.write_csv(path, n, chunk, quoting="none")
    return n


def events(log: Log) -> Events:
    """Return the events of the log: every row."""
    trace = log.trace
    return Events(
        case=trace.ticket.astype(np.int64),
        time=trace.time,
        label=trace.label,
        group=trace.group,
        resource=np.where(trace.actor == SYSTEM_ACTOR, -1, trace.actor),
        labels=trace.process.labels,
        groups=trace.process.groups,
        resources=trace.people.names,
        cases=trace.tickets,
        meanings=MEANINGS,
    )


def sample(tickets: int, seed: int, path: str | os.PathLike[str]) -> Export:
    """Write the event log; return what the truth needs."""
    log = simulate_log(tickets, seed)
    rows = write(log, path)
    notes = [
        "generic event log: one row per activity, columns case_id, activity, timestamp (ISO 8601, UTC), resource, "
        "group, ticket_type, priority; rows sorted by case, then time; every row is an event",
        "resource is empty for system activities (Queued, automatic closure); group is the group that holds the ticket "
        "after the activity ('Assign to group' carries the new group, its resource is who handed the ticket over)",
        "changes go back and forth between Development and Change Management (CAB approval) and between Development "
        "and QA by design: each X→Y→X counts as a bounce",
    ]
    return Export(rows, "data rows of the CSV (one per event)", events(log), lambda: log.case_ids.to_pylist(),
                  log.trace.ticket_type, log.trace.process.type_names, notes)
