"""Zendesk samples: the incremental ticket events export.

``GET /api/v2/incremental/ticket_events.json?include=comment_events`` as one
page: ``{ticket_events[], next_page, count, end_of_stream, end_time}``, the
audits of all tickets in time order. Each audit's ``child_events`` carry the
changed fields (``{"status": "open", "previous_value": "new", "event_type":
"Change"}``), ``Create`` children on a ticket's first audit, and comments.

Four ticket types with their own paths: questions the Support group answers,
incidents escalated to Technical Support, problems that go to Tier 2 and
wait on third parties, and billing tasks. Injected behaviour:

* waits: ``pending`` (waiting on the requester; an automation solves tickets
  pending for 3 days) and ``hold`` (waiting on a third party); queue waits
  before pickups;
* ping-pong: escalated tickets sent back to Support and escalated again;
  tickets routed to the wrong group and returned;
* reopens: the requester replies to a solved ticket (solved -> open);
* noise: audits with only a comment, a priority, tags or type change, or
  another agent of the same group taking the ticket.

Zendesk exports ids, not names: groups and people are numbers, and so are
the ``group`` and ``resource`` of the truth's events (its ``legend`` names
them).
"""

from __future__ import annotations

import os
from collections.abc import Callable
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
from connectors.samples.render import concat, js, pick
from connectors.samples.rows import Rows, actors, changed_value, interleave, with_takeovers
from connectors.samples.simulate import (
    ASSIGNED,
    ASSIGNED_TO_GROUP,
    CREATE,
    HANDOFF,
    PICKUP,
    REASSIGNED,
    STATE,
    SYSTEM_ACTOR,
    Trace,
    simulate,
)
from connectors.samples.truth import Events, Export, Meaning

SUBDOMAIN = "https://acmehelp.zendesk.com"
SUPPORT = "Support"
GROUPS = [SUPPORT, "Technical Support", "Tier 2", "Billing", "Engineering"]
GROUP_IDS = [360_001_234_501 + 17 * i for i in range(len(GROUPS))]
STATUSES = ["new", "open", "pending", "hold", "solved", "closed"]
TYPES = ["question", "incident", "problem", "task"]
PRIORITIES = ["low", "normal", "high", "urgent"]
CHANNEL_TAGS = ["web", "email"]  # set when the ticket is created, never changed
EXTRA_TAGS = [[], ["vip"], ["billing"], ["refund"], ["mobile_app"], ["billing", "vip"], ["outage"]]
# A ticket's tags: its channel tag plus one of the extra sets; code = channel * len(EXTRA_TAGS) + extra.
TAG_SETS = [sorted([c, *x]) for c in CHANNEL_TAGS for x in EXTRA_TAGS]
SUBJECTS = {
    "question": ("How do I change my delivery address?", "Where can I download my invoice?", "Can I pause my subscription?",
                 "How do I reset my password?", "Do you ship to Norway?", "Is there a student discount?"),
    "incident": ("App crashes when I open my orders", "Payment failed but money was taken", "Cannot log in since update",
                 "Tracking link shows an error", "Checkout page is blank", "Two-factor code never arrives"),
    "problem": ("Many customers report failed card payments", "Push notifications delayed for all users",
                "Search results missing new products", "Order confirmation emails not sent", "Sync errors with warehouse",
                "Slow page loads in EU region"),
    "task": ("Refund order 88231", "Change billing email on account", "Send VAT invoice for March",
             "Cancel annual plan and prorate", "Merge duplicate customer accounts", "Update company address on invoices"),
}

MEANINGS = {
    "new": Meaning("queue", stage=0),
    "open": Meaning("work", stage=1),
    "pending": Meaning("customer wait"),
    "hold": Meaning("vendor wait"),
    "solved": Meaning("done", stage=2, done=True),
    "closed": Meaning("done", stage=3, done=True),
    REASSIGNED: Meaning("queue", status=False),
    ASSIGNED_TO_GROUP: Meaning("queue", status=False),
    ASSIGNED: Meaning("work", status=False),
}

