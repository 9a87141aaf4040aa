"""Figures a log cannot support are n/a, loudly, in every output; the bundled samples do not look broken."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from tests.conftest import SAMPLE_LOGS, run_cli


@pytest.fixture(scope="module")
def unmapped(tmp_path_factory):
    """The service-desk sample with every activity renamed to a code no rule knows."""
    frame = pd.read_csv(SAMPLE_LOGS / "service_desk_events.csv")
    codes = {a: f"Zustand {i}" for i, a in enumerate(sorted(frame["activity"].unique()))}
    frame["activity"] = frame["activity"].map(codes)
    path = tmp_path_factory.mktemp("unmapped") / "codes.csv"
    frame.to_csv(path, index=False)
    return path


def test_nothing_mapped_means_no_conformance_in_the_terminal(unmapped):
    out = run_cli("compare", unmapped).stdout
    lines = out.splitlines()
    assert lines[1] == "Mapping    0.0% of events mapped (built-in generic rules)"
    assert lines[3] == ("N/A        Conformance n/a: only 0.0% of events are mapped to the value chain, so paths cannot be compared "
                        "with the design; write a mapping (vsm mapping init) or pass --mapping.")
    assert "N/A        Flow efficiency n/a: no event is mapped to a work or waiting state." in lines
    assert "fitness 1.00" not in out and "100% follow the design" not in out
    assert "Stream 'Incident': 170 tickets, fitness n/a, conformance n/a; 170 still open, judged on the steps so far" in lines
    assert "Waits      flow efficiency n/a: no event is mapped to a work or waiting state; waiting: not measured" in lines
    assert lines[lines.index("  Which steps add no value?") + 1] == (
        "    - Steps the design does not foresee are n/a: only 0.0% of events are mapped to the value chain, so paths")


def test_nothing_mapped_is_null_in_json_and_na_in_html(unmapped, tmp_path):
    html, js = tmp_path / "r.html", tmp_path / "r.json"
    assert run_cli("report", unmapped, "-o", html, "--json", js, "--quiet").exit_code == 0
    doc = json.loads(js.read_text())
    h = doc["headline"]
    assert h["fitness"] is None and h["conforming_share"] is None and h["flow_efficiency"] is None and h["wait_share"] is None
    assert set(doc["not_measured"]) == {"conformance", "flow_efficiency", "wait_share"}
    assert all(s["fitness"] is None and s["conforming_share"] is None and s["deviations"] == [] for s in doc["conformance"]["streams"])
    page = html.read_text()
    assert "<b>Conformance: n/a.</b>" in page and "fitness n/a" in page and "fitness 1.00" not in page
    assert '<span class="v">n/a</span><span class="l">flow efficiency (pooled)</span>' in page


def test_design_warns_before_bootstrapping_from_an_unmapped_log(unmapped, tmp_path):
    result = run_cli("design", unmapped, "-o", tmp_path / "d.toml")
    assert result.exit_code == 0
    assert result.stderr.startswith("Warning: only 0.0% of events are mapped to the value chain, so the streams written rest on no events;")


def test_a_list_export_has_no_flow_efficiency_and_follows_the_design(tmp_path):
    # One row per ticket: Opened (the intake, engage), Resolved, Closed. No work state, so nothing to split.
    js = tmp_path / "r.json"
    out = run_cli("compare", SAMPLE_LOGS / "servicenow_incidents.csv", "--json", js).stdout
    lines = out.splitlines()
    assert "N/A        Flow efficiency n/a: no work states in this export." in lines
    assert "    - Wait share and flow efficiency are n/a: no work states in this export." in lines
    assert "Waits      flow efficiency n/a: no work states in this export; waiting: not measured" in lines
    assert "skipped engage" not in out and "flow efficiency 0%" not in out and "median 0 s" not in out
    assert "    - No state adds only waiting, no time goes to rework, and no step is taken that the design lacks." in lines
    assert "Stream 'Incident': 286 tickets, fitness 1.00, 100% follow the design exactly; 14 still open, judged on the steps so far" in lines
    doc = json.loads(js.read_text())
    assert doc["headline"]["flow_efficiency"] is None and doc["headline"]["wait_share"] is None
    assert doc["headline"]["unclassified_share"] == pytest.approx(1.0)
    assert doc["not_measured"] == {"flow_efficiency": "no work states in this export", "wait_share": "no work states in this export"}


@pytest.mark.parametrize("name", ["jira_changelog.json", "servicenow_incidents.csv", "servicenow_audit.csv",
                                  "zendesk_ticket_events.json", "service_desk_events.csv", "multi_team_events.csv"])
def test_no_sample_shows_a_deviation_of_nearly_every_ticket(name, tmp_path):
    # A deviation in 90% of a stream's tickets means the built-in design or mapping misreads the sample, not the process.
    js = tmp_path / "r.json"
    assert run_cli("compare", SAMPLE_LOGS / name, "--json", js).exit_code == 0
    for s in json.loads(js.read_text())["conformance"]["streams"]:
        for d in s["deviations"]:
            assert d["share"] < 0.9 or d["type"] == "skipped" and d["step"] == "design and transition", (name, s["name"], d)


def test_jira_bugs_may_need_a_build_without_deviating():
    out = run_cli("compare", SAMPLE_LOGS / "jira_changelog.json").stdout
    assert "Stream 'Service request': 24 tickets, fitness 1.00, 100% follow the design exactly" in out
    assert "Stream 'Defect or task': 78 tickets, fitness 1.00, 100% follow the design exactly; 1 still open, judged on the steps so far" in out
    assert "extra obtain/build" not in out and "skipped engage" not in out


def test_the_list_samples_truth_reads_its_time_as_vsm_does():
    # The truth of a list export calls the time from Opened to Resolved unknown, as the mapping does: neither work
    # nor waiting. vsm's unclassified time of each delivered ticket is exactly that span.
    import connectors
    import miner

    truth = json.loads((SAMPLE_LOGS / "servicenow_incidents.csv.truth.json").read_text())
    assert {a: m["time"] for a, m in truth["activities"].items()} == {"Opened": "unknown", "Resolved": "done", "Closed": "done"}
    log, report = connectors.load(SAMPLE_LOGS / "servicenow_incidents.csv")
    found = miner.discover(log, source=report.source)
    t = found.tickets.set_index("case_id")
    spans = {}
    for case, c in truth["cases"].items():
        times = {e[0]: pd.Timestamp(e[1]) for e in c["events"]}
        if "Resolved" in times:
            spans[case] = (times["Resolved"] - times["Opened"]).total_seconds()
    delivered = t[t["delivered"]]
    assert len(delivered) == len(spans) == 381
    assert delivered["unclassified_s"].to_dict() == pytest.approx(spans)
    assert delivered["work_s"].sum() == delivered["wait_s"].sum() == 0


def test_the_list_samples_html_claims_no_step_time_and_judges_open_tickets_so_far(tmp_path):
    # A list export has no work: the value-stream map and the step table say n/a, not "0 s" and "0% over target";
    # the open tickets' path (engage only) is judged on the steps so far, as the stream's fitness 1.00 says.
    out = tmp_path / "r.html"
    assert run_cli("report", SAMPLE_LOGS / "servicenow_incidents.csv", "-o", out, "--quiet").exit_code == 0
    html = out.read_text()
    assert "work: median 0 s" not in html and "of tickets over it" not in html and ">0.67<" not in html
    assert html.count(">work: n/a</text>") == 2 + 3 + 2  # each step box, and each stream's totals
    assert html.count(">over it: n/a</text>") == 4
    assert "<b>Step times: n/a.</b> This export records no work" in html
    assert html.count('judged on the steps so far">still open</small>') == 2
    timed = tmp_path / "audit.html"
    assert run_cli("report", SAMPLE_LOGS / "servicenow_audit.csv", "-o", timed, "--quiet").exit_code == 0
    text = timed.read_text()
    assert "work: n/a" not in text and "Step times: n/a" not in text and "of tickets over it</text>" in text
