"""Findings carry their evidence: count and denominator, Wilson interval, impact in ticket-hours,
BH-corrected tests; they are ranked by impact, with a minimum support."""

from __future__ import annotations

import json
import re
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from markupsafe import escape
from scipy import stats

from miner.discovery import compare
from miner.waits import CLASSES, END, START
from reports.findings import answers, handoff_tests, rate_ci_text, wait_place
from reports.terminal import findings_text
from reports.units import hours, human, pct, pct_bound
from tests.conftest import SAMPLE_LOGS, run_cli
from tests.helpers import make_log


@pytest.mark.parametrize(("k", "n", "text"), [
    pytest.param(1480, 1487, "99.5%, 95% CI 99.0%–99.8%", id="near-100"),
    pytest.param(1486, 1487, "99.9%, 95% CI 99.6%–99.99%", id="bound-rounds-to-100"),
    pytest.param(1487, 1487, "100.0%, 95% CI 99.7%–100.0%", id="all"),
    pytest.param(0, 1487, "0.0%, 95% CI 0.0%–0.3%", id="none"),
    pytest.param(1, 100000, "<0.1%, 95% CI 0.0002%–0.01%", id="bound-rounds-to-0"),
])
def test_interval_bounds_are_numbers_not_inequalities(k, n, text):
    """'<1%' and '>99%' are for a share; an interval's bound gets the digits it needs instead ('98.6%–>99.9%' was printed)."""
    assert rate_ci_text(k, n) == text


@pytest.mark.parametrize(("source", "target", "words"), [
    pytest.param("Triage", "Fix", "between 'Triage' and 'Fix'", id="between"),
    pytest.param("Fix", "Fix", "between two runs of 'Fix'", id="interrupted"),
    pytest.param(START, "Fix", "before first work, until 'Fix'", id="first"),
    pytest.param("Fix", END, "after last work ('Fix') until delivery", id="last"),
    pytest.param(START, END, "in tickets with no work recorded, from the first event until delivery", id="none"),
])
def test_waits_are_named_by_the_work_around_them(source, target, words):
    assert wait_place(source, target) == words


def _customer_waits():
    """24 tickets wait an hour for the customer between two runs of work; 6 never wait."""
    rows = []
    for i in range(24):
        rows += [(f"A{i:02}", "Log call", 0), (f"A{i:02}", "Investigate", 10), (f"A{i:02}", "Awaiting customer", 20),
                 (f"A{i:02}", "Investigate", 80), (f"A{i:02}", "Resolved", 90)]
    for i in range(6):
        rows += [(f"B{i}", "Log call", 0), (f"B{i}", "Investigate", 10), (f"B{i}", "Resolved", 20)]
    return compare(make_log(rows), None)


def test_exact_terminal_lines_for_a_known_log():
    # Lead time 24 × 90 + 6 × 20 min = 38 h, of which 24 h waiting for the customer; work 14 h.
    # Wilson 95% interval of 24 of 30: 62.7%–90.5%.
    found = _customer_waits()
    lines = findings_text(found, answers(found))
    assert lines[:13] == [
        "Findings   ranked by impact in ticket-hours; each rests on at least 20 tickets (hand-offs for a pair of groups); rates with 95% intervals",
        "  Where does work wait?",
        "    - At deliver and support in the Incident stream, 24 ticket-hours of waiting before or between its work: 24",
        "      of 30 tickets that reached it waited (80.0%, 95% CI 62.7%–90.5%), median 60 min among them; 100% of the",
        "      waiting at designed steps.",
        "      e.g. A00, A01, A02",
        "    - Between two runs of 'Investigate': 24 ticket-hours of waiting in 24 of 30 tickets (80.0%, 95% CI",
        "      62.7%–90.5%), 24 waits, median 60 min per wait; 100% of all waiting; spent in 'Awaiting customer'",
        "      (100%).",
        "      e.g. A00, A01, A02",
        "    - Overall, tickets wait 24 of 38 ticket-hours of lead time (63%); of the waiting: customer 100%; flow",
        "      efficiency is 37% pooled; the median ticket's is 33%.",
        "  Which hand-offs cause rework?",
    ]


