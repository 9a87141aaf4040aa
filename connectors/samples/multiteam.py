"""A multi-team incident log: desk teams escalate to resolver teams (Remedy-style statuses).

One CSV row per status event, columns ``case_id, activity, timestamp, group,
resource, priority, category``. A ticket opens ``New`` at one of four desk
teams, is worked (``In Progress``) there, and is either resolved at the desk
or escalated: an event ``Assigned`` whose group is the resolver team (the
ticket now waits in that team's queue) until the resolver's first
``In Progress``. Resolvers may park a ticket in
``Pending - Client Action Required`` or ``Awaiting User Info`` (the
customer's time), resolve it, or send it back to the desk (a bounce). Remedy's
``Pending`` says whose turn it is only in its status reason, so the export
names both: a bare ``Pending`` could be the customer, a supplier or the team's
own backlog, and vsm reads it as a queue. A resolved ticket is auto-closed days later, or reopened
(``Resolved`` → ``In Progress`` in the group that resolved it).

The teams are built so that a naive reading errs in known ways:

* ``Service Desk A`` is slow and clean; ``Service Desk B`` fast and clean;
* ``Service Desk C`` is fast because it hands over incomplete tickets: the
  receiving team waits ~2.5× longer before first work, and half its
  escalations need ``Awaiting User Info`` at the receiver (the one moved
  bottleneck);
* ``Service Desk D`` is fast and clean but sends everything to ``Database``,
  whose queue is the slowest for every sender (a decoy: its hand-offs wait
  long, but no longer than anyone's into Database).

Rework is only what was injected: reopens and bounces (about 17% of
tickets). A clean escalation (desk → resolver → resolved) repeats
``In Progress`` in another team and is not rework; resuming after a wait is
not rework either. Every figure of the ``multi_team`` truth section is
accumulated from the simulated intervals as they are drawn, never read back
from the events.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from connectors.samples import render
from connectors.samples.people import People, make_people
from connectors.samples.simulate import HOUR_LOAD, MAX_ROUNDS, START, WEEKDAY_LOAD
from connectors.samples.truth import CASE_DETAIL_LIMIT, Events, Export, Meaning

COLUMNS = ["case_id", "activity", "timestamp", "group", "resource", "priority", "category"]
TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
HOUR = 3600
DAY = 86_400

PENDING_LABEL = "Pending - Client Action Required"  # Remedy's status and its status reason
LABELS = ["New", "In Progress", "Assigned", PENDING_LABEL, "Awaiting User Info", "Resolved", "Closed"]
NEW, IN_PROGRESS, ASSIGNED, PENDING, AWAITING_INFO, RESOLVED, CLOSED = range(len(LABELS))
MEANINGS = {
    "New": Meaning("queue", stage=0),
    "In Progress": Meaning("work", stage=1),
    "Assigned": Meaning("queue"),
    PENDING_LABEL: Meaning("customer wait"),
    "Awaiting User Info": Meaning("customer wait"),
    "Resolved": Meaning("done", stage=2, done=True),
    "Closed": Meaning("done", stage=3, done=True),
}

DESKS = ["Service Desk A", "Service Desk B", "Service Desk C", "Service Desk D"]
RESOLVERS = ["Network", "Applications", "Database"]
GROUPS = DESKS + RESOLVERS
DESK_A, DESK_B, DESK_C, DESK_D = range(4)
NETWORK, APPLICATIONS, DATABASE = range(4, 7)
CATEGORIES = ["Network", "Application", "Database"]  # the domain of each resolver, in RESOLVERS order
PRIORITIES = ["P1", "P2", "P3", "P4"]
MOVED_BOTTLENECKS = ["Service Desk C"]
DECOYS = {"fast_clean": "Service Desk B", "fast_to_slowest": "Service Desk D"}

# Per desk: share of tickets, queue before first work (median), work per session (median),
# share of tickets it escalates, and which resolver domains its tickets are in.
DESK_SHARE = np.array([0.30, 0.25, 0.25, 0.20])
DESK_QUEUE = np.array([4 * HOUR, 25 * 60, 25 * 60, 25 * 60], np.float64)
DESK_WORK = np.array([100 * 60, 35 * 60, 20 * 60, 35 * 60], np.float64)
DESK_ESCALATES = np.array([0.65, 0.70, 0.75, 0.75])
DESK_DOMAINS = np.array([[0.35, 0.45, 0.20], [0.35, 0.45, 0.20], [0.35, 0.45, 0.20], [0.0, 0.0, 1.0]])
RETURN_QUEUE = 2 * HOUR  # a bounced ticket back in its desk's queue (median)
RE_ESCALATE = 0.7  # a bounced ticket goes back to the resolver (else the desk resolves it)
# Per resolver: queue before first work after a hand-off (median), work per session (median).
RESOLVER_QUEUE = np.array([5 * HOUR, 7 * HOUR, 20 * HOUR], np.float64)
RESOLVER_WORK = np.array([2 * HOUR, 150 * 60, 3 * HOUR], np.float64)
SLOPPY_QUEUE_FACTOR = 2.5  # Service Desk C's hand-offs wait this much longer at the receiver
SLOPPY_INFO_SHARE = 0.5  # and this share of its escalations go to Awaiting User Info there
INFO_CHECK = 20 * 60  # the receiver's short look before asking the user (median)
# A resolver's session ends in: resolved, Pending (client action), Awaiting User Info, or a bounce back to the desk.
RESOLVER_NEXT = np.array([0.70, 0.12, 0.06, 0.12])
PENDING_WAIT = 8 * HOUR
USER_WAIT = 1 * DAY
REOPEN_SHARE = 0.08
REOPEN_AFTER = 20 * HOUR
AUTO_CLOSE = 3 * DAY  # fixed, plus up to AUTO_CLOSE_JITTER
AUTO_CLOSE_JITTER = 2 * DAY
SPREAD = 0.8
# Tickets arrive over 12 weeks and a half; the export is taken on the last Friday at 16:00, while tickets still arrive.
AS_OF_DAY, AS_OF_HOUR = 88, 16
AS_OF = START + AS_OF_DAY * DAY + AS_OF_HOUR * HOUR

# Wait classes of the truth (time spent in a state before the ticket's final Resolved).
WAIT_CLASSES = ["engage_queue", "handoff_queue", "customer", "resolved_before_reopen"]

DEFINITIONS = {
    "as_of": "the export time: events after it are not in the export; tickets not resolved by then are open",
    "delivered": "a ticket whose last event at as_of is Resolved or Closed; the others are open and are left out of lead, work, waits and flow efficiency",
    "lead_time": "from a ticket's first event (New) to its final Resolved, in seconds; the time from Resolved to Closed is not lead time",
    "work": "time in In Progress (at any team)",
    "engage_queue": "time in New: the desk's queue before its first work",
    "handoff_queue": (
        "time in Assigned: from the event Assigned whose group is the receiving team (a resolver, or the desk a ticket "
        "is bounced back to) to that team's first In Progress; it is the receiver's queue, not work"
    ),
    "customer": f"time in {PENDING_LABEL} or Awaiting User Info",
    "resolved_before_reopen": "time in a Resolved that was later reopened (it is inside the lead time)",
    "lead_identity": "for every delivered ticket, lead_time_s = work_s + the sum of its wait_s classes, exactly",
    "flow_efficiency_pooled": "Σ work_s / Σ lead_time_s over delivered tickets",
    "reopened": "tickets with a Resolved followed by In Progress (at most one reopen per ticket)",
    "bounced": "tickets a resolver sent back to their desk (an Assigned whose group is the desk): the group path has X→Y→X",
    "tickets_with_rework": f"reopened ∪ bounced; nothing else in this log is rework (a clean escalation desk → resolver → resolved is not, nor is resuming work after {PENDING_LABEL} or Awaiting User Info)",
    "by_desk": (
        "per desk team: tickets opened there, escalated, bounced, reopened; first_visit_mean_s is the mean time from a "
        "ticket's New to its first leaving the desk (escalated or resolved), the desk's own speed; "
        "handoff_queue_caused_mean_s the mean handoff_queue of its completed hand-offs"
    ),
    "handoff_queue_by_pair": "per receiving team, per sending team: completed hand-offs (the receiver's first In Progress before as_of) and their mean handoff_queue in seconds",
    "cases": (
        "each case of the truth file also has: desk, category, delivered, delivered_lead_time_s (null while open), "
        "work_s and wait_s by class (up to the final Resolved; for open tickets up to their last event), and rework: "
        "its kinds, [] or some of 'reopen', 'bounce'"
    ),
    "moved_bottlenecks": "desk teams that look fast only because their hand-offs are incomplete: their receivers wait longer for their tickets than for other senders' tickets into the same team, and ask the user for missing information",
    "decoys": "teams a naive moved-bottleneck rule flags: fast_clean is fast with clean hand-offs; fast_to_slowest sends everything to the slowest receiver, whose queue is as slow for every sender",
}


@dataclass
class Simulated:
    """Every event of every ticket, and what the truth accumulated while drawing them."""

    # per event, sorted by ticket then time
    ticket: np.ndarray
    time: np.ndarray
    label: np.ndarray
    group: np.ndarray
    actor_group: np.ndarray  # the team whose agent makes the update, -1 for none (New, auto-close)
    # per ticket
    opened: np.ndarray
    desk: np.ndarray
    domain: np.ndarray  # index into RESOLVERS
    priority: np.ndarray
    agent_u: np.ndarray  # [tickets, groups]: which agent of each team handles the ticket
    state: np.ndarray  # the state at as_of
    resolved_at: np.ndarray  # time of the last Resolved, -1 none
    work: np.ndarray
    waits: np.ndarray  # [tickets, WAIT_CLASSES]
    reopens: np.ndarray
    bounces: np.ndarray
    escalated: np.ndarray  # bool: the desk handed the ticket to a resolver at least once
    left_desk: np.ndarray  # time the ticket first left its desk (escalated or resolved there), -1 not yet
    # per completed hand-off
    handoff_sender: np.ndarray
    handoff_receiver: np.ndarray
    handoff_queue: np.ndarray

    @property
    def delivered(self) -> np.ndarray:
        return (self.state == RESOLVED) | (self.state == CLOSED)


def _lognormal(rng_z: np.ndarray, median: np.ndarray | float) -> np.ndarray:
    return np.asarray(median, np.float64) * np.exp(SPREAD * rng_z)


def arrivals(rng: np.random.Generator, n: int) -> np.ndarray:
    """Return ``n`` sorted opening times before :data:`AS_OF`, busier on weekdays and in office hours."""
    weight = WEEKDAY_LOAD[np.arange(AS_OF_DAY + 1) % 7][:, None] * HOUR_LOAD[None, :]  # START is a Monday
    weight[AS_OF_DAY, AS_OF_HOUR:] = 0.0
    slot = rng.choice(weight.size, size=n, p=(weight / weight.sum()).ravel())
    return np.sort(START + slot.astype(np.int64) * HOUR + rng.integers(0, HOUR, size=n))


def simulate(tickets: int, seed: int) -> Simulated:
    """Step every ticket through the teams at once, one event per ticket per round."""
    rng = np.random.default_rng([seed, 8])
    n = tickets
    opened = arrivals(rng, n)
    desk = np.searchsorted(np.cumsum(DESK_SHARE), rng.random(n), side="right").clip(0, 3).astype(np.int16)
    domain = (rng.random(n)[:, None] >= np.cumsum(DESK_DOMAINS[desk], axis=1)).sum(axis=1).clip(0, 2).astype(np.int16)
    escalates = rng.random(n) < DESK_ESCALATES[desk]
    priority = rng.choice(4, size=n, p=[0.05, 0.2, 0.5, 0.25]).astype(np.int16)
    agent_u = rng.random((n, len(GROUPS)))

    state = np.full(n, NEW, np.int8)
    group = desk.copy()
    sender = np.full(n, -1, np.int16)
    clock = opened.copy()
    escalated = np.zeros(n, bool)
    returned = np.zeros(n, bool)  # bounced back and not yet re-escalated or resolved
    info_due = np.zeros(n, bool)
    reopens = np.zeros(n, np.int8)
    bounces = np.zeros(n, np.int8)
    resolved_at = np.full(n, -1, np.int64)
    left_desk = np.full(n, -1, np.int64)
    work = np.zeros(n, np.int64)
    waits = np.zeros((n, len(WAIT_CLASSES)), np.int64)
    rec: dict[str, list[np.ndarray]] = {k: [] for k in ("ticket", "time", "label", "group", "actor_group")}
    hand: dict[str, list[np.ndarray]] = {k: [] for k in ("sender", "receiver", "queue")}

    def record(idx: np.ndarray, label: np.ndarray, actor: np.ndarray) -> None:
        rec["ticket"].append(idx.astype(np.int32))
        rec["time"].append(clock[idx])
        rec["label"].append(label.astype(np.int8))
        rec["group"].append(group[idx].astype(np.int16))
        rec["actor_group"].append(actor.astype(np.int16))

    everyone = np.arange(n)
    record(everyone, np.full(n, NEW), np.full(n, -1))
    active = everyone[clock <= AS_OF]
    rounds = 0
    while active.size and rounds < MAX_ROUNDS:
        rounds += 1
        m = active.size
        cur, g, d = state[active], group[active], desk[active]
        resolver = (domain[active] + NETWORK).astype(np.int16)
        at_desk = g < NETWORK
        u = rng.random((m, 3))
        z = rng.standard_normal(m)
        nxt = np.full(m, IN_PROGRESS, np.int8)
        g_new = g.copy()
        dt = np.zeros(m, np.float64)

        # New: the desk's queue, then its first work.
        s = cur == NEW
        dt[s] = _lognormal(z[s], DESK_QUEUE[d[s]])
        # In Progress at the desk: escalate (first time, or again after a bounce) or resolve.
        s = (cur == IN_PROGRESS) & at_desk
        up = s & ((escalates[active] & ~escalated[active]) | (returned[active] & (u[:, 0] < RE_ESCALATE)))
        nxt[s] = RESOLVED
        nxt[up] = ASSIGNED
        g_new[up] = resolver[up]
        dt[s] = _lognormal(z[s], DESK_WORK[d[s]])
        # Assigned: the receiver's queue. Service Desk C's hand-offs wait longer.
        s = cur == ASSIGNED
        to_resolver = s & ~at_desk
        factor = np.where(sender[active] == DESK_C, SLOPPY_QUEUE_FACTOR, 1.0)
        dt[to_resolver] = _lognormal(z[to_resolver], RESOLVER_QUEUE[np.maximum(g - NETWORK, 0)][to_resolver] * factor[to_resolver])
        dt[s & at_desk] = _lognormal(z[s & at_desk], RETURN_QUEUE)
        # In Progress at a resolver: ask for missing information first (C's tickets), else end the session.
        s = (cur == IN_PROGRESS) & ~at_desk
        ask = s & info_due[active]
        choice = (u[:, 1:2] >= np.cumsum(RESOLVER_NEXT)[None, :]).sum(axis=1)
        may_bounce = (bounces[active] == 0) & (reopens[active] == 0)
        choice = np.where((choice == 3) & ~may_bounce, 0, choice)
        session = s & ~ask
        nxt[session] = np.array([RESOLVED, PENDING, AWAITING_INFO, ASSIGNED], np.int8)[choice[session]]
        back = session & (choice == 3)
        g_new[back] = d[back]
        nxt[ask] = AWAITING_INFO
        dt[session] = _lognormal(z[session], RESOLVER_WORK[np.maximum(g - NETWORK, 0)][session])
        dt[ask] = _lognormal(z[ask], INFO_CHECK)
        # Waiting for the customer, then work resumes in the same team.
        s = cur == PENDING
        dt[s] = _lognormal(z[s], PENDING_WAIT)
        s = cur == AWAITING_INFO
        dt[s] = _lognormal(z[s], USER_WAIT)
        # Resolved: reopened (once at most), or auto-closed by the system.
        s = cur == RESOLVED
        reopen = s & (reopens[active] == 0) & (u[:, 2] < REOPEN_SHARE)
        close = s & ~reopen
        nxt[close] = CLOSED
        dt[reopen] = _lognormal(z[reopen], REOPEN_AFTER)
        dt[close] = AUTO_CLOSE + u[close, 0] * AUTO_CLOSE_JITTER

        step = np.clip(np.rint(dt), 1, 120 * DAY).astype(np.int64)
        when = clock[active] + step
        take = when <= AS_OF
        idx = active[take]
        c, ns, st = cur[take], nxt[take], step[take]
        # The truth's accounting: the interval just drawn belongs to the state it leaves.
        work[idx] += np.where(c == IN_PROGRESS, st, 0)
        waits[idx, 0] += np.where(c == NEW, st, 0)
        waits[idx, 1] += np.where(c == ASSIGNED, st, 0)
        waits[idx, 2] += np.where((c == PENDING) | (c == AWAITING_INFO), st, 0)
        waits[idx, 3] += np.where((c == RESOLVED) & (ns == IN_PROGRESS), st, 0)
        done_handoff = c == ASSIGNED
        hand["sender"].append(sender[idx[done_handoff]])
        hand["receiver"].append(group[idx[done_handoff]])
        hand["queue"].append(st[done_handoff])

        gn = g_new[take]
        handing = ns == ASSIGNED
        new_sender = np.where(handing, group[idx], sender[idx])
        actor = np.where(ns == CLOSED, -1, group[idx])  # who makes the update: the team that has the ticket
        from_desk = handing & (group[idx] < NETWORK)
        first_escalation = from_desk & ~escalated[idx]
        escalated[idx] |= from_desk
        info_due[idx] |= first_escalation & (desk[idx] == DESK_C) & (u[take, 2] < SLOPPY_INFO_SHARE)
        info_due[idx] &= ~(c == IN_PROGRESS) | (group[idx] < NETWORK)  # cleared by the resolver's first session
        returned[idx] = np.where(handing & (gn < NETWORK), True, np.where((c == IN_PROGRESS) & (group[idx] < NETWORK), False, returned[idx]))
        bounces[idx] += (handing & (gn < NETWORK)).astype(np.int8)
        reopens[idx] += ((c == RESOLVED) & (ns == IN_PROGRESS)).astype(np.int8)
        resolved_at[idx] = np.where(ns == RESOLVED, when[take], resolved_at[idx])
        left_desk[idx] = np.where((left_desk[idx] < 0) & ((ns == ASSIGNED) | (ns == RESOLVED)), when[take], left_desk[idx])
        clock[idx] = when[take]
        sender[idx] = new_sender
        state[idx] = ns
        group[idx] = gn
        record(idx, ns, actor)
        active = idx[ns != CLOSED]

    cols = {k: np.concatenate(v) for k, v in rec.items()}
    order = np.argsort(cols["ticket"], kind="stable")
    cols = {k: v[order] for k, v in cols.items()}
    return Simulated(
        **cols,
        opened=opened,
        desk=desk,
        domain=domain,
        priority=priority,
        agent_u=agent_u,
        state=state,
        resolved_at=resolved_at,
        work=work,
        waits=waits,
        reopens=reopens,
        bounces=bounces,
        escalated=escalated,
        left_desk=left_desk,
        handoff_sender=np.concatenate(hand["sender"]) if hand["sender"] else np.zeros(0, np.int16),
        handoff_receiver=np.concatenate(hand["receiver"]) if hand["receiver"] else np.zeros(0, np.int16),
        handoff_queue=np.concatenate(hand["queue"]) if hand["queue"] else np.zeros(0, np.int64),
    )


def _case_ids(n: int) -> pa.Array:
    """Return Remedy-style incident numbers, INC000000010001 on."""
    return render.padded("INC", 10_001 + np.arange(n, dtype=np.int64), 12)


def _resources(sim: Simulated, people: People) -> np.ndarray:
    """Return who makes each update: the ticket's agent in the acting team (one per team and ticket), -1 for none."""
    team = np.maximum(sim.actor_group, 0)
    who = people.member(team.astype(np.int16), sim.agent_u[sim.ticket, team])
    return np.where(sim.actor_group >= 0, who, -1)


