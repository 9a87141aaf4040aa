"""Before and after: what changed between two sets of tickets, and whether it is more than noise.

Two sides are analysed under one plan (the same mapping rules, stream
attribute and design), each to its own :class:`Side`: the results, and the
per-visit and per-hand-off values behind the groups' medians. :func:`compare_sides`
then compares, overall and per stream:

* lead time median and p90, **right-censored**: a Kaplan–Meier estimate over
  delivered and open tickets, open ones censored at their age at the
  export's end, so that a later period does not look faster because its slow
  tickets have not finished. The point estimates come from
  ``scipy.stats.ecdf`` on ``CensoredData``; the interval and p-value of the
  change from ``scipy.stats.bootstrap`` (percentile) of the difference, with
  the Kaplan–Meier quantile of each resample computed in numpy;
* rates (rework, reopen, ping-pong, conforming share): Wilson intervals
  (``binomtest(...).proportion_ci``) and Fisher's exact test, the interval of
  the difference from the two Wilson intervals (Newcombe's method);
* flow efficiency and wait share (ratios of sums over delivered tickets) and
  mean fitness: bootstrap of the difference;
* time and wait per designed step, time in each state class, each group's
  own time per visit and the cost its hand-offs meet at the next team: medians
  or means compared with Mann–Whitney;
* variants: shares compared with Fisher's exact test; appeared or vanished
  when one side has none.

All p-values of one comparison are adjusted together (Benjamini–Hochberg,
``scipy.stats.false_discovery_control``). A change is called a change only when
its adjusted p-value is below ``alpha``; otherwise it is "no clear change" and
both values are given.

Moved bottleneck over time: a group (or designed step) whose own time fell
significantly while the wait or rework its hand-offs meet downstream (or the
next step's wait) rose significantly, and whose log's lead time did not fall
significantly.
"""

from __future__ import annotations

import math
import re
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from connectors.errors import BadOption
from connectors.eventlog import ACTIVITY
from miner.analysis import PATH_SEP, Plan
from miner.cases import US
from miner.conformance import NO_STREAM
from miner.discovery import analyse_on_threads
from miner.filters import parse_date, ticket_anchor
from miner.results import Results, aggregate_measures, finalize

ALPHA = 0.05
RESAMPLES = 999
SEED = 20251215
MIN_TICKETS = 20  # a stream, step or group is compared only with at least this many values on each side
TOP_VARIANTS = 20
STATE_CLASSES = ("work", "queue", "customer", "vendor", "internal", "handoff", "reopened")
# Worse is up for times and rates, down for these.
HIGHER_IS_BETTER = {"flow_efficiency", "fitness", "conforming_share"}
METRICS = ("tickets", "lead_time_median_h", "lead_time_p90_h", "rework_rate", "reopen_rate", "pingpong_rate",
           "flow_efficiency", "wait_share", "fitness", "conforming_share")


@dataclass
class Side:
    """One side of a diff: its results and the raw values behind the groups' medians."""

    label: str
    results: Results
    visits: pd.DataFrame  # group, t_us: one row per visit of a ticket to a group
    handoffs: pd.DataFrame  # sender, receiver, ticket_type, us: one row per hand-off
    source: str = ""
    period: tuple[str | None, str | None] = (None, None)  # first and last ticket opened (ISO)
    flags: list[str] = field(default_factory=list)  # the options that reproduce the reading and the filters


@dataclass
class Diff:
    before: Side
    after: Side
    alpha: float
    metrics: pd.DataFrame
    steps: pd.DataFrame
    states: pd.DataFrame
    variants: pd.DataFrame
    groups: pd.DataFrame
    moved_bottlenecks: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def analyse_side(log: pd.DataFrame, plan: Plan, label: str, source: str = "", flags: list[str] | None = None) -> Side:
    """Analyse ``log`` under ``plan`` and keep the per-visit and per-hand-off values the groups' tests need."""
    part = analyse_on_threads(log, plan)
    visits = part.measures.get("visits", pd.DataFrame(columns=["group", "t_us"]))
    handoffs = part.samples.get("handoffs", pd.DataFrame(columns=["sender", "receiver", "ticket_type", "us"]))
    results = finalize(part, aggregate_measures(part.measures, part.tables), plan)
    t = results.tickets
    period = (t["start"].min().isoformat(), t["start"].max().isoformat()) if len(t) else (None, None)
    return Side(label, results, visits, handoffs, source, period, list(flags or []))


# --- splitting one log -------------------------------------------------------------------------


def split_log(log: pd.DataFrame, date: str, zone: str = "UTC") -> tuple[pd.DataFrame, pd.DataFrame]:
    """Tickets opened before ``date`` (read in ``zone`` unless it names its own) and those opened on or after it (whole tickets)."""
    when = parse_date(date, "--split", zone=zone).value // 1000
    opened = ticket_anchor(log, "opened")
    before = opened < when
    if not before.any() or before.all():
        lo, hi = (pd.Timestamp(int(x), unit="us", tz="UTC").date() for x in (opened.min(), opened.max()))
        raise BadOption(f"--split {date}: every ticket was opened on one side of it (tickets were opened from {lo} to {hi}); "
                        "choose a date inside that range")
    return _take(log, before), _take(log, ~before)