COMMENT, PRIORITY, TAGS, TYPE, TAKEOVER = range(5)
AUDIT_CHUNK = 100_000
NOISE_COUNTS = np.array([0.5, 0.32, 0.13, 0.05])
NOISE_KINDS = np.array([0.45, 0.14, 0.14, 0.09, 0.18])


def _flow(name: str, weight: float, resolver: str, *, escalate: float, hold: float, pending: float) -> Flow:
    steps = {
        "new_web": Step("new", group=SUPPORT, actor=REQUESTER),
        "new_mail": Step("new", actor=REQUESTER),
        "route": Step(group=SUPPORT),
        "pick": Step(pick=True, actor=PICKER),
        "open": Step("open"),
        "pending": Step("pending"),
        "reply": Step("open", actor=REQUESTER),
        "autosolve": Step("solved", actor=SYSTEM),
        "hold": Step("hold"),
        "unhold": Step("open"),
        "escalate": Step(group=RESOLVER if resolver != SUPPORT else DETOUR),
        "esc_pick": Step(pick=True, actor=PICKER),
        "give_back": Step(group=RETURN),
        "back_pick": Step(pick=True, actor=PICKER),
        "reescalate": Step(group=RETURN),
        "hop": Step(group=DETOUR),
        "hop_pick": Step(pick=True, actor=PICKER),
        "hop_back": Step(group=RETURN),
        "solve": Step("solved"),
        "reopen": Step("open", actor=REQUESTER),
        "close": Step("closed", actor=SYSTEM),
    }
    solve = 1.0 - escalate - hold - pending
    moves = {
        "new_web": [("pick", 1.0, wait("35m", 1.0))],
        "new_mail": [("route", 1.0, wait("45m", 1.0))],
        "route": [("pick", 1.0, wait("20m", 1.0))],
        "pick": [("open", 1.0, wait("8m"))],
        "open": [("solve", solve, wait("25m", 1.0)), ("pending", pending, wait("15m")), ("hold", hold, wait("1h")),
                 ("escalate", escalate, wait("40m"))],
        "pending": [("reply", 0.8, wait("16h", 1.0)), ("autosolve", 0.2, wait("1s", 0.0, fixed="3d", jitter="1h"))],
        "reply": [("solve", 0.7, wait("2h")), ("pending", 0.2, wait("1h")), ("escalate", 0.1, wait("1h"))],
        "hold": [("unhold", 1.0, wait("2d", 0.8))],
        "unhold": [("solve", 0.85, wait("3h")), ("pending", 0.15, wait("1h"))],
        "escalate": [("esc_pick", 0.9, wait("3h", 1.0)), ("hop", 0.1, wait("1h"))],
        "esc_pick": [("solve", 0.5, wait("6h", 1.0)), ("hold", 0.22, wait("2h")), ("give_back", 0.18, wait("3h")),
                     ("pending", 0.1, wait("1h"))],
        "give_back": [("back_pick", 1.0, wait("1h"))],
        "back_pick": [("reescalate", 0.6, wait("4h")), ("pending", 0.25, wait("30m")), ("solve", 0.15, wait("1h"))],
        "reescalate": [("esc_pick", 1.0, wait("2h"))],
        "hop": [("hop_pick", 0.5, wait("2h")), ("hop_back", 0.5, wait("1h"))],
        "hop_pick": [("hop_back", 1.0, wait("3h"))],
        "hop_back": [("esc_pick", 1.0, wait("1h"))],
        "solve": [("close", 0.86, wait("1s", 0.0, fixed="4d", jitter="1h")), ("reopen", 0.14, wait("1d", 1.0))],
        "autosolve": [("close", 1.0, wait("1s", 0.0, fixed="4d", jitter="1h"))],
        "reopen": [("solve", 0.75, wait("3h")), ("pending", 0.15, wait("1h")), ("escalate", 0.1, wait("2h"))],
    }
    moves = {k: [m for m in v if m[1] > 0] for k, v in moves.items()}
    detours = tuple(g for g in GROUPS if g not in (SUPPORT, resolver))
    return Flow(name, weight, (("new_web", 0.55), ("new_mail", 0.45)), steps, moves, resolvers=(resolver,), detours=detours)