def test_a_step_most_tickets_skip_waiting_is_not_a_median_of_zero():
    # 24 of 30 tickets wait: the median over all reached tickets is 1 h, but with 6 of 30 it would be 0 s.
    rows = []
    for i in range(6):
        rows += [(f"A{i}", "Log call", 0), (f"A{i}", "Investigate", 10), (f"A{i}", "Awaiting customer", 20),
                 (f"A{i}", "Investigate", 140), (f"A{i}", "Resolved", 150)]
    for i in range(24):
        rows += [(f"B{i:02}", "Log call", 0), (f"B{i:02}", "Investigate", 10), (f"B{i:02}", "Resolved", 20)]
    found = compare(make_log(rows), None)
    step = found.comparison.bottleneck_steps.iloc[0]
    assert (step["tickets_waited"], step["tickets"], step["median_wait_s"], step["total_wait_s"]) == (6, 30, 7200.0, 6 * 7200.0)
    assert found.comparison.steps.set_index("stage").loc["deliver_support", "wait_median_s"] == 0.0
    sentence = next(f.sentence for f in answers(found, min_support=5).waits if f.kind == "wait_step")
    assert "6 of 30 tickets that reached it waited" in sentence and "median 2.0 h among them" in sentence
    assert "0 s" not in sentence


def test_bottleneck_views_keep_their_own_shares():
    found = _customer_waits()
    c = found.comparison
    assert c.bottleneck_steps["share_of_step_waiting"].sum() == pytest.approx(1.0)
    assert c.bottleneck_transitions["share_of_waiting"].sum() == pytest.approx(1.0)
    assert set(c.bottleneck_transitions["label"]) == {"Investigate → Investigate"}


# --- Hand-offs: the decoy and the tests ------------------------------------------------------


def _fake(handoffs: list[tuple[str, str, int, int]], downstream_rework_h: float = 1000.0) -> SimpleNamespace:
    """A Results-like object with only hand-offs: (from, to, hand-offs, followed by rework)."""
    frame = pd.DataFrame([{"from_group": a, "to_group": b, "handoffs": n, "followed_by_rework": k, "rework_share": k / n,
                           "bounced_back": 0, "examples": [f"{a}-{b}"]} for a, b, n, k in handoffs])
    tickets = pd.DataFrame({c: np.zeros(100) for c in ("bounces", "reassignments", "reopens", "reopens_s", "bounce_s", "lead_time_s",
                                                        "self_loops_s", "repetitions_s", "backflows_s", "work_s", "wait_s",
                                                        *(f"{c}_s" for c in CLASSES))})
    tickets["any_rework"] = False
    tickets["delivered"] = True
    tickets["case_id"] = [f"T{i}" for i in range(100)]
    comparison = SimpleNamespace(
        handoffs=frame, pairs=pd.DataFrame(), repeated=pd.DataFrame(columns=["activity", "tickets", "time_s", "repetitions", "self_loops", "examples"]),
        groups=pd.DataFrame({"group": ["X"], "downstream_rework_s": [downstream_rework_h * 3600], "moved_bottleneck": [False]}),
        by_class={c: 0.0 for c in CLASSES}, flow_efficiency={"pooled": None, "median": None},
        by_state=pd.DataFrame(columns=["activity", "class", "events", "tickets", "total_s", "median_s", "share"]),
        deviations=pd.DataFrame(columns=["stream", "type", "step", "tickets"]),
        bottleneck_steps=pd.DataFrame(), bottleneck_transitions=pd.DataFrame())
    summary = SimpleNamespace(activity_table=pd.DataFrame({"activity": [], "events": [], "cases": []}))
    return SimpleNamespace(tickets=tickets, comparison=comparison, has_groups=True, summary=summary)


