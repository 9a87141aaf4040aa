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
COLUMNS = ["group", "tickets", "visits", "local_time_median_s", "handoffs_out", "downstream_wait_s",
           "downstream_rework_s", "downstream_cost_per_visit_s", "bounced_back_share", "moved_bottleneck", "reason"]


def group_part(arrays: CaseArrays, tclass: np.ndarray, duration: np.ndarray, rework: Rework, in_lead: np.ndarray) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return per group the additive downstream figures, and one row per visit (group, t_s, case_id)."""
    empty = (pd.DataFrame(columns=["group", "handoffs_out", "downstream_wait_us", "downstream_rework_us", "bounced_back"]),
             pd.DataFrame({"group": pd.Categorical([], categories=[]), "t_us": pd.Series([], dtype=np.int64),
                           "case_id": pd.Categorical([], categories=[])}))
    if arrays.group is None or not (arrays.group >= 0).any():
        return empty
    case = arrays.case
    has_group = arrays.group >= 0
    current = segments.ffill(arrays.group.astype(np.float64), has_group, arrays.first_index)  # the group holding each event's state
    has = ~np.isnan(current)
    prev = segments.previous(current, arrays.is_first)
    change = has & ~np.isnan(prev) & (current != prev)
    visit_start = has & (change | np.isnan(prev))
    visit = np.cumsum(visit_start) - 1
    dur = np.where(in_lead, duration, 0).astype(np.int64)
    names = arrays.group_names.astype(str)
    starts = np.flatnonzero(visit_start)
    visits = pd.DataFrame({
        "group": pd.Categorical.from_codes(current[starts].astype(np.int64), categories=names),
        "t_us": np.add.reduceat(dur[has], np.searchsorted(visit[has], np.arange(len(starts)))) if len(starts) else np.zeros(0, dtype=np.int64),
        "case_id": pd.Categorical.from_codes(case[starts], categories=arrays.case_ids.astype(str)),
    })

    # Downstream of each hand-off: its hand-off wait and the rework before the next hand-off.
    handoff_wait = np.where(tclass == CLASSES.index("handoff"), dur, 0)
    events = rework.event_kind
    rework_cost = np.where(events["repetition"] | events["self_loop"] | events["backflow"], dur, 0)
    seg_sender = segments.ffill(prev, change, arrays.first_index)
    after = ~np.isnan(seg_sender) & has
    sender = seg_sender[after].astype(int)
    n_groups = len(names)
    down_wait = pd.Series(handoff_wait[after]).groupby(sender).sum().reindex(range(n_groups), fill_value=0).to_numpy()
    down_rework = pd.Series(rework_cost[after]).groupby(sender).sum().reindex(range(n_groups), fill_value=0).to_numpy()
    # Reopens are charged to the group that delivered the ticket.
    reopen_time = events["reopen_us"].to_numpy()
    idx = np.flatnonzero(reopen_time > 0)
    if len(idx):
        holder = current[np.maximum(idx - 1, 0)]
        ok = ~np.isnan(holder)
        down_rework = down_rework + pd.Series(reopen_time[idx][ok].astype(np.int64)).groupby(holder[ok].astype(int)).sum().reindex(range(n_groups), fill_value=0).to_numpy()
    handoffs_out = np.bincount(prev[change].astype(int), minlength=n_groups)
    bounced = rework.handoffs.groupby("from_group")["bounced_back"].sum() if len(rework.handoffs) else pd.Series(dtype=float)
    table = pd.DataFrame({
        "group": names.astype(object),
        "handoffs_out": handoffs_out,
        "downstream_wait_us": down_wait.astype(np.int64),
        "downstream_rework_us": down_rework.astype(np.int64),
        "bounced_back": bounced.reindex(names).fillna(0).to_numpy(),
    })
    used = np.zeros(n_groups, dtype=bool)
    used[np.unique(current[has].astype(int))] = True
    return table[used].reset_index(drop=True), visits


def group_table(additive: pd.DataFrame, visits: pd.DataFrame) -> pd.DataFrame:
    """Return one row per group: local time, downstream cost, and the moved-bottleneck flag.

    ``visits`` is the aggregate of the visit measure: group, count (visits),
    distinct (tickets), q50 (median µs per visit).
    """
    if additive.empty or visits.empty:
        return pd.DataFrame(columns=COLUMNS)
    out = visits.rename(columns={"count": "visits", "distinct": "tickets"})
    out["local_time_median_s"] = out["q50"] / US
    out = out.merge(additive, on="group", how="left").fillna({"handoffs_out": 0, "downstream_wait_us": 0, "downstream_rework_us": 0, "bounced_back": 0})
    out["downstream_wait_s"] = out["downstream_wait_us"] / US
    out["downstream_rework_s"] = out["downstream_rework_us"] / US
    out["handoffs_out"] = out["handoffs_out"].astype(int)
    out["downstream_cost_per_visit_s"] = (out["downstream_wait_s"] + out["downstream_rework_s"]) / out["visits"]
    out["bounced_back_share"] = (out["bounced_back"] / out["handoffs_out"].replace(0, np.nan)).fillna(0.0)
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
    return out[COLUMNS]


def _h(seconds: float) -> str:
    if seconds is None or np.isnan(seconds):
        return "-"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} min"
    if seconds < 36 * 3600:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} d"
