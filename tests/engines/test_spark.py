"""The Spark engine (local mode) gives the same bytes as the embedded engine: JSON (but
``generated_at``), terminal text, load notes and warnings, on every bundled sample and on
exports whose rows are rejected or whose dates warn."""

from __future__ import annotations

import json
import re
import shutil

import pytest

from tests.conftest import ROOT, SAMPLE_LOGS, real_log, run_cli

pytestmark = pytest.mark.spark

SAMPLES = sorted(p.name for p in SAMPLE_LOGS.iterdir() if p.suffix in (".csv", ".json") and not p.name.endswith(".truth.json"))
# Exports whose load warns: rejected rows, dates in the future, placeholders, a newest-first audit.
WARNED = ["generic_future_dates.csv", "generic_half_timestamps_bad.csv", "generic_placeholders.csv",
          "servicenow_audit_newest_first_placeholders.csv", "servicenow_list_half_dates_bad.csv"]


@pytest.fixture(scope="module")
def spark_ready():
    pytest.importorskip("pyspark", reason="pyspark is in the [spark] extra")
    if shutil.which("java") is None:
        pytest.skip("Spark needs Java (17) on the PATH")


def outputs(tmp_path, export, *engine: str) -> tuple[str, str, str]:
    """`vsm compare --json` on ``export``: the JSON text without its generated_at, the terminal text, stderr."""
    out = tmp_path / ("spark.json" if engine else "embedded.json")
    result = run_cli("compare", export, "--json", out, *engine)
    assert result.exit_code == 0, result.stderr
    text = out.read_text(encoding="utf-8")
    assert text.count('"generated_at"') == 1
    return re.sub(r'"generated_at": "[^"]*"', '"generated_at": ""', text), result.stdout, result.stderr


@pytest.mark.parametrize("export", [SAMPLE_LOGS / n for n in SAMPLES] + [ROOT / "tests" / "corpus" / n for n in WARNED],
                         ids=lambda p: p.name)
def test_spark_gives_the_embedded_bytes(spark_ready, tmp_path, export):
    embedded = outputs(tmp_path, export)
    spark = outputs(tmp_path, export, "--spark-master", "local[2]", "--spark-partitions", "3")
    assert spark == embedded
    if export.name in WARNED:
        assert "Warning:" in embedded[2]


def test_partials_reach_the_driver_in_pieces(spark_ready, tmp_path, monkeypatch):
    """Without a disk shared with the executors (a cluster's case, forced here), each partial's Arrow stream
    crosses in numbered pieces (8 MB; here under 1 kB, so every frame is cut): whole, the partials of 10M
    events overran the driver's heap."""
    import miner.spark

    monkeypatch.setattr(miner.spark, "PIECE", 997)
    monkeypatch.setattr(miner.spark, "_shared_folder", lambda spark: None)
    export = SAMPLE_LOGS / "servicenow_audit.csv"
    assert outputs(tmp_path, export, "--spark-master", "local[2]", "--spark-partitions", "3") == outputs(tmp_path, export)


def test_local_mode_partials_come_back_as_files_that_are_removed(spark_ready, tmp_path, monkeypatch):
    """In local mode the executors write the partials into a folder of the driver's; it is gone afterwards."""
    import tempfile

    import miner.spark

    scratch = tmp_path / "scratch"
    scratch.mkdir()
    made = []

    def shared(spark):
        folder = original(spark)
        made.append(folder)
        return folder

    original = miner.spark._shared_folder
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    monkeypatch.setattr(miner.spark, "_shared_folder", shared)
    export = SAMPLE_LOGS / "jira_changelog.json"
    assert outputs(tmp_path, export, "--spark-master", "local[2]", "--spark-partitions", "3") == outputs(tmp_path, export)
    assert len(made) == 1 and made[0].startswith(str(scratch))
    assert not [p for p in scratch.iterdir() if p.name.startswith("vsm-parts-")]


def test_spark_on_a_real_log_read_here(spark_ready, tmp_path):
    """XES cannot be cut before it is read: this process loads it, Spark analyses its partitions of cases."""
    path = real_log("helpdesk.xes.gz")
    assert outputs(tmp_path, path, "--spark-master", "local[2]", "--spark-partitions", "4") == outputs(tmp_path, path)