def flows() -> list[Flow]:
    """Return the flows of the four ticket types."""
    return [
        _flow("question", 0.40, SUPPORT, escalate=0.05, hold=0.02, pending=0.33),
        _flow("incident", 0.35, "Technical Support", escalate=0.55, hold=0.08, pending=0.17),
        _flow("problem", 0.10, "Tier 2", escalate=0.7, hold=0.12, pending=0.08),
        _flow("task", 0.15, "Billing", escalate=0.6, hold=0.02, pending=0.2),
    ]


@dataclass
class Tickets:
    """A simulated Zendesk account: the trace and its audits."""

    trace: Trace
    rows: Rows
    kind: np.ndarray  # per row: noise kind, -1 for events
    assignee: np.ndarray  # per row
    actor: np.ndarray  # per row: who made an event's update (-1 for noise rows)
    priority: np.ndarray  # per row
    tags: np.ndarray  # per row, index into TAG_SETS
    ticket_type: np.ndarray  # per row, index into TYPES
    subject: np.ndarray  # per ticket


def simulate_tickets(tickets: int, seed: int) -> Tickets:
    """Run the Zendesk process and lay out its audits."""
    process = compile_process(flows(), labels=list(STATUSES), groups=list(GROUPS))
    people = make_people(process.groups, tickets, np.random.default_rng([seed, 1]), big=(SUPPORT,))
    rng = np.random.default_rng([seed, 2])
    trace = simulate(process, people, tickets, rng)
    n = tickets
    true_type = np.array([TYPES.index(t) for t in process.type_names])[trace.ticket_type]
    # Requesters often pick the wrong type; an agent corrects it later (a TYPE update).
    wrong = rng.random(n) < 0.3
    created_type = np.where(wrong, (true_type + 1 + (rng.random(n) * 3).astype(np.int64)) % 4, true_type)
    subject = (rng.random(n) * 6).astype(np.int64)
    rows = interleave(trace, rng, NOISE_COUNTS, NOISE_KINDS)
    m = len(rows)
    u = rng.random((m, 3))
    kind = rows.kind.astype(np.int64)
    assignee, takeover = with_takeovers(trace, rows, kind == TAKEOVER, u[:, 0])
    kind = np.where((kind == TAKEOVER) & ~takeover, COMMENT, kind)
    tk = rows.ticket
    type_fix = (kind == TYPE) & wrong[tk]
    kind = np.where((kind == TYPE) & ~type_fix, COMMENT, kind)
    kind = np.where(rows.is_event, -1, kind)
    ticket_type = rows.carry(rows.first | type_fix, np.where(rows.first, created_type[tk], true_type[tk]))
    priority0 = rng.choice(4, size=n, p=[0.2, 0.55, 0.2, 0.05])
    priority = changed_value(rows, priority0, kind == PRIORITY, 4, u[:, 1])
    first_rec = trace.first_record()
    web = trace.group[first_rec] >= 0
    extra = changed_value(rows, np.zeros(n, np.int64), kind == TAGS, len(EXTRA_TAGS), u[:, 2])
    tags = np.where(web, 0, 1)[rows.ticket] * len(EXTRA_TAGS) + extra
    return Tickets(trace, rows, kind.astype(np.int8), assignee, actors(trace, rows, assignee), priority, tags, ticket_type, subject)


def _person_id(person: np.ndarray, agents: int) -> np.ndarray:
    """Return Zendesk user ids: agents and requesters in separate ranges, -1 for Zendesk itself."""
    person = np.asarray(person, np.int64)
    return np.where(person == SYSTEM_ACTOR, -1, np.where(person < agents, 381_000_000_000 + person * 7, 392_000_000_000 + person * 11))


