"""Reading an export ahead, on a thread, while the command imports pandas (connectors.textio.read_ahead).

What the reader gets must be exactly what it would have read itself: the same
table, the same errors with the same words, and a fresh read when the file
changed or is asked for with another delimiter.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from connectors import textio
from connectors.errors import ConnectorError
from tests.conftest import run_cli

SAMPLE = Path(__file__).resolve().parents[2] / "sample_logs" / "service_desk_events.csv"
CSV = "number,state,sys_updated_on\nINC1,New,2024-01-01 09:00:00\nINC1,Closed,2024-01-01 10:00:00\n"


@pytest.fixture(autouse=True)
def _nothing_left_ahead():
    textio.read_ahead_done()
    yield
    textio.read_ahead_done()


def _wait() -> None:
    """Wait until the thread has read the file."""
    assert textio._ahead is not None
    assert textio._ahead.done.wait(10)


def _forbid_reading(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Make any read on this thread fail, so that a test sees whether the reader read the file itself."""
    reads: list[str] = []

    def counted(sniffed, delimiter):  # type: ignore[no-untyped-def]
        reads.append(str(sniffed.path))
        return original(sniffed, delimiter)

    original = textio._read_delimited
    monkeypatch.setattr(textio, "_read_delimited", counted)
    return reads


