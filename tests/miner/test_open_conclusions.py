"""Conclusions on logs with open tickets: truth known by construction (tests/miner/scenarios.py, section 14).

An open ticket's time runs until the export's end (miner.accounting), so it
has an age, not a lead time. Every figure called lead time is over delivered
tickets; totals of waiting that include open tickets say so and add up with
the delivered ones; a wait no delivery ends is not "until delivery"; and a log
in which nothing is delivered gets no conclusion in hours.
"""

from __future__ import annotations

import math

import pytest

from miner.waits import END, OPEN, START
from reports.findings import answers
from tests.miner import scenarios as sc
from tests.conftest import run_cli
from tests.miner.test_accounting_truth import run

H = 3600.0


@pytest.fixture(scope="module")
def open_results(tmp_path_factory):
    return run(tmp_path_factory.mktemp("open"), sc.open_tickets())


def test_stream_lead_time_is_over_delivered_tickets(open_results):
    streams = open_results.streams_by_path.set_index("stream")
    both = streams.loc["engage → deliver and support"]  # C00–C39 delivered in 10 h; O00–O59 open for 5 d
    assert (both["tickets"], both["open"]) == (100, 60)
    assert both["lead_time_median_s"] == 10 * H  # the decoy: over all 100 tickets the median is an age, 118 h
    assert both["lead_time_p90_s"] == 10 * H
    untouched = streams.loc["engage"]  # N0–N9: open, no lead time at all
    assert (untouched["tickets"], untouched["open"]) == (10, 10)
    assert math.isnan(untouched["lead_time_median_s"]) and math.isnan(untouched["lead_time_p90_s"])


def test_the_overall_waiting_adds_the_open_tickets_to_the_delivered_ones(open_results):
    r = open_results
    overall = next(f for f in answers(r).all["waits"] if f.kind == "waiting_overall")
    fig = overall.figures
    assert fig["waiting_s"] == 40 * 20 * 60  # delivered: 20 min in New each
    assert fig["lead_s"] == 40 * 10 * H
    assert fig["open_tickets"] == 70
    assert fig["open_waiting_s"] == (60 * 7100 + 10 * 5760) * 60  # O: New 20 min + customer to 5 d; N: New from 1 d
    # The waits between activities are shares of this total: the same time the wait classes hold.
    assert fig["all_waiting_s"] == pytest.approx(sum(r.comparison.by_class[k] for k in ("queue", "customer", "handoff", "reopened")))
    assert "the 70 open tickets have waited 8,060 ticket-hours so far (until the export's end), so 8,073 in all, the base of every 'of all waiting' share" in overall.sentence
    assert overall.sentence.startswith("Overall, the 40 delivered tickets wait 13 of 400 ticket-hours of lead time (3%)")


def test_an_open_tickets_last_wait_is_not_until_delivery(open_results):
    t = open_results.comparison.transitions.set_index(["source", "target"])
    assert t.loc[("In Progress", OPEN), "waits"] == 60  # O00–O59 wait on the customer until the export's end
    assert t.loc[("In Progress", OPEN), "total_s"] == 60 * 7080 * 60
    assert t.loc[(START, OPEN), "waits"] == 10  # N0–N9: never worked
    assert (START, "In Progress") in t.index  # C and O: 20 min in New before work
    assert not any(target == END for _, target in t.index)  # no delivered ticket waits after its last work
    waits = [f.sentence for f in answers(open_results).all["waits"] if f.kind == "wait_transition"]
    assert any(s.startswith("In open tickets after last work ('In Progress'), still waiting at the export's end: 7,080 ticket-hours") for s in waits)
    assert not any("until delivery" in s for s in waits)


def test_an_extra_stage_is_judged_on_delivered_tickets_not_on_ages(tmp_path):
    r = run(tmp_path, sc.open_extra_stage())
    d = r.comparison.deviations.set_index(["type", "step"]).loc[("extra", "obtain/build")]
    assert d["tickets"] == 50  # X00–X24 delivered and W00–W24 open all go through it
    assert d["median_extra_lead_s"] == 0.0  # delivered X and P both take 60–84 min, median 72
    f = next(f for f in answers(r).all["no_value"] if f.kind == "deviation" and f.figures["step"] == "obtain/build")
    assert f.test is not None and not f.test["significant"]  # the decoy: the open W tickets' ages (10 d) would be significant
    assert f.impact_hours is None
    assert f.sentence == ("In the Incident stream, obtain/build is not a designed step, yet 50 of 75 tickets go through it "
                          "(67%, 95% CI 55%–76%); no clear difference in lead time from conforming tickets "
                          f"(adjusted p = {f.test['p_adjusted']:.3f}).")