def write(sim: Simulated, ids: pa.Array, names: list[str], resource: np.ndarray, path: str | os.PathLike[str]) -> int:
    """Write the event CSV; return its data rows."""
    n = len(sim.ticket)
    category = sim.domain

    def chunk(a: int, b: int) -> pa.Table:
        tk = sim.ticket[a:b]
        return pa.table({
            "case_id": ids.take(pa.array(tk)),
            "activity": render.labelled(sim.label[a:b], LABELS),
            "timestamp": render.timestamps(sim.time[a:b], TIME_FORMAT),
            "group": render.labelled(sim.group[a:b], GROUPS),
            "resource": render.labelled(resource[a:b], names),
            "priority": render.labelled(sim.priority[tk], PRIORITIES),
            "category": render.labelled(category[tk], CATEGORIES),
        })

    render.write_csv(path, n, chunk, quoting="none")
    return n


def truth_section(sim: Simulated, case_ids: list[str] | None) -> dict[str, object]:
    """Return the ``multi_team`` truth: accumulated lead, work and waits, rework by kind, hand-off queues."""
    n = len(sim.desk)
    delivered = sim.delivered
    lead = np.where(delivered, sim.resolved_at - sim.opened, 0)
    d_work = int(sim.work[delivered].sum())
    d_lead = int(lead.sum())
    reopened = sim.reopens > 0
    bounced = sim.bounces > 0
    rework = reopened | bounced
    pairs: dict[str, dict[str, dict[str, float | int]]] = {}
    for r in range(len(GROUPS)):
        into = sim.handoff_receiver == r
        for s_ in range(len(GROUPS)):
            sel = into & (sim.handoff_sender == s_)
            if sel.any():
                pairs.setdefault(GROUPS[r], {})[GROUPS[s_]] = {
                    "handoffs": int(sel.sum()),
                    "mean_s": round(float(sim.handoff_queue[sel].mean()), 1),
                }
    by_desk = {}
    for k, name in enumerate(DESKS):
        mine = sim.desk == k
        by_desk[name] = {
            "tickets": int(mine.sum()),
            "escalated": int((mine & sim.escalated).sum()),
            "first_visit_mean_s": round(float((sim.left_desk - sim.opened)[mine & (sim.left_desk >= 0)].mean()), 1),
            "handoff_queue_caused_mean_s": round(float(sim.handoff_queue[sim.handoff_sender == k].mean()), 1),
            "bounced": int((mine & bounced).sum()),
            "reopened": int((mine & reopened).sum()),
        }
    out: dict[str, object] = {
        "definitions": DEFINITIONS,
        "as_of": _iso(AS_OF),
        "desks": DESKS,
        "resolvers": RESOLVERS,
        "tickets": n,
        "delivered": int(delivered.sum()),
        "open": int((~delivered).sum()),
        "open_by_state": {LABELS[s]: int(((sim.state == s) & ~delivered).sum()) for s in range(len(LABELS)) if ((sim.state == s) & ~delivered).any()},
        "totals_delivered": {
            "lead_time_s": d_lead,
            "work_s": d_work,
            "wait_s": {c: int(sim.waits[delivered, k].sum()) for k, c in enumerate(WAIT_CLASSES)},
        },
        "flow_efficiency_pooled": round(d_work / d_lead, 6) if d_lead else None,
        "rework": {
            "tickets_with_rework": int(rework.sum()),
            "share": round(float(rework.mean()), 6),
            "reopened": int(reopened.sum()),
            "bounced": int(bounced.sum()),
            "reopened_and_bounced": int((reopened & bounced).sum()),
        },
        "by_desk": by_desk,
        "handoff_queue_by_pair": pairs,
        "moved_bottlenecks": MOVED_BOTTLENECKS,
        "decoys": DECOYS,
    }
    if case_ids is not None:
        ids = np.asarray(case_ids, dtype=object)
        out["tickets_with_rework"] = ids[rework].tolist()
        out["reopened"] = ids[reopened].tolist()
        out["bounced"] = ids[bounced].tolist()
        out["open_tickets"] = ids[~delivered].tolist()
    return out


