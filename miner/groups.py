"""Groups: each team's own speed next to the cost its hand-offs cause downstream.

A team can look fast because it passes tickets on quickly, leaving the
waiting and the rework to the teams after it. For each group vsm measures:

* local time: the median time a ticket stays with the group per visit (from
  being assigned to it until it moves on or is delivered), what the team's own
  dashboard would show;
* downstream cost per visit: the hand-off waits its outgoing hand-offs cause
  (until the next group's first work), the rework that follows them before the
  next hand-off, and reopens of tickets it delivered, spread over its visits;
* how often its hand-offs come straight back (bounces);
* the downstream excess of its hand-offs, with the receiver held constant.

Downstream excess. Each hand-off (a change of group within a ticket, sender S
to receiver R, in a ticket of type T) has one value: the waiting (every wait
class) and the rework in R's visit that follows it, until the next hand-off or
delivery. A slow receiver makes every sender's hand-offs costly, so S's
hand-offs are compared only with other senders' hand-offs into the same
(R, T): S's excess is the mean over its hand-offs of (value − the mean of the
other senders' hand-offs into that (R, T)). Cells that S alone sends to give
no comparison and are left out. The interval is a percentile bootstrap of
those differences (scipy.stats.bootstrap). The p-value tests whether the
sender matters once (R, T) is fixed: S's hand-offs are replaced, within each
(R, T), by hand-offs drawn from all senders' (see :func:`excess_tests`).
p-values are adjusted for testing many groups (Benjamini–Hochberg).

A group is flagged as a moved bottleneck when its excess is significantly
above zero (adjusted p below 0.05) and its own median time per visit is below
the groups' median. Flagged groups, then the rest, rank by total excess hours
(excess per hand-off × comparable hand-offs).
"""

from __future__ import annotations

import os
import zlib
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd

from miner import segments
from miner.cases import US, CaseArrays
from miner.rework import Rework
from miner.significance import bh_adjusted, bootstrap_mean_interval, normal_sf, t_interval
from miner.waits import CLASSES

MIN_VISITS = 5  # a group needs this many visits to be flagged, and this many comparable hand-offs to be tested
ALPHA = 0.05  # false discovery rate of the moved-bottleneck flags
RESAMPLES = 2000  # null draws for a p-value (fewer where the first are far from significant, see _null_p)
CI_RESAMPLES = 1000  # bootstrap resamples for an interval
# Above this many comparable hand-offs the mean's sampling distribution is normal to within the
# bootstrap's own noise, and a t interval replaces resampling (1M hand-offs: 60 s → a few s).
BOOTSTRAP_MAX = 2000
FIRST_DRAWS, HOPELESS = 100, 0.2  # after this many null draws, a p-value above this cannot end below ALPHA
SEED = 20251206  # every engine, every run: the same intervals and p-values
BATCH_VALUES = 4_000_000  # resampled values held at once (32 MB of float64)
WAIT_CLASSES = ("queue", "customer", "vendor", "internal", "handoff")
COLUMNS = ["group", "tickets", "visits", "local_time_median_s", "handoffs_out", "downstream_wait_s",
           "downstream_rework_s", "downstream_cost_per_visit_s", "bounced_back_share", "comparable_handoffs",
           "downstream_excess_s", "downstream_excess_ci_s", "downstream_excess_total_s", "p_value", "moved_bottleneck", "reason"]
HANDOFF_COLUMNS = ["sender", "receiver", "ticket_type", "us"]