DECOY = [("A", "B", 3, 3), ("C", "D", 400, 150), ("E", "F", 2000, 200), ("G", "H", 600, 60)]


def test_three_of_three_is_left_out_and_said_so():
    a = answers(_fake(DECOY))
    handoff = [f for f in a.rework if f.kind == "handoff_rework"]
    assert [f.figures["from_group"] for f in handoff] == ["C"]
    assert a.left_out["handoff_rework"] == 1
    assert "1 possible finding rests on fewer than 20 hand-offs and is left out" in a.rework[-1].sentence


def test_a_small_pair_never_outranks_a_large_one_even_when_tested():
    a = answers(_fake(DECOY), min_support=1)
    handoff = [f for f in a.all["rework"] if f.kind == "handoff_rework"]
    assert [f.figures["from_group"] for f in handoff][:2] == ["C", "A"]
    big, small = handoff[0], handoff[1]
    assert big.impact_hours > small.impact_hours and big.rate < small.rate


def test_no_clear_excess_is_said_plainly():
    a = answers(_fake([("A", "B", 100, 20), ("C", "D", 100, 22), ("E", "F", 100, 18)]))
    assert not [f for f in a.rework if f.kind == "handoff_rework"]
    none = next(f for f in a.rework if f.kind == "handoff_rework_none")
    assert none.sentence.startswith("No hand-off between two groups is followed by rework clearly more often than the others: 3 pairs")
    assert (none.count, none.denominator) == (60, 300)


def test_fisher_and_benjamini_hochberg_are_scipys():
    h = handoff_tests(pd.DataFrame([{"from_group": a, "to_group": b, "handoffs": n, "followed_by_rework": k, "bounced_back": 0}
                                    for a, b, n, k in DECOY]), 20)
    tested = h[h["handoffs"] >= 20]
    raw = []
    for k, n in tested[["followed_by_rework", "handoffs"]].itertuples(index=False):
        rk, rn = 3 + 150 + 200 + 60 - k, 3003 - n
        raw.append(stats.fisher_exact([[k, n - k], [rk, rn - rk]], alternative="greater").pvalue)
    assert tested["p_value"].tolist() == pytest.approx(raw, rel=1e-12)
    assert tested["p_adjusted"].tolist() == pytest.approx(list(stats.false_discovery_control(raw, method="bh")), rel=1e-12)
    assert np.isnan(h.loc[h["handoffs"] < 20, "p_adjusted"]).all()


# --- JSON: every number in a sentence is a field ------------------------------------------


NUMBER = re.compile(r"\d[\d,]*(?:\.\d+)?")


def _renderings(value, key: str = "") -> set[str]:
    """Every way a sentence may print a JSON number."""
    if isinstance(value, dict):
        return set().union(*(_renderings(v, k) for k, v in value.items())) if value else set()
    if isinstance(value, list):
        return set().union(*(_renderings(v, key) for v in value)) if value else set()
    if isinstance(value, bool) or not isinstance(value, int | float):
        return set(NUMBER.findall(value)) if isinstance(value, str) else set()
    out = {f"{value:,.0f}", hours(value), hours(value / 3600), human(value)}
    out |= {f(value, d) for f in (pct, pct_bound) for d in (0, 1, 2, 3)} if -0.0001 <= value <= 1.0001 else set()
    out |= {f"{value:.3f}"}
    return {t for s in out for t in NUMBER.findall(s)}


