"""Generated periods for `vsm diff` whose truth is known by construction.

One process: a ticket opens ``New`` at one of three desks (A, B, C), is worked
there (``In Progress``), and is either resolved at the desk or escalated
(``Assigned`` to the resolver team ``Network``), which works it and resolves
it. A share of resolved tickets is reopened once (``In Progress`` again, then
``Resolved``). Every time is lognormal around a median that a :class:`Params`
holds, so two periods differ in exactly the parameters changed between them.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd

H = 3600
DAY = 24 * H
START = pd.Timestamp("2025-01-06 00:00", tz="UTC")
DESKS = ["Service Desk A", "Service Desk B", "Service Desk C"]


@dataclass(frozen=True)
class Params:
    desk_queue_s: float = 0.5 * H
    desk_work_s: tuple[float, float, float] = (1.5 * H, 1.5 * H, 2.0 * H)  # A, B, C
    escalate: float = 0.7
    resolver_queue_s: tuple[float, float, float] = (6 * H, 6 * H, 6 * H)  # for hand-offs from A, B, C
    resolver_work_s: float = 2 * H
    reopen: float = 0.08
    spread: float = 0.6


BEFORE = Params()
# Desk C got faster by passing incomplete tickets: its own work fell, its hand-offs now wait longer at Network.
AFTER_MOVED = replace(BEFORE, desk_work_s=(1.5 * H, 1.5 * H, 0.5 * H), resolver_queue_s=(6 * H, 6 * H, 14 * H))


def generate(params: Params, tickets: int, seed: int, *, start: pd.Timestamp = START, days: float = 28,
             as_of: pd.Timestamp | None = None, prefix: str = "T") -> pd.DataFrame:
    """Events of ``tickets`` tickets opened over ``days`` from ``start``; events after ``as_of`` are not exported."""
    rng = np.random.default_rng(seed)
    n = tickets
    opened = np.sort(rng.uniform(0, days * DAY, n))
    desk = rng.integers(0, 3, n)
    esc = rng.random(n) < params.escalate
    reopen = rng.random(n) < params.reopen

    def draw(median: np.ndarray | float) -> np.ndarray:
        return np.asarray(median, float) * np.exp(params.spread * rng.standard_normal(n))

    t_new = opened
    t_work = t_new + draw(params.desk_queue_s)
    t_leave = t_work + draw(np.asarray(params.desk_work_s)[desk])
    t_rwork = t_leave + draw(np.asarray(params.resolver_queue_s)[desk])
    t_resolved = np.where(esc, t_rwork + draw(params.resolver_work_s), t_leave)
    t_reopen = t_resolved + draw(20 * H)
    t_reresolved = t_reopen + draw(1 * H)
    final_group = np.where(esc, "Network", np.asarray(DESKS, dtype=object)[desk])
    desk_name = np.asarray(DESKS, dtype=object)[desk]
    ids = np.array([f"{prefix}{i:06d}" for i in range(n)], dtype=object)
    slots = [
        (np.ones(n, bool), "New", t_new, desk_name, 0),
        (np.ones(n, bool), "In Progress", t_work, desk_name, 1),
        (esc, "Assigned", t_leave, np.full(n, "Network", dtype=object), 2),
        (esc, "In Progress", t_rwork, np.full(n, "Network", dtype=object), 3),
        (np.ones(n, bool), "Resolved", t_resolved, final_group, 4),
        (reopen, "In Progress", t_reopen, final_group, 5),
        (reopen, "Resolved", t_reresolved, final_group, 6),
    ]
    frames = []
    for mask, activity, t, group, order in slots:
        frames.append(pd.DataFrame({"case_id": ids[mask], "activity": activity, "seconds": t[mask], "group": group[mask],
                                    "order": order, "priority": np.where(desk[mask] == 2, "P2", "P3")}))
    events = pd.concat(frames, ignore_index=True).sort_values(["case_id", "order"], kind="stable")
    events["timestamp"] = start + pd.to_timedelta(events.pop("seconds").round(), unit="s")
    if as_of is not None:
        events = events[events["timestamp"] <= as_of]
    events = events.drop(columns="order")
    return events[["case_id", "activity", "timestamp", "group", "priority"]].reset_index(drop=True)


def write(frame: pd.DataFrame, path: Path) -> Path:
    out = frame.copy()
    out["timestamp"] = out["timestamp"].dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    out.to_csv(path, index=False)
    return path
