"""--fail-on per designed stream (issue 14): STREAM.METRIC<VALUE on vsm compare and vsm report."""

from __future__ import annotations

import pandas as pd
import pytest

from tests.conftest import SAMPLE_LOGS, run_cli

AUDIT = SAMPLE_LOGS / "servicenow_audit.csv"
STEPS = """
  [[stream.step]]
  stage = "engage"
  target = "1h"

  [[stream.step]]
  stage = "deliver and support"
  target = "1d"
"""
# Stream names with a dot, spaces and a comma: the parser must take them whole.
DESIGN = f"""version = 1
[[stream]]
name = "Svc.v2 desk"
applies_to = {{ category = "Hardware" }}
{STEPS}
[[stream]]
name = "Network, major"
applies_to = {{ category = "Network" }}
{STEPS}
[[stream]]
name = "Rest"
applies_to = "default"
{STEPS}
"""


@pytest.fixture(scope="module")
def design(tmp_path_factory):
    path = tmp_path_factory.mktemp("design") / "streams.toml"
    path.write_text(DESIGN)
    return path


@pytest.fixture(scope="module")
def tickets(design, tmp_path_factory):
    """The per-ticket table vsm writes: the per-stream figures must be these tickets' figures."""
    out = tmp_path_factory.mktemp("csv") / "csv"
    assert run_cli("compare", AUDIT, "--design", design, "--csv-dir", out).exit_code == 0
    return pd.read_csv(out / "tickets.csv")


def test_a_stream_threshold_reads_that_streams_tickets_only(design, tickets):
    mine = tickets[tickets["designed_stream"] == "Svc.v2 desk"]
    rate = mine["any_rework"].mean()
    assert round(rate, 4) == 0.3158 and round(tickets["any_rework"].mean(), 4) == 0.296  # the stream's rate, not the log's
    result = run_cli("compare", AUDIT, "--design", design, "--fail-on", "Svc.v2 desk.rework_rate>0.1")
    assert (result.exit_code, result.stderr) == (1, "Threshold breached: stream 'Svc.v2 desk': rework_rate 0.3158 > 0.1\n")
    assert run_cli("compare", AUDIT, "--design", design, "--fail-on", "Svc.v2 desk.rework_rate>0.32").exit_code == 0


def test_quoted_names_spaces_and_several_terms(design, tickets):
    rest = tickets[(tickets["designed_stream"] == "Rest") & tickets["delivered"]]
    flow = rest["work_s"].sum() / rest["lead_time_s"].sum()
    assert round(flow, 4) == 0.4996
    result = run_cli("compare", AUDIT, "--design", design, "--fail-on",
                     ' "Network, major" . rework_rate > 0.1 ,Rest.flow_efficiency<0.9, fitness<0.5')
    assert result.exit_code == 1
    assert result.stderr == ("Threshold breached: stream 'Network, major': rework_rate 0.3636 > 0.1; "
                             "stream 'Rest': flow_efficiency 0.4996 < 0.9\n")


def test_report_fails_on_a_stream_after_writing_the_report(tmp_path):
    out = tmp_path / "r.html"
    result = run_cli("report", AUDIT, "-o", out, "--quiet", "--fail-on", "Incident.lead_time_p90>1d")
    assert result.exit_code == 1
    assert result.stderr == "Threshold breached: stream 'Incident': lead_time_p90_h 236.9 > 24\n"
    assert out.stat().st_size > 0
    assert run_cli("report", AUDIT, "-o", out, "--quiet", "--fail-on", "Incident.lead_time_p90>2w").exit_code == 0


BUILTIN = "'Service request', 'New feature or change', 'Defect or task', 'Incident'"


@pytest.mark.parametrize("command", ["compare", "report"])
@pytest.mark.parametrize("expr, message", [
    ("Incdent.fitness<0.9", f"--fail-on: no designed stream 'Incdent' in 'Incdent.fitness<0.9'; streams: {BUILTIN}"),
    ("Incident.fitnes<0.9", "--fail-on: unknown metric 'fitnes'; did you mean 'fitness'?"),
    ("Network, major.fitness<1", "--fail-on: cannot read 'Network'; a stream whose name holds a comma goes in double quotes: "
                                 '"A, B".fitness<0.9'),
])
def test_an_unknown_stream_is_one_line_listing_the_streams_before_any_work(tmp_path, command, expr, message):
    out = ["-o", tmp_path / "r.html"] if command == "report" else []
    result = run_cli(command, AUDIT, *out, "--fail-on", expr)
    assert (result.exit_code, result.stdout, result.stderr) == (2, "", f"Error: {message}\n")
    assert not (tmp_path / "r.html").exists()


def test_a_designed_stream_without_tickets_breaches_nothing_and_says_so(tmp_path):
    # The built-in 'Defect or task' takes no ticket of the ServiceNow sample: there is no figure to test.
    result = run_cli("compare", AUDIT, "--fail-on", "Defect or task.rework_rate>0")
    assert result.exit_code == 0
    assert result.stderr == "Warning: --fail-on: designed stream 'Defect or task' has no tickets, so its thresholds are not tested\n"
