"""Designed-stream files: parsing, validation with line numbers, assignment of tickets."""

from __future__ import annotations

import pandas as pd
import pytest

from connectors.errors import ConfigError
from miner.design import assign_streams, builtin_design, parse_design_text, parse_duration

GOOD = """version = 1

[[stream]]
name = "Request"
applies_to = { stream = "glob:*Request*" }

  [[stream.step]]
  stage = "engage"
  practices = ["Service Desk"]
  target = "30m"

  [[stream.step]]
  stage = "deliver & support"
  target = "2d"
  repeat = true

[[stream]]
name = "Everything else"
applies_to = "default"

  [[stream.step]]
  stage = "deliver and support"
"""


def test_parse_good_file():
    design = parse_design_text(GOOD, "d.toml")
    request = design.streams[0]
    assert [s.stage for s in request.steps] == ["engage", "deliver_support"]
    assert request.steps[0].target_s == 1800 and request.steps[0].practices == ("service desk",)
    assert request.steps[1].repeat and request.steps[1].target_s == 2 * 86400
    assert design.streams[1].is_default


@pytest.mark.parametrize("text, expected", [("30m", 1800), ("4h", 14400), ("2d", 172800), ("1w", 604800), ("1.5h", 5400), (90, 90)])
def test_durations(text, expected):
    assert parse_duration(text) == expected


@pytest.mark.parametrize(
    "edit, message",
    [
        pytest.param(('stage = "engage"', 'stage = "engag"'), "d.toml:8: stream 'Request' step 1: unknown stage 'engag'; did you mean 'engage'?", id="unknown-stage"),
        pytest.param(('target = "30m"', 'target = "half an hour"'), "d.toml:10: stream 'Request' step 1: bad duration 'half an hour'", id="bad-duration"),
        pytest.param(('practices = ["Service Desk"]', 'practices = ["service dsk"]'), "d.toml:9: stream 'Request' step 1: unknown practice 'service dsk'; did you mean 'service desk'?", id="unknown-practice"),
        pytest.param(('target = "30m"', 'target = 19'), 'd.toml:10: stream \'Request\' step 1: target = 19 has no unit; write "19h" for hours (or "19m", "19d", "19w")', id="bare-number"),
        pytest.param(('target = "30m"', 'traget = "30m"'), "d.toml:10: stream 'Request' step 1: unknown key 'traget'; did you mean 'target'?", id="typo-key"),
        pytest.param(('applies_to = "default"', 'applies_to = { stream = "glob:*Request*" }'), "d.toml:17: applies_to of 'Everything else' overlaps 'Request' (line 3)", id="overlap"),
        pytest.param(('name = "Everything else"', 'name = "Request"'), "d.toml:17: two streams are named 'Request'", id="duplicate-name"),
    ],
)
def test_invalid_design_names_the_line(edit, message):
    with pytest.raises(ConfigError) as err:
        parse_design_text(GOOD.replace(*edit, 1), "d.toml")
    assert str(err.value).startswith(message)


def test_two_defaults_are_refused():
    text = GOOD.replace('applies_to = { stream = "glob:*Request*" }', 'applies_to = "default"')
    with pytest.raises(ConfigError, match="both apply by default"):
        parse_design_text(text, "d.toml")


def test_assignment_first_match_then_default_and_warning_for_double_matches():
    text = GOOD.replace('name = "Everything else"\napplies_to = "default"', 'name = "Network"\napplies_to = { category = "network" }')
    design = parse_design_text(text, "d.toml")
    types = pd.Series(["Service Request", "Incident", "Service Request", "Incident"], dtype=object)
    attrs = pd.DataFrame({"category": ["network", "network", None, "software"]})
    assert assign_streams(design, types, attrs).tolist() == [0, 1, 0, -1]
    assert design.warnings == ["1 ticket matches the applies_to of more than one stream; each follows the first"]


def test_builtin_design_reflects_the_itil_examples():
    design = builtin_design()
    steps = {s.name: [st.stage for st in s.steps] for s in design.streams}
    assert steps["Service request"] == ["engage", "deliver_support"]
    assert steps["Incident"] == ["engage", "deliver_support", "improve"]
    assert steps["New feature or change"] == ["engage", "design_transition", "obtain_build", "deliver_support", "improve"]
    assert next(s for s in design.streams if s.name == "Incident").steps[2].optional
