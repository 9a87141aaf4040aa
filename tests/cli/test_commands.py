"""mine, compare, design, mapping init and report as a user runs them."""

from __future__ import annotations

import json

import pytest

from tests.conftest import SAMPLE_LOGS, run_cli

CSV = SAMPLE_LOGS / "service_desk_events.csv"
AUDIT = SAMPLE_LOGS / "servicenow_audit.csv"


def test_mine_prints_streams_variants_edges_and_coverage():
    result = run_cli("mine", CSV)
    assert result.exit_code == 0
    out = result.stdout
    assert out.startswith("Log        400 tickets, 3,559 events, 21 activities")
    assert "Mapping    100.0% of events mapped to the value chain (built-in generic rules)" in out
    assert "Value streams, by attribute 'ticket_type': 3 ticket types covering 100% of tickets" in out
    assert "Top variants (121 in all)" in out
    assert "Top hand-overs between activities (directly-follows)" in out


def test_mine_json_schema_keys():
    doc = json.loads(run_cli("mine", CSV, "--json", "-").stdout)
    for key in ("schema_version", "log", "activity_dfg", "start_activities", "end_activities", "variants", "rework",
                "case_duration_s", "value_chain", "streams"):
        assert key in doc
    assert doc["schema_version"] == "2.3"
    assert set(doc["log"]) >= {"rows_read", "rows_rejected", "events", "cases", "activities", "start", "end", "source"}
    edge = doc["activity_dfg"][0]
    assert set(edge) >= {"source", "target", "count", "median_wait_s", "p90_wait_s"}
    assert doc["variants"]["count"] == 121
    assert {s["name"] for s in doc["streams"]} == {"Incident", "Service Request", "Change"}


def test_mine_writes_bpmn_models(tmp_path):
    result = run_cli("mine", CSV, "--bpmn", tmp_path / "models", "--json", tmp_path / "m.json")
    assert result.exit_code == 0
    files = sorted(p.name for p in (tmp_path / "models").iterdir())
    assert files == ["Change.bpmn", "Incident.bpmn", "Service_Request.bpmn"]
    assert "<bpmn:definitions" in (tmp_path / "models" / "Incident.bpmn").read_text()
    assert "bpmndi:BPMNShape" in (tmp_path / "models" / "Incident.bpmn").read_text()
    doc = json.loads((tmp_path / "m.json").read_text())
    assert doc["models"][0]["process_tree"].startswith("->(")


def test_compare_prints_and_fails_on_thresholds(tmp_path):
    result = run_cli("compare", AUDIT, "--fail-on", "rework_rate>0.1")
    assert result.exit_code == 1
    assert result.stderr.startswith("Threshold breached: rework_rate 0.")
    assert "Stream 'Incident':" in result.stdout and "Ping-pong" in result.stdout
    ok = run_cli("compare", AUDIT, "--fail-on", "fitness<0.1")
    assert ok.exit_code == 0


@pytest.mark.parametrize(
    "expr, message",
    [
        pytest.param("fitnes<0.8", "Error: --fail-on: unknown metric 'fitnes'; did you mean 'fitness'?\n", id="typo"),
        pytest.param("fitness=0.8", "Error: --fail-on: cannot read 'fitness=0.8'; write METRIC<VALUE", id="operator"),
    ],
)
def test_bad_fail_on_is_a_usage_error(expr, message):
    result = run_cli("compare", AUDIT, "--fail-on", expr)
    assert result.exit_code == 2
    assert result.stderr.startswith(message)


def test_compare_json_extends_the_mine_schema():
    doc = json.loads(run_cli("compare", AUDIT, "--json", "-").stdout)
    stream = doc["conformance"]["streams"][0]
    assert set(stream) >= {"name", "tickets", "fitness", "conforming_share", "deviations"}
    assert set(doc["rework"]) >= {"by_activity", "cases_with_rework", "self_loops", "repetitions", "backflows", "reopens", "ping_pong"}
    assert set(doc["rework"]["ping_pong"]) >= {"cases", "bounces", "top_pairs"}
    assert set(doc["waits"]) >= {"by_state", "by_step", "bottlenecks", "flow_efficiency"}
    assert set(doc["waits"]["flow_efficiency"]) == {"median", "pooled"}
    assert doc["groups"] and "moved_bottleneck" in doc["groups"][0]


