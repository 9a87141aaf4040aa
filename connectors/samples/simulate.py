"""Stepping every ticket through its flow at once.

All tickets move in lockstep: each round draws the next step of every ticket
still open, with numpy, so the cost is a loop over rounds (a few dozen), never
over tickets or events. A ticket leaves the round when it reaches a final step
or when its next update would fall after the export time (it is still open in
the export).

Two modes:

* ``changes`` (vendor exports): an update is recorded only when it changes the
  state, the group, or gives an unassigned ticket an assignee; a step that
  would change nothing is skipped at no cost in time. Exactly one of the
  three may change per update, so every record is one event of
  ``docs/architecture.md``'s conventions.
* ``activities`` (an activity log): every step that names an activity is
  recorded as that activity, and may also move the ticket to another group or
  person; a step without one (an optional last activity not taken) is
  skipped like a no-op.

Times are whole seconds since the epoch (UTC); a ticket's records are at least
one second apart, so their order is never a tie.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from connectors.samples.chain import (
    GROUP_DETOUR,
    GROUP_FIXED,
    GROUP_RESOLVER,
    GROUP_RETURN,
    Compiled,
)
from connectors.samples.people import People

REASSIGNED = "Reassigned"
ASSIGNED_TO_GROUP = "Assigned to group"
ASSIGNED = "Picked up by assignee"
HANDOFF_LABELS = (REASSIGNED, ASSIGNED_TO_GROUP, ASSIGNED)

# Record kinds.
CREATE, STATE, HANDOFF, PICKUP = range(4)
SYSTEM_ACTOR = -2

DAY = 86_400
MAX_WAIT = 120 * DAY
MAX_ROUNDS = 500
# Arrivals: Monday 6 January 2025, over 13 weeks; the export is taken 3 days later.
START = 1_736_121_600
WINDOW_DAYS = 91
EXPORT_AT = START + (WINDOW_DAYS + 3) * DAY + 6 * 3600
WEEKDAY_LOAD = np.array([1.0, 1.0, 0.95, 0.95, 0.85, 0.2, 0.15])
HOUR_LOAD = np.array(
    [0.1, 0.05, 0.05, 0.05, 0.1, 0.2, 0.5, 1.2, 2.5, 3.0, 3.0, 2.6, 2.0, 2.6, 2.8, 2.6, 2.2, 1.5, 0.9, 0.6, 0.4, 0.3, 0.2, 0.15]
)


@dataclass
class Trace:
    """What happened to every ticket: one record per update, sorted by ticket, then time."""

    process: Compiled
    people: People
    # per ticket
    ticket_type: np.ndarray  # int16
    requester: np.ndarray  # int32 person id
    resolver: np.ndarray  # int16 group
    # per record
    ticket: np.ndarray  # int32
    time: np.ndarray  # int64 epoch seconds
    node: np.ndarray  # int32
    label: np.ndarray  # int16: the event's label (a state, an activity, or a hand-off label)
    kind: np.ndarray  # int8: CREATE, STATE, HANDOFF or PICKUP
    state: np.ndarray  # int16: the state after the update
    group: np.ndarray  # int16: the group after the update, -1 none
    assignee: np.ndarray  # int32: the assignee after the update, -1 none
    actor: np.ndarray  # int32: who made the update; SYSTEM_ACTOR for automations

    @property
    def tickets(self) -> int:
        return len(self.ticket_type)

    def first_record(self) -> np.ndarray:
        """Return the index of each ticket's first record."""
        return np.searchsorted(self.ticket, np.arange(self.tickets, dtype=self.ticket.dtype))

    def last_record(self) -> np.ndarray:
        """Return the index of each ticket's last record."""
        return np.searchsorted(self.ticket, np.arange(self.tickets, dtype=self.ticket.dtype), side="right") - 1


def arrivals(rng: np.random.Generator, n: int) -> np.ndarray:
    """Return ``n`` sorted opening times, busier on weekdays and in office hours."""
    weekday = np.arange(WINDOW_DAYS) % 7  # START is a Monday
    day_weight = WEEKDAY_LOAD[weekday]
    day = rng.choice(WINDOW_DAYS, size=n, p=day_weight / day_weight.sum())
    hour = rng.choice(24, size=n, p=HOUR_LOAD / HOUR_LOAD.sum())
    second = rng.integers(0, 3600, size=n)
    return np.sort(START + day.astype(np.int64) * DAY + hour * 3600 + second)


