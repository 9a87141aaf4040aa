"""The Spark engine (local mode) gives the same JSON as the embedded engine."""

from __future__ import annotations

import json
import shutil

import pytest

import connectors
from miner.discovery import make_plan, run
from reports.jsonout import compare_document, dumps
from tests.conftest import SAMPLE_LOGS

pytestmark = pytest.mark.spark


@pytest.fixture(scope="module")
def spark_ready():
    pytest.importorskip("pyspark", reason="pyspark is in the [spark] extra")
    if shutil.which("java") is None:
        pytest.skip("Spark needs Java (17) on the PATH")


def document(report, results) -> dict:
    doc = json.loads(dumps(compare_document(report, results)))
    doc.pop("generated_at")
    return doc


@pytest.mark.parametrize("name", ["servicenow_audit.csv", "service_desk_events.csv"])
def test_spark_json_equals_embedded(spark_ready, name):
    from miner.spark import run_spark

    path = SAMPLE_LOGS / name
    log, report = connectors.load(path)
    embedded = document(report, run(log, make_plan(log, source=report.source, design=True)))
    results, spark_report = run_spark(str(path), master="local[2]", partitions=3)
    spark = document(spark_report, results)
    assert spark == embedded
    assert spark["log"]["rows_read"] == report.rows_read and spark["log"]["events"] == len(log)


def test_spark_through_the_cli(spark_ready, tmp_path):
    from tests.conftest import run_cli

    out = tmp_path / "r.html"
    result = run_cli("report", SAMPLE_LOGS / "service_desk_events.csv", "--engine", "spark", "--spark-master", "local[2]",
                     "-o", out, "--json", tmp_path / "r.json", "--quiet")
    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""
    doc = json.loads((tmp_path / "r.json").read_text())
    assert doc["log"]["cases"] == 400 and doc["variants"]["count"] == 121
    assert out.read_text().startswith("<!DOCTYPE html>")
