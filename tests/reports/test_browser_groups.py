"""The report at real size in headless Chromium (issue 14): the groups section of ~200 groups stays readable,
example ids and names never break one word a line, and a value-stream box holds its text."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.conftest import run_cli
from tests.reports.test_browser import browser, open_report  # noqa: F401  (the fixture)

pytestmark = pytest.mark.browser


def many_groups_log(tmp_path: Path) -> Path:
    """The multi-team sample with 28 regional copies of each of its 7 teams: 196 groups, a region per ticket."""
    sample = tmp_path / "mt.csv"
    assert run_cli("sample", "--source", "multi-team", "--tickets", "2500", "--seed", "3", "-o", sample, "--quiet").exit_code == 0
    frame = pd.read_csv(sample)
    cases = frame["case_id"].unique()
    region = pd.Series(np.random.default_rng(1).zipf(1.3, len(cases)) % 28, index=cases)
    suffix = " R" + frame["case_id"].map(region).astype(str).str.zfill(2)
    frame["group"] = frame["group"].where(frame["group"].isna(), frame["group"] + suffix)
    path = tmp_path / "regions.csv"
    frame.to_csv(path, index=False)
    return path


def test_two_hundred_groups_stay_readable(browser, tmp_path):  # noqa: F811
    out, js = tmp_path / "groups.html", tmp_path / "groups.json"
    assert run_cli("report", many_groups_log(tmp_path), "-o", out, "--json", js, "--quiet").exit_code == 0
    groups = pd.DataFrame(json.loads(js.read_text())["groups"])
    assert len(groups) >= 190
    page, errors, requests = open_report(browser, out)
    assert errors == [] and requests == [out.resolve().as_uri()]
    section = page.locator("section#groups")
    # The first 15 groups, every other one behind "show all" (offline: a <details>, no script, no network).
    assert section.locator("table").first.locator("tbody tr:not(.why)").count() == 15
    assert section.locator("details.all > summary").text_content() == f"Show all {len(groups)} ({len(groups) - 15} more)"
    assert section.bounding_box()["height"] < 2400
    # The chart names only the moved bottlenecks and the largest groups, never one label over another.
    names = set(groups["group"])
    labels = [t for t in section.locator(".chartbox svg text").all_text_contents() if t in names]
    flagged = set(groups.loc[groups["moved_bottleneck"].astype(bool), "group"])
    plotted = groups[groups["comparable_handoffs"] > 0]
    largest = set(plotted.sort_values(["comparable_handoffs", "group"], ascending=[False, True])["group"].head(8))
    assert 5 <= len(labels) <= 15 and set(labels) <= flagged | largest
    drawn = section.locator(".chartbox svg text.point-label").evaluate_all(
        "ts => ts.map(t => { const r = t.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom]; })")
    assert len(drawn) == len(labels)
    for i, a in enumerate(drawn):  # as the browser lays the text out, no label over another
        for b in drawn[i + 1:]:
            assert not (a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]), (a, b)
    # A flagged group's reason is a row of its own across the table, not a column one word wide.
    why = section.locator("tr.why td").first
    assert why.get_attribute("colspan") == "11" and why.bounding_box()["height"] < 60
    # Group names break at most once; every example id and name in code stays on one line.
    heights = section.locator("table").first.evaluate("t => Array.from(t.querySelectorAll('tbody tr:not(.why) td:first-child'))"
                                                      ".map(td => td.getBoundingClientRect().height)")
    assert max(heights) < 3 * 18
    broken = page.evaluate("() => Array.from(document.querySelectorAll('code')).filter(c => c.offsetParent && "
                           "!c.closest('header') && c.getClientRects().length > 1).map(c => c.textContent)")
    assert broken == []
    shots = Path(os.environ.get("VSM_SCREENSHOT_DIR", tmp_path))
    shots.mkdir(parents=True, exist_ok=True)
    page.evaluate("document.querySelector('header.top').style.position = 'static'")
    section.screenshot(path=str(shots / "groups-196.png"))


BOX_TEXT = """() => Array.from(document.querySelectorAll('#streams svg')).flatMap(svg => {
  const boxes = Array.from(svg.querySelectorAll('rect')).filter(r => +r.getAttribute('width') === 180 && +r.getAttribute('height') > 100)
    .map(r => r.getBoundingClientRect());
  return Array.from(svg.querySelectorAll('text')).map(t => t.getBoundingClientRect()).flatMap(t =>
    boxes.filter(b => t.left >= b.left && t.left < b.right && t.top >= b.top && t.top < b.bottom).map(b => b.bottom - t.bottom));
})"""


def test_value_stream_boxes_hold_their_lines(browser, tmp_path):  # noqa: F811
    # The ServiceNow sample's steps have targets: five lines in each box, the last 'NN% of tickets over it'.
    from tests.conftest import SAMPLE_LOGS

    out = tmp_path / "r.html"
    assert run_cli("report", SAMPLE_LOGS / "servicenow_audit.csv", "-o", out, "--quiet").exit_code == 0
    page, errors, _ = open_report(browser, out)
    assert errors == []
    room = page.evaluate(BOX_TEXT)
    assert len(room) >= 20 and min(room) >= 2
    assert any(t.endswith("of tickets over it") for t in page.locator("#streams svg text").all_text_contents())