def simulate(process: Compiled, people: People, tickets: int, rng: np.random.Generator, *, mode: str = "changes") -> Trace:
    """Run every ticket through its flow; return the records, sorted by ticket and time.

    In ``changes`` mode the hand-off labels (Reassigned, Assigned to group,
    Picked up by assignee) are added to ``process.labels``. A ticket still moving after
    ``MAX_ROUNDS`` updates stops where it is, as if still open at the export.
    """
    if mode not in ("changes", "activities"):
        raise ValueError(f"unknown mode {mode!r}")
    labels = process.labels
    if mode == "changes":
        for name in HANDOFF_LABELS:
            if name not in labels:
                labels.append(name)
    reassigned, to_group, assigned = (labels.index(x) if x in labels else -1 for x in HANDOFF_LABELS)
    n = tickets
    opened = arrivals(rng, n)
    ttype = rng.choice(len(process.type_names), size=n, p=process.type_weight).astype(np.int16)
    requester = people.requesters[rng.integers(0, len(people.requesters), size=n)]
    pick_u = rng.random(n)
    resolver = process.type_resolvers[ttype, (pick_u * process.type_resolver_count[ttype]).astype(np.int64)]
    start_u = rng.random(n)
    start_j = (start_u[:, None] >= process.type_start_cum[ttype]).sum(axis=1)
    node = process.type_start[ttype, start_j].astype(np.int32)

    state = np.full(n, -1, np.int16)
    group = np.full(n, -1, np.int16)
    pgroup = np.full(n, -1, np.int16)
    assignee = np.full(n, -1, np.int32)
    clock = opened.copy()
    out: dict[str, list[np.ndarray]] = {k: [] for k in ("ticket", "time", "node", "label", "kind", "state", "group", "assignee", "actor")}

    def record(idx: np.ndarray, label: np.ndarray, kind: np.ndarray, actor: np.ndarray, nodes: np.ndarray) -> None:
        out["ticket"].append(idx.astype(np.int32))
        out["time"].append(clock[idx])
        out["node"].append(nodes)
        out["label"].append(label.astype(np.int16))
        out["kind"].append(kind.astype(np.int8))
        out["state"].append(state[idx])
        out["group"].append(group[idx])
        out["assignee"].append(assignee[idx])
        out["actor"].append(actor.astype(np.int32))

    # Creation: every ticket's first record.
    all_idx = np.arange(n)
    u = rng.random((n, 3))
    g_target = _group_target(process, node, all_idx, group, pgroup, resolver, ttype, u[:, 0])
    group[:] = np.where(g_target >= 0, g_target, -1)
    state[:] = process.node_label[node]
    picked = process.node_pick[node] & (group >= 0)
    assignee[:] = np.where(picked, people.member(group, u[:, 2]), -1)
    actor = _actor(process, people, node, all_idx, np.full(n, -1, np.int32), group, group, requester, assignee, u[:, 1])
    record(all_idx, process.node_label[node], np.full(n, CREATE), actor, node)

    active = np.flatnonzero(~process.node_final[node] & (clock <= EXPORT_AT))
    rounds = 0
    while active.size and rounds < MAX_ROUNDS:
        rounds += 1
        m = active.size
        cur = node[active]
        u = rng.random((m, 5))
        z = rng.standard_normal(m)
        j = (u[:, 0:1] >= process.cum[cur]).sum(axis=1)
        j = np.minimum(j, process.cum.shape[1] - 1)
        nxt = process.succ[cur, j]
        w = process.wait[cur, j]
        dt = w[:, 2] + w[:, 0] * np.exp(w[:, 1] * z) + w[:, 3] * u[:, 1]
        dt = np.clip(np.rint(dt), 1, MAX_WAIT).astype(np.int64)

        g_old = group[active]
        a_old = assignee[active]
        g_target = _group_target(process, nxt, active, group, pgroup, resolver, ttype, u[:, 2])
        g_change = (g_target >= 0) & (g_target != g_old)
        g_new = np.where(g_change, g_target, g_old)
        a_mid = np.where(g_change, -1, a_old)
        picked = process.node_pick[nxt] & (a_mid < 0) & (g_new >= 0)
        agent = people.member(g_new, u[:, 3])
        a_new = np.where(picked, agent, a_mid)
        lab = process.node_label[nxt]
        if mode == "changes":
            s_change = (lab >= 0) & (lab != state[active])
            changes = s_change.astype(np.int8) + g_change + picked
            if (changes > 1).any():
                bad = process.node_names[int(nxt[np.argmax(changes > 1)])]
                raise ValueError(f"step {bad} changes more than one of state, group and assignee in one update")
            rec = changes == 1
            ev_label = np.where(s_change, lab, np.where(g_change, np.where(g_old >= 0, reassigned, to_group), assigned))
            ev_kind = np.where(s_change, STATE, np.where(g_change, HANDOFF, PICKUP))
        else:
            # A step without an activity only ends or routes the ticket: nothing is recorded.
            rec = lab >= 0
            ev_label = lab
            ev_kind = np.where(g_change, HANDOFF, np.where(picked, PICKUP, STATE))
            s_change = rec

        # A skipped step moves the ticket on without taking time.
        when = clock[active] + np.where(rec, dt, 0)
        in_time = when <= EXPORT_AT
        take = rec & in_time
        idx = active[take]
        actor = _actor(
            process, people, nxt[take], idx, a_old[take], g_old[take], g_new[take], requester, np.where(picked, agent, -1)[take], u[take, 4]
        )
        clock[idx] = when[take]
        group[idx] = g_new[take]
        moved = take & g_change
        pgroup[active[moved]] = g_old[moved]
        assignee[idx] = a_new[take]
        state[idx] = np.where(s_change[take] & (lab[take] >= 0), lab[take], state[idx])
        record(idx, ev_label[take], ev_kind[take], actor, nxt[take])

        node[active[in_time]] = nxt[in_time]
        keep = in_time & ~process.node_final[nxt]
        active = active[keep]

    columns = {k: np.concatenate(v) for k, v in out.items()}
    order = np.argsort(columns["ticket"], kind="stable")
    columns = {k: v[order] for k, v in columns.items()}
    return Trace(
        process=process,
        people=people,
        ticket_type=ttype,
        requester=requester,
        resolver=resolver,
        **columns,
    )