def write(zd: Tickets, path: str | os.PathLike[str]) -> int:
    """Write the incremental ticket events page; return the child events written."""
    trace, rows = zd.trace, zd.rows
    people = trace.people
    labels = trace.process.labels
    n_rows = len(rows)
    rec = rows.record
    tk = rows.ticket
    ev_kind = np.where(rows.is_event, trace.kind[rec], -1)
    prev = np.maximum(np.arange(n_rows) - 1, 0)
    noise = zd.kind.astype(np.int64)
    state_now, state_before = trace.state[rec], trace.state[rec[prev]]
    group_now, group_before = trace.group[rec], trace.group[rec[prev]]
    assignee_now, assignee_before = zd.assignee, zd.assignee[prev]
    actor = np.where(rows.is_event, zd.actor, np.where(noise == COMMENT, trace.requester[tk], np.maximum(zd.assignee, 0)))
    actor = np.where(~rows.is_event & (noise != COMMENT) & (zd.assignee < 0), people.member(np.maximum(group_now, 0), (rec % 89) / 89), actor)
    updater = _person_id(actor, people.agents)
    by_requester = (actor >= people.agents) & (actor != SYSTEM_ACTOR)
    # Agents work in the web interface; requesters write e-mails, except web-form tickets, created through the form.
    via = np.where(actor == SYSTEM_ACTOR, 2, np.where(by_requester, 1, 0))
    via = np.where(rows.is_event & (ev_kind == CREATE) & (group_now >= 0), 0, via)
    via_names = ["Web form", "Mail", "Rule"]
    via_text = [js(v) for v in via_names]

    # Child events, as (row, position in the audit, template); a template makes the text of its children from their rows.
    c_rows: list[np.ndarray] = []
    c_pos: list[np.ndarray] = []
    builders: list[Callable[[np.ndarray], pa.Array]] = []

    def child(mask: np.ndarray, position: int, body: Callable[[np.ndarray], pa.Array] | str, event_type: str) -> None:
        at = np.flatnonzero(mask)
        c_rows.append(at)
        c_pos.append(np.full(len(at), position))
        make = (lambda r: pa.array([body] * len(r), pa.string())) if isinstance(body, str) else body
        builders.append(lambda r: concat(
            ',"via":', pick(via[r], via_text), ',"via_reference_id":null,', make(r), f',"event_type":"{event_type}"}}'
        ))

    created = rows.is_event & (ev_kind == CREATE)
    group_id_text = [str(g) for g in GROUP_IDS] + ["null"]
    person_text_ids = _person_id(np.arange(len(people.names)), people.agents)
    assignee_text = [str(x) for x in person_text_ids.tolist()] + ["null"]
    none_person = len(people.names)
    none_group = len(GROUPS)
    subjects = [js(x) for t in TYPES for x in SUBJECTS[t]]
    true_type = np.array([TYPES.index(t) for t in trace.process.type_names])[trace.ticket_type]
    status_text = [js(x) for x in labels]
    tag_text = [js(t) for t in TAG_SETS]
    priority_text = [js(p) for p in PRIORITIES]
    type_text = [js(t) for t in TYPES]
    k = len(TAG_SETS)
    added = [js(sorted(set(TAG_SETS[b]) - set(TAG_SETS[a]))) for a in range(k) for b in range(k)]
    removed = [js(sorted(set(TAG_SETS[a]) - set(TAG_SETS[b]))) for a in range(k) for b in range(k)]

    def values(codes: np.ndarray, texts: list[str]) -> pa.Array:
        return pick(np.asarray(codes, np.int64), texts)

    # Creation audits.
    child(created, 0, lambda r: concat('"subject":', values(true_type[tk[r]] * 6 + zd.subject[tk[r]], subjects)), "Create")
    child(created, 1, lambda r: concat('"requester_id":', values(trace.requester[tk[r]], assignee_text)), "Create")
    child(created, 2, '"status":"new"', "Create")
    child(created, 3, lambda r: concat('"priority":', values(zd.priority[r], priority_text)), "Create")
    child(created, 4, lambda r: concat('"type":', values(zd.ticket_type[r], type_text)), "Create")
    child(created & (group_now >= 0), 5, lambda r: concat('"group_id":', values(group_now[r], group_id_text)), "Create")
    child(created, 6, lambda r: concat('"tags":', values(zd.tags[r], tag_text), ',"added_tags":', values(zd.tags[r], tag_text),
                                       ',"removed_tags":[]'), "Create")
    # Comments: on creation, on every status change made by a person, and as the only child of COMMENT audits.
    commented = created | ((ev_kind == STATE) & (actor != SYSTEM_ACTOR)) | (noise == COMMENT)
    public = ~((ev_kind == STATE) & (state_now == labels.index("hold")))
    child(commented & public, -1, '"comment_present":true,"comment_public":true', "Comment")
    child(commented & ~public, -1, '"comment_present":true,"comment_public":false', "Comment")
    # Changes.
    child(ev_kind == STATE, 1, lambda r: concat('"status":', values(state_now[r], status_text),
                                                ',"previous_value":', values(state_before[r], status_text)), "Change")
    child((ev_kind == HANDOFF) & (assignee_before >= 0), 1,
          lambda r: concat('"assignee_id":null,"previous_value":', values(assignee_before[r], assignee_text)), "Change")
    child(ev_kind == HANDOFF, 2, lambda r: concat(
        '"group_id":', values(group_now[r], group_id_text),
        ',"previous_value":', values(np.where(group_before[r] >= 0, group_before[r], none_group), group_id_text),
    ), "Change")
    child((ev_kind == PICKUP) | (noise == TAKEOVER), 1, lambda r: concat(
        '"assignee_id":', values(assignee_now[r], assignee_text),
        ',"previous_value":', values(np.where(assignee_before[r] >= 0, assignee_before[r], none_person), assignee_text),
    ), "Change")
    child(noise == PRIORITY, 1, lambda r: concat('"priority":', values(zd.priority[r], priority_text),
                                                 ',"previous_value":', values(zd.priority[prev[r]], priority_text)), "Change")
    child(noise == TYPE, 1, lambda r: concat('"type":', values(zd.ticket_type[r], type_text),
                                             ',"previous_value":', values(zd.ticket_type[prev[r]], type_text)), "Change")
    child(noise == TAGS, 1, lambda r: concat(
        '"tags":', values(zd.tags[r], tag_text), ',"added_tags":', values(zd.tags[prev[r]] * k + zd.tags[r], added),
        ',"removed_tags":', values(zd.tags[prev[r]] * k + zd.tags[r], removed), ',"previous_value":', values(zd.tags[prev[r]], tag_text),
    ), "Change")

    # Audits run in time order (ties by ticket); children in their audit's order.
    audit_order = np.lexsort((tk, rows.time))
    audit_rank = np.empty(n_rows, np.int64)
    audit_rank[audit_order] = np.arange(n_rows)
    c_row = np.concatenate(c_rows)
    c_template = np.concatenate([np.full(len(r), i) for i, r in enumerate(c_rows)])
    order = np.lexsort((np.concatenate(c_pos), audit_rank[c_row]))
    c_row, c_template = c_row[order], c_template[order]
    child_offsets = np.searchsorted(audit_rank[c_row], np.arange(n_rows + 1))

    def audits_text(a0: int, a1: int) -> pa.Array:
        c0, c1 = int(child_offsets[a0]), int(child_offsets[a1])
        rows_of = c_row[c0:c1]
        bodies = render.by_template(c_template[c0:c1], [lambda at, b=b: b(rows_of[at]) for b in builders])
        children = concat('{"id":', render.numbers(5_000_000_000 + np.arange(c0, c1) * 3), bodies)
        at = audit_order[a0:a1]
        return concat(
            pick((np.arange(a0, a1) > 0).astype(np.int64), ["", ","]),
            '{"id":', render.numbers(4_000_000_000 + np.arange(a0, a1) * 5), ',"ticket_id":', render.numbers(tk[at].astype(np.int64) + 1),
            ',"timestamp":', render.numbers(rows.time[at]), ',"created_at":"', render.timestamps(rows.time[at], "%Y-%m-%dT%H:%M:%SZ"),
            '","updater_id":', render.numbers(updater[at]), ',"via":', pick(via[at], via_text),
            ',"merged_ticket_ids":[],"event_type":"Audit","child_events":[', render.join_groups(children, child_offsets[a0 : a1 + 1] - c0), "]}",
        )

    end_time = int(rows.time.max()) if n_rows else 0
    tail = (f'],"next_page":"{SUBDOMAIN}/api/v2/incremental/ticket_events.json?start_time={end_time}",'
            f'"count":{n_rows},"end_of_stream":true,"end_time":{end_time}}}\n')
    chunks = (audits_text(a0, min(a0 + AUDIT_CHUNK, n_rows)) for a0 in range(0, n_rows, AUDIT_CHUNK))
    render.write_text_parts(path, ['{"ticket_events":[', *chunks, tail])
    return len(c_row)


