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
    sizes = page.eval_on_selector_all("svg", "els => els.filter(e => !e.closest('.pm-off')).map(e => { const r = e.getBoundingClientRect(); return [r.width, r.height]; })")
    assert len(sizes) >= 5
    assert all(w > 0 and h > 0 for w, h in sizes)
    assert page.locator("#streams svg").count() >= 1 and page.locator("#process .pm-level:not(.pm-off) svg").count() == 1
    # The variants explorer shows the top 15, all behind "Show all", and filters and sorts.
    assert page.eval_on_selector("#vtable tbody", "b => b.rows.length") == 15
    page.click("#vall > summary")
    total = page.evaluate("JSON.parse(document.getElementById('vdata').textContent).length")
    # <details> fires "toggle" as a task after the click: wait for it, not for a fixed time.
    page.wait_for_function("n => document.querySelector('#vtable tbody').rows.length === n", arg=total, timeout=5000)
    assert page.eval_on_selector("#vtable tbody", "b => b.rows.length") == total > 15
    # A long table's "Show all" opens the whole table.
    handoffs = page.locator("#rework details.all")
    assert handoffs.locator("tbody tr").first.is_visible() is False
    handoffs.locator("summary").click()
    assert handoffs.locator("tbody tr").first.is_visible()
    # Example ids never break, and a column of them is wide enough for two short ids a line (not one word a line),
    # even on a laptop's narrow window.
    page.set_viewport_size({"width": 800, "height": 1000})
    wrapped = page.evaluate("""() => Array.from(document.querySelectorAll('td')).filter(td => td.querySelector(':scope > code') && td.offsetParent)
        .map(td => { const codes = Array.from(td.querySelectorAll(':scope > code'));
                     const lines = new Set(codes.map(c => Math.round(c.getBoundingClientRect().top)));
                     return [codes.length, lines.size, codes.every(c => c.getClientRects().length === 1), Math.max(...codes.map(c => c.textContent.length))]; })""")
    assert wrapped and all(whole for _, _, whole, _ in wrapped)
    assert all(lines < n for n, lines, _, longest in wrapped if n >= 2 and longest <= 8)
    page.set_viewport_size({"width": 1400, "height": 1000})
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


FORTY = ["Register", "Classify", "Assign", "Investigate", "Escalate", "Diagnose", "Request info", "Await customer", "Await vendor",
         "Order part", "Receive part", "Configure", "Build fix", "Code review", "Test fix", "Deploy to staging", "Approve change",
         "Deploy to production", "Verify with customer", "Resolve", "Close", "Reopen", "Update knowledge article",
         "Notify stakeholders", "Schedule maintenance window", "Backup system", "Restore service", "Root cause analysis",
         "Document workaround", "Quality check of resolution notes", "Reassign to second line", "Reassign to third line",
         "Contact supplier", "Create problem record", "Link to known error", "Check SLA breach", "Send satisfaction survey",
         "Archive ticket attachments", "Merge duplicate tickets", "Record time spent"]


def forty_activity_log(path: Path) -> Path:
    """1,500 tickets wandering over 40 activities, mostly forward: a real log's crowd of edges."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(3)
    p = rng.dirichlet(np.full(40, 0.3), size=40)
    for i in range(40):
        p[i, min(i + 1, 39)] += 1.5
        p[i, min(i + 2, 39)] += 0.5
    p /= p.sum(axis=1, keepdims=True)
    rows = []
    t0 = pd.Timestamp("2025-01-01", tz="UTC")
    for c in range(1500):
        a, t = 0, t0 + pd.Timedelta(hours=float(rng.uniform(0, 2000)))
        for _ in range(int(rng.integers(4, 14))):
            rows.append((f"T{c:05}", FORTY[a], t.isoformat(), f"Team {rng.integers(1, 8)}"))
            t += pd.Timedelta(minutes=float(rng.exponential(300)))
            a = int(rng.choice(40, p=p[a]))
    pd.DataFrame(rows, columns=["case_id", "activity", "timestamp", "group"]).to_csv(path, index=False)
    return path


OVERLAPS = """() => {
  const level = document.querySelector('#process .pm-level:not(.pm-off)');
  const boxes = [];
  level.querySelectorAll('rect.pm-node').forEach(r => boxes.push(['node', r.getBoundingClientRect()]));
  level.querySelectorAll('g.pm-label:not(.pm-off) rect').forEach(r => boxes.push(['label', r.getBoundingClientRect()]));
  const hits = [];
  for (let i = 0; i < boxes.length; i++) for (let j = i + 1; j < boxes.length; j++) {
    const [ka, a] = boxes[i], [kb, b] = boxes[j];
    if (ka === 'node' && kb === 'node') continue;
    if (a.left < b.right - 0.5 && b.left < a.right - 0.5 && a.top < b.bottom - 0.5 && b.top < a.bottom - 0.5) hits.push([ka, kb]);
  }
  return {labels: boxes.filter(b => b[0] === 'label').length, nodes: boxes.filter(b => b[0] === 'node').length, hits: hits.length};
}"""


def test_a_forty_activity_map_has_sliders_and_labels_that_never_collide(browser, tmp_path):
    out = tmp_path / "forty.html"
    assert run_cli("report", forty_activity_log(tmp_path / "forty.csv"), "-o", out, "--quiet").exit_code == 0
    page, errors, requests = open_report(browser, out)
    assert errors == [] and requests == [out.resolve().as_uri()]
    acts, paths = page.locator("#pm-acts"), page.locator("#pm-paths")
    assert acts.get_attribute("data-levels") == "4,10,16,24,32,40"
    # It opens on the 16 most frequent activities (of 40) and the paths that cover most transitions.
    assert page.locator("#pm-acts-out").text_content() == "16 of 40"
    first = page.evaluate(OVERLAPS)
    assert first["nodes"] == 16 + 2 and first["labels"] >= 10 and first["hits"] == 0
    shots = Path(os.environ.get("VSM_SCREENSHOT_DIR", tmp_path))
    shots.mkdir(parents=True, exist_ok=True)
    page.locator("#process").screenshot(path=str(shots / "process-map-16-of-40.png"))

    def slide(locator, value):
        locator.evaluate(f"e => {{ e.value = {value}; e.dispatchEvent(new Event('input')); }}")

    shown = "() => document.querySelectorAll('#process .pm-level:not(.pm-off) g.pm-edge:not(.pm-off)').length"
    few = page.evaluate(shown)
    slide(paths, 100)
    assert page.locator("#pm-paths-out").text_content() == "100%"
    assert page.evaluate(shown) > few
    assert page.evaluate(OVERLAPS)["hits"] == 0
    slide(acts, 5)
    assert page.locator("#pm-acts-out").text_content() == "40 of 40"
    every = page.evaluate(OVERLAPS)
    assert every["nodes"] == 40 + 2 and every["hits"] == 0
    # Full names: no node label is cut short.
    assert all("…" not in t for t in page.locator("#process .pm-level:not(.pm-off) text[font-weight=bold]").all_text_contents())
    slide(paths, 30)
    page.locator("#process").screenshot(path=str(shots / "process-map-40-of-40.png"))
    slide(acts, 0)
    assert page.evaluate(OVERLAPS)["nodes"] == 4 + 2
    assert errors == []