def case_fields(sim: Simulated) -> dict[str, list[object]]:
    """Return the per-ticket truth added to each case of the truth file, in case order."""
    delivered = sim.delivered
    lead = np.where(delivered, sim.resolved_at - sim.opened, -1)
    kinds = np.array([[], ["reopen"], ["bounce"], ["reopen", "bounce"]], dtype=object)[
        (sim.reopens > 0).astype(int) + 2 * (sim.bounces > 0).astype(int)
    ]
    waits = [dict(zip(WAIT_CLASSES, row, strict=True)) for row in sim.waits.tolist()]
    return {
        "desk": [DESKS[k] for k in sim.desk.tolist()],
        "category": [CATEGORIES[k] for k in sim.domain.tolist()],
        "delivered": delivered.tolist(),
        "delivered_lead_time_s": [None if x < 0 else x for x in lead.tolist()],
        "work_s": sim.work.tolist(),
        "wait_s": waits,
        "rework": [list(k) for k in kinds.tolist()],
    }


def _iso(seconds: int) -> str:
    return str(np.datetime64(int(seconds), "s")) + "Z"


def sample(tickets: int, seed: int, path: str | os.PathLike[str]) -> Export:
    """Simulate the teams, write the event CSV; return what the truth needs."""
    sim = simulate(tickets, seed)
    people = make_people(GROUPS, tickets, np.random.default_rng([seed, 9]), big=tuple(DESKS[:1]))
    resource = _resources(sim, people)
    ids = _case_ids(tickets)
    rows = write(sim, ids, people.names, resource, path)
    events = Events(
        case=sim.ticket.astype(np.int64), time=sim.time, label=sim.label.astype(np.int64), group=sim.group.astype(np.int64),
        resource=resource.astype(np.int64), labels=LABELS, groups=GROUPS, resources=people.names, cases=tickets,
        meanings=MEANINGS,
    )
    small = tickets <= CASE_DETAIL_LIMIT
    notes = [
        "generic event log with Remedy-style statuses: one row per status event, columns case_id, activity, timestamp "
        "(ISO 8601, UTC), group, resource, priority, category; rows sorted by case, then time; every row is an event",
        "group is the team that holds the ticket after the event; the status Assigned carries the receiving team "
        "(the ticket waits in its queue until its first In Progress) and its resource is the agent who handed it over",
        "resource is empty for New (nobody has the ticket yet) and for Closed (auto-close by the system)",
        "see multi_team for lead, work, waits by class, rework by kind, hand-off queues per sender and the moved bottleneck",
    ]
    return Export(
        rows, "data rows of the CSV (one per event)", events, lambda: ids.to_pylist(),
        sim.domain.astype(np.int64), CATEGORIES, notes,
        sections={"multi_team": truth_section(sim, ids.to_pylist() if small else None)},
        case_fields=(lambda: case_fields(sim)),
    )
