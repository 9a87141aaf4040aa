"""The summary agrees with itself and with the JSON on varied logs: samples, a list export, an unmapped log, no groups."""

from __future__ import annotations

import json
import math

import pandas as pd
import pytest
from markupsafe import escape

from reports.units import pct
from tests.conftest import SAMPLE_LOGS, run_cli

SAMPLES = ["service_desk_events.csv", "servicenow_audit.csv", "servicenow_incidents.csv", "jira_changelog.json",
           "zendesk_ticket_events.json", "multi_team_events.csv"]


def _variant(tmp_path_factory, kind: str):
    frame = pd.read_csv(SAMPLE_LOGS / "service_desk_events.csv")
    if kind == "no_groups":
        frame = frame.drop(columns=["group"])
    else:  # every activity a code no rule knows
        codes = {a: f"Zustand {i}" for i, a in enumerate(sorted(frame["activity"].unique()))}
        frame["activity"] = frame["activity"].map(codes)
    path = tmp_path_factory.mktemp(kind) / f"{kind}.csv"
    frame.to_csv(path, index=False)
    return path


@pytest.fixture(scope="module", params=[*SAMPLES, "no_groups", "unmapped"])
def run(request, tmp_path_factory):
    name = request.param
    path = SAMPLE_LOGS / name if name in SAMPLES else _variant(tmp_path_factory, name)
    out = tmp_path_factory.mktemp("out")
    result = run_cli("report", path, "-o", out / "r.html", "--json", out / "r.json", "--quiet")
    assert result.exit_code == 0, result.stderr
    return name, json.loads((out / "r.json").read_text()), " ".join((out / "r.html").read_text().split())


def _findings(doc):
    return [f for q in ("waits", "rework", "no_value") for f in doc["findings"][q]]


def test_no_state_adds_only_waiting_and_is_redone(run):
    _, doc, _ = run
    only_waiting = {f["figures"]["activity"] for f in _findings(doc) if f["kind"] == "waiting_state"}
    redone = {f["figures"]["activity"] for f in _findings(doc) if f["kind"] == "repeated_activity"}
    assert not only_waiting & redone


def test_no_hand_off_figures_without_a_group_column(run):
    name, doc, page = run
    if name != "no_groups":
        return
    sentences = [f["sentence"] for f in _findings(doc)]
    assert any("no group or team column" in s for s in sentences)
    assert not any(w in s.lower() for s in sentences for w in ("handoff", "hand-off wait", "bounce")
                   if "no group or team column" not in s)
    overall = next(f for f in doc["findings"]["waits"] if f["kind"] == "waiting_overall")
    assert "; of the waiting: assignment " in overall["sentence"]  # named by activities such as 'Assign to group'


def test_no_wait_of_zero_is_a_finding(run):
    _, doc, _ = run
    for f in _findings(doc):
        assert "median 0 s" not in f["sentence"], f["sentence"]
        if f["kind"] in ("waiting_state", "wait_step", "wait_transition"):
            assert f["impact_hours"] > 0


def test_the_overall_sentence_is_the_headline(run):
    name, doc, page = run
    h = doc["headline"]
    overall = next(f for f in doc["findings"]["waits"] if f["kind"] == "waiting_overall")
    if h["wait_share"] is None:
        assert overall["sentence"].startswith("Wait share and flow efficiency are n/a: ")
        assert doc["not_measured"]["wait_share"] in overall["sentence"]
    else:
        assert overall["figures"]["waiting_share"] == h["wait_share"]
        assert f"({pct(h['wait_share'])})" in overall["sentence"]
        if h["flow_efficiency"] is not None:
            assert overall["figures"]["flow_efficiency_pooled"] == h["flow_efficiency"]
            assert f"flow efficiency is {pct(h['flow_efficiency'])} pooled" in overall["sentence"]
            assert math.isclose(h["flow_efficiency"] + h["wait_share"] + h["unclassified_share"], 1.0, abs_tol=1e-9)
    assert str(escape(overall["sentence"])) in page


def test_not_measured_matches_the_nulls(run):
    name, doc, page = run
    gone = doc["not_measured"]
    h = doc["headline"]
    assert ("conformance" in gone) == (h["fitness"] is None) == (name == "unmapped")
    assert ("flow_efficiency" in gone) == (h["flow_efficiency"] is None)
    assert ("flow_efficiency" in gone) == (name in ("unmapped", "servicenow_incidents.csv"))
    for what in gone:
        assert "n/a" in page
        assert str(escape(gone[what])) in page


def test_the_map_arcs_and_the_rework_card_say_what_they_count(run):
    name, doc, page = run
    if name != "service_desk_events.csv":
        return
    assert "each ticket once per arc (the Rework section counts every backflow, each return once, in all streams)" in page
    backflows = doc["rework"]["backflows"]
    assert (f'<span class="v">{backflows["count"]:,}</span><span class="l">backflows (every return to an earlier designed step, '
            f'all streams) in {backflows["cases"]:,} tickets') in page


def test_top_limits_the_moved_bottleneck_lines():
    import connectors
    import miner
    from reports.terminal import compare_text

    log, report = connectors.load(SAMPLE_LOGS / "multi_team_events.csv")
    found = miner.compare(log, None, source=report.source)
    groups = found.comparison.groups
    groups["moved_bottleneck"] = True  # as if every group were flagged (a real log had 29)
    groups["reason"] = "fast"
    assert len(groups) > 3
    lines = compare_text(report, found, top=2).splitlines()
    moved = [x for x in lines if x.startswith("Moved bottleneck: ")]
    assert len(moved) == 2
    assert lines[lines.index(moved[-1]) + 1] == f"… and {len(groups) - 2:,} more (see --json or --csv-dir)"
    # The findings name at most a few of them, the rest are counted in the JSON tables.
    assert sum("its speed moves the bottleneck downstream" in x for x in lines) <= 5
