"""Export rows: each event of a trace, followed by the updates before the next
event that change nothing vsm counts (work notes, priority, comments …).

Those *noise* updates are placed strictly between two events of the same
ticket, so they never change an event's time or order, and a connector that
folds them gets exactly the trace's events back.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from connectors.samples.simulate import CREATE, HANDOFF, PICKUP, Trace


@dataclass
class Rows:
    """Export rows in order: per ticket, by time."""

    record: np.ndarray  # int64: the trace record the row follows (the event itself, or the last event before it)
    is_event: np.ndarray  # bool
    time: np.ndarray  # int64 epoch seconds
    kind: np.ndarray  # int8: -1 for events, else the noise kind drawn
    ticket: np.ndarray  # int32
    first: np.ndarray  # bool: the ticket's first row

    def __len__(self) -> int:
        return len(self.record)

    def carry(self, setter: np.ndarray, values: np.ndarray) -> np.ndarray:
        """Return, for every row, ``values`` at the latest row at or before it that is a ``setter``.

        A ticket's first row must be a setter, so values never leak between tickets.
        """
        if not setter[self.first].all():
            raise ValueError("a ticket's first row must set the value it carries")
        idx = np.flatnonzero(setter)
        # Each row takes the last setter at or before it: a running count of setters indexes them.
        return values[idx[np.cumsum(setter) - 1]]

    def cumulative(self, flag: np.ndarray) -> np.ndarray:
        """Return, for every row, how many rows of its ticket up to and including it are flagged."""
        total = np.cumsum(flag, dtype=np.int64)
        before = self.carry(self.first, total - flag)
        return total - before


def interleave(trace: Trace, rng: np.random.Generator, counts: np.ndarray, kinds: np.ndarray, *, min_gap: int = 120) -> Rows:
    """Return the trace's records with noise updates drawn between consecutive events of a ticket.

    ``counts[k]`` is the probability of k noise updates in a gap (gaps shorter
    than ``min_gap`` seconds get none); ``kinds`` the probability of each kind.
    """
    n = len(trace.ticket)
    same_next = np.zeros(n, bool)
    same_next[:-1] = trace.ticket[1:] == trace.ticket[:-1]
    gap = np.zeros(n, np.int64)
    gap[:-1] = trace.time[1:] - trace.time[:-1]
    k = np.searchsorted(np.cumsum(counts), rng.random(n), side="right").clip(0, len(counts) - 1)
    k = np.where(same_next & (gap >= min_gap), k, 0)
    k = np.minimum(k, np.maximum(gap - 1, 0))
    record = np.repeat(np.arange(n, dtype=np.int64), 1 + k)
    start = np.cumsum(1 + k) - (1 + k)
    sub = np.arange(len(record), dtype=np.int64) - np.repeat(start, 1 + k)
    is_event = sub == 0
    # Noise j of k in a gap falls in the j-th of k equal slots, strictly inside the gap.
    kk = np.maximum(k[record], 1)
    width = (gap[record] - 1) // kk
    offset = 1 + (sub - 1) * width + (rng.random(len(record)) * width).astype(np.int64)
    time = np.where(is_event, trace.time[record], trace.time[record] + offset)
    kind = np.where(is_event, -1, np.searchsorted(np.cumsum(kinds), rng.random(len(record)), side="right").clip(0, len(kinds) - 1))
    ticket = trace.ticket[record]
    first = np.ones(len(record), bool)
    first[1:] = ticket[1:] != ticket[:-1]
    return Rows(record, is_event, time, kind.astype(np.int8), ticket, first)


def with_takeovers(trace: Trace, rows: Rows, wanted: np.ndarray, u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return the assignee at every row, where ``wanted`` noise rows hand the ticket to
    another agent of the same group, and which rows did (only assigned tickets can be taken over).

    Only creation, hand-off and pickup events set the assignee otherwise, so a
    takeover lasts until the next hand-off: later events carry the new agent.
    """
    rec = rows.record
    people = trace.people
    sets_person = rows.is_event & np.isin(trace.kind[rec], (CREATE, HANDOFF, PICKUP))
    base = rows.carry(sets_person, trace.assignee[rec])
    group = np.maximum(trace.group[rec], 0)
    count = people.roster_count[group]
    takeover = wanted & (base >= 0) & (count > 1)
    head = people.roster[group, 0]
    other = head + (base - head + 1 + (u * np.maximum(count - 1, 1)).astype(np.int64)) % np.maximum(count, 1)
    assignee = rows.carry(sets_person | takeover, np.where(takeover, other, trace.assignee[rec]))
    return assignee.astype(np.int32), takeover


def changed_value(rows: Rows, initial: np.ndarray, wanted: np.ndarray, choices: int, u: np.ndarray) -> np.ndarray:
    """Return a per-ticket value (0 .. choices-1) at every row, starting at ``initial`` and set
    to another value at each ``wanted`` row."""
    new = (initial[rows.ticket] + 1 + (u * (choices - 1)).astype(np.int64)) % choices
    return rows.carry(rows.first | wanted, np.where(rows.first, initial[rows.ticket], new))


def actors(trace: Trace, rows: Rows, assignee: np.ndarray) -> np.ndarray:
    """Return who made each event row's update, after takeovers.

    The trace gives many updates to the ticket's assignee of the moment; when
    another agent has taken the ticket over since, that agent makes them.
    Noise rows get -1 (each export decides who makes those).
    """
    rec = rows.record
    prev = np.maximum(np.arange(len(rows)) - 1, 0)
    actor = trace.actor[rec]
    by_holder = rows.is_event & ~rows.first & (actor >= 0) & (actor == trace.assignee[rec[prev]])
    actor = np.where(by_holder, assignee[prev], actor)
    return np.where(rows.is_event, actor, -1).astype(np.int32)