def events(zd: Tickets) -> Events:
    """Return the events the export gives, with Zendesk's ids as group and resource names."""
    trace = zd.trace
    people = trace.people
    at = np.flatnonzero(zd.rows.is_event)
    updater = _person_id(zd.actor[at], people.agents)
    picked = _person_id(np.maximum(zd.assignee[at], 0), people.agents)
    resource_id = np.where(trace.kind == PICKUP, picked, updater)
    ids, codes = np.unique(resource_id, return_inverse=True)
    return Events(
        case=trace.ticket.astype(np.int64),
        time=trace.time,
        label=trace.label,
        group=trace.group,
        resource=codes.astype(np.int64),
        labels=trace.process.labels,
        groups=[str(g) for g in GROUP_IDS],
        resources=[str(x) for x in ids.tolist()],
        cases=trace.tickets,
        meanings=MEANINGS,
    )


def legend(zd: Tickets) -> dict[str, dict[str, str]]:
    """Return the names behind the ids: groups and people."""
    people = zd.trace.people
    ids = _person_id(np.arange(len(people.names)), people.agents)
    return {
        "groups": {str(g): name for g, name in zip(GROUP_IDS, GROUPS, strict=True)},
        "people": {"-1": "Zendesk (triggers and automations)", **{str(i): name for i, name in zip(ids.tolist(), people.names, strict=True)}},
    }


