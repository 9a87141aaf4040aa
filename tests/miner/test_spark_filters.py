"""Filters on the Spark engine (local mode): the JSON of the embedded engine on the filtered log."""

from __future__ import annotations

import json
import shutil

import pytest

import connectors
from miner.discovery import make_plan, run
from miner.filters import Filters
from reports.jsonout import compare_document, dumps
from tests.conftest import SAMPLE_LOGS

pytestmark = pytest.mark.spark


def document(report, results) -> dict:
    doc = json.loads(dumps(compare_document(report, results)))
    doc.pop("generated_at")
    return doc


def test_spark_filters_give_the_embedded_json():
    pytest.importorskip("pyspark", reason="pyspark is in the [spark] extra")
    if shutil.which("java") is None:
        pytest.skip("Spark needs Java (17) on the PATH")
    from miner.spark import run_spark

    path = SAMPLE_LOGS / "service_desk_events.csv"
    filters = Filters(date_from="2025-01-20", where=("priority=P1,P2",))
    log, report = connectors.load(path)
    log, notes = filters.apply(log)
    report.notes.extend(n.text() for n in notes)
    report.flags.extend(filters.flags())
    embedded = document(report, run(log, make_plan(log, source=report.source, design=True)))
    results, spark_report = run_spark(str(path), master="local[2]", partitions=3, filters=filters)
    got = document(spark_report, results)
    assert got == embedded
    assert got["input"]["flags"][-2:] == ["--from 2025-01-20", "--where priority=P1,P2"]
    assert [n for n in got["load"]["notes"] if n.startswith("Filter ")] == [n.text() for n in notes]
