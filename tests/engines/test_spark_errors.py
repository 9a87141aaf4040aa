"""A failed Spark job (an executor out of memory, a lost worker) ends in one line that says what to do."""

from __future__ import annotations

import pytest

import vsm.cli
from miner.spark import SparkFailed, failure, spark_log, stall_seconds, watched
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


class Jobs:
    """Stands in for Spark's status tracker: whether a job runs now, as the test sets it; counts cancels."""

    def __init__(self, running: bool = False) -> None:
        self.now = running
        self.cancelled = 0

    def running(self) -> bool:
        return self.now

    def cancel(self) -> None:
        self.cancelled += 1


def rows_then(items, gate):  # type: ignore[no-untyped-def]
    """Yield ``items``, then wait for ``gate`` (an Event) before ending: a result stream that stalls until told."""
    yield from items
    gate.wait()


def test_a_stalled_result_stream_ends_in_one_line_and_cancels_the_jobs():
    import threading
    import time

    jobs, gate = Jobs(running=False), threading.Event()
    got, start = [], time.monotonic()
    with pytest.raises(SparkFailed) as stop:
        for row in watched(rows_then([1, 2], gate), jobs, stall=0.6, poll=0.05):
            got.append(row)
    waited = time.monotonic() - start
    gate.set()
    assert got == [1, 2] and jobs.cancelled == 1 and 0.6 <= waited < 5
    assert str(stop.value) == ("Spark sent no result for 0.6 s and runs no job: its result stream stalled; run again, "
                               "set VSM_SPARK_STALL_SECONDS to wait longer, or run without --engine spark")


def test_a_long_job_is_waited_for_however_quiet():
    import threading

    jobs, gate = Jobs(running=True), threading.Event()
    threading.Timer(1.0, lambda: (setattr(jobs, "now", False), gate.set())).start()  # the job ends after 1 s (> stall)
    assert list(watched(rows_then([1, 2, 3], gate), jobs, stall=0.3, poll=0.05)) == [1, 2, 3]
    assert jobs.cancelled == 0


def test_an_error_in_the_stream_reaches_the_reader():
    def broken():  # type: ignore[no-untyped-def]
        yield 1
        raise ConnectionError("the JVM is gone")

    with pytest.raises(ConnectionError, match="the JVM is gone"):
        list(watched(broken(), Jobs(), stall=5, poll=0.05))


@pytest.mark.parametrize(("value", "message"), [
    ("soon", "VSM_SPARK_STALL_SECONDS='soon' is not a number of seconds; set it like 300, or unset it"),
    ("0", "VSM_SPARK_STALL_SECONDS='0' must be above 0; set it like 300, or unset it"),
    ("nan", "VSM_SPARK_STALL_SECONDS='nan' must be above 0; set it like 300, or unset it"),
])
def test_a_bad_stall_setting_is_one_line_before_spark_starts(monkeypatch, value, message):
    monkeypatch.setenv("VSM_SPARK_STALL_SECONDS", value)
    result = run_cli("mine", SAMPLE_LOGS / "service_desk_events.csv", "--engine", "spark")
    assert result.exit_code == 2
    assert result.stderr == f"Error: {message}\n"


def test_the_stall_setting_reads_seconds(monkeypatch):
    monkeypatch.delenv("VSM_SPARK_STALL_SECONDS", raising=False)
    assert stall_seconds() == 300
    monkeypatch.setenv("VSM_SPARK_STALL_SECONDS", " 45.5 ")
    assert stall_seconds() == 45.5