def sample(tickets: int, seed: int, path: str | os.PathLike[str]) -> Export:
    """Write an incremental ticket events export; return what the truth needs."""
    zd = simulate_tickets(tickets, seed)
    children = write(zd, path)
    notes = [
        "Zendesk incremental ticket events export (include=comment_events) on one page, audits of all tickets in time "
        "order; created_at in UTC ISO 8601 with Z, timestamp in epoch seconds",
        "groups and resources are Zendesk ids (see legend); a status child gives an event named by the status, by the "
        "audit's updater_id (-1: Zendesk's automations); a group_id change gives Reassigned ('Assigned to group' for a "
        "ticket that had none), by the updater; an assignee_id set on an unassigned ticket gives 'Picked up by assignee', whose "
        "resource is the new assignee",
        "a ticket's creation audit gives one event, its first status (new), dated at the audit and carrying the group "
        "its Create children set (web-form tickets are created in Support, e-mailed ones with no group and routed later)",
        "folded rows are the other child events: comments, changes of priority, tags, type or subject, the assignee "
        "within the group, and the assignee cleared beside a group change",
    ]
    return Export(children, "child events (the connector's rows)", events(zd),
                  lambda: [str(i + 1) for i in range(tickets)], zd.trace.ticket_type, zd.trace.process.type_names,
                  notes, {"audits": len(zd.rows)}, legend(zd))
