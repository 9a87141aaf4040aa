"""vsm's directly-follows graph, variants, rework and case durations equal pm4py's
on real logs (reference figures: ../shared/real_logs/PROVENANCE.md)."""

from __future__ import annotations

import statistics

import pandas as pd
import pytest

import connectors
import miner
from tests.conftest import real_log

pytestmark = pytest.mark.real_logs

PROVENANCE = {
    "helpdesk.xes.gz": {"edges": 55, "transitions": 16_768, "variants": 226, "median": 3_443_836.5,
                        "rework": {"Take in charge ticket": 623, "Assign seriousness": 394, "Resolve ticket": 386}},
    "bpic2012.xes.gz": {"edges": 125, "transitions": 249_113, "variants": 4_366},
}


def _pm4py_figures(log: pd.DataFrame) -> dict:
    """pm4py's figures on the same events, fed in file order so ties keep input order."""
    from miner.pm4py_adapter import _pm4py

    pm4py = _pm4py()
    frame = log.sort_values("source_row", kind="stable")
    df = pd.DataFrame(
        {
            "case:concept:name": frame["case_id"].astype(str).to_numpy(),
            "concept:name": frame["activity"].astype(str).to_numpy(),
            "time:timestamp": frame["timestamp"].to_numpy(),
        }
    )
    dfg, start, end = pm4py.discover_dfg(df)
    return {
        "dfg": {k: int(v) for k, v in dfg.items()},
        "start": dict(start),
        "end": dict(end),
        "variants": len(pm4py.get_variants(df)),
        "rework": dict(pm4py.get_rework_cases_per_activity(df)),
        "median": statistics.median(pm4py.get_all_case_durations(df)),
    }


@pytest.fixture(scope="module", params=["helpdesk.xes.gz", "bpic2012.xes.gz"])
def real(request):
    path = real_log(request.param)
    log, report = connectors.load(path, lifecycle="events" if "bpic2012" in request.param else "auto")
    return request.param, log, report, miner.discover(log, source=report.source)


def test_matches_provenance(real):
    name, log, _, found = real
    ref = PROVENANCE[name]
    assert len(found.edges) == ref["edges"]
    assert int(found.edges["count"].sum()) == ref["transitions"]
    assert len(found.variants) == ref["variants"]
    if "median" in ref:
        assert found.case_duration_s["median"] == ref["median"]
    for activity, cases in ref.get("rework", {}).items():
        assert found.rework_by_activity[activity] == cases


def test_matches_pm4py_computed(real):
    _, log, _, found = real
    ref = _pm4py_figures(log)
    ours = {(r.source, r.target): int(r.count) for r in found.edges.itertuples()}
    assert ours == ref["dfg"]
    assert found.start_activities == ref["start"]
    assert found.end_activities == ref["end"]
    assert len(found.variants) == ref["variants"]
    assert found.rework_by_activity == ref["rework"]
    assert found.case_duration_s["median"] == pytest.approx(ref["median"], abs=1e-6)


def test_bpic2012_default_keeps_lifecycle_events():
    """BPIC 2012 has schedule events besides start/complete, so by default every
    XES event stays an event, as in pm4py, and the figures match PROVENANCE."""
    log, report = connectors.load(real_log("bpic2012.xes.gz"))
    assert len(log) == 262_200
    assert any("kept as separate events" in w for w in report.warnings)  # a warning: every command prints it
    found = miner.discover(log, source=report.source)
    assert len(found.variants) == 4_366
    assert len(found.edges) == 125
