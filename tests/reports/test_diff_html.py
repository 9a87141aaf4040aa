"""`vsm diff -o diff.html` in a real headless Chromium: offline, no errors, "what changed" first with the moved bottleneck."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import run_cli
from tests.miner.diff_scenarios import AFTER_MOVED, BEFORE, START, generate, write
from tests.reports.test_browser import browser, open_report  # noqa: F401  (the fixture)

pytestmark = pytest.mark.browser
HOSTILE = "<script>window.__pwned = 1</script>"


@pytest.fixture(scope="module")
def exports(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("diffhtml")
    before = generate(BEFORE, 1200, 21, prefix="B")
    after = generate(AFTER_MOVED, 1200, 121, start=START + pd.Timedelta(days=28), prefix="A")
    for frame in (before, after):  # a hostile group name must stay text
        frame["group"] = frame["group"].replace("Network", HOSTILE)
    return {"before": write(before, folder / "before.csv"), "after": write(after, folder / "after.csv"),
            "both": write(pd.concat([before, after]), folder / "both.csv"), "folder": folder,
            # A decoy: the same process a month later, nothing changed.
            "same": write(generate(BEFORE, 1200, 122, start=START + pd.Timedelta(days=28), prefix="S"), folder / "same.csv")}


def test_diff_html_renders_offline_with_what_changed_first(browser, exports):  # noqa: F811
    out = exports["folder"] / "diff.html"
    result = run_cli("diff", exports["before"], exports["after"], "-o", out)
    assert result.exit_code == 0, result.stderr
    assert "What changed" in result.stdout  # the terminal text still goes to stdout
    page, errors, requests = open_report(browser, out)
    assert errors == [] and requests == [out.resolve().as_uri()]
    assert page.evaluate("window.__pwned") is None
    order = page.eval_on_selector_all("main > section", "els => els.map(e => e.id)")
    assert order[:4] == ["summary", "maps", "lead", "streams"]
    summary = page.inner_text("#summary")
    assert summary.index("Significant changes") < summary.index("Moved bottleneck over time")
    assert "Service Desk C is faster per visit" in summary and "the bottleneck moved downstream" in summary
    # A significant change shows both values, the interval of the change and the adjusted p.
    row = page.locator("#summary tr.worse", has_text="flow efficiency").first
    cells = row.locator("td").all_inner_texts()
    assert cells[1].endswith("%") and cells[2].endswith("%") and " to " in cells[4] and cells[5] not in ("–", "nan")
    assert "Kaplan–Meier" in page.inner_text("#lead") and "right-censored" in page.inner_text("#lead")
    assert page.locator("#lead svg").count() == 1
    assert HOSTILE in page.inner_text("#groups")
    shots = Path(os.environ.get("VSM_SCREENSHOT_DIR", exports["folder"]))
    shots.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(shots / "diff.png"), full_page=True)


def test_diff_html_by_week_has_a_trend_chart(browser, exports):  # noqa: F811
    out = exports["folder"] / "trend.html"
    result = run_cli("diff", exports["both"], "--by", "week", "-o", out, "--json", exports["folder"] / "trend.json")
    assert result.exit_code == 0, result.stderr
    page, errors, requests = open_report(browser, out)
    assert errors == [] and requests == [out.resolve().as_uri()]
    assert page.locator("#trend svg").count() == 1
    assert page.locator("#trend > table > tbody > tr").count() == 8  # eight weeks
    moved = page.locator("#trend > p.moved-bn").all_inner_texts()
    assert len(moved) == 1 and moved[0].startswith("2025-01-27/2025-02-02 → 2025-02-03/2025-02-09: Service Desk C")


def test_diff_html_maps_side_by_side_with_the_changed_step_marked(browser, exports):  # noqa: F811
    """The truth of AFTER_MOVED: tickets wait longer before the resolver's step (deliver and support); nothing else of the design changed."""
    out, doc = exports["folder"] / "maps.html", exports["folder"] / "maps.json"
    result = run_cli("diff", exports["before"], exports["after"], "-o", out, "--json", doc)
    assert result.exit_code == 0, result.stderr
    steps = json.loads(doc.read_text())["steps"]
    changed = {(s["stream"], s["step"]) for s in steps if s["significant"]}
    assert changed == {("Incident", 2)}  # the injected change, found by the diff's own tests
    wait = next(s for s in steps if s["step"] == 2 and s["measure"] == "wait_h")
    assert wait["significant"] and wait["direction"] == "up"
    page, errors, requests = open_report(browser, out)
    assert errors == [] and requests == [out.resolve().as_uri()]
    maps = page.locator('#maps .maps[data-stream="Incident"]')
    assert maps.count() == 1
    before, after = maps.locator("figure.map-before svg"), maps.locator("figure.map-after svg")
    assert before.count() == 1 and after.count() == 1
    # Side by side on a wide page: the after map starts to the right of the before map, level with it.
    b, a = before.bounding_box(), after.bounding_box()
    assert a["x"] >= b["x"] + b["width"] and abs(a["y"] - b["y"]) < 5
    # Only the changed step is marked, only on the after map, red (slower), with both medians and the adjusted p.
    assert maps.locator("figure.map-before .vsm-change").count() == 0
    marks = maps.locator("figure.map-after .vsm-change")
    assert marks.count() == 1 and marks.first.get_attribute("data-step") == "2"
    label = marks.first.text_content()
    assert f"wait {_h(wait['before'])} → {_h(wait['after'])}" in label
    assert f"adjusted p {wait['p_adjusted']:.3f}" in label or ("<0.001" in label and wait["p_adjusted"] < 0.001)
    assert marks.first.locator("rect").get_attribute("stroke") == "#dc2626" and marks.first.locator("circle").count() == 1
    # Unchanged steps (engage; improve, which no ticket reached) carry no mark.
    assert after.locator('.vsm-change[data-step="1"], .vsm-change[data-step="3"]').count() == 0
    # On a narrow page the maps stack, one above the other.
    page.set_viewport_size({"width": 900, "height": 1000})
    b, a = before.bounding_box(), after.bounding_box()
    assert a["y"] >= b["y"] + b["height"]


def test_diff_html_maps_mark_nothing_when_nothing_changed(exports):
    """The decoy: the same process in two months; both maps are drawn and no step is marked."""
    out, doc = exports["folder"] / "same.html", exports["folder"] / "same.json"
    result = run_cli("diff", exports["before"], exports["same"], "-o", out, "--json", doc)
    assert result.exit_code == 0, result.stderr
    assert not any(s["significant"] for s in json.loads(doc.read_text())["steps"])
    html = out.read_text()
    maps = html[html.index('<section id="maps"'):html.index('<section id="lead"')]
    assert maps.count("<svg") == 2 and "vsm-change" not in maps and "No step of Incident changed clearly" in maps


def _h(hours: float) -> str:
    from reports.diffout import fmt

    return fmt("h", hours)
