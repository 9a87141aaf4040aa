"""The HTML report in a real headless Chromium: no errors, no network, key sections drawn,
and no script from the data ever runs."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tests.conftest import SAMPLE_LOGS, run_cli

pytestmark = pytest.mark.browser
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
SECTIONS = ["summary", "streams", "process", "rework", "waits", "groups", "variants", "data", "glossary"]


@pytest.fixture(scope="module")
def browser():
    if CHROMIUM is None:
        pytest.skip("no chromium on this machine (CI installs Debian's chromium package)")
    playwright = pytest.importorskip("playwright.sync_api", reason="playwright is in the [test] extra")
    with playwright.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run", "--disable-quic"])
        yield b
        b.close()


def open_report(browser, path: Path):
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    errors: list[str] = []
    requests: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type in ("error", "warning") else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("request", lambda r: requests.append(r.url))
    page.goto(path.resolve().as_uri())
    page.wait_for_load_state("load")
    return page, errors, requests


def test_sample_report_renders_offline_without_errors(browser, tmp_path):
    out = tmp_path / "report.html"
    result = run_cli("report", SAMPLE_LOGS / "servicenow_audit.csv", "-o", out, "--quiet")
    assert result.exit_code == 0, result.stderr
    page, errors, requests = open_report(browser, out)
    assert errors == []
    assert requests == [out.resolve().as_uri()]
    for section in SECTIONS:
        assert page.locator(f"section#{section}").count() == 1, section
    sizes = page.eval_on_selector_all("svg", "els => els.map(e => { const r = e.getBoundingClientRect(); return [r.width, r.height]; })")
    assert len(sizes) >= 5
    assert all(w > 0 and h > 0 for w, h in sizes)
    assert page.locator("#streams svg").count() >= 1 and page.locator("#process svg").count() == 1
    # The variants explorer shows the top 15, all behind "Show all", and filters and sorts.
    assert page.eval_on_selector("#vtable tbody", "b => b.rows.length") == 15
    page.click("#vall > summary")
    total = page.evaluate("JSON.parse(document.getElementById('vdata').textContent).length")
    assert page.eval_on_selector("#vtable tbody", "b => b.rows.length") == total > 15
    # A long table's "Show all" opens the whole table.
    handoffs = page.locator("#rework details.all")
    assert handoffs.locator("tbody tr").first.is_visible() is False
    handoffs.locator("summary").click()
    assert handoffs.locator("tbody tr").first.is_visible()
    page.fill("#vfilter", "Reassigned")
    filtered = page.eval_on_selector("#vtable tbody", "b => b.rows.length")
    assert 0 < filtered < page.evaluate("JSON.parse(document.getElementById('vdata').textContent).length")
    shots = Path(os.environ.get("VSM_SCREENSHOT_DIR", tmp_path))
    shots.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(shots / "report.png"), full_page=True)
    assert (shots / "report.png").stat().st_size > 10_000


HOSTILE = [
    "<script>window.__pwned = 1</script>",
    '"><img src=x onerror="window.__pwned = 2">',
    "</script><script>window.__pwned = 3</script>",
    "<svg onload=\"window.__pwned = 4\"></svg>",
    "javascript:window.__pwned = 5",
    "=HYPERLINK(\"http://evil.example\",\"x\")",
    "$\\alpha$ & <b>bold</b>",
]


def test_hostile_names_never_run(browser, tmp_path):
    rows = ["ticket,activity,timestamp,group,ticket_type"]
    for i, bad in enumerate(HOSTILE):
        q = bad.replace('"', '""')
        other = HOSTILE[(i + 1) % len(HOSTILE)].replace('"', '""')
        rows += [
            f'"T{i}{q}","Log {q}",2024-01-0{i + 1} 09:00,"{q}","{other}"',
            f'"T{i}{q}","{q}",2024-01-0{i + 1} 10:00,"{other}","{other}"',
            f'"T{i}{q}","Log {q}",2024-01-0{i + 1} 11:00,"{q}","{other}"',
            f'"T{i}{q}",Resolved,2024-01-0{i + 1} 12:00,"{q}","{other}"',
        ]
    export = tmp_path / "hostile.csv"
    export.write_text("\n".join(rows) + "\n")
    out = tmp_path / "report.html"
    result = run_cli("report", export, "-o", out, "--quiet", "--csv-dir", tmp_path / "csv")
    assert result.exit_code == 0, result.stderr
    html = out.read_text()
    assert "<script>window.__pwned" not in html and "onerror=\"window" not in html
    page, errors, requests = open_report(browser, out)
    assert page.evaluate("typeof window.__pwned") == "undefined"
    assert requests == [out.resolve().as_uri()]
    assert errors == []
    # The names are shown as text.
    assert page.locator("text=window.__pwned = 1").count() >= 1
    tickets = (tmp_path / "csv" / "tickets.csv").read_text()
    assert "'=HYPERLINK" in tickets and ",=HYPERLINK" not in tickets