def test_every_number_in_a_sentence_is_a_json_field_and_the_outputs_agree(tmp_path):
    audit = SAMPLE_LOGS / "servicenow_audit.csv"
    html = tmp_path / "r.html"
    assert run_cli("report", audit, "-o", html, "--json", tmp_path / "r.json", "--min-support", "5", "--quiet").exit_code == 0
    doc = json.loads((tmp_path / "r.json").read_text())
    text = run_cli("compare", audit, "--min-support", "5").stdout
    flat = " ".join(text.split())
    page = " ".join(html.read_text().split())
    findings = doc["findings"]
    assert doc["schema_version"] == "2.3" and findings["min_support"] == 5 and findings["ranked_by"] == "impact_hours"
    seen = 0
    for question in ("waits", "rework", "no_value"):
        ranked = [f["impact_hours"] for f in findings[question] if f["impact_hours"] is not None]
        assert ranked == sorted(ranked, reverse=True)
        for f in findings[question]:
            allowed = _renderings(f) | {"95"}
            for token in NUMBER.findall(f["sentence"]):
                assert token in allowed, (token, f["sentence"])
            if f["count"] is not None and f["denominator"]:
                lo, hi = stats.binomtest(f["count"], f["denominator"]).proportion_ci(method="wilson")
                assert f["rate_ci"] == pytest.approx([lo, hi])
                assert f["rate"] == pytest.approx(f["count"] / f["denominator"])
            if f["test"] is not None:
                assert f["test"]["significant"] == (f["test"]["p_adjusted"] < 0.05)
            seen += 1
    # The summary's sentences are the JSON's, in the terminal and in the HTML.
    shown = [f for q in ("waits", "rework", "no_value") for f in findings[q] if f["in_summary"]]
    assert len(shown) >= 8
    for f in shown:
        assert f["sentence"] in flat
        assert str(escape(f["sentence"])) in page
    assert seen >= 8
    waits = doc["waits"]
    assert sum(r["share_of_step_waiting"] for r in waits["bottleneck_steps"]) == pytest.approx(1.0)
    assert sum(r["share_of_waiting"] for r in waits["bottleneck_transitions"]) <= 1.0 + 1e-9
    labels = {r["label"] for r in waits["bottleneck_transitions"]}
    assert not any("(start)" in x or "(end)" in x for x in labels)
    assert any(x.startswith("before first work") for x in labels)


def test_min_support_and_csv_dir_on_compare(tmp_path):
    audit = SAMPLE_LOGS / "servicenow_audit.csv"
    strict = run_cli("compare", audit, "--min-support", "1000", "--csv-dir", tmp_path / "csv")
    assert strict.exit_code == 0
    flat = " ".join(strict.stdout.split())
    assert "each rests on at least 1,000 tickets" in flat
    assert re.search(r"\d+ possible findings rest on fewer than 1,000 hand-offs or tickets and are left out", flat)
    assert (tmp_path / "csv" / "bottleneck_steps.csv").read_text().startswith("stream,step,label,total_wait_s,tickets,tickets_waited")
    assert (tmp_path / "csv" / "bottleneck_transitions.csv").exists()
    bad = run_cli("compare", audit, "--min-support", "0")
    assert bad.exit_code == 2 and "--min-support" in bad.stderr


def test_repeated_work_says_how_it_was_repeated():
    # 25 tickets: 'Investigate' by ana, then straight after by bo (a self-loop, 10 min), then after a test
    # by bo again (a repetition, 10 min). 5 decoys: the same person's second session, which is no rework.
    rows = []
    for i in range(25):
        rows += [(f"R{i:02}", "Investigate", 0, "L1", "ana"), (f"R{i:02}", "Investigate", 10, "L1", "bo"),
                 (f"R{i:02}", "Test", 20, "L1", "bo"), (f"R{i:02}", "Investigate", 30, "L1", "bo"),
                 (f"R{i:02}", "Resolved", 40, "L1", "bo")]
    for i in range(5):
        rows += [(f"S{i}", "Investigate", 0, "L1", "cy"), (f"S{i}", "Investigate", 10, "L1", "cy"), (f"S{i}", "Resolved", 20, "L1", "cy")]
    found = compare(make_log(rows, columns=("case_id", "activity", "minutes", "group", "resource")), None)
    repeated = [f for f in answers(found).rework if f.kind == "repeated_activity"]
    assert [f.text for f in repeated] == [
        "'Investigate' is done again in 25 of 30 tickets that do it (83.3%, 95% CI 66.4%–92.7%), 25 times after other work; "
        "25 times straight after, by another person: 8.3 ticket-hours of repeated work."]
    assert (repeated[0].count, repeated[0].denominator, repeated[0].impact_hours) == (25, 30, 25 * 20 / 60)