def periods(log: pd.DataFrame, by: str, zone: str = "UTC") -> list[tuple[str, pd.DataFrame]]:
    """The log cut into calendar periods (``month``, ``quarter`` or ``week``) by the day tickets were opened, in ``zone``."""
    freq = {"month": "M", "quarter": "Q", "week": "W-SUN"}.get(by)
    if freq is None:
        raise BadOption(f"--by {by!r}: use month, quarter or week")
    opened = pd.to_datetime(ticket_anchor(log, "opened"), unit="us", utc=True)
    labels = opened.tz_convert(zone).tz_localize(None).to_period(freq)
    codes, uniques = pd.factorize(labels, sort=True)
    full = pd.period_range(uniques.min(), uniques.max(), freq=freq)
    if len(full) < 2:
        raise BadOption(f"--by {by}: every ticket was opened in {full[0]}; there is no period to compare with")
    out = []
    for period in full:
        mask = np.asarray(labels == period)
        if not mask.any():
            raise BadOption(f"--by {by}: no tickets were opened in {period}; choose a longer period or use --split")
        out.append((str(period), _take(log, mask)))
    return out


def _take(log: pd.DataFrame, mask: np.ndarray) -> pd.DataFrame:
    out = log[mask].reset_index(drop=True)
    for column in out.columns:
        if isinstance(out[column].dtype, pd.CategoricalDtype):
            out[column] = out[column].cat.remove_unused_categories()
    return out


def check_overlap(before: pd.DataFrame, after: pd.DataFrame, names: tuple[str, str]) -> None:
    """Two exports must share activities, or the comparison compares nothing."""
    a = set(map(str, before[ACTIVITY].unique()))
    b = set(map(str, after[ACTIVITY].unique()))
    if not a & b:
        raise BadOption(
            f"{names[0]} and {names[1]} have no activity in common ({names[0]}: {', '.join(sorted(a)[:5])}; "
            f"{names[1]}: {', '.join(sorted(b)[:5])}); give both the same names with --mapping [labels] or --activity-col")


# --- statistics ---------------------------------------------------------------------------------


def km_quantile(time: np.ndarray, event: np.ndarray, q: float) -> float | None:
    """Kaplan–Meier quantile (scipy.stats.ecdf on CensoredData): the first time the survival falls to 1 - q."""
    if not len(time) or not event.any():
        return None
    data = stats.CensoredData(uncensored=time[event], right=time[~event])
    sf = stats.ecdf(data).sf
    below = np.flatnonzero(sf.probabilities <= 1 - q + 1e-12)
    return float(sf.quantiles[below[0]]) if len(below) else None


def _counts(idx: np.ndarray, n: int) -> np.ndarray:
    """Each resample (a row of indices into n values) as its count per value, (rows, n) integers.

    One bincount per resample: its n counts stay in cache, where one bincount
    over every row scatters across all of them (4× slower at 100k tickets).
    """
    rows = idx.reshape(-1, idx.shape[-1])
    out = np.empty((len(rows), n), dtype=np.int32)  # half the memory of int64 to write and read (n < 2³¹)
    for k, row in enumerate(rows):
        out[k] = np.bincount(row, minlength=n)
    return out


def _km_of_counts(t: np.ndarray, e: np.ndarray, counts: np.ndarray, size: int, qs: tuple[float, ...]) -> np.ndarray:
    """Kaplan–Meier quantiles (qs, rows) of resamples given as counts per value of ``t``/``e`` (sorted by time, events first).
    ``counts`` (int32) is overwritten.

    A value drawn c times with r at risk multiplies the survival by 1 − c/r,
    exactly the product over its c copies, so this is the estimate of the
    resample itself. The product telescopes: after position k, with r' still
    at risk, the survival is r'/size times the product of r/r' over the
    censored values passed so far (an event's factor is r'/r itself). So only
    the censored columns need a running product (few: the open tickets); the
    survival never rises and that product never falls, so the first time the
    survival falls to 1 − q is where r' falls to (1 − q)·size/K, K the product
    up to the censored value before the crossing, found from the survival
    just before each censored value. A resample that runs out on a censored
    value whose survival is still above 1 − q has no such quantile (NaN).
    """
    n = len(t)
    cols = np.flatnonzero(~e)
    c_cens = counts[:, cols]
    after = np.cumsum(counts, axis=1, out=counts)  # in place: the counts are not needed after this
    np.subtract(np.int32(size), after, out=after)  # r': still at risk after each value, never rising
    after_cens = after[:, cols]
    before_cens = after_cens + c_cens  # at risk at each censored value
    ratio = np.where((c_cens > 0) & (after_cens > 0), before_cens / np.maximum(after_cens, 1), 1.0)
    k_after = np.cumprod(ratio, axis=1)  # K from each censored value on
    k_before = np.hstack([np.ones((len(counts), 1)), k_after[:, :-1]])
    s_before = before_cens / size * k_before  # the survival just before each censored value
    ran_out = (c_cens > 0) & (after_cens == 0)  # the resample's last value is censored: the survival stays at s_before
    s_last = np.where(ran_out.any(axis=1), np.where(ran_out, s_before, 0.0).sum(axis=1), 0.0)
    out = []
    for q in qs:
        level = 1 - q + 1e-12
        m = np.count_nonzero(s_before > level, axis=1)  # censored values passed before the crossing
        k = np.where(m > 0, np.take_along_axis(k_after, np.maximum(m - 1, 0)[:, None], axis=1)[:, 0] if len(cols) else 1.0, 1.0)
        bound = np.floor(level * size / k).astype(np.int32)  # r' > bound ⟺ the survival is above 1 − q
        crossed = np.count_nonzero(after > bound[:, None], axis=1)
        out.append(np.where(s_last <= level, t[np.minimum(crossed, n - 1)], np.nan))
    return np.stack(out)


