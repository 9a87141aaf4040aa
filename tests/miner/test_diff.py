"""`vsm diff`'s comparison against periods whose truth is known (tests/miner/diff_scenarios.py)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import connectors
from miner.diff import Diff, _km_counts, analyse_side, compare_sides, km_quantile, split_log
from miner.discovery import make_plan
from tests.miner.diff_scenarios import AFTER_MOVED, BEFORE, DAY, START, generate, write


def diff_of(tmp_path: Path, before: pd.DataFrame, after: pd.DataFrame) -> Diff:
    lb, rb = connectors.load(write(before, tmp_path / "before.csv"))
    la, ra = connectors.load(write(after, tmp_path / "after.csv"))
    plan = make_plan(lb, None, source=rb.source, design=True)
    plan_after = make_plan(la, None, source=ra.source, design=True, stream_by=plan.stream_column)
    return compare_sides(analyse_side(lb, plan, "before"), analyse_side(la, plan_after, "after"))


def significant(d: Diff) -> set[tuple]:
    """Every significant change, as (table, what, measure, direction)."""
    out = set()
    for r in d.metrics.to_dict("records"):
        if r["significant"]:
            out.add(("metric", r["name"], r["stream"] if isinstance(r["stream"], str) else None, r["direction"]))
    for table, key in ((d.steps, "label"), (d.states, "state")):
        for r in table.to_dict("records"):
            if r["significant"]:
                out.add((key, r[key], r.get("measure"), r["direction"]))
    for r in d.variants.to_dict("records"):
        if r["significant"]:
            out.add(("variant", tuple(r["variant"]), None, r["direction"]))
    for g in d.groups.to_dict("records"):
        for k in ("time_per_visit_h", "downstream_h", "bounced_back"):
            v = g.get(k)
            if isinstance(v, dict) and v["significant"]:
                out.add(("group", g["group"], k, v["direction"]))
    return out


# Desk C (all of stream P2) works less and its hand-offs wait longer at Network. What must follow:
MUST = {
    ("group", "Service Desk C", "time_per_visit_h", "down"),
    ("group", "Service Desk C", "downstream_h", "up"),
    ("group", "Network", "time_per_visit_h", "up"),  # Network's visits include its queue
    ("state", "work", None, "down"),
    ("state", "handoff", None, "up"),
    ("label", "deliver support", "wait_h", "up"),
    ("metric", "flow_efficiency", None, "down"), ("metric", "wait_share", None, "up"),
    ("metric", "lead_time_p90_h", None, "up"),
    ("metric", "lead_time_median_h", "P2", "up"), ("metric", "lead_time_p90_h", "P2", "up"),
    ("metric", "flow_efficiency", "P2", "down"), ("metric", "wait_share", "P2", "up"),
}
# Consequences too small to be certain of at this size; anything else is a false change.
MAY = {("metric", "lead_time_median_h", None, "up"), ("label", "deliver support", "time_h", "up")}


@pytest.mark.parametrize("seed", [0, 1])
def test_the_moved_bottleneck_and_only_the_injected_changes_are_reported(tmp_path: Path, seed: int) -> None:
    before = generate(BEFORE, 1500, 10 + seed, prefix="B")
    after = generate(AFTER_MOVED, 1500, 100 + seed, start=START + pd.Timedelta(days=28), prefix="A")
    d = diff_of(tmp_path, before, after)
    found = significant(d)
    assert MUST <= found, MUST - found
    assert found <= MUST | MAY, found - MUST - MAY
    # Unchanged measures are unchanged, with both values given.
    reopen = d.metrics[(d.metrics["name"] == "reopen_rate") & d.metrics["stream"].isna()].iloc[0]
    assert reopen["direction"] == "none" and 0.05 < reopen["before"] < 0.11 and 0.05 < reopen["after"] < 0.11
    assert [m["group"] for m in d.moved_bottlenecks] == ["Service Desk C"]
    reason = d.moved_bottlenecks[0]["reason"]
    assert reason.startswith("Service Desk C is faster per visit (") and "wait longer at the next team" in reason
    assert reason.endswith("lead time did not improve") is False and "the bottleneck moved downstream" in reason


@pytest.mark.parametrize("seed", [0, 1])
def test_the_same_process_at_two_seeds_shows_no_change(tmp_path: Path, seed: int) -> None:
    before = generate(BEFORE, 1500, 10 + seed, prefix="B")
    after = generate(BEFORE, 1500, 100 + seed, start=START + pd.Timedelta(days=28), prefix="A")
    d = diff_of(tmp_path, before, after)
    assert significant(d) == set()
    assert d.moved_bottlenecks == []


def test_a_desk_that_got_faster_without_pushing_delay_is_not_a_moved_bottleneck(tmp_path: Path) -> None:
    from dataclasses import replace

    faster = replace(BEFORE, desk_work_s=(1.5 * 3600, 1.5 * 3600, 0.5 * 3600))  # C works less, Network's queue unchanged
    d = diff_of(tmp_path, generate(BEFORE, 1500, 11, prefix="B"), generate(faster, 1500, 111, start=START + pd.Timedelta(days=28), prefix="A"))
    assert ("group", "Service Desk C", "time_per_visit_h", "down") in significant(d)
    assert d.moved_bottlenecks == []


def test_open_tickets_do_not_make_the_later_period_look_faster(tmp_path: Path) -> None:
    """One process over 60 days, exported on day 62: later tickets are young and their slow ones still open."""
    from dataclasses import replace

    slow = replace(BEFORE, resolver_work_s=6 * DAY, spread=0.9)
    log = generate(slow, 3000, 5, days=60, as_of=START + pd.Timedelta(days=62))
    loaded, report = connectors.load(write(log, tmp_path / "one.csv"))
    early, late = split_log(loaded, "2025-02-05")  # day 30
    plan = make_plan(loaded, None, source=report.source, design=True)
    b, a = analyse_side(early, plan, "before"), analyse_side(late, plan, "after")
    # The naive figure, over delivered tickets only, is much lower in the later period ...
    naive = [s.results.lead_time_s["median"] / 3600 for s in (b, a)]
    assert naive[1] < 0.8 * naive[0], naive
    tb, ta = b.results.tickets, a.results.tickets
    p = stats.mannwhitneyu(tb.loc[tb["delivered"], "lead_time_s"], ta.loc[ta["delivered"], "lead_time_s"]).pvalue
    assert p < 0.001
    # ... but the censored comparison finds no clear change.
    d = compare_sides(b, a)
    lead = d.metrics[(d.metrics["name"] == "lead_time_median_h") & d.metrics["stream"].isna()].iloc[0]
    assert lead["direction"] == "none", (naive, lead)
    assert abs(lead["after"] - lead["before"]) < 0.15 * lead["before"]


def test_numpy_kaplan_meier_of_resamples_matches_scipy() -> None:
    """The bootstrap's Kaplan–Meier (counts per value, no sort) gives scipy.stats.ecdf's quantiles of each resample."""
    rng = np.random.default_rng(3)
    t = rng.exponential(10, 300).round(1)  # ties, as in real timestamps
    e = rng.random(300) < 0.7
    order = np.lexsort((~e, t))
    t, e = t[order], e[order]
    idx = rng.integers(0, 300, (20, 300))
    got = _km_counts(t, e, idx, (0.5, 0.9))
    for r in range(20):
        for k, q in enumerate((0.5, 0.9)):
            want = km_quantile(t[idx[r]], e[idx[r]], q)
            assert (np.isnan(got[k, r]) and want is None) or got[k, r] == pytest.approx(want)


def test_telescoped_kaplan_meier_matches_scipy_on_small_heavily_censored_resamples() -> None:
    """The edge cases of the telescoped product: no censoring, most censored, ties, and resamples whose last value
    is censored with the survival still above 1 − q (no quantile: NaN, where scipy finds none either)."""
    rng = np.random.default_rng(11)
    checked = undefined = 0
    for _ in range(150):
        n = int(rng.integers(2, 40))
        t = rng.lognormal(1, 1, n).round(int(rng.integers(0, 2)))
        e = rng.random(n) > rng.choice([0.0, 0.3, 0.8])
        order = np.lexsort((~e, t))
        t, e = t[order], e[order]
        idx = rng.integers(0, n, (12, n))
        got = _km_counts(t, e, idx, (0.5, 0.9))
        for r in range(12):
            for k, q in enumerate((0.5, 0.9)):
                want = km_quantile(t[idx[r]], e[idx[r]], q)
                assert (np.isnan(got[k, r]) and want is None) or got[k, r] == want, (t[idx[r]], e[idx[r]], q)
                checked += 1
                undefined += want is None
    assert undefined > 50 and checked - undefined > 1000  # both kinds of resample were met


def test_the_multi_team_sample_at_two_seeds_shows_no_change(tmp_path: Path) -> None:
    """A decoy: `vsm sample --source multi-team` twice, same process, other draws (and its own moved bottleneck in both)."""
    from connectors.samples import generate as sample

    paths = [tmp_path / f"mt{seed}.csv" for seed in (1, 2)]
    for seed, path in zip((1, 2), paths, strict=True):
        sample("multi-team", tickets=1500, seed=seed, path=path)
    (lb, rb), (la, ra) = (connectors.load(p) for p in paths)
    plan = make_plan(lb, None, source=rb.source, design=True)
    d = compare_sides(analyse_side(lb, plan, "1"), analyse_side(la, make_plan(la, None, source=ra.source, design=True,
                                                                                stream_by=plan.stream_column), "2"))
    assert significant(d) == set()
    assert d.moved_bottlenecks == []
    assert len(d.metrics[d.metrics["stream"].notna()]) > 0  # the streams were compared too


def _row(before: float, after: float, direction: str, **extra: object) -> dict:
    return {"before": before, "after": after, "change": after - before, "significant": direction != "none",
            "direction": direction, "p_adjusted": 0.001 if direction != "none" else 0.5, **extra}


def test_a_step_faster_while_the_next_step_waits_longer_is_named_unless_lead_time_improved() -> None:
    from miner.diff import moved_bottlenecks

    steps = pd.DataFrame([
        {"stream": "Incident", "step": 1, "label": "engage", "measure": "time_h", **_row(4.1, 0.7, "down")},
        {"stream": "Incident", "step": 2, "label": "deliver support", "measure": "wait_h", **_row(9.8, 24.5, "up")},
        {"stream": "Change", "step": 1, "label": "engage", "measure": "time_h", **_row(4.0, 1.0, "down")},
        {"stream": "Change", "step": 2, "label": "design transition", "measure": "wait_h", **_row(9.0, 9.5, "none")},
    ])

    def diff_with(lead: dict) -> Diff:
        metrics = pd.DataFrame([{"name": "lead_time_median_h", "stream": None, **lead}])
        return Diff(None, None, 0.05, metrics, steps, pd.DataFrame(), pd.DataFrame(), pd.DataFrame())  # type: ignore[arg-type]

    found = moved_bottlenecks(diff_with(_row(31, 38, "none")))
    assert [(m["step"]["stream"], m["step"]["step"]) for m in found] == [("Incident", 1)]
    assert found[0]["reason"] == ("Step 1 (engage) of Incident is faster (4.1 h → 42 min), but tickets wait longer at step 2 "
                                  "(deliver support: 9.8 h → 24.5 h), and lead time did not improve (31.0 h → 38.0 h): "
                                  "the bottleneck moved downstream.")
    assert moved_bottlenecks(diff_with(_row(31, 20, "down"))) == []  # lead time improved: nothing moved


def test_periods_cut_whole_tickets_by_opening_and_refuse_an_empty_period() -> None:
    from connectors.errors import BadOption
    from miner.diff import periods
    from tests.helpers import make_log

    day = 24 * 60  # T0 is 2025-01-06
    rows = [("A", "New", 0), ("A", "Resolved", 40 * day),  # opened in January, resolved in February
            ("B", "New", 30 * day), ("B", "Resolved", 31 * day)]  # opened in February
    cut = periods(make_log(rows), "month")
    assert [(label, sorted(set(part["case_id"].astype(str))), len(part)) for label, part in cut] == [
        ("2025-01", ["A"], 2), ("2025-02", ["B"], 2)]
    gap = [("A", "New", 0), ("A", "Resolved", 60), ("C", "New", 60 * day), ("C", "Resolved", 60 * day + 60)]
    with pytest.raises(BadOption, match="no tickets were opened in 2025-02"):
        periods(make_log(gap), "month")
    with pytest.raises(BadOption, match="no period to compare"):
        periods(make_log(rows[:2]), "month")


def test_periods_and_the_split_date_are_in_the_display_zone() -> None:
    from miner.diff import periods
    from tests.helpers import make_log

    day = 24 * 60  # T0 is 2025-01-06 09:00 UTC
    late_jan = 25 * day + 14 * 60 + 30  # 2025-01-31 23:30 UTC, 2025-02-01 00:30 in Berlin
    rows = [("A", "New", late_jan), ("A", "Resolved", late_jan + 60),
            ("B", "New", day), ("B", "Resolved", day + 60),
            ("C", "New", 30 * day), ("C", "Resolved", 30 * day + 60)]
    log = make_log(rows)

    def cases(cut):
        return [(label, sorted(set(part["case_id"].astype(str)))) for label, part in cut]

    assert cases(periods(log, "month")) == [("2025-01", ["A", "B"]), ("2025-02", ["C"])]
    assert cases(periods(log, "month", "Europe/Berlin")) == [("2025-01", ["B"]), ("2025-02", ["A", "C"])]
    assert cases([("before", split_log(log, "2025-02-01")[0])]) == [("before", ["A", "B"])]
    assert cases([("before", split_log(log, "2025-02-01", "Europe/Berlin")[0])]) == [("before", ["B"])]
    # A date that names its own zone keeps it.
    assert cases([("before", split_log(log, "2025-02-01T00:00+00:00", "Europe/Berlin")[0])]) == [("before", ["A", "B"])]


def test_the_opening_dates_shown_are_in_the_display_zone() -> None:
    from reports.diffout import _period

    period = ("2025-01-31T23:30:00+00:00", "2025-02-02T00:00:00+00:00")
    assert _period(period) == ", opened 2025-01-31 to 2025-02-02"
    assert _period(period, "Europe/Berlin") == ", opened 2025-02-01 to 2025-02-02"
    assert _period(period, "America/New_York") == ", opened 2025-01-31 to 2025-02-01"