def test_the_reader_takes_the_table_read_ahead(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "export.csv"
    path.write_text(CSV)
    expected = textio.read_delimited(textio.sniff(path)).table
    textio.read_ahead(path)
    _wait()
    reads = _forbid_reading(monkeypatch)
    sniffed = textio.sniff(path)
    table = textio.read_delimited(sniffed)
    assert reads == []
    assert table.table.equals(expected)
    assert list(table.source_rows) == [2, 3]
    assert textio._ahead is None  # taken once, then forgotten


def test_the_sniff_read_ahead_is_handed_out_once(tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    path.write_text(CSV)
    textio.read_ahead(path)
    first, second = textio.sniff(path), textio.sniff(path)
    assert first is not second
    assert first == second


def test_a_file_changed_after_it_was_read_ahead_is_read_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "export.csv"
    path.write_text(CSV)
    textio.read_ahead(path)
    _wait()
    path.write_text(CSV + "INC2,New,2024-01-02 09:00:00\n")
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    reads = _forbid_reading(monkeypatch)
    table = textio.read_delimited(textio.sniff(path))
    assert reads == [str(path)]
    assert table.table.num_rows == 3


def test_another_delimiter_is_read_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "export.csv"
    path.write_text(CSV)
    textio.read_ahead(path)
    _wait()
    reads = _forbid_reading(monkeypatch)
    table = textio.read_delimited(textio.sniff(path), ";")
    assert reads == [str(path)]
    assert table.header == ["number,state,sys_updated_on"]


@pytest.mark.parametrize("content", [b"\x00\x01\x02binary\x00" * 50, b""])
def test_errors_are_raised_by_the_reader_in_the_same_words(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "export.csv"
    path.write_bytes(content)
    with pytest.raises(ConnectorError) as without:
        textio.sniff(path)
    textio.read_ahead(path)
    _wait()
    with pytest.raises(ConnectorError) as with_ahead:
        textio.sniff(path)
    assert str(with_ahead.value) == str(without.value)


def test_a_missing_file_is_not_read_ahead(tmp_path: Path) -> None:
    textio.read_ahead(tmp_path / "missing.csv")
    assert textio._ahead is None


def _document(path: Path) -> dict:
    doc = json.loads(path.read_text())
    doc.pop("generated_at", None)
    return doc


def test_mine_gives_the_same_document_with_and_without_reading_ahead(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import vsm.cli

    calls: list[str] = []
    original = textio.read_ahead
    monkeypatch.setattr(textio, "read_ahead", lambda path, delimiter=None: (calls.append(str(path)), original(path, delimiter)))
    result = run_cli("mine", SAMPLE, "--json", tmp_path / "ahead.json")
    assert result.exit_code == 0, result.output
    assert calls == [str(SAMPLE)]
    assert textio._ahead is None
    monkeypatch.setattr(vsm.cli, "_read_ahead", lambda export, kwargs: None)
    result = run_cli("mine", SAMPLE, "--json", tmp_path / "whole.json")
    assert result.exit_code == 0, result.output
    assert calls == [str(SAMPLE)]  # not read ahead this time
    assert _document(tmp_path / "ahead.json") == _document(tmp_path / "whole.json")


def test_a_command_that_stops_before_its_load_drops_what_it_read_ahead(tmp_path: Path) -> None:
    result = run_cli("mine", SAMPLE, "--mapping", tmp_path / "missing.toml")
    assert result.exit_code == 2
    assert textio._ahead is None


@pytest.mark.parametrize("flags", [["--engine", "spark"], ["--workers", "2"], ["--spark-master", "spark://127.0.0.1:1"]])
def test_an_export_read_elsewhere_is_not_read_ahead(flags: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    import vsm.cli

    calls: list[str] = []
    monkeypatch.setattr(textio, "read_ahead", lambda path, delimiter=None: calls.append(str(path)))
    # The command's own outcome does not matter here (Spark may be missing): only whether it read ahead.
    monkeypatch.setattr(vsm.cli, "_analyse", lambda *a, **k: (_ for _ in ()).throw(SystemExit(0)))
    run_cli("mine", SAMPLE, *flags)
    assert calls == []


def test_an_export_the_worker_processes_take_is_not_read_ahead(monkeypatch: pytest.MonkeyPatch) -> None:
    import miner.workers
    import vsm.cli

    calls: list[str] = []
    monkeypatch.setattr(textio, "read_ahead", lambda path, delimiter=None: calls.append(str(path)))
    monkeypatch.setattr(miner.workers, "MIN_BYTES", 1)  # the sample is now large enough for the workers
    vsm.cli._read_ahead(str(SAMPLE), {})
    assert calls == []


@pytest.mark.parametrize(("command", "reads_on_main"), [
    (["inspect", "{export}"], 0),
    (["design", "{export}", "-o", "{tmp}/design.toml"], 0),
    (["mapping", "init", "{export}", "-o", "{tmp}/mapping.toml"], 0),
    (["convert", "{export}", "-o", "{tmp}/events.csv"], 0),
    (["diff", "{export}", "{export}", "--json", "{tmp}/diff.json"], 1),  # the first export is read ahead, the second after it
    (["compare", "{export}"], 0),
    (["report", "{export}", "-o", "{tmp}/report.html", "--quiet"], 0),
])
def test_every_command_that_loads_an_export_reads_it_ahead(command: list[str], reads_on_main: int, tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    import threading

    calls: list[str] = []
    original = textio.read_ahead
    monkeypatch.setattr(textio, "read_ahead", lambda path, delimiter=None: (calls.append(str(path)), original(path, delimiter)))
    readers: list[str] = []
    read = textio._read_delimited
    monkeypatch.setattr(textio, "_read_delimited", lambda *a: (readers.append(threading.current_thread().name), read(*a))[1])
    result = run_cli(*(part.format(export=SAMPLE, tmp=tmp_path) for part in command))
    assert result.exit_code == 0, result.output
    assert calls == [str(SAMPLE)]
    assert readers.count("vsm-read-ahead") == 1
    assert len(readers) == 1 + reads_on_main
    assert textio._ahead is None


def test_a_folder_or_a_pipe_is_not_read_ahead(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import vsm.cli

    calls: list[str] = []
    monkeypatch.setattr(textio, "read_ahead", lambda path, delimiter=None: calls.append(str(path)))
    fifo = tmp_path / "events.csv"
    os.mkfifo(fifo)
    vsm.cli._read_ahead(str(tmp_path), {})
    vsm.cli._read_ahead(str(fifo), {})
    vsm.cli._read_ahead(str(SAMPLE), {})
    assert calls == [str(SAMPLE)]