def test_design_bootstraps_a_file_compare_accepts(tmp_path):
    path = tmp_path / "streams.toml"
    result = run_cli("design", CSV, "-o", path)
    assert result.exit_code == 0
    assert result.stderr.startswith(f"Wrote {path}: 4 streams")
    text = path.read_text()
    assert 'applies_to = { stream = "Incident" }' in text
    compared = run_cli("compare", CSV, "--design", path, "--json", "-")
    doc = json.loads(compared.stdout)
    assert {s["name"] for s in doc["conformance"]["streams"]} >= {"Incident", "Service Request", "Change"}


def test_bad_design_file_is_one_line(tmp_path):
    path = tmp_path / "streams.toml"
    path.write_text('[[stream]]\nname = "X"\n  [[stream.step]]\n  stage = "engagee"\n')
    result = run_cli("compare", CSV, "--design", path)
    assert result.exit_code == 2
    assert result.stderr == f"Error: {path}:4: stream 'X' step 1: unknown stage 'engagee'; did you mean 'engage'?\n"


def test_mapping_init_then_use(tmp_path):
    path = tmp_path / "mapping.toml"
    result = run_cli("mapping", "init", CSV, "-o", path)
    assert result.exit_code == 0
    assert result.stderr == f"Wrote {path}: 21 activities, 100.0% of events mapped\n"
    again = run_cli("mine", CSV, "--mapping", path)
    assert f"({path.name} (21 rules), then built-in generic rules)" in again.stdout


def test_report_writes_html_json_and_csv(tmp_path):
    out = tmp_path / "r.html"
    result = run_cli("report", AUDIT, "-o", out, "--json", tmp_path / "r.json", "--csv-dir", tmp_path / "csv")
    assert result.exit_code == 0
    lines = result.stderr.splitlines()
    assert [ln.split(" …")[0] for ln in lines[:3]] == [
        f"[1/3] Loading {AUDIT}", "[2/3] Mining and comparing 2,252 events", "[3/3] Rendering"]
    assert lines[-1].startswith(f"Wrote {out} (")
    html = out.read_text()
    assert html.startswith("<!DOCTYPE html>") and "Content-Security-Policy" in html
    assert "http://" not in html.replace("http://www.w3.org", "") and "https://" not in html
    assert json.loads((tmp_path / "r.json").read_text())["kind"] == "compare"
    assert {p.name for p in (tmp_path / "csv").iterdir()} >= {"tickets.csv", "edges.csv", "variants.csv", "groups.csv"}
    quiet = run_cli("report", AUDIT, "-o", out, "--quiet")
    assert quiet.stderr == ""


def test_report_refuses_to_overwrite_its_input(tmp_path):
    export = tmp_path / "log.csv"
    export.write_text(CSV.read_text())
    result = run_cli("report", export, "-o", export)
    assert result.exit_code == 2
    assert result.stderr == f"Error: refusing to overwrite the input file {export}; choose another output path\n"
    assert export.read_text() == CSV.read_text()


@pytest.mark.parametrize("workers", [pytest.param("1", id="one-process"), pytest.param("2", id="workers")])
def test_mapping_labels_name_activity_codes(tmp_path, workers):
    codes = tmp_path / "codes.csv"
    named = tmp_path / "named.csv"
    text = CSV.read_text()
    names = sorted({line.split(",")[1] for line in text.splitlines()[1:]})
    code_of = {name: str(100 + i) for i, name in enumerate(names)}
    rows = [line.split(",") for line in text.splitlines()]
    codes.write_text("\n".join(",".join([r[0], code_of.get(r[1], r[1]), *r[2:]]) for r in rows) + "\n")
    named.write_text(text)
    mapping = tmp_path / "labels.toml"
    mapping.write_text("[labels]\n" + "".join(f'"{c}" = "{n}"\n' for n, c in code_of.items()))
    doc = json.loads(run_cli("mine", codes, "--mapping", mapping, "--workers", workers, "--json", "-").stdout)
    plain = json.loads(run_cli("mine", named, "--workers", workers, "--json", "-").stdout)
    for key in ("activity_dfg", "start_activities", "end_activities", "variants", "rework", "lead_time_s"):
        assert doc[key] == plain[key], key
    assert doc["value_chain"]["activities"] == plain["value_chain"]["activities"]
    assert doc["value_chain"]["coverage"] == 1.0
