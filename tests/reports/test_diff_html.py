"""`vsm diff -o diff.html` in a real headless Chromium: offline, no errors, "what changed" first with the moved bottleneck."""

from __future__ import annotations

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
            "both": write(pd.concat([before, after]), folder / "both.csv"), "folder": folder}


def test_diff_html_renders_offline_with_what_changed_first(browser, exports):  # noqa: F811
    out = exports["folder"] / "diff.html"
    result = run_cli("diff", exports["before"], exports["after"], "-o", out)
    assert result.exit_code == 0, result.stderr
    assert "What changed" in result.stdout  # the terminal text still goes to stdout
    page, errors, requests = open_report(browser, out)
    assert errors == [] and requests == [out.resolve().as_uri()]
    assert page.evaluate("window.__pwned") is None
    order = page.eval_on_selector_all("main > section", "els => els.map(e => e.id)")
    assert order[:3] == ["summary", "lead", "streams"]
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