def test_the_rework_total_counts_the_tickets_the_rework_rate_counts(tmp_path):
    r = run(tmp_path, sc.bounces_and_repeats())
    t = sc.per_ticket(r)
    assert int((t["bounces"] > 0).sum()) == 10 and int((t["repetitions"] > 0).sum()) == 10
    assert r.comparison.headline["rework_rate"] == pytest.approx(20 / 30)
    total = next(f for f in answers(r).all["no_value"] if f.kind == "rework_total")
    assert (total.count, total.denominator) == (20, 30)  # the decoy, timed kinds only: 10
    assert total.impact_hours == pytest.approx(10 * 0.5)  # R's second Investigate, 30 min each; bounces are their own finding


def test_nothing_delivered_gives_no_conclusion_in_hours(tmp_path):
    r = run(tmp_path, sc.nothing_delivered())
    a = answers(r)
    every = [f for q in ("waits", "rework", "no_value") for f in a.all[q]]
    assert [f for f in every if f.impact_hours is not None] == []
    assert not {"wait_step", "wait_transition", "waiting_state", "rework_total", "moved_bottleneck"} & {f.kind for f in every}
    overall = next(f for f in every if f.kind == "waiting_overall")
    assert overall.sentence == (
        "Wait share and flow efficiency are n/a: no ticket reaches a done state such as Resolved or Closed; "
        "all 70 tickets are open, so their time runs until the export's end and vsm totals no waiting or rework in hours; "
        "if tickets do end (Resolved, Closed, Declined …), name those states in a mapping (vsm mapping init).")
    assert r.lead_time_s["tickets"] == 0 and r.streams_by_path["lead_time_median_s"].isna().all()


def test_a_first_step_most_tickets_lack_is_blamed_on_the_export_not_the_process(tmp_path, open_results):
    r = run(tmp_path, sc.export_starts_after_logging())
    d = r.comparison.deviations.set_index(["type", "step"]).loc[("skipped", "engage")]
    assert (d["tickets"], d["share"]) == (24, 0.8)
    assert r.comparison.design.warnings == [
        "stream 'Incident': 24 tickets (80%) have no engage event, their first event is already later work; if the export "
        "starts after tickets are logged, mark that step optional (optional = true) in a design file (vsm design EXPORT -o "
        "streams.toml writes one), so that skipping it is not counted as a deviation"]
    assert not [w for w in open_results.comparison.design.warnings if "no engage event" in w]  # every ticket starts in New


def test_a_steps_waiting_says_how_much_is_open_tickets_waiting_so_far(open_results):
    steps = open_results.comparison.bottleneck_steps.set_index("label")
    deliver = steps.loc["deliver and support"]  # O00–O59 wait on the customer from 120 min to the export's end
    assert (deliver["tickets_waited"], deliver["open_tickets_waited"]) == (60, 60)
    assert deliver["open_wait_s"] == deliver["total_wait_s"] == 60 * 7080 * 60
    engage = steps.loc["engage"]  # New: 20 min in C and O; N0–N9 from 1 d to 5 d
    assert (engage["tickets_waited"], engage["open_tickets_waited"]) == (110, 70)
    assert engage["open_wait_s"] == (60 * 20 + 10 * 5760) * 60
    assert engage["total_wait_s"] == (110 * 20 + 10 * (5760 - 20)) * 60


def test_nothing_delivered_totals_no_hours_in_the_terminal_or_the_html(tmp_path):
    path = sc.write_csv(tmp_path, sc.nothing_delivered())
    out = run_cli("compare", path).stdout
    assert "\nWaits      flow efficiency n/a: no ticket reaches a done state such as Resolved or Closed; waiting: not measured\n" in out
    assert "Steps over target" not in out and "Waiting at designed steps" not in out
    page = tmp_path / "r.html"
    assert run_cli("report", path, "-o", page, "--quiet").exit_code == 0
    html = page.read_text()
    assert "<b>Waiting hours: n/a.</b>" in html and "<b>Step times: n/a.</b>" in html
    assert "tickets with rework" in html and "no hours: no ticket is delivered" in html
    assert "<h4>Waiting at designed steps</h4>" not in html and "<h4>Waiting between activities</h4>" not in html
