"""Redraw the README's screenshots of the report, from the bundled ServiceNow sample.

    python docs/screenshots.py        # needs the [test] extra and Debian's chromium

Writes docs/report-summary.png (the top of the report: summary and the first
value-stream maps) and docs/report-process-map.png (the process map section).
"""

from __future__ import annotations

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
        # From the checkout, so that the report names the export as the README's command does.
        subprocess.run(["vsm", "report", "sample_logs/servicenow_audit.csv", "-o", str(report), "--quiet"], check=True, cwd=ROOT)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox", "--disable-gpu"])
            page = browser.new_page(viewport={"width": 1280, "height": 1700})
            page.goto(report.as_uri())
            page.wait_for_load_state("load")
            page.screenshot(path=str(ROOT / "docs" / "report-summary.png"))
            page.locator("section#process").screenshot(path=str(ROOT / "docs" / "report-process-map.png"))
            browser.close()
    print("wrote docs/report-summary.png and docs/report-process-map.png")


if __name__ == "__main__":
    main()
