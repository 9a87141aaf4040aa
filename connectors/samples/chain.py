"""The process a sample simulates: per ticket type, a Markov chain of steps.

A *flow* is one ticket type's chain. Each *step* says what the update does
to the ticket (enter a state, hand it to another group, have someone pick it
up) and who makes it; each *move* from a step names the next step, its
probability and how long the ticket waits before it. :func:`compile_process`
turns the flows of a source into flat arrays that
:mod:`connectors.samples.simulate` steps through for all tickets at once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

# Where a hand-off sends the ticket.
RESOLVER = "@resolver"  # the group that owns this kind of ticket (drawn per ticket)
RETURN = "@return"  # the group that had the ticket before the current one
DETOUR = "@detour"  # a wrong group, neither the current one nor the resolver

# Who makes an update.
ASSIGNEE = "assignee"  # the current assignee; with none, someone of the current group
REQUESTER = "requester"  # the caller, reporter or requester of the ticket
SYSTEM = "system"  # an automation (auto-close, SLA rules)
PICKER = "picker"  # the person who picks the ticket up in this step

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def seconds(text: str | float) -> float:
    """Return a duration such as ``"90s"``, ``"10m"``, ``"4h"``, ``"2d"`` or ``"1.5w"`` in seconds."""
    if isinstance(text, int | float):
        return float(text)
    match = re.fullmatch(r"\s*([0-9.]+)\s*([smhdw])\s*", text)
    if not match:
        raise ValueError(f"not a duration: {text!r} (use e.g. '90s', '10m', '4h', '2d', '1w')")
    return float(match.group(1)) * _UNITS[match.group(2)]


@dataclass(frozen=True)
class Wait:
    """How long a ticket waits before a move: ``fixed`` + lognormal(``median``, ``spread``) + uniform(0, ``jitter``)."""

    median: float
    spread: float = 0.8
    fixed: float = 0.0
    jitter: float = 0.0


def wait(median: str, spread: float = 0.8, *, fixed: str = "0s", jitter: str = "0s") -> Wait:
    """Return a :class:`Wait` from durations written as text."""
    return Wait(seconds(median), spread, seconds(fixed), seconds(jitter))


@dataclass(frozen=True)
class Step:
    """What one update does to a ticket.

    ``label`` is the state entered (or, for an activity log, the activity
    recorded); ``group`` is a hand-off target (a group name, :data:`RESOLVER`,
    :data:`RETURN` or :data:`DETOUR`); ``pick`` has someone of the current
    group pick the ticket up when nobody has it; ``actor`` says who makes the
    update.
    """

    label: str | None = None
    group: str | None = None
    pick: bool = False
    actor: str = ASSIGNEE


@dataclass(frozen=True)
class Flow:
    """One ticket type: its share of tickets, its steps and the moves between them."""

    name: str
    weight: float
    start: str | tuple[tuple[str, float], ...]  # the creation step, or a choice of them
    steps: dict[str, Step]
    moves: dict[str, list[tuple[str, float, Wait]]]
    resolvers: tuple[str, ...]
    detours: tuple[str, ...] = ()

    def starts(self) -> tuple[tuple[str, float], ...]:
        return ((self.start, 1.0),) if isinstance(self.start, str) else self.start


@dataclass
class Compiled:
    """A source's flows as flat arrays; node ids are global across flows."""

    labels: list[str]  # event labels, by code
    groups: list[str]  # group names, by code
    node_names: list[str]
    node_label: np.ndarray  # int16, -1: the step enters no state
    node_group: np.ndarray  # int8: 0 none, 1 resolver, 2 return, 3 detour, 4 fixed
    node_fixed_group: np.ndarray  # int16
    node_pick: np.ndarray  # bool
    node_actor: np.ndarray  # int8: index into ACTORS
    node_final: np.ndarray  # bool: no moves out
    succ: np.ndarray  # int32 [nodes, width]
    cum: np.ndarray  # float64 [nodes, width], cumulative probabilities (1.0 padded)
    wait: np.ndarray  # float64 [nodes, width, 4]: median, spread, fixed, jitter
    type_names: list[str]
    type_weight: np.ndarray
    type_start: np.ndarray  # int32 [types, width]: creation steps
    type_start_cum: np.ndarray  # float64 [types, width]
    type_resolvers: np.ndarray  # int16 [types, width], padded with -1
    type_resolver_count: np.ndarray
    type_detours: np.ndarray
    type_detour_count: np.ndarray


ACTORS = (ASSIGNEE, REQUESTER, SYSTEM, PICKER)
GROUP_NONE, GROUP_RESOLVER, GROUP_RETURN, GROUP_DETOUR, GROUP_FIXED = range(5)