def _km_counts(t: np.ndarray, e: np.ndarray, idx: np.ndarray, qs: tuple[float, ...]) -> np.ndarray:
    """Kaplan–Meier quantiles (qs, …) of resamples given as indices into ``t``/``e``, sorted by time, events first among ties."""
    return _km_of_counts(t, e, _counts(idx, len(t)), idx.shape[-1], qs).reshape(len(qs), *idx.shape[:-1])


def _boot(stat_b, stat_a, n_b: int, n_a: int, k: int = 1) -> list[tuple[float | None, float | None, float | None]]:  # type: ignore[no-untyped-def]
    """Bootstrap the changes stat_a − stat_b over resampled tickets: per output (k of them), (ci_low, ci_high, two-sided p).

    ``stat_*`` map resampled ticket indices (…, n) to ``k`` values per resample (k, …), so that
    quantities sharing one resample (the median and the p90) are bootstrapped together.
    """
    if n_b < 2 or n_a < 2:
        return [(None, None, None)] * k

    def statistic(ib: np.ndarray, ia: np.ndarray, axis: int = -1) -> np.ndarray:
        return stat_a(ia) - stat_b(ib)

    with warnings.catch_warnings():  # resamples whose estimate is undefined (NaN) are dropped below
        warnings.simplefilter("ignore", stats.DegenerateDataWarning)
        res = stats.bootstrap((np.arange(n_b, dtype=np.int32), np.arange(n_a, dtype=np.int32)), statistic, vectorized=True,
                              paired=False, n_resamples=RESAMPLES, method="percentile", random_state=np.random.default_rng(SEED),
                              batch=max(1, min(RESAMPLES, 8_000_000 // max(n_a + n_b, 1))))
    dists = np.asarray(res.bootstrap_distribution).reshape(k, -1)
    lows, highs = (np.asarray(x, float).reshape(k) for x in res.confidence_interval)
    out = []
    for dist, low, high in zip(dists, lows, highs, strict=True):
        dist = dist[~np.isnan(dist)]
        dist = np.where(np.abs(dist) < 1e-9, 0.0, dist)  # float noise of equal values (hours, shares, fitness) is no change
        if len(dist) < RESAMPLES * 0.9:  # the estimate is undefined in too many resamples (e.g. p90 beyond follow-up)
            out.append((None, None, None))
            continue
        p = min(1.0, 2 * min((np.sum(dist <= 0) + 1) / (len(dist) + 1), (np.sum(dist >= 0) + 1) / (len(dist) + 1)))
        if np.isnan(low) or np.isnan(high):  # scipy's percentiles over the defined resamples
            low, high = np.percentile(dist, [2.5, 97.5])
        out.append((_f(low), _f(high), p))
    return out


def _f(x: Any) -> float | None:
    return None if x is None or (isinstance(x, float) and math.isnan(x)) else float(x)


def _lead(t: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Per ticket: lead time (delivered) or age (open), in hours, and whether it was delivered."""
    return t["lead_time_s"].to_numpy(dtype=float) / 3600, t["delivered"].to_numpy(dtype=bool)


def _km_metrics(tb: pd.DataFrame, ta: pd.DataFrame, qs: tuple[float, ...] = (0.5, 0.9)) -> list[dict[str, Any]]:
    """Kaplan–Meier quantiles of lead time on both sides, their changes bootstrapped together."""
    (xb, eb), (xa, ea) = _lead(tb), _lead(ta)
    points = [(km_quantile(xb, eb, q), km_quantile(xa, ea, q)) for q in qs]
    if any(b is None or a is None for b, a in points):
        return [{"before": b, "after": a} for b, a in points]
    # Sorted once: each resample is then its count per value (see _km_counts).
    ob, oa = np.lexsort((~eb, xb)), np.lexsort((~ea, xa))
    xb, eb, xa, ea = xb[ob], eb[ob], xa[oa], ea[oa]

    def km(x: np.ndarray, e: np.ndarray):  # type: ignore[no-untyped-def]
        return lambda i: _km_counts(x, e, i, qs)

    tests = _boot(km(xb, eb), km(xa, ea), len(xb), len(xa), k=len(qs))
    return [{"before": b, "after": a, "ci_low": low, "ci_high": high, "p_value": p}
            for (b, a), (low, high, p) in zip(points, tests, strict=True)]


RATIOS = [("work_s", "lead_time_s"), ("wait_s", "lead_time_s")]  # flow efficiency, wait share
COLUMNS = list(dict.fromkeys(c for pair in RATIOS for c in pair))
PAIRS = [(COLUMNS.index(num), COLUMNS.index(den)) for num, den in RATIOS]


def _lead_and_ratios(tb: pd.DataFrame, ta: pd.DataFrame, qs: tuple[float, ...] = (0.5, 0.9)) -> list[dict[str, Any]]:
    """Kaplan–Meier quantiles of lead time and the ratios (flow efficiency, wait share), bootstrapped together.

    One resample of all tickets serves every estimate: each becomes its counts
    per ticket once, the Kaplan–Meier quantiles are read from them, and the
    ratios' sums over the resample's delivered tickets are products of the
    counts with each column (work, wait, lead time; lead time serves both).
    Where an estimate is undefined on a side (no delivered ticket, no time),
    each is computed on its own (:func:`_km_metrics`, :func:`_ratios`).
    """
    (xb, eb), (xa, ea) = _lead(tb), _lead(ta)
    points = [(km_quantile(xb, eb, q), km_quantile(xa, ea, q)) for q in qs]

    def sums(t: pd.DataFrame) -> tuple[np.ndarray, list[float | None]]:
        done = t["delivered"].to_numpy(dtype=bool)
        values = np.stack([np.where(done, t[c].to_numpy(dtype=float), 0.0) for c in COLUMNS])
        ratios = [math.fsum(values[num]) / math.fsum(values[den]) if values[den].sum() else None for num, den in PAIRS]
        return values, ratios

    (vb, rb), (va, ra) = sums(tb), sums(ta)
    points += list(zip(rb, ra, strict=True))
    if any(b is None or a is None for b, a in points):
        return _km_metrics(tb, ta, qs) + _ratios(tb, ta, RATIOS)
    ob, oa = np.lexsort((~eb, xb)), np.lexsort((~ea, xa))

    def stat(x: np.ndarray, e: np.ndarray, v: np.ndarray):  # type: ignore[no-untyped-def]
        def run(i: np.ndarray) -> np.ndarray:
            counts = _counts(i, len(x))
            weights = counts.astype(np.float64)
            # Numerator and denominator sums per resample; einsum, not BLAS: one thread, the same sums on every machine.
            total = [np.einsum("ij,j->i", weights, column) for column in v]  # a dot per row: einsum's contiguous fast path
            ratios = [total[num] / np.where(total[den] > 0, total[den], np.nan) for num, den in PAIRS]
            km = _km_of_counts(x, e, counts, i.shape[-1], qs)
            return np.vstack([km, np.stack(ratios)]).reshape(len(qs) + len(RATIOS), *i.shape[:-1])
        return run

    tests = _boot(stat(xb[ob], eb[ob], vb[:, ob]), stat(xa[oa], ea[oa], va[:, oa]), len(xb), len(xa), k=len(qs) + len(RATIOS))
    return [{"before": b, "after": a, "ci_low": low, "ci_high": high, "p_value": p}
            for (b, a), (low, high, p) in zip(points, tests, strict=True)]


def _rate(kb: int, nb: int, ka: int, na: int) -> dict[str, Any]:
    """Two proportions: Wilson intervals, Newcombe's interval of the difference, Fisher's exact p."""
    if not nb or not na:
        return {"before": kb / nb if nb else None, "after": ka / na if na else None}
    pb, pa = kb / nb, ka / na
    wb = stats.binomtest(kb, nb).proportion_ci(method="wilson")
    wa = stats.binomtest(ka, na).proportion_ci(method="wilson")
    d = pa - pb
    low = d - math.sqrt((pa - wa.low) ** 2 + (wb.high - pb) ** 2)
    high = d + math.sqrt((wa.high - pa) ** 2 + (pb - wb.low) ** 2)
    if ka + kb in (0, na + nb):  # none (or every one) on both sides: the same rate, and χ² has no expected count to test
        p = 1.0
    else:
        p = stats.fisher_exact([[ka, na - ka], [kb, nb - kb]]).pvalue if max(nb, na) <= 50_000 else \
            stats.chi2_contingency([[ka, na - ka], [kb, nb - kb]]).pvalue
    return {"before": pb, "after": pa, "ci_low": low, "ci_high": high, "p_value": float(p),
            "before_ci": [wb.low, wb.high], "after_ci": [wa.low, wa.high], "before_n": nb, "after_n": na}


def _ratios(tb: pd.DataFrame, ta: pd.DataFrame, pairs: list[tuple[str, str]]) -> list[dict[str, Any]]:
    """Σnum / Σden over delivered tickets on each side for each (num, den), changes bootstrapped together."""
    def arrays(t: pd.DataFrame) -> list[tuple[np.ndarray, np.ndarray]]:
        done = t["delivered"].to_numpy(dtype=bool)
        return [(t[num].to_numpy(dtype=float)[done], t[den].to_numpy(dtype=float)[done]) for num, den in pairs]

    side_b, side_a = arrays(tb), arrays(ta)
    points = [(math.fsum(nb) / math.fsum(db) if db.sum() else None, math.fsum(na) / math.fsum(da) if da.sum() else None)
              for (nb, db), (na, da) in zip(side_b, side_a, strict=True)]
    if any(b is None or a is None for b, a in points):
        return [{"before": b, "after": a} for b, a in points]

    def ratios(side: list[tuple[np.ndarray, np.ndarray]]):  # type: ignore[no-untyped-def]
        def stat(i: np.ndarray) -> np.ndarray:
            out = []
            for n, d in side:
                den = d[i].sum(axis=-1)
                out.append(n[i].sum(axis=-1) / np.where(den > 0, den, np.nan))
            return np.stack(out)
        return stat

    n_b, n_a = len(side_b[0][0]), len(side_a[0][0])
    tests = _boot(ratios(side_b), ratios(side_a), n_b, n_a, k=len(pairs))
    return [{"before": b, "after": a, "ci_low": low, "ci_high": high, "p_value": p}
            for (b, a), (low, high, p) in zip(points, tests, strict=True)]


def _mean(xb: np.ndarray, xa: np.ndarray) -> dict[str, Any]:
    xb, xa = xb[~np.isnan(xb)], xa[~np.isnan(xa)]
    if not len(xb) or not len(xa):
        return {"before": float(xb.mean()) if len(xb) else None, "after": float(xa.mean()) if len(xa) else None}
    if np.ptp(xb) == 0 and np.ptp(xa) == 0 and xb[0] == xa[0]:  # one value everywhere: nothing to test
        return {"before": float(xb[0]), "after": float(xa[0]), "p_value": 1.0}
    ((low, high, p),) = _boot(lambda i: xb[i].mean(axis=-1)[None], lambda i: xa[i].mean(axis=-1)[None], len(xb), len(xa))
    return {"before": float(xb.mean()), "after": float(xa.mean()), "ci_low": low, "ci_high": high, "p_value": p}


def _mw(xb: np.ndarray, xa: np.ndarray, how: str = "median") -> dict[str, Any]:
    """Medians (or means) of two samples, Mann–Whitney's two-sided p where both have MIN_TICKETS values."""
    xb, xa = np.asarray(xb, float), np.asarray(xa, float)
    xb, xa = xb[~np.isnan(xb)], xa[~np.isnan(xa)]
    agg = np.median if how == "median" else np.mean
    out: dict[str, Any] = {"before": float(agg(xb)) if len(xb) else None, "after": float(agg(xa)) if len(xa) else None,
                           "before_n": len(xb), "after_n": len(xa)}
    if len(xb) >= MIN_TICKETS and len(xa) >= MIN_TICKETS and (np.ptp(xb) > 0 or np.ptp(xa) > 0 or xb[0] != xa[0]):
        out["p_value"] = float(stats.mannwhitneyu(xa, xb, alternative="two-sided").pvalue)
    return out


# --- the comparison -----------------------------------------------------------------------------


def _streams(tb: pd.DataFrame, ta: pd.DataFrame) -> list[str]:
    """Streams with at least MIN_TICKETS tickets on both sides."""
    cb, ca = tb["stream"].astype(str).value_counts(), ta["stream"].astype(str).value_counts()
    both = [s for s in cb.index if s in ca.index and cb[s] >= MIN_TICKETS and ca[s] >= MIN_TICKETS and s != NO_STREAM]
    return sorted(both)


def _metrics(tb: pd.DataFrame, ta: pd.DataFrame, stream: str | None) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = [{"name": "tickets", "before": len(tb), "after": len(ta)}]
    median, p90, efficiency, wait = _lead_and_ratios(tb, ta, (0.5, 0.9))
    rows.append({"name": "lead_time_median_h", **median})
    rows.append({"name": "lead_time_p90_h", **p90})
    for name, column in (("rework_rate", "any_rework"), ("reopen_rate", "reopens"), ("pingpong_rate", "bounces")):
        kb, ka = int((tb[column] > 0).sum()), int((ta[column] > 0).sum())
        rows.append({"name": name, **_rate(kb, len(tb), ka, len(ta))})
    rows.append({"name": "flow_efficiency", **efficiency})
    rows.append({"name": "wait_share", **wait})
    ab, aa = (t[t["designed_stream"] != NO_STREAM] for t in (tb, ta))
    if len(ab) and len(aa):
        rows.append({"name": "fitness", **_mean(ab["fitness"].to_numpy(dtype=float), aa["fitness"].to_numpy(dtype=float))})
        rows.append({"name": "conforming_share", **_rate(int(ab["conforming"].sum()), len(ab), int(aa["conforming"].sum()), len(aa))})
    for row in rows:
        row["stream"] = stream
    return rows


def _steps(tb: pd.DataFrame, ta: pd.DataFrame, plan: Plan) -> list[dict[str, Any]]:
    """Per designed step reached by delivered tickets: its time and its wait, medians compared."""
    rows: list[dict[str, Any]] = []
    if plan.design is None:
        return rows
    for ds in plan.design.streams:
        sb = tb[(tb["designed_stream"] == ds.name) & tb["delivered"]]
        sa = ta[(ta["designed_stream"] == ds.name) & ta["delivered"]]
        for j, step in enumerate(ds.steps):
            cols = (f"step{j}_work_s", f"step{j}_wait_s", f"step{j}_reached")
            if cols[2] not in sb or cols[2] not in sa:
                continue
            rb, ra = sb[sb[cols[2]].astype(bool)], sa[sa[cols[2]].astype(bool)]
            if len(rb) < MIN_TICKETS or len(ra) < MIN_TICKETS:
                continue
            for measure, values in (("time_h", lambda r: (r[cols[0]] + r[cols[1]]).to_numpy(float) / 3600),
                                    ("wait_h", lambda r: r[cols[1]].to_numpy(float) / 3600)):
                rows.append({"stream": ds.name, "step": j + 1, "label": step.stage.replace("_", " "), "measure": measure,
                             **_mw(values(rb), values(ra))})
    return rows


def _states(tb: pd.DataFrame, ta: pd.DataFrame) -> list[dict[str, Any]]:
    """Mean hours per delivered ticket in each class of state, Mann–Whitney on the per-ticket hours."""
    db, da = tb[tb["delivered"]], ta[ta["delivered"]]
    rows = []
    for cls in STATE_CLASSES:
        column = f"{cls}_s"
        if column not in db or (db[column].sum() == 0 and da[column].sum() == 0):
            continue
        rows.append({"state": cls, **_mw(db[column].to_numpy(float) / 3600, da[column].to_numpy(float) / 3600, how="mean")})
    return rows


def _variants(tb: pd.DataFrame, ta: pd.DataFrame) -> list[dict[str, Any]]:
    """The most common variants of delivered tickets on either side: share before and after, Fisher's exact test.

    Open tickets are left out: their paths are not finished, and a recent
    period has more of them.
    """
    tb, ta = tb[tb["delivered"].to_numpy(dtype=bool)], ta[ta["delivered"].to_numpy(dtype=bool)]
    cb, ca = tb["activity_path"].value_counts(), ta["activity_path"].value_counts()
    total = cb.add(ca, fill_value=0).sort_values(ascending=False, kind="stable")
    rows = []
    for path in total.index[:TOP_VARIANTS]:
        kb, ka = int(cb.get(path, 0)), int(ca.get(path, 0))
        r = _rate(kb, len(tb), ka, len(ta))
        rows.append({"variant": str(path).split(PATH_SEP), "before_tickets": kb, "after_tickets": ka,
                     "before": r["before"], "after": r["after"], "ci_low": r.get("ci_low"), "ci_high": r.get("ci_high"),
                     "p_value": r.get("p_value")})
    return rows


def _groups(before: Side, after: Side) -> list[dict[str, Any]]:
    """Per group: its own time per visit, and what its hand-offs meet at the next team (wait and rework), compared."""
    rows = []
    gb, ga = before.results.comparison, after.results.comparison
    table_b = gb.groups.set_index("group") if gb is not None and len(gb.groups) else pd.DataFrame()
    table_a = ga.groups.set_index("group") if ga is not None and len(ga.groups) else pd.DataFrame()
    vb, va = before.visits.assign(group=before.visits["group"].astype(str)), after.visits.assign(group=after.visits["group"].astype(str))
    names = sorted(set(vb["group"].unique()) & set(va["group"].unique()))  # not a set of every visit: that iterates in Python
    hb, ha = before.handoffs.assign(sender=before.handoffs["sender"].astype(str)), after.handoffs.assign(sender=after.handoffs["sender"].astype(str))
    for g in names:
        own = _mw(vb.loc[vb["group"] == g, "t_us"].to_numpy(float) / US / 3600, va.loc[va["group"] == g, "t_us"].to_numpy(float) / US / 3600)
        down = _mw(hb.loc[hb["sender"] == g, "us"].to_numpy(float) / US / 3600, ha.loc[ha["sender"] == g, "us"].to_numpy(float) / US / 3600)
        row = {"group": g, "visits_before": own["before_n"], "visits_after": own["after_n"],
               "time_per_visit_h": own, "downstream_h": down}
        for side, table in (("before", table_b), ("after", table_a)):
            excess = table["downstream_excess_s"].get(g) if "downstream_excess_s" in table else None
            row[f"downstream_excess_h_{side}"] = None if excess is None or pd.isna(excess) else float(excess) / 3600
        out_b = int(table_b["handoffs_out"].get(g, 0)) if "handoffs_out" in table_b else 0
        out_a = int(table_a["handoffs_out"].get(g, 0)) if "handoffs_out" in table_a else 0
        if out_b >= MIN_TICKETS and out_a >= MIN_TICKETS:
            kb = round(float(table_b["bounced_back_share"].get(g, 0.0)) * out_b)
            ka = round(float(table_a["bounced_back_share"].get(g, 0.0)) * out_a)
            row["bounced_back"] = _rate(kb, out_b, ka, out_a)
        rows.append(row)
    return rows


def compare_sides(before: Side, after: Side, alpha: float = ALPHA) -> Diff:
    """Compare two analysed sides: every measure, its change, and whether the change is significant after BH."""
    tb, ta = before.results.tickets, after.results.tickets
    metrics = _metrics(tb, ta, None)
    for s in _streams(tb, ta):
        metrics += _metrics(tb[tb["stream"].astype(str) == s], ta[ta["stream"].astype(str) == s], s)
    steps = _steps(tb, ta, before.results.plan)
    states = _states(tb, ta)
    variants = _variants(tb, ta)
    groups = _groups(before, after)
    # Benjamini–Hochberg over every test of this comparison.
    tested: list[dict[str, Any]] = [*metrics, *steps, *states, *variants]
    for g in groups:
        tested += [g["time_per_visit_h"], g["downstream_h"]] + ([g["bounced_back"]] if "bounced_back" in g else [])
    ps = [r for r in tested if r.get("p_value") is not None]
    if ps:
        adjusted = stats.false_discovery_control([min(1.0, max(0.0, r["p_value"])) for r in ps])
        for r, q in zip(ps, adjusted, strict=True):
            r["p_adjusted"] = float(q)
    for r in tested:
        _settle(r, alpha)
    for r in variants:
        r["change_kind"] = ("appeared" if not r["before_tickets"] else "vanished" if not r["after_tickets"]
                            else "grew" if r["direction"] == "up" else "shrank" if r["direction"] == "down" else "none")
        if not r["significant"] and r["change_kind"] in ("appeared", "vanished"):
            r["change_kind"] = "none"  # too few tickets to tell from chance
    diff = Diff(before, after, alpha, pd.DataFrame(metrics), pd.DataFrame(steps), pd.DataFrame(states),
                pd.DataFrame(variants), pd.DataFrame(groups))
    diff.moved_bottlenecks = moved_bottlenecks(diff)
    fb, fa = _follow_up_h(before), _follow_up_h(after)
    if fb is not None and fa is not None and fa < 0.5 * fb:
        diff.notes.append(f"The later tickets had less time to finish (median follow-up {fa / 24:.1f} d against {fb / 24:.1f} d): "
                          "variants and rework rates can differ for that alone; lead time is censored for it.")
    diff.notes.append("Lead time median and p90 are Kaplan–Meier estimates over delivered and open tickets, open tickets "
                      "censored at their age at the export's end (scipy.stats.ecdf); their intervals are bootstrap percentiles.")
    return diff


def _follow_up_h(side: Side) -> float | None:
    """Median hours from a ticket's first event to the export's end (its follow-up)."""
    t, as_of = side.results.tickets, side.results.plan.as_of
    if as_of is None or not len(t):
        return None
    start = t["start"].to_numpy(dtype="datetime64[us]").view(np.int64)
    return float(np.median(as_of - start)) / US / 3600


def _settle(r: dict[str, Any], alpha: float) -> None:
    """Fill change, significant and direction of one compared value."""
    b, a = r.get("before"), r.get("after")
    r["change"] = a - b if a is not None and b is not None else None
    q = r.get("p_adjusted")
    r.setdefault("p_adjusted", None)
    r.setdefault("p_value", None)
    r.setdefault("ci_low", None)
    r.setdefault("ci_high", None)
    r["significant"] = bool(q is not None and q < alpha and r["change"] is not None and abs(r["change"]) > 1e-9)
    r["direction"] = ("up" if r["change"] > 0 else "down") if r["significant"] else "none"


def metric(diff: Diff, name: str, stream: str | None = None) -> dict[str, Any] | None:
    """One row of the metrics table as a dict (None when it was not computed)."""
    m = diff.metrics
    rows = m[(m["name"] == name) & (m["stream"].isna() if stream is None else m["stream"] == stream)]
    return rows.iloc[0].to_dict() if len(rows) else None


def worse(name: str, row: dict[str, Any]) -> bool:
    """Did this metric get significantly worse? Up is worse for times and rates, down for efficiency and conformance."""
    if not row.get("significant"):
        return False
    return row["direction"] == ("down" if name in HIGHER_IS_BETTER else "up")


def moved_bottlenecks(diff: Diff) -> list[dict[str, Any]]:
    """Groups (and designed steps) faster on their own while what follows them got slower, and lead time no better."""
    lead = metric(diff, "lead_time_median_h")
    if lead is None or (lead["significant"] and lead["direction"] == "down"):
        return []
    found = []
    lead_text = f"lead time did not improve ({_h(lead['before'])} → {_h(lead['after'])})"
    for g in diff.groups.to_dict("records") if len(diff.groups) else []:
        own, down, bounced = g["time_per_visit_h"], g["downstream_h"], g.get("bounced_back")
        if not (own["significant"] and own["direction"] == "down"):
            continue
        waits = down["significant"] and down["direction"] == "up"
        bounces = isinstance(bounced, dict) and bounced["significant"] and bounced["direction"] == "up"
        if not (waits or bounces):
            continue
        parts = []
        if waits:
            parts.append(f"tickets it hands over wait longer at the next team ({_h(down['before'])} → {_h(down['after'])})")
        if bounces:
            parts.append(f"more of its hand-offs come back ({bounced['before']:.0%} → {bounced['after']:.0%})")
        reason = (f"{g['group']} is faster per visit ({_h(own['before'])} → {_h(own['after'])}), but "
                  + " and ".join(parts) + f", and {lead_text}: the bottleneck moved downstream.")
        found.append({"group": g["group"], "step": None,
                      "figures": {"time_per_visit_h": [own["before"], own["after"]],
                                  "downstream_h": [down["before"], down["after"]],
                                  "bounced_back_share": [bounced["before"], bounced["after"]] if isinstance(bounced, dict) else None,
                                  "lead_time_median_h": [lead["before"], lead["after"]]},
                      "reason": reason})
    steps = diff.steps
    if len(steps):
        for stream, frame in steps.groupby("stream", sort=True):
            time_rows = {int(r["step"]): r for r in frame[frame["measure"] == "time_h"].to_dict("records")}
            wait_rows = {int(r["step"]): r for r in frame[frame["measure"] == "wait_h"].to_dict("records")}
            for j, own in sorted(time_rows.items()):
                nxt = wait_rows.get(j + 1)
                if nxt is None or not (own["significant"] and own["direction"] == "down" and nxt["significant"] and nxt["direction"] == "up"):
                    continue
                reason = (f"Step {j} ({own['label']}) of {stream} is faster ({_h(own['before'])} → {_h(own['after'])}), but "
                          f"tickets wait longer at step {j + 1} ({nxt['label']}: {_h(nxt['before'])} → {_h(nxt['after'])}), "
                          f"and {lead_text}: the bottleneck moved downstream.")
                found.append({"group": None, "step": {"stream": stream, "step": j, "label": own["label"]},
                              "figures": {"time_h": [own["before"], own["after"]], "next_wait_h": [nxt["before"], nxt["after"]],
                                          "lead_time_median_h": [lead["before"], lead["after"]]},
                              "reason": reason})
    return found


def _h(hours: float | None) -> str:
    if hours is None:
        return "–"
    if hours < 1:
        return f"{hours * 60:.0f} min"
    if hours < 100:
        return f"{hours:.1f} h"
    return f"{hours / 24:.1f} d"


# --- --fail-on for diffs ------------------------------------------------------------------------


@dataclass(frozen=True)
class Regression:
    """``metric:worse``, ``metric:+10%`` (worse by at least 10% of its before value) or ``metric:+2`` (by at least 2 units)."""

    metric: str
    amount: float | None = None
    relative: bool = False


def parse_fail_on(text: str) -> list[Regression]:
    """Read ``lead_time_median_h:+10%,reopen_rate:worse``."""
    out = []
    for term in filter(None, (t.strip() for t in text.split(","))):
        name, _, spec = term.partition(":")
        name, spec = name.strip(), spec.strip().lower()
        if name not in METRICS or name == "tickets":
            raise BadOption(f"--fail-on {term!r}: unknown metric {name!r}; use one of {', '.join(m for m in METRICS if m != 'tickets')}")
        if spec in ("", "worse"):
            out.append(Regression(name))
            continue
        m = re.fullmatch(r"[+-]?(\d+(?:\.\d+)?)(%?)", spec) if spec else None
        if m is None:
            raise BadOption(f"--fail-on {term!r}: write metric:worse, metric:+10% or metric:+2 (an amount in the metric's unit)")
        out.append(Regression(name, float(m.group(1)), bool(m.group(2))))
    return out


def regressions(diff: Diff, rules: list[Regression]) -> list[str]:
    """The rules a diff breaks: the whole log's metric got significantly worse, by at least the amount where one is given."""
    broken = []
    for rule in rules:
        row = metric(diff, rule.metric)
        if row is None or not worse(rule.metric, row):
            continue
        by = abs(row["change"])
        if rule.amount is not None:
            limit = rule.amount / 100 * abs(row["before"]) if rule.relative else rule.amount
            if by < limit:
                continue
        broken.append(f"{rule.metric} got worse: {row['before']:.4g} → {row['after']:.4g} (adjusted p {row['p_adjusted']:.3g})")
    return broken
