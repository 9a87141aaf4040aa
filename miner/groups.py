"""Groups: each team's own speed next to the cost its hand-offs cause downstream.

A team can look fast because it passes tickets on quickly, leaving the
waiting and the rework to the teams after it. For each group vsm measures:

* local time: the median time a ticket stays with the group per visit (from
  being assigned to it until it moves on or is delivered), what the team's own
  dashboard would show;
* downstream cost per visit: the hand-off waits its outgoing hand-offs cause
  (until the next group's first work), the rework that follows them before the
  next hand-off, and reopens of tickets it delivered, spread over its visits;
* how often its hand-offs come straight back (bounces).

A group is flagged as a moved bottleneck when its local time is below the
median of groups while its downstream cost per visit is above the median of
groups and at least as large as its own local time.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from miner import segments
from miner.cases import US, CaseArrays
from miner.rework import Rework
from miner.waits import CLASSES

MIN_VISITS = 5


def group_table(arrays: CaseArrays, tclass: np.ndarray, duration: np.ndarray, rework: Rework, in_lead: np.ndarray) -> pd.DataFrame:
    """Return one row per group: local time, downstream cost, and the moved-bottleneck flag."""
    columns = ["group", "tickets", "visits", "local_time_median_s", "handoffs_out", "downstream_wait_s",
               "downstream_rework_s", "downstream_cost_per_visit_s", "bounced_back_share", "moved_bottleneck", "reason"]
    if arrays.group is None or not (arrays.group >= 0).any():
        return pd.DataFrame(columns=columns)
    case = arrays.case
    has_group = arrays.group >= 0
    current = segments.ffill(arrays.group.astype(np.float64), has_group, arrays.first_index)  # the group holding each event's state
    has = ~np.isnan(current)
    prev = segments.previous(current, arrays.is_first)
    change = has & ~np.isnan(prev) & (current != prev)
    visit_start = has & (change | np.isnan(prev))
    visit = np.cumsum(visit_start) - 1
    dur = np.where(in_lead, duration, 0).astype(np.float64)

    starts = np.flatnonzero(visit_start)
    per_visit = pd.DataFrame({
        "group": current[starts].astype(int),
        "case": case[starts],
        "t": np.bincount(visit[has], weights=dur[has], minlength=len(starts)),
    })

    # Downstream of each hand-off: its hand-off wait and the rework before the next hand-off.
    handoff_wait = np.where(tclass == CLASSES.index("handoff"), dur, 0.0)
    events = rework.event_kind
    rework_cost = np.where(events["repetition"] | events["self_loop"], dur, 0.0) + np.where(events["backflow"], dur, 0.0)
    seg_sender = segments.ffill(prev, change, arrays.first_index)
    after = ~np.isnan(seg_sender) & has
    down = pd.DataFrame({"g": seg_sender[after].astype(int), "wait": handoff_wait[after], "rework": rework_cost[after]})
    down_wait = down.groupby("g")["wait"].sum()
    down_rework = down.groupby("g")["rework"].sum()
    # Reopens are charged to the group that delivered the ticket.
    reopen_time = rework.event_kind["reopen_us"].to_numpy()
    reopened = reopen_time > 0
    if reopened.any():
        idx = np.flatnonzero(reopened)
        holder = current[np.maximum(idx - 1, 0)]
        ok = ~np.isnan(holder)
        extra = pd.Series(reopen_time[idx][ok]).groupby(holder[ok].astype(int)).sum()
        down_rework = down_rework.add(extra, fill_value=0.0)
    handoffs = pd.Series(prev[change].astype(int)).value_counts()
    names = arrays.group_names
    out = per_visit.groupby("group").agg(tickets=("case", "nunique"), visits=("t", "size"), local=("t", "median"))
    out.index.name = None
    out["handoffs_out"] = handoffs.reindex(out.index).fillna(0).astype(int)
    out["downstream_wait_s"] = down_wait.reindex(out.index).fillna(0.0) / US
    out["downstream_rework_s"] = down_rework.reindex(out.index).fillna(0.0) / US
    out["local_time_median_s"] = out["local"] / US
    out["downstream_cost_per_visit_s"] = (out["downstream_wait_s"] + out["downstream_rework_s"]) / out["visits"]
    bounced = rework.handoffs.groupby("from_group")["bounced_back"].sum() if len(rework.handoffs) else pd.Series(dtype=float)
    out["group"] = names[out.index.to_numpy()].astype(str)
    out["bounced_back_share"] = (bounced.reindex(out["group"]).fillna(0).to_numpy() / out["handoffs_out"].replace(0, np.nan)).fillna(0.0)
    eligible = out["visits"] >= MIN_VISITS
    local_med = out.loc[eligible, "local_time_median_s"].median() if eligible.any() else np.nan
    cost_med = out.loc[eligible, "downstream_cost_per_visit_s"].median() if eligible.any() else np.nan
    flag = eligible & (out["local_time_median_s"] < local_med) & (out["downstream_cost_per_visit_s"] > cost_med) & (
        out["downstream_cost_per_visit_s"] >= out["local_time_median_s"]
    )
    out["moved_bottleneck"] = flag
    out["reason"] = [
        (f"fast locally (median {_h(lt)} per visit, groups' median {_h(local_med)}) but its hand-offs cost "
         f"{_h(dc)} per visit downstream (groups' median {_h(cost_med)})") if f else ""
        for f, lt, dc in zip(flag, out["local_time_median_s"], out["downstream_cost_per_visit_s"], strict=True)
    ]
    out = out.sort_values(["moved_bottleneck", "downstream_cost_per_visit_s", "group"], ascending=[False, False, True], ignore_index=True)
    return out[columns]


def _h(seconds: float) -> str:
    if seconds is None or np.isnan(seconds):
        return "-"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} min"
    if seconds < 36 * 3600:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} d"