def _overall(rows):
    found = compare(make_log(rows), None)
    return next(f for f in answers(found, min_support=5).waits if f.kind == "waiting_overall")


def test_a_work_state_held_for_days_makes_flow_efficiency_an_upper_bound():
    # 'In Progress' is a work state; in 5 of 30 tickets it is held 3 days (idle, not touched), holding most of the work time.
    rows = []
    for i in range(30):
        held = 3 * 24 * 60 if i < 5 else 30
        rows += [(f"T{i:02}", "Log call", 0), (f"T{i:02}", "In Progress", 10), (f"T{i:02}", "Resolved", 10 + held)]
    overall = _overall(rows)
    assert overall.figures["idle_in_work_states"] == [{"activity": "In Progress", "p90_s": pytest.approx(72 * 3600, rel=0.01)}]
    assert overall.sentence.endswith(
        "But 'In Progress' is a work state whose visits last over 3.0 d one time in ten: idle time there counts as work, "
        "so flow efficiency is an upper bound.")


def test_a_long_wait_in_a_waiting_state_is_no_idle_work_decoy():
    # The decoy: the same three days, in a state named as waiting; the work itself takes 30 minutes. No caveat.
    rows = []
    for i in range(30):
        held = 3 * 24 * 60 if i < 5 else 0
        rows += [(f"T{i:02}", "Log call", 0), (f"T{i:02}", "Awaiting customer", 10), (f"T{i:02}", "In Progress", 10 + held),
                 (f"T{i:02}", "Resolved", 40 + held)]
    overall = _overall(rows)
    assert overall.figures["idle_in_work_states"] == []
    assert "upper bound" not in overall.sentence

def test_deviation_tests_when_no_delivered_ticket_deviates():
    """Deviations only among open tickets, every delivered ticket conforming: nothing to compare, no error."""
    from reports.findings import deviation_tests

    tickets = pd.DataFrame({
        "designed_stream": ["Incident"] * 3,
        "lead_time_s": [10.0, 20.0, 30.0],
        "deviations": [[], [], ["repeated\x1fengage"]],
        "conforming": [True, True, False],
        "delivered": [True, True, False],
    })
    deviations = pd.DataFrame({"stream": ["Incident"], "type": ["repeated"], "step": ["engage"]})
    assert deviation_tests(tickets, deviations) == [None]


def test_nothing_found_is_not_said_when_findings_rest_on_too_few_tickets():
    """Two tickets repeat their work and go back a step: too few for a finding at --min-support 20, but not nothing."""
    rows = []
    for i in range(6):
        rows += [(f"T{i}", "Log call", 0), (f"T{i}", "Investigate", 60), (f"T{i}", "Resolved", 120)]
    for i in range(2):
        rows += [(f"R{i}", "Log call", 0), (f"R{i}", "Investigate", 60), (f"R{i}", "Log call", 90),
                 (f"R{i}", "Investigate", 120), (f"R{i}", "Resolved", 300)]
    found = compare(make_log(rows), None)
    small = answers(found)
    kinds = [f.kind for f in small.no_value]
    assert "no_value_none" not in kinds
    assert small.left_out.get("rework_total") == 1
    assert any(f.kind == "left_out" and f.count >= 1 for f in small.no_value)
    assert "rework_total" in [f.kind for f in answers(found, min_support=2).no_value]  # the finding, at a lower bar
    clean = compare(make_log(rows[:18]), None)  # the six tickets without rework
    assert [f.kind for f in answers(clean).no_value] == ["no_value_none"]