def test_spark_through_the_cli(spark_ready, tmp_path):
    out = tmp_path / "r.html"
    result = run_cli("report", SAMPLE_LOGS / "service_desk_events.csv", "--engine", "spark", "--spark-master", "local[2]",
                     "-o", out, "--json", tmp_path / "r.json", "--quiet")
    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""
    doc = json.loads((tmp_path / "r.json").read_text())
    assert doc["log"]["cases"] == 400 and doc["variants"]["count"] == 121
    assert out.read_text().startswith("<!DOCTYPE html>")


def test_partitions_that_read_dates_differently_give_the_whole_export(spark_ready, tmp_path):
    """One ticket proves day-first; the partitions without it cannot tell: Spark reads the export as one process would."""
    lines = ["case,activity,timestamp"]
    for i in range(40):
        day = 20 if i == 0 else 3
        lines += [f"T{i:03d},Open,{day:02d}/01/2025 09:00", f"T{i:03d},Closed,{day:02d}/02/2025 10:00"]
    path = tmp_path / "dates.csv"
    path.write_text("\n".join(lines) + "\n")
    embedded = outputs(tmp_path, path)
    assert "day-first" in embedded[0]
    assert outputs(tmp_path, path, "--spark-master", "local[2]", "--spark-partitions", "3") == embedded


def test_spark_reads_parquet_as_the_embedded_engine_does(spark_ready, tmp_path):
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    table = pacsv.read_csv(SAMPLE_LOGS / "servicenow_audit.csv", convert_options=pacsv.ConvertOptions(strings_can_be_null=True))
    path = tmp_path / "audit.parquet"
    pq.write_table(table, path, row_group_size=500)  # several row groups
    assert outputs(tmp_path, path, "--spark-master", "local[2]", "--spark-partitions", "3") == outputs(tmp_path, path)


def test_spark_reads_a_gzip_whatever_its_name(spark_ready, tmp_path):
    """Spark unpacks gzip only by a .gz name: a gzipped CSV named .csv is loaded here, with the embedded engine's bytes."""
    import gzip

    path = tmp_path / "events.csv"
    path.write_bytes(gzip.compress((SAMPLE_LOGS / "service_desk_events.csv").read_bytes()))
    assert outputs(tmp_path, path, "--spark-master", "local[2]", "--spark-partitions", "3") == outputs(tmp_path, path)


def test_the_watchdog_waits_for_a_real_job_however_quiet_and_cancels_a_real_one(spark_ready):
    """The watchdog's Spark half, on a real session (its stand-ins are in test_spark_errors.py): while a job runs,
    seconds without a row are no stall; and cancelling stops a running job, so that the CLI can end in one line."""
    import threading
    import time

    from miner.spark import SparkJobs, session, watched

    def slow(batches):  # type: ignore[no-untyped-def]
        import time as clock

        for batch in batches:
            clock.sleep(3)  # in the executor: three quiet seconds per partition, three times the stall below
            yield batch

    spark = session("local[2]")
    jobs = SparkJobs(spark)
    start = time.monotonic()
    rows = list(watched(spark.range(0, 4, numPartitions=2).mapInPandas(slow, schema="id long").toLocalIterator(),
                        jobs, stall=1.0, poll=0.05))
    assert sorted(row.id for row in rows) == [0, 1, 2, 3]
    assert time.monotonic() - start >= 6  # both partitions' quiet seconds waited out: a job ran throughout
    assert not jobs.running()

    def endless(batches):  # type: ignore[no-untyped-def]
        import time as clock

        for batch in batches:
            clock.sleep(20)  # not interrupted by the cancel, the task's Python worker is done soon after
            yield batch

    ended: list[str] = []

    def collect() -> None:
        try:
            spark.range(0, 2, numPartitions=2).mapInPandas(endless, schema="id long").collect()
            ended.append("finished")
        except Exception as exc:  # noqa: BLE001 - what a cancelled job raises is what this test looks at
            ended.append(str(exc))

    worker = threading.Thread(target=collect, daemon=True)
    worker.start()
    deadline = time.monotonic() + 60
    while not jobs.running() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert jobs.running()
    jobs.cancel()
    worker.join(15)  # well before the 20 s the job would take
    assert not worker.is_alive() and ended and "cancel" in ended[0].lower()
    deadline = time.monotonic() + 30
    while jobs.running() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not jobs.running()
