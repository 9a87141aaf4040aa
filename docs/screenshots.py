"""Redraw the README's screenshots of the report, from the bundled ServiceNow sample
and two real public logs from ../shared/real_logs (BPIC 2012, 24 activities; BPIC 2013
closed problems, 324 support teams).

    python docs/screenshots.py        # needs the [test] extra and Debian's chromium

Writes docs/report-summary.png (the top of the report: summary and the first
value-stream maps), docs/report-process-map.png (the process map section) and,
where the real logs are at hand, docs/report-process-map-bpic2012.png and
docs/report-groups-bpic2013.png (the groups section; the support team,
'organization involved', is the group). For `vsm diff`, on the two generated
periods of tests/miner/diff_scenarios.py (Service Desk C passes incomplete
tickets on): docs/diff-summary.png (what changed) and docs/diff-maps.png (the
value-stream maps before and after, the changed step marked).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        sys.exit("no chromium on this machine: apt-get install chromium")
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "report.html"
        # From the checkout (this one, not an installed vsm), so that the report names the export as the README's command does.
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        vsm = [sys.executable, "-m", "vsm", "report"]
        subprocess.run([*vsm, "sample_logs/servicenow_audit.csv", "-o", str(report), "--quiet"], check=True, cwd=ROOT, env=env)
        real = ROOT.parent / "shared" / "real_logs" / "bpic2012.xes.gz"
        real_report = Path(tmp) / "bpic2012.html"
        if real.exists():
            subprocess.run([*vsm, str(real), "-o", str(real_report), "--quiet"], check=True, cwd=ROOT, env=env)
        teams = ROOT.parent / "shared" / "real_logs" / "bpic2013_closed_problems.csv"
        teams_report = Path(tmp) / "bpic2013.html"
        if teams.exists():
            subprocess.run([*vsm, str(teams), "--group-col", "organization involved", "-o", str(teams_report), "--quiet"],
                           check=True, cwd=ROOT, env=env)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox", "--disable-gpu"])
            page = browser.new_page(viewport={"width": 1280, "height": 1700})
            page.goto(report.as_uri())
            page.wait_for_load_state("load")
            page.screenshot(path=str(ROOT / "docs" / "report-summary.png"))
            _unstick(page)
            page.locator("section#process").screenshot(path=str(ROOT / "docs" / "report-process-map.png"))
            if real.exists():
                page.goto(real_report.as_uri())
                page.wait_for_load_state("load")
                _unstick(page)
                page.locator("section#process").screenshot(path=str(ROOT / "docs" / "report-process-map-bpic2012.png"))
            if teams.exists():
                page.goto(teams_report.as_uri())
                page.wait_for_load_state("load")
                _unstick(page)
                page.locator("section#groups").screenshot(path=str(ROOT / "docs" / "report-groups-bpic2013.png"))
            _diff_shots(browser, Path(tmp), env)
            browser.close()
    print("wrote docs/report-summary.png, docs/report-process-map.png, docs/diff-summary.png, docs/diff-maps.png"
          + (", docs/report-process-map-bpic2012.png" if real.exists() else "")
          + (", docs/report-groups-bpic2013.png" if teams.exists() else ""))


def _diff_shots(browser, tmp: Path, env: dict[str, str]) -> None:  # type: ignore[no-untyped-def]
    """vsm diff on the test scenario's two periods (the same seeds as tests/reports/test_diff_html.py)."""
    import pandas as pd

    sys.path.insert(0, str(ROOT))
    from tests.miner.diff_scenarios import AFTER_MOVED, BEFORE, START, generate, write

    write(generate(BEFORE, 1200, 21, prefix="B"), tmp / "before.csv")
    write(generate(AFTER_MOVED, 1200, 121, start=START + pd.Timedelta(days=28), prefix="A"), tmp / "after.csv")
    # In the folder of the exports, so that the page names them as the README's command does.
    subprocess.run([sys.executable, "-m", "vsm", "diff", "before.csv", "after.csv", "-o", "diff.html"], check=True, cwd=tmp, env=env,
                   stdout=subprocess.DEVNULL)
    page = browser.new_page(viewport={"width": 1400, "height": 1500})
    page.goto((tmp / "diff.html").as_uri())
    page.wait_for_load_state("load")
    page.screenshot(path=str(ROOT / "docs" / "diff-summary.png"))
    _unstick(page)
    page.locator("section#maps").screenshot(path=str(ROOT / "docs" / "diff-maps.png"))


def _unstick(page) -> None:  # type: ignore[no-untyped-def]
    """The sticky header would cover a section's screenshot: let it scroll away."""
    page.evaluate("document.querySelector('header.top').style.position = 'static'")


if __name__ == "__main__":
    main()