def _group_target(
    process: Compiled,
    nodes: np.ndarray,
    idx: np.ndarray,
    group: np.ndarray,
    pgroup: np.ndarray,
    resolver: np.ndarray,
    ttype: np.ndarray,
    u: np.ndarray,
) -> np.ndarray:
    """Return each step's hand-off target group (-1: no hand-off)."""
    kind = process.node_group[nodes]
    target = np.full(len(nodes), -1, np.int16)
    target = np.where(kind == GROUP_RESOLVER, resolver[idx], target)
    target = np.where(kind == GROUP_RETURN, pgroup[idx], target)
    target = np.where(kind == GROUP_FIXED, process.node_fixed_group[nodes], target)
    detour = np.flatnonzero(kind == GROUP_DETOUR)
    if detour.size:
        t = ttype[idx[detour]]
        count = process.type_detour_count[t].astype(np.int64)
        first = (u[detour] * count).astype(np.int64)
        chosen = np.full(detour.size, -1, np.int16)
        # Try the drawn group, then the next ones, skipping the current group and the resolver.
        for shift in range(3):
            k = (first + shift) % np.maximum(count, 1)
            candidate = np.where(count > 0, process.type_detours[t, k], -1)
            ok = (chosen < 0) & (candidate >= 0) & (candidate != group[idx[detour]]) & (candidate != resolver[idx[detour]])
            chosen = np.where(ok, candidate, chosen)
        target[detour] = chosen
    return target


def _actor(
    process: Compiled,
    people: People,
    nodes: np.ndarray,
    idx: np.ndarray,
    assignee_before: np.ndarray,
    group_before: np.ndarray,
    group_after: np.ndarray,
    requester: np.ndarray,
    picker: np.ndarray,
    u: np.ndarray,
) -> np.ndarray:
    """Return who makes each update: see the actors of :mod:`connectors.samples.chain`."""
    kind = process.node_actor[nodes]
    # The assignee; with none, a dispatcher of the group that had the ticket
    # (or, for a ticket that had none, of the group it goes to); else the system.
    dispatcher = people.member(np.where(group_before >= 0, group_before, group_after), u)
    someone = np.where(assignee_before >= 0, assignee_before, dispatcher)
    someone = np.where(someone >= 0, someone, SYSTEM_ACTOR)
    actor = np.where(kind == 1, requester[idx], someone)
    actor = np.where(kind == 2, SYSTEM_ACTOR, actor)
    actor = np.where((kind == 3) & (picker >= 0), picker, actor)
    return actor.astype(np.int32)