def compile_process(flows: list[Flow], *, labels: list[str] | None = None, groups: list[str] | None = None) -> Compiled:
    """Return the flows as arrays, checking that every move leads to a known step."""
    label_list = list(labels or [])
    group_list = list(groups or [])

    def code(values: list[str], value: str) -> int:
        if value not in values:
            values.append(value)
        return values.index(value)

    names: list[str] = []
    index: dict[tuple[int, str], int] = {}
    for t, flow in enumerate(flows):
        for name in flow.steps:
            index[(t, name)] = len(names)
            names.append(f"{flow.name}:{name}")
    k = len(names)
    width = max((len(moves) for flow in flows for moves in flow.moves.values()), default=1) or 1
    node_label = np.full(k, -1, np.int16)
    node_group = np.zeros(k, np.int8)
    node_fixed = np.full(k, -1, np.int16)
    node_pick = np.zeros(k, bool)
    node_actor = np.zeros(k, np.int8)
    node_final = np.zeros(k, bool)
    succ = np.zeros((k, width), np.int32)
    cum = np.ones((k, width), np.float64)
    waits = np.zeros((k, width, 4), np.float64)
    waits[:, :, 0] = 1.0
    for t, flow in enumerate(flows):
        for start, _ in flow.starts():
            if start not in flow.steps:
                raise ValueError(f"flow {flow.name!r}: start step {start!r} is not among its steps")
        for name, step in flow.steps.items():
            i = index[(t, name)]
            if step.label is not None:
                node_label[i] = code(label_list, step.label)
            if step.group in (None, ""):
                node_group[i] = GROUP_NONE
            elif step.group == RESOLVER:
                node_group[i] = GROUP_RESOLVER
            elif step.group == RETURN:
                node_group[i] = GROUP_RETURN
            elif step.group == DETOUR:
                node_group[i] = GROUP_DETOUR
            else:
                node_group[i] = GROUP_FIXED
                node_fixed[i] = code(group_list, step.group)
            node_pick[i] = step.pick
            if name in dict(flow.starts()) and step.label is None:
                raise ValueError(f"flow {flow.name!r}: creation step {name!r} needs a label")
            if step.actor not in ACTORS:
                raise ValueError(f"flow {flow.name!r}, step {name!r}: unknown actor {step.actor!r}")
            node_actor[i] = ACTORS.index(step.actor)
            moves = flow.moves.get(name, [])
            node_final[i] = not moves
            total = sum(p for _, p, _ in moves)
            if moves and abs(total - 1.0) > 1e-9:
                raise ValueError(f"flow {flow.name!r}, step {name!r}: move probabilities sum to {total}, not 1")
            running = 0.0
            for j, (target, p, w) in enumerate(moves):
                if (t, target) not in index:
                    raise ValueError(f"flow {flow.name!r}, step {name!r}: move to unknown step {target!r}")
                succ[i, j] = index[(t, target)]
                running += p
                cum[i, j] = running
                waits[i, j] = (w.median, w.spread, w.fixed, w.jitter)
            if moves:
                cum[i, len(moves) - 1 :] = 1.0
                succ[i, len(moves) :] = succ[i, len(moves) - 1]
        for name in flow.moves:
            if name not in flow.steps:
                raise ValueError(f"flow {flow.name!r}: moves from unknown step {name!r}")

    def group_table(attr: str) -> tuple[np.ndarray, np.ndarray]:
        rows = [[code(group_list, g) for g in getattr(flow, attr)] for flow in flows]
        w = max((len(r) for r in rows), default=1) or 1
        table = np.full((len(flows), w), -1, np.int16)
        for t, r in enumerate(rows):
            table[t, : len(r)] = r
        return table, np.array([len(r) for r in rows], np.int16)

    resolvers, resolver_count = group_table("resolvers")
    detours, detour_count = group_table("detours")
    start_width = max(len(f.starts()) for f in flows)
    type_start = np.zeros((len(flows), start_width), np.int32)
    type_start_cum = np.ones((len(flows), start_width), np.float64)
    for t, flow in enumerate(flows):
        running = 0.0
        for j, (name, p) in enumerate(flow.starts()):
            running += p
            type_start[t, j] = index[(t, name)]
            type_start_cum[t, j] = running
        type_start[t, len(flow.starts()) :] = type_start[t, len(flow.starts()) - 1]
        type_start_cum[t, len(flow.starts()) - 1 :] = 1.0
    return Compiled(
        labels=label_list,
        groups=group_list,
        node_names=names,
        node_label=node_label,
        node_group=node_group,
        node_fixed_group=node_fixed,
        node_pick=node_pick,
        node_actor=node_actor,
        node_final=node_final,
        succ=succ,
        cum=cum,
        wait=waits,
        type_names=[f.name for f in flows],
        type_weight=np.array([f.weight for f in flows], np.float64) / sum(f.weight for f in flows),
        type_start=type_start,
        type_start_cum=type_start_cum,
        type_resolvers=resolvers,
        type_resolver_count=resolver_count,
        type_detours=detours,
        type_detour_count=detour_count,
    )
