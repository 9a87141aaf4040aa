"""XES lifecycle transitions: joining start and complete events into intervals.

``--lifecycle`` decides:

* ``events`` keeps every row as its own event named by its activity, as pm4py
  does (a start and its complete are two events of the same name);
* ``pair`` joins the k-th ``start`` of an activity in a case to its k-th
  ``complete`` into one event from start to end; other transitions
  (schedule, suspend …) stay events, named ``activity (transition)``;
* ``auto`` pairs when the log's transitions are only ``start`` and
  ``complete``, and keeps events otherwise (for example BPIC 2012, whose
  ``schedule`` events would make a paired model differ from the recorded one),
  saying so in the load report.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from connectors.eventlog import END_TIMESTAMP, TIMESTAMP
from connectors.report import tally


@dataclass
class Paired:
    frame: pd.DataFrame  # rows of the input that remain, with end_timestamp set on paired starts
    keep: np.ndarray  # positions (into the input) of the rows that remain as events
    pairs: int
    note: str


def decide(mode: str, transitions: pd.Series) -> tuple[bool, str, bool]:
    """Return whether to pair start/complete events, why, and whether the user should consider the other choice.

    Kept apart because other transitions (schedule …) occur too, the
    start and complete of one piece of work count as two events: the user is
    told on every command, not only by ``vsm inspect``.
    """
    values = set(transitions.dropna().astype(str).str.lower().unique())
    if mode == "events":
        return False, "lifecycle transitions kept as separate events (--lifecycle events)", False
    if mode == "pair":
        return True, "start/complete events joined into intervals (--lifecycle pair)", False
    if {"start", "complete"} <= values and values <= {"start", "complete"}:
        return True, "start/complete events joined into intervals (only start and complete occur)", False
    if "start" in values and "complete" in values:
        others = sorted(values - {"start", "complete"})
        named = ", ".join(f"'{o}'" for o in others)
        return False, (
            f"lifecycle transitions kept as separate events, as pm4py does, because the log also has {named} "
            "transitions; pass --lifecycle pair to join each start and complete "
            "into one interval (the other transitions stay events of their own)"
        ), True
    return False, "", False


def pair_intervals(frame: pd.DataFrame, case: np.ndarray, activity: np.ndarray, transition: pd.Series) -> Paired:
    """Join each start to the matching complete of the same activity in the same case.

    ``frame`` holds ``timestamp`` (UTC) in input order; ``case`` and
    ``activity`` are integer codes. Matching is first-in, first-out in time.
    """
    kind = transition.astype("str").str.lower().to_numpy()
    n = len(frame)
    ts = frame[TIMESTAMP].to_numpy(dtype="datetime64[us]").view("int64")
    is_start = kind == "start"
    is_complete = kind == "complete"
    pos = np.arange(n)

    def ranks(mask: np.ndarray) -> pd.DataFrame:
        sub = pd.DataFrame({"case": case[mask], "act": activity[mask], "ts": ts[mask], "pos": pos[mask]})
        sub = sub.sort_values(["case", "act", "ts", "pos"], kind="stable")
        sub["k"] = sub.groupby(["case", "act"], sort=False).cumcount()
        return sub

    starts, completes = ranks(is_start), ranks(is_complete)
    joined = starts.merge(completes, on=["case", "act", "k"], suffixes=("_s", "_c"))
    joined = joined[joined["ts_c"] >= joined["ts_s"]]

    out = frame.copy()
    end = pd.Series(pd.NaT, index=out.index, dtype=out[TIMESTAMP].dtype)
    end.iloc[joined["pos_s"].to_numpy()] = out[TIMESTAMP].iloc[joined["pos_c"].to_numpy()].to_numpy()
    out[END_TIMESTAMP] = end
    drop = np.zeros(n, dtype=bool)
    drop[joined["pos_c"].to_numpy()] = True
    keep = pos[~drop]
    note = f"{tally(len(joined), 'start/complete pair')} joined into one interval event each"
    return Paired(out, keep, len(joined), note)
