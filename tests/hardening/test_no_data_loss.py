"""No data loss, end to end: the report, its JSON and its CSV tables reconcile
with what the connector loaded, and every rejected row is listed with its
reason in the JSON (``load.rejections``), the HTML (section ``#data``) and
``rejected_rows.csv``."""

from __future__ import annotations

import csv
import json
import re

import pytest
from markupsafe import escape

import connectors
from tests.conftest import ROOT, SAMPLE_LOGS, run_cli

CORPUS = ROOT / "tests" / "corpus"
EXPORTS = [
    pytest.param(CORPUS / "generic_placeholders.csv", id="generic-placeholders"),
    pytest.param(CORPUS / "servicenow_audit_newest_first_placeholders.csv", id="servicenow-audit"),
    pytest.param(CORPUS / "servicenow_list_half_dates_bad.csv", id="servicenow-list"),
    pytest.param(CORPUS / "jira_changelog_wrong_types.json", id="jira-changelog"),
    pytest.param(CORPUS / "zendesk_history_html_in_fields.csv", id="zendesk-history"),
    pytest.param(SAMPLE_LOGS / "zendesk_ticket_events.json", id="zendesk-sample"),
]


def _csv(path):
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _cell(value: str) -> str:
    """Return ``value`` as --csv-dir writes it (a leading apostrophe before a formula)."""
    from reports.csvout import neutralise

    return str(neutralise(value))


@pytest.mark.parametrize("export", EXPORTS)
def test_the_report_reconciles_with_the_load(tmp_path, export):
    log, load = connectors.load(export)
    cases = set(log["case_id"].astype(str))
    result = run_cli("report", export, "-o", tmp_path / "r.html", "--json", tmp_path / "r.json", "--csv-dir", tmp_path / "csv", "--quiet")
    assert result.exit_code == 0, result.stderr

    # JSON: rows read = loaded + rejected; tickets = cases loaded; events = rows loaded or as derived.
    doc = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))
    assert (doc["log"]["rows_read"], doc["log"]["rows_rejected"], doc["load"]["rows_loaded"]) == (load.rows_read, load.rows_rejected, load.rows_loaded)
    assert doc["log"]["rows_read"] == doc["load"]["rows_loaded"] + doc["log"]["rows_rejected"]
    assert (doc["log"]["events"], doc["log"]["cases"]) == (len(log), len(cases))
    assert doc["load"]["derivation"] == load.derivation
    if load.derivation == "one event per row":
        assert doc["log"]["events"] == doc["load"]["rows_loaded"]
    assert sum(s["tickets"] for s in doc["streams"]) == len(cases)
    assert sum(s["tickets"] for s in doc["conformance"]["streams"]) == len(cases)
    assert doc["load"]["rejections"] == [{"reason": r.reason, "count": r.count, "examples": r.examples} for r in load.rejections]
    assert sum(r["count"] for r in doc["load"]["rejections"]) == doc["log"]["rows_rejected"]

    # CSV: one row per ticket, every event counted, every rejection listed.
    tickets = _csv(tmp_path / "csv" / "tickets.csv")
    assert {t["case_id"] for t in tickets} == {_cell(c) for c in cases} and len(tickets) == len(cases)
    assert sum(int(t["events"]) for t in tickets) == len(log)
    rejected = _csv(tmp_path / "csv" / "rejected_rows.csv")
    assert [(r["reason"], int(r["count"])) for r in rejected] == [(_cell(r.reason), r.count) for r in load.rejections]

    # HTML: the headline figures and, in #data, the accounting and every rejection with its reason.
    page = (tmp_path / "r.html").read_text(encoding="utf-8")
    kpis = dict((label, value) for value, label in re.findall(r'<div class="kpi"><span class="v">([^<]*)</span><span class="l">([^<]*)</span>', page))
    assert kpis["tickets"] == f"{len(cases):,}" and kpis["events"] == f"{len(log):,}"
    assert kpis[f"of {load.rows_read:,} rows rejected"] == f"{load.rows_rejected:,}"
    data = page[page.index('<section id="data"'):]
    data = data[: data.index("</section>")]
    assert str(escape(
        f"{load.rows_read:,} rows read, {load.rows_loaded:,} loaded, {load.rows_rejected:,} rejected; "
        f"{load.events:,} events ({load.derivation})"
    )) in data
    for r in load.rejections:
        rows = "; ".join(f"row {e['row']}" + (f" <code>{escape(e['value'])}</code>" if e.get("value") is not None else "")
                         for e in r.examples)
        assert f"<td>{escape(r.reason)}</td><td class=\"r\">{r.count:,}</td><td>{rows}" in data
    if load.rejections:
        assert "<h4>Rejected rows</h4>" in data


def test_an_export_with_rejections_is_among_those_checked():
    # The reconciliation above must have rejected rows to reconcile, in one-to-one and derived sources.
    loads = [connectors.load(p.values[0])[1] for p in EXPORTS]
    assert sum(r.rows_rejected for r in loads) >= 10
    assert {r.derivation == "one event per row" for r in loads if r.rows_rejected} == {True, False}
