"""vsm convert: the written XES, CSV and Parquet give back the same events, to vsm and to pm4py."""

from __future__ import annotations

import gzip

import numpy as np
import pandas as pd
import pytest
from lxml import etree

import connectors
import miner
from connectors.export import write
from tests.conftest import SAMPLE_LOGS, run_cli
from tests.helpers import make_log

SAMPLES = ["servicenow_audit.csv", "jira_changelog.json", "zendesk_ticket_events.json", "multi_team_events.csv"]
ROLES = ["case_id", "activity", "timestamp", "end_timestamp", "resource", "group"]


def _events(log: pd.DataFrame) -> pd.DataFrame:
    """The canonical roles as plain values, in the table's order (source_row aside: it numbers the input's rows)."""
    out = {}
    for role in ROLES:
        if role in log:
            col = log[role]
            out[role] = col.to_numpy() if role.endswith("timestamp") else col.astype(object).where(col.notna(), None).astype(str).to_numpy()
    return pd.DataFrame(out)


def _attributes(log: pd.DataFrame) -> dict[str, list[str]]:
    """Attribute columns as text, named without pm4py's 'case:' prefix."""
    names = [c for c in log.columns if c not in (*ROLES, "source_row")]
    return {c.removeprefix("case:"): log[c].astype(object).where(log[c].notna(), None).astype(str).tolist() for c in names}


@pytest.mark.parametrize("sample", SAMPLES)
@pytest.mark.parametrize("suffix", [".xes", ".xes.gz", ".csv", ".parquet"])
def test_round_trip_through_vsm(tmp_path, sample, suffix):
    log, _ = connectors.load(SAMPLE_LOGS / sample)
    out = tmp_path / f"events{suffix}"
    assert write(log, out) == len(log)
    # Zendesk's group ids are numbers that read as dates to the CSV guesser: name the column, as a user would.
    given = {"group_col": "org:group"} if "zendesk" in sample and suffix in (".csv", ".parquet") else {}
    back, report = connectors.load(out, **given)
    assert report.rows_rejected == 0
    pd.testing.assert_frame_equal(_events(back), _events(log))
    assert _attributes(back) == _attributes(log)


def _pm4py_figures(df: pd.DataFrame) -> dict:
    from miner.pm4py_adapter import _pm4py

    pm4py = _pm4py()
    dfg, start, end = pm4py.discover_dfg(df)
    return {
        "dfg": {k: int(v) for k, v in dfg.items()},
        "start": dict(start),
        "end": dict(end),
        "variants": sorted(len(v) if isinstance(v, list) else int(v) for v in pm4py.get_variants(df).values()),
        "durations": sorted(pm4py.get_all_case_durations(df)),
    }


@pytest.mark.parametrize("sample", SAMPLES)
def test_pm4py_reads_the_xes_as_vsm_mines_the_export(tmp_path, sample):
    from miner.pm4py_adapter import _pm4py

    log, report = connectors.load(SAMPLE_LOGS / sample)
    found = miner.discover(log, source=report.source)
    out = tmp_path / "events.xes"
    write(log, out)
    theirs = _pm4py_figures(_pm4py().read_xes(str(out)))
    assert theirs["dfg"] == {(r.source, r.target): int(r.count) for r in found.edges.itertuples()}
    assert theirs["start"] == found.start_activities
    assert theirs["end"] == found.end_activities
    assert len(theirs["variants"]) == len(found.variants)
    assert sum(theirs["variants"]) == log["case_id"].nunique()
    per_case = log.groupby("case_id", observed=True, sort=False)["timestamp"].agg(["min", "max"])
    ours = sorted(((per_case["max"] - per_case["min"]).dt.total_seconds()).tolist())
    assert theirs["durations"] == pytest.approx(ours)
    assert float(np.median(theirs["durations"])) == pytest.approx(found.case_duration_s["median"])


