"""XES and XES.gz logs."""

from __future__ import annotations

import gzip

import pandas as pd
import pytest

import connectors
from connectors.errors import UnreadableExport
from tests.conftest import real_log

XES = """<?xml version="1.0" encoding="UTF-8"?>
<log xes.version="1.0" xmlns="http://www.xes-standard.org/">
  <string key="origin" value="test"/>
  <global scope="event"><string key="concept:name" value="__INVALID__"/></global>
  <trace>
    <string key="concept:name" value="T1"/>
    <string key="category" value="network &amp; wifi"/>
    {events1}
  </trace>
  <trace>
    <string key="concept:name" value="T2"/>
    {events2}
  </trace>
</log>
"""


def ev(name: str, time: str, transition: str | None = None, extra: str = "") -> str:
    life = f'<string key="lifecycle:transition" value="{transition}"/>' if transition else ""
    return f'<event><string key="concept:name" value="{name}"/><date key="time:timestamp" value="{time}"/>{life}{extra}</event>'


def write(tmp_path, text: str, gz: bool = False):
    path = tmp_path / ("log.xes.gz" if gz else "log.xes")
    data = text.encode("utf-8")
    path.write_bytes(gzip.compress(data) if gz else data)
    return path


@pytest.mark.parametrize("gz", [pytest.param(False, id="xes"), pytest.param(True, id="xes.gz")])
def test_trace_attributes_and_entities(tmp_path, gz):
    text = XES.format(
        events1=ev("Open", "2024-01-01T10:00:00+01:00", extra='<string key="org:resource" value="ann"/>') + ev("Close", "2024-01-01T11:00:00+01:00"),
        events2=ev("Open", "2024-01-02T10:00:00Z"),
    )
    log, report = connectors.load(write(tmp_path, text, gz))
    assert report.source == "xes"
    assert list(log["case_id"].astype(str)) == ["T1", "T1", "T2"]
    assert log["case:category"].astype(str).iloc[0] == "network & wifi"
    assert log["timestamp"].iloc[0] == pd.Timestamp("2024-01-01 09:00", tz="UTC")
    assert log["resource"].iloc[0] == "ann"
    assert log["resource"].isna().tolist() == [False, True, True]


def test_start_complete_pairs_become_intervals(tmp_path):
    events = (ev("Fix", "2024-01-01T10:00:00Z", "start") + ev("Check", "2024-01-01T10:05:00Z", "start")
              + ev("Fix", "2024-01-01T10:30:00Z", "complete") + ev("Check", "2024-01-01T10:40:00Z", "complete"))
    path = write(tmp_path, XES.format(events1=events, events2=ev("Fix", "2024-01-02T10:00:00Z", "complete")))
    log, report = connectors.load(path)
    assert list(log["activity"].astype(str)) == ["Fix", "Check", "Fix"]
    assert log["end_timestamp"].iloc[0] == pd.Timestamp("2024-01-01 10:30", tz="UTC")
    assert log["end_timestamp"].iloc[1] == pd.Timestamp("2024-01-01 10:40", tz="UTC")
    assert pd.isna(log["end_timestamp"].iloc[2])
    assert report.rows_read == 5 and report.events == 3
    assert report.derivation.startswith("2 start/complete pairs joined into one interval event each")
    events_mode, _ = connectors.load(path, lifecycle="events")
    assert len(events_mode) == 5


def test_schedule_transitions_keep_events_apart_and_every_command_is_told(tmp_path):
    events = (ev("Fix", "2024-01-01T09:00:00Z", "schedule") + ev("Fix", "2024-01-01T10:00:00Z", "start")
              + ev("Fix", "2024-01-01T10:30:00Z", "complete"))
    path = write(tmp_path, XES.format(events1=events, events2=ev("Fix", "2024-01-02T10:00:00Z", "complete")))
    log, report = connectors.load(path)
    assert len(log) == 4  # kept apart, as pm4py keeps them
    # A warning, not a note: mine, compare and report print warnings, so the user learns of --lifecycle pair there too.
    assert report.warnings == [
        "lifecycle transitions kept as separate events, as pm4py does, because the log also has 'schedule' transitions; "
        "pass --lifecycle pair to join each start and complete into one interval (the other transitions stay events of their own)"]
    paired, report = connectors.load(path, lifecycle="pair")
    assert list(paired["activity"].astype(str)) == ["Fix (schedule)", "Fix", "Fix"] and report.warnings == []


def test_nested_attributes_are_read_through_lxml(tmp_path):
    nested = '<list key="tags"><values><string key="t" value="x"/></values></list>'
    text = XES.format(events1=ev("Open", "2024-01-01T10:00:00Z", extra=nested), events2=ev("Open", "2024-01-01T11:00:00Z"))
    log, _ = connectors.load(write(tmp_path, text))
    assert len(log) == 2
    assert "t" not in log.columns


@pytest.mark.parametrize("gz", [pytest.param(False, id="xes"), pytest.param(True, id="xes.gz")])
def test_truncated_xes_is_an_error(tmp_path, gz):
    text = XES.format(events1=ev("Open", "2024-01-01T10:00:00Z"), events2=ev("Open", "2024-01-01T11:00:00Z"))
    path = write(tmp_path, text[: len(text) // 2], gz)
    with pytest.raises(UnreadableExport, match="truncated"):
        connectors.load(path)


def test_helpdesk_counts():
    log, report = connectors.load(real_log("helpdesk.xes.gz"))
    assert (len(log), log["case_id"].nunique(), log["activity"].nunique()) == (21_348, 4_580, 14)
    assert report.rows_read == 21_348 and report.rows_rejected == 0


def test_running_example_counts():
    log, _ = connectors.load(real_log("running-example.xes"))
    assert (len(log), log["case_id"].nunique()) == (42, 6)
