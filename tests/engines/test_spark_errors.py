"""A failed Spark job (an executor out of memory, a lost worker) ends in one line that says what to do."""

from __future__ import annotations

import pytest

import vsm.cli
from miner.spark import SparkFailed, failure, spark_log
from tests.conftest import SAMPLE_LOGS, run_cli

JAVA_OOM = """An error occurred while calling o123.collectToPython.
: org.apache.spark.SparkException: Job aborted due to stage failure: Task 2 in stage 7.0 failed 4 times, most recent failure: Lost task 2.3 in stage 7.0 (TID 31) (127.0.0.1 executor 3): java.lang.OutOfMemoryError: Java heap space
	at java.base/java.util.Arrays.copyOf(Arrays.java:3537)
	at org.apache.spark.util.Utils$.tryWithSafeFinally(Utils.scala:97)
"""

JAVA_LOST = """An error occurred while calling o77.collectToPython.
: org.apache.spark.SparkException: Job aborted due to stage failure: Task 0 in stage 3.0 failed 4 times: ExecutorLostFailure (executor 1 exited)
	at org.apache.spark.scheduler.DAGScheduler.failJobAndIndependentStages(DAGScheduler.scala:2856)
"""


def test_out_of_memory_says_which_setting_to_raise():
    err = failure(RuntimeError(JAVA_OOM))
    assert isinstance(err, SparkFailed)
    assert str(err) == ("Spark ran out of memory (java.lang.OutOfMemoryError): set VSM_SPARK_EXECUTOR_MEMORY (a cluster's "
                        "executors; Spark's default is 1g) or VSM_SPARK_DRIVER_MEMORY higher, or cut the tickets into more "
                        f"partitions with --spark-partitions; Spark's log: {spark_log()}")


def test_other_failures_keep_the_first_line_of_the_java_error_only():
    text = str(failure(RuntimeError(JAVA_LOST)))
    assert "\n" not in text and "DAGScheduler" not in text
    assert text == ("Spark failed (org.apache.spark.SparkException: Job aborted due to stage failure: Task 0 in stage 3.0 failed "
                    f"4 times: ExecutorLostFailure (executor 1 exited)); Spark's log: {spark_log()}; or run without --engine spark")


def test_an_unexpected_multi_line_error_is_still_one_line(monkeypatch, capsys):
    def boom(*args, **kwargs):
        raise RuntimeError("first line\n\tat some.Java(Frame.java:1)\n" + "x" * 1000)

    monkeypatch.setattr(vsm.cli.cli, "main", boom)
    with pytest.raises(SystemExit) as stop:
        vsm.cli.main(["mine", "whatever.csv"])
    assert stop.value.code == 70
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("Error: internal error (RuntimeError: first line\\n\tat some.Java")
    assert len(err) < 450


def test_without_pyspark_the_engine_says_how_to_install_it(monkeypatch):
    for name in ("pyspark", "pyspark.sql", "pyspark.errors", "py4j", "py4j.protocol"):
        monkeypatch.setitem(__import__("sys").modules, name, None)
    result = run_cli("mine", SAMPLE_LOGS / "service_desk_events.csv", "--engine", "spark")
    assert result.exit_code == 2
    assert result.stderr == "Error: --engine spark needs pyspark: pip install '.[spark]' (and Java 17)\n"
