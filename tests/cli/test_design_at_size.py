"""What a designed stream shows and warns, as a user sees it: ticket types, unmatched streams, targets."""

from __future__ import annotations

import json

from tests.conftest import SAMPLE_LOGS, run_cli

CSV = SAMPLE_LOGS / "service_desk_events.csv"
DESIGN = """version = 1
[[stream]]
name = "Changes"
applies_to = { stream = "Kaputt" }
  [[stream.step]]
  stage = "engage"
  target = "1h"
[[stream]]
name = "Everything"
applies_to = "default"
  [[stream.step]]
  stage = "engage"
  target = "2h"
  [[stream.step]]
  stage = "deliver and support"
"""


def test_a_designed_stream_that_matches_no_ticket_is_a_warning(tmp_path):
    design = tmp_path / "d.toml"
    design.write_text(DESIGN)
    result = run_cli("compare", CSV, "--design", design, "--json", tmp_path / "r.json")
    assert result.exit_code == 0
    warning = ("designed stream 'Changes' matches no ticket (it applies to stream = Kaputt); "
               "check its applies_to against the ticket types")
    assert f"Warning: {warning}" in result.stderr.splitlines()
    assert warning in json.loads((tmp_path / "r.json").read_text())["conformance"]["warnings"]
    assert run_cli("report", CSV, "--design", design, "-o", tmp_path / "r.html", "--quiet").exit_code == 0
    assert "designed stream &#39;Changes&#39; matches no ticket" in (tmp_path / "r.html").read_text()


def test_the_built_in_design_does_not_warn_for_streams_a_log_lacks():
    result = run_cli("compare", CSV)
    assert "matches no ticket" not in result.stderr


def test_a_bare_number_target_is_refused_with_a_unit_hint(tmp_path):
    design = tmp_path / "d.toml"
    design.write_text(DESIGN.replace('target = "2h"', "target = 19"))
    result = run_cli("compare", CSV, "--design", design)
    assert result.exit_code == 2
    assert result.stderr.strip() == (f'Error: {design}:13: stream \'Everything\' step 1: target = 19 has no unit; '
                                     'write "19h" for hours (or "19m", "19d", "19w")')


def test_the_html_names_the_stream_attribute_its_values_and_what_a_target_covers(tmp_path):
    out = tmp_path / "r.html"
    assert run_cli("report", CSV, "-o", out, "--quiet").exit_code == 0
    page = out.read_text()
    assert ("ticket types come from attribute &#39;ticket_type&#39;: 3 ticket types covering 100% of tickets: "
            '<span class="nowrap">Incident (170) → Incident</span>, <span class="nowrap">Service Request (161) → Service request</span>, '
            '<span class="nowrap">Change (69) → New feature or change</span>.') in page
    assert "target 30 min, the wait before the step and the work in it" in page  # the designed step's chip
    assert "incl. wait</text>" in page  # the step box on the value-stream map
    assert '<th class="r">target (wait before + work)</th>' in page
