"""A log with 200 groups and 800 variants stays readable: top rows, a count of the rest, labels apart."""

from __future__ import annotations

import html
import re

import pytest

from miner.discovery import compare
from reports import charts
from reports.html import render
from reports.plot import text_width
from reports.terminal import compare_text, mine_text
from tests.helpers import make_log

ACTS = ("Investigate", "Awaiting customer", "Categorise", "Queued")


@pytest.fixture(scope="module")
def large():
    """800 tickets, each its own variant (five activities coded by the ticket number in base 4), across 200 groups."""
    rows = []
    for i in range(800):
        case, g, h = f"T{i:04}", f"Group {i % 200:03}", f"Group {(i * 7 + 1) % 200:03}"
        rows += [(case, "Log call", 0, g)]
        for d in range(5):
            rows.append((case, ACTS[(i // 4 ** d) % 4], 10 + 10 * d + (i % 13), g if d < 3 else h))
        rows.append((case, "Resolved", 120 + i % 17, h))
    log = make_log(rows, columns=("case_id", "activity", "minutes", "group"))
    report = type("R", (), {"source": "csv", "path": "large.csv", "rows_read": len(rows), "rows_loaded": len(rows), "rows_rejected": 0,
                            "events": len(rows), "derivation": "one event per row", "source_reason": "test", "columns": {},
                            "notes": [], "warnings": [], "flags": [], "rejections": []})()
    return report, compare(log, None)


def _table_rows(text: str, title: str) -> list[str]:
    """The data rows of the table under the line starting with ``title``, and the line after it."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(title))
    body = []
    for line in lines[start + 3:]:
        if not line.startswith("  ") or line.strip().startswith("…"):
            return body + ([line.strip()] if line.strip().startswith("…") else [])
        body.append(line)
    return body


def test_the_log_is_as_large_as_meant(large):
    _, found = large
    assert len(found.variants) == 800
    assert len(found.comparison.groups) == 200


def test_terminal_shows_the_top_rows_and_how_many_more(large):
    report, found = large
    text = mine_text(report, found, top=10)
    variants = _table_rows(text, "Top variants")
    assert len(variants) == 11 and variants[-1] == "… and 790 more (see --json)"
    compared = compare_text(report, found, top=5)
    handoffs = _table_rows(compared, "Hand-offs followed by rework")
    assert len(handoffs) <= 6
    assert len(compared.splitlines()) < 120


def test_html_shows_fifteen_rows_and_the_rest_behind_details(large):
    report, found = large
    page = render(report, found)
    groups = page[page.index('<section id="groups"'):page.index('<section id="variants"')]
    first = groups[groups.index("<tbody>"):groups.index("</tbody>")]
    assert first.count("<tr") == 15
    assert "<summary>Show all 200 (185 more)</summary>" in groups
    whole = groups[groups.index("<details"):]
    assert whole[whole.index("<tbody>"):whole.index("</tbody>")].count("<tr") == 200
    variants = page[page.index('<section id="variants"'):page.index('<section id="data"')]
    assert variants[variants.index("<tbody>"):variants.index("</tbody>")].count("<tr") == 15
    assert '<details id="vall" class="all"><summary>Show all 500</summary></details>' in variants


def test_group_chart_labels_never_overlap(large):
    _, found = large
    svg = str(charts.group_scatter(found.comparison.groups))
    labels = [(float(x), float(y), html.unescape(text)) for x, y, text in
              re.findall(r'<text class="point-label" x="([-\d.]+)" y="([-\d.]+)"[^>]*>([^<]*)</text>', svg)]
    # Each label's extent as drawn (its width at the label's size, its height from baseline to cap height).
    boxes = [(x, y - charts.LABEL, x + text_width(text, charts.LABEL), y) for x, y, text in labels]
    plotted = int((found.comparison.groups["comparable_handoffs"] > 0).sum())
    assert min(1, plotted) <= len(boxes) <= charts.MAX_LABELS
    for i, a in enumerate(boxes):
        for b in boxes[i + 1:]:
            assert not charts.overlap(a, b), (a, b)