def group_part(arrays: CaseArrays, tclass: np.ndarray, duration: np.ndarray, rework: Rework, in_lead: np.ndarray,
               ticket_type: np.ndarray) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Return per group the additive downstream figures, one row per visit (group, t_us, case_id),
    and one row per hand-off (sender, receiver, ticket_type, us: the waiting and rework downstream of it).

    ``ticket_type`` holds each case's type (the stratum of the comparison).
    """
    empty = (pd.DataFrame(columns=["group", "handoffs_out", "downstream_wait_us", "downstream_rework_us", "bounced_back"]),
             pd.DataFrame({"group": pd.Categorical([], categories=[]), "t_us": pd.Series([], dtype=np.int64),
                           "case_id": pd.Categorical([], categories=[])}),
             _handoff_frame(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int64), [], []))
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
    bounds = np.searchsorted(visit[has], np.arange(len(starts)))
    visits = pd.DataFrame({
        "group": pd.Categorical.from_codes(current[starts].astype(np.int64), categories=names),
        "t_us": np.add.reduceat(dur[has], bounds) if len(starts) else np.zeros(0, dtype=np.int64),
        "case_id": arrays.case_id_categorical(case[starts]),
    })

    # Downstream of each hand-off: its hand-off wait and the rework before the next hand-off.
    handoff_wait = np.where(tclass == CLASSES.index("handoff"), dur, 0)
    events = rework.event_kind
    reworked = (events["repetition"] | events["self_loop"] | events["backflow"]).to_numpy(dtype=bool)
    rework_cost = np.where(reworked, dur, 0)
    seg_sender = segments.ffill(prev, change, arrays.first_index)
    after = ~np.isnan(seg_sender) & has
    sender = seg_sender[after].astype(int)
    n_groups = len(names)
    down_wait = _sums(sender, handoff_wait[after], n_groups)
    down_rework = _sums(sender, rework_cost[after], n_groups)
    # Reopens are charged to the group that delivered the ticket.
    reopen_time = events["reopen_us"].to_numpy()
    idx = np.flatnonzero(reopen_time > 0)
    if len(idx):
        holder = current[np.maximum(idx - 1, 0)]
        ok = ~np.isnan(holder)
        down_rework = down_rework + _sums(holder[ok].astype(int), reopen_time[idx][ok].astype(np.int64), n_groups)
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

    # One value per hand-off: every wait and the rework in the receiver's visit that follows it.
    downstream = np.isin(tclass, [CLASSES.index(c) for c in WAIT_CLASSES]) | reworked
    per_visit = np.add.reduceat(np.where(downstream, dur, 0)[has], bounds) if len(starts) else np.zeros(0, dtype=np.int64)
    handed = ~np.isnan(prev[starts])
    type_codes, type_names = pd.factorize(pd.Series(ticket_type, dtype=object).astype(str))
    first = starts[handed]
    handoffs = _handoff_frame(prev[first].astype(np.int64), current[first].astype(np.int64), type_codes[case[first]],
                              per_visit[handed].astype(np.int64), names, np.asarray(type_names, dtype=str))
    return table[used].reset_index(drop=True), visits, handoffs


def _sums(keys: np.ndarray, values: np.ndarray, n: int) -> np.ndarray:
    """Per key 0 … n-1, the exact int64 sum of its ``values`` (0 where none)."""
    out = np.zeros(n, dtype=np.int64)
    np.add.at(out, keys, values.astype(np.int64))
    return out


def _handoff_frame(sender: np.ndarray, receiver: np.ndarray, ticket_type: np.ndarray, us: np.ndarray, groups, types) -> pd.DataFrame:  # type: ignore[no-untyped-def]
    group_index = pd.Index(np.asarray(groups, dtype=str), dtype=object)
    return pd.DataFrame({
        "sender": pd.Categorical.from_codes(sender, categories=group_index),
        "receiver": pd.Categorical.from_codes(receiver, categories=group_index),
        "ticket_type": pd.Categorical.from_codes(ticket_type, categories=pd.Index(np.asarray(types, dtype=str), dtype=object)),
        "us": us.astype(np.int64),
    })


def group_table(additive: pd.DataFrame, visits: pd.DataFrame, handoffs: pd.DataFrame | None = None) -> pd.DataFrame:
    """Return one row per group: local time, downstream cost and excess, and the moved-bottleneck flag.

    ``visits`` is the aggregate of the visit measure: group, count (visits),
    distinct (tickets), q50 (median µs per visit); ``handoffs`` every hand-off
    of the log (see :func:`group_part`).
    """
    if additive.empty or visits.empty:
        return pd.DataFrame(columns=COLUMNS)
    out = visits.rename(columns={"count": "visits", "distinct": "tickets"})
    out["group"] = out["group"].astype(str)
    out["local_time_median_s"] = out["q50"] / US
    out = out.merge(additive.astype({"group": str}), on="group", how="left").fillna(
        {"handoffs_out": 0, "downstream_wait_us": 0, "downstream_rework_us": 0, "bounced_back": 0})
    out["downstream_wait_s"] = out["downstream_wait_us"] / US
    out["downstream_rework_s"] = out["downstream_rework_us"] / US
    out["handoffs_out"] = out["handoffs_out"].astype(int)
    out["downstream_cost_per_visit_s"] = (out["downstream_wait_s"] + out["downstream_rework_s"]) / out["visits"]
    out["bounced_back_share"] = (out["bounced_back"] / out["handoffs_out"].replace(0, np.nan)).fillna(0.0)

    tests = excess_tests(handoffs if handoffs is not None else pd.DataFrame(columns=HANDOFF_COLUMNS))
    out = out.merge(tests, on="group", how="left")
    out["comparable_handoffs"] = out["comparable_handoffs"].fillna(0).astype(np.int64)
    tested = out["p_raw"].notna().to_numpy()
    adjusted = np.full(len(out), np.nan)
    if tested.any():
        adjusted[tested] = bh_adjusted(out.loc[tested, "p_raw"].to_numpy())
    out["p_value"] = adjusted
    out["downstream_excess_total_s"] = out["downstream_excess_s"] * out["comparable_handoffs"]

    eligible = out["visits"] >= MIN_VISITS
    local_med = out.loc[eligible, "local_time_median_s"].median() if eligible.any() else np.nan
    flag = (eligible & (out["local_time_median_s"] < local_med) & (out["p_value"] < ALPHA) & (out["downstream_excess_s"] > 0)).to_numpy(dtype=bool)
    out["moved_bottleneck"] = flag
    out["reason"] = [_reason(r, local_med) if f else "" for f, r in zip(flag, out.itertuples(index=False), strict=True)]
    out["downstream_excess_ci_s"] = [[float(lo), float(hi)] if not np.isnan(lo) else None
                                     for lo, hi in zip(out["ci_low"], out["ci_high"], strict=True)]
    rank = out["downstream_excess_total_s"].fillna(-np.inf)
    out = out.assign(_rank=rank).sort_values(["moved_bottleneck", "_rank", "group"], ascending=[False, False, True], ignore_index=True)
    return out[COLUMNS]


def _reason(r, local_med: float) -> str:  # type: ignore[no-untyped-def]
    return (f"fast locally (median {_h(r.local_time_median_s)} per visit, groups' median {_h(local_med)}) but after its hand-offs "
            f"the receiving group waits or reworks {_h(r.downstream_excess_s)} longer per hand-off "
            f"(95% CI {_h(r.ci_low)} to {_h(r.ci_high)}) than after other groups' hand-offs to the same group and ticket type; "
            f"{int(r.comparable_handoffs):,} comparable hand-offs, {r.downstream_excess_s * r.comparable_handoffs / 3600:,.0f} excess hours "
            f"(adjusted p {r.p_value:.2g})")


def excess_tests(handoffs: pd.DataFrame, resamples: int = RESAMPLES) -> pd.DataFrame:
    """Per sending group: comparable hand-offs, excess per hand-off (s), its 95% interval and a one-sided p-value.

    A cell is one (receiver, ticket type); a sender's hand-off is comparable
    when another sender hands off into the same cell. Excess = the mean over
    comparable hand-offs of (value − mean of the other senders' values in the
    cell). Interval: scipy.stats.bootstrap (percentile, 1,000 resamples) of
    those differences, the other senders' means taken as known; above 2,000
    hand-offs, scipy's t interval of their mean (the same to within the
    bootstrap's noise, without a billion draws on a large log).

    p-value: under "the sender does not matter within a cell", S's values in a
    cell of n hand-offs, k of them S's, are a random k of the cell's n values.
    scipy's permutation_test cannot hold cells fixed, so the null draws are
    made here: each cell's sum for S is redrawn from the cell's values (the
    smaller of S's k and the others' n − k, with replacement, which is
    conservative by at most a factor 2 in variance), and p = (1 + draws at or
    above the observed excess) / (1 + draws), as permutation_test counts.
    Draws stop after 100 when p is then above 0.2 (far from significant),
    else go on to 2,000. Above 2,000 comparable hand-offs the same null
    distribution is taken as normal (its exact mean 0 and variance, by the
    central limit theorem) and p is scipy's ``norm.sf``: the draws would cost
    seconds on a large log and agree to their own noise.

    Hand-offs are put in a canonical order and each group's draws are seeded
    by its name, so any partitioning of the log gives the same figures.
    """
    columns = ["group", "comparable_handoffs", "downstream_excess_s", "ci_low", "ci_high", "p_raw"]
    if handoffs is None or handoffs.empty:
        return pd.DataFrame(columns=columns)
    sender_names = np.array(sorted(set(map(str, handoffs["sender"].cat.categories))), dtype=object)
    s = _recode(handoffs["sender"], sender_names)
    c = _cell_codes(handoffs)
    y = handoffs["us"].to_numpy(dtype=np.int64)
    order = np.lexsort((y, c, s))  # canonical: sender, cell, value
    s, c, y = s[order], c[order], y[order].astype(np.float64) / US
    n_cells, n_groups = int(c.max()) + 1, len(sender_names)
    n_c = np.bincount(c, minlength=n_cells)
    sum_c = np.bincount(c, weights=y, minlength=n_cells)
    var_c = np.maximum(np.bincount(c, weights=y * y, minlength=n_cells) / np.maximum(n_c, 1) - (sum_c / np.maximum(n_c, 1)) ** 2, 0.0)
    cell = c.astype(np.int64) * n_groups + s
    cells, cell_of, k = np.unique(cell, return_inverse=True, return_counts=True)
    sum_cs = np.bincount(cell_of, weights=y)
    others = n_c[cells // n_groups] - k
    comparable = (others > 0)[cell_of]
    with np.errstate(invalid="ignore", divide="ignore"):
        m_other = (sum_c[cells // n_groups] - sum_cs) / others
    d = y - m_other[cell_of]
    pool_order = np.lexsort((y, c))
    pool, pool_start = y[pool_order], np.r_[0, np.cumsum(n_c)[:-1]]

    bounds = np.searchsorted(s, np.arange(n_groups + 1))

    def test(g: int) -> tuple | None:  # type: ignore[type-arg]
        lo, hi = bounds[g], bounds[g + 1]
        d_g = d[lo:hi][comparable[lo:hi]]
        if len(d_g) == 0:
            return None
        excess = float(d_g.mean())
        seed = [SEED, zlib.crc32(str(sender_names[g]).encode())]
        ci_low = ci_high = np.nan
        if len(d_g) > BOOTSTRAP_MAX and np.ptp(d_g) > 0:
            ci_low, ci_high = t_interval(d_g)
        elif len(d_g) >= 2 and np.ptp(d_g) > 0:
            ci_low, ci_high = bootstrap_mean_interval(d_g, min(resamples, CI_RESAMPLES), max(1, BATCH_VALUES // len(d_g)),
                                                      np.random.default_rng([*seed, 0]))
        elif len(d_g) >= 2:  # every difference alike: every resample's mean is that difference
            ci_low = ci_high = excess
        g_cells = np.flatnonzero((cells % n_groups == g) & (others > 0))
        if len(d_g) < MIN_VISITS:  # a p-value of one or two hand-offs says nothing: not tested, and no part of the BH family
            p = np.nan
        elif len(d_g) > BOOTSTRAP_MAX:
            p = _normal_p(excess, len(d_g), cells[g_cells] // n_groups, k[g_cells], n_c, var_c)
        else:
            p = _null_p(excess, len(d_g), cells[g_cells] // n_groups, k[g_cells], n_c, sum_c, pool, pool_start, resamples,
                        np.random.default_rng([*seed, 1]))
        return (sender_names[g], int(len(d_g)), excess, ci_low, ci_high, p)

    # Side by side on threads: the draws, gathers and sums run outside the GIL; each group has its own seed.
    with ThreadPoolExecutor(max_workers=max(1, min(os.cpu_count() or 1, 4))) as threads:
        rows = [r for r in threads.map(test, range(n_groups)) if r is not None]
    return pd.DataFrame(rows, columns=columns)


def _normal_p(excess: float, n: int, cell: np.ndarray, k: np.ndarray, n_c: np.ndarray, var_c: np.ndarray) -> float:
    """One-sided p-value of ``excess`` under the null of :func:`_null_p`, taken as normal (many hand-offs)."""
    size = n_c[cell]
    draws = np.minimum(k, size - k)
    weight = size / (size - k) / n
    sd = float(np.sqrt(np.sum(weight * weight * draws * var_c[cell])))
    if sd == 0:
        return 1.0 if excess <= 0 else 0.0
    return normal_sf(excess / sd)


def _null_p(excess: float, n: int, cell: np.ndarray, k: np.ndarray, n_c: np.ndarray, sum_c: np.ndarray, pool: np.ndarray,
            pool_start: np.ndarray, resamples: int, rng: np.random.Generator) -> float:
    """One-sided p-value of ``excess`` when the sender's values in each cell are redrawn from the cell's values."""
    size = n_c[cell]
    own_side = k <= size - k  # draw the sender's k values, or the others' n − k and take the rest
    draws = np.where(own_side, k, size - k)
    weight = size / (size - k) / n  # excess = Σ weight · (sender's sum − k · cell mean)
    slot_cell = np.repeat(np.arange(len(cell)), draws)
    slot_start, slot_size = pool_start[cell][slot_cell], size[slot_cell]
    offsets = np.r_[0, np.cumsum(draws)[:-1]]
    mean = sum_c[cell] / size
    batch = max(1, BATCH_VALUES // max(len(slot_cell), 1))
    at_least, done = 0, 0
    tolerance = 1e-9 * max(abs(excess), 1.0)
    while done < resamples:
        if done >= FIRST_DRAWS and (1 + at_least) / (1 + done) > HOPELESS:
            break  # far from significant: more draws would not change the verdict
        b = min(batch, resamples - done, FIRST_DRAWS - done if done < FIRST_DRAWS else resamples)
        picked = pool[slot_start + (rng.random((b, len(slot_cell))) * slot_size).astype(np.int64)]
        sums = np.add.reduceat(picked, offsets, axis=1)
        own = np.where(own_side, sums, sum_c[cell] - sums)
        null = ((own - k * mean) * weight).sum(axis=1)
        at_least += int((null >= excess - tolerance).sum())
        done += b
    return (1 + at_least) / (1 + done)


def _recode(column: pd.Series, names: np.ndarray) -> np.ndarray:
    """Codes of a categorical column in ``names`` (sorted): the same whatever order the partitions built it in."""
    position = pd.Index(names).get_indexer(np.asarray(column.cat.categories, dtype=str))
    return position[column.cat.codes.to_numpy()].astype(np.int64)


def _cell_codes(handoffs: pd.DataFrame) -> np.ndarray:
    """A code per (receiver, ticket type), numbered in the sorted order of the names."""
    r_names = np.array(sorted(set(map(str, handoffs["receiver"].cat.categories))), dtype=object)
    t_names = np.array(sorted(set(map(str, handoffs["ticket_type"].cat.categories))), dtype=object)
    r, t = _recode(handoffs["receiver"], r_names), _recode(handoffs["ticket_type"], t_names)
    _, codes = np.unique(r * len(t_names) + t, return_inverse=True)
    return codes.astype(np.int64)


def _h(seconds: float) -> str:
    if seconds is None or np.isnan(seconds):
        return "-"
    if seconds < 0:
        return "−" + _h(-seconds)
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} min"
    if seconds < 36 * 3600:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} d"