def test_pm4py_reads_the_csv_and_parquet_columns(tmp_path):
    log, report = connectors.load(SAMPLE_LOGS / "servicenow_audit.csv")
    found = miner.discover(log, source=report.source)
    write(log, tmp_path / "e.parquet")
    write(log, tmp_path / "e.csv")
    ours = {(r.source, r.target): int(r.count) for r in found.edges.itertuples()}
    for df in (pd.read_parquet(tmp_path / "e.parquet"), pd.read_csv(tmp_path / "e.csv")):
        df["time:timestamp"] = pd.to_datetime(df["time:timestamp"], utc=True)
        assert _pm4py_figures(df)["dfg"] == ours


def test_intervals_are_start_complete_pairs_that_vsm_joins_back(tmp_path):
    log = make_log(
        [("A", "Triage", 0, 30, "SD"), ("A", "Fix", 30, 90, "L2"), ("A", "Triage", 100, 110, "SD"),
         ("A", "Closed", 120, None, "SD"), ("B", "Triage", 5, 10, "SD"), ("B", "Fix", 7, 20, "L2")],
        ("case_id", "activity", "minutes", "end_minutes", "group"),
    )
    out = tmp_path / "e.xes.gz"
    assert write(log, out) == 6 + 5  # five intervals are two events each
    root = etree.parse(gzip.open(out))
    ns = {"x": "http://www.xes-standard.org/"}
    b = root.findall("x:trace", ns)[1]
    assert [(e.find("x:string[@key='concept:name']", ns).get("value"),
             e.find("x:string[@key='lifecycle:transition']", ns).get("value")) for e in b.findall("x:event", ns)] == [
        ("Triage", "start"), ("Fix", "start"), ("Triage", "complete"), ("Fix", "complete")]
    back, _ = connectors.load(out)
    pd.testing.assert_frame_equal(_events(back), _events(log))
    for suffix in (".csv", ".parquet"):
        write(log, tmp_path / f"e{suffix}")
        again, _ = connectors.load(tmp_path / f"e{suffix}")
        pd.testing.assert_frame_equal(_events(again), _events(log))


def test_values_are_escaped_and_typed(tmp_path):
    nasty = 'a & b <c> "d"\nline\x01two'
    log = make_log([("T&1", nasty, 0, 3), ("T&1", "Done", 5, 3), ("T<2>", "Done", 1, 4)], ("case_id", "activity", "minutes", "points"))
    out = tmp_path / "e.xes"
    write(log, out)
    tree = etree.parse(str(out))  # well-formed, whatever the values held
    ns = {"x": "http://www.xes-standard.org/"}
    traces = tree.findall("x:trace", ns)
    assert [t.find("x:string[@key='concept:name']", ns).get("value") for t in traces] == ["T&1", "T<2>"]
    assert traces[0].find("x:int[@key='points']", ns).get("value") == "3"  # a ticket attribute, typed
    first = traces[0].find("x:event/x:string[@key='concept:name']", ns).get("value")
    assert first == 'a & b <c> "d"\nlinetwo'  # the line break survives; a character XML cannot hold is dropped
    back, _ = connectors.load(out)
    assert back["activity"].astype(str).tolist()[0] == first


def test_convert_command(tmp_path):
    out = tmp_path / "events.xes.gz"
    result = run_cli("convert", SAMPLE_LOGS / "multi_team_events.csv", "-o", out)
    assert result.exit_code == 0, result.stderr
    assert "2,529 events" in result.stderr
    assert connectors.load(out)[0].shape[0] == 2529
    bad = run_cli("convert", SAMPLE_LOGS / "multi_team_events.csv", "-o", tmp_path / "events.json")
    assert bad.exit_code == 2 and "end it in .xes" in bad.stderr
    same = run_cli("convert", SAMPLE_LOGS / "multi_team_events.csv", "-o", SAMPLE_LOGS / "multi_team_events.csv")
    assert same.exit_code == 2
