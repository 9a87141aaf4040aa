"""The embedded engine in worker processes gives the results, and the load
report, of one process reading the whole export."""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import connectors
import miner.discovery as discovery
import miner.parallel as parallel
from miner.discovery import make_plan, run
from miner.filters import Filters
from miner.parallel import NotSplittable, run_parallel
from miner.workers import workers_for
from reports.jsonout import compare_document, dumps
from tests.conftest import SAMPLE_LOGS, run_cli


def document(report, results) -> dict:
    doc = json.loads(dumps(compare_document(report, results)))
    doc.pop("generated_at")
    return doc


def whole(path) -> dict:
    log, report = connectors.load(path)
    return document(report, run(log, make_plan(log, source=report.source, design=True)))


@pytest.fixture
def small_sample(monkeypatch):
    """Decide the source and case column on the first 300 rows only, as a large export would."""
    monkeypatch.setattr(parallel, "SAMPLE_ROWS", 300)


@pytest.mark.parametrize("name", ["servicenow_audit.csv", "service_desk_events.csv", "servicenow_incidents.csv"])
def test_partitions_in_workers_equal_one_process(small_sample, name):
    path = SAMPLE_LOGS / name
    results, report = run_parallel(str(path), workers=2, partitions=5)
    got = document(report, results)
    assert got == whole(path)
    assert got["log"]["rows_read"] == got["load"]["rows_loaded"] + got["log"]["rows_rejected"]


def test_parquet_splits_too(small_sample, tmp_path):
    table = pa.csv.read_csv(SAMPLE_LOGS / "service_desk_events.csv", convert_options=pa.csv.ConvertOptions(strings_can_be_null=True))
    path = tmp_path / "events.parquet"
    pq.write_table(table, path, row_group_size=500)
    results, report = run_parallel(str(path), workers=2, partitions=3)
    assert document(report, results) == whole(path)


def test_a_line_break_inside_quotes_at_a_range_boundary(small_sample, tmp_path):
    """The byte ranges split at line breaks; one inside a quoted value makes a ragged record, and the parent reads instead."""
    lines = (SAMPLE_LOGS / "service_desk_events.csv").read_text().splitlines()
    header, rows = lines[0], lines[1:]
    middle = len(rows) // 2
    essay = "\n".join(f"line {i} of a long description" for i in range(4000))
    text = "\n".join([header + ",description", *(r + "," for r in rows[:middle]),
                      rows[middle] + f',"{essay}"', *(r + "," for r in rows[middle + 1:])]) + "\n"
    path = tmp_path / "multiline.csv"
    path.write_text(text)
    layout = connectors.textio.csv_layout(connectors.textio.sniff(path))
    start, end = connectors.textio.line_ranges(layout, 2)[1]
    assert text.encode()[:start].count(b'"') % 2 == 1  # the second range starts inside the quoted value
    results, report = run_parallel(str(path), workers=2, partitions=3)
    assert document(report, results) == whole(path)


def test_partitions_that_read_dates_differently_are_not_split(small_sample, tmp_path):
    """Day-first is proved only in some partitions; the rest are ambiguous, so the export is read whole."""
    ids = [f"T{i:03d}" for i in range(40)]
    part = parallel._partition_of(pa.array(ids), 2)
    lines = ["case,activity,timestamp"]
    for case, p in zip(ids, part, strict=True):
        day = 20 if p == 0 else 3
        lines += [f"{case},Open,{day:02d}/01/2025 09:00", f"{case},Closed,{day:02d}/02/2025 10:00"]
    path = tmp_path / "dates.csv"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(NotSplittable, match="partitions read differently"):
        run_parallel(str(path), workers=2, partitions=2)
    one = run_cli("compare", path, "--workers", "1", "--json", tmp_path / "one.json")
    two = run_cli("compare", path, "--workers", "2", "--json", tmp_path / "two.json")
    assert (one.exit_code, two.exit_code) == (0, 0)
    assert two.stdout == one.stdout
    docs = [json.loads((tmp_path / f"{n}.json").read_text()) for n in ("one", "two")]
    for doc in docs:
        doc.pop("generated_at")
    assert docs[0] == docs[1]


def test_the_cli_with_workers_prints_what_one_process_prints(tmp_path):
    path = SAMPLE_LOGS / "servicenow_audit.csv"
    one = run_cli("compare", path, "--workers", "1", "--json", tmp_path / "one.json")
    two = run_cli("compare", path, "--workers", "2", "--json", tmp_path / "two.json")
    assert (one.exit_code, two.exit_code) == (0, 0)
    assert two.stdout == one.stdout and two.stderr == one.stderr
    docs = [json.loads((tmp_path / f"{n}.json").read_text()) for n in ("one", "two")]
    for doc in docs:
        doc.pop("generated_at")
    assert docs[0] == docs[1]


def test_report_progress_names_the_processes(tmp_path):
    path = SAMPLE_LOGS / "service_desk_events.csv"
    result = run_cli("report", path, "--workers", "2", "-o", tmp_path / "r.html")
    assert result.exit_code == 0, result.stderr
    lines = result.stderr.splitlines()
    assert lines[0].startswith(f"[1/2] Loading and analysing {path} in 2 processes … ")
    assert lines[1].startswith("[2/2] Rendering … ")


def test_a_bad_export_fails_as_in_one_process(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("case,activity,timestamp\n" + "".join(f"T{i},Open,not a date {i}\n" for i in range(50)))
    one = run_cli("mine", path, "--workers", "1")
    two = run_cli("mine", path, "--workers", "2")
    assert one.exit_code == two.exit_code == 2
    assert two.stderr == one.stderr and two.stderr.count("\n") == 1


def test_workers_by_default(monkeypatch, tmp_path):
    monkeypatch.delenv("VSM_WORKERS", raising=False)
    small = tmp_path / "small.csv"
    small.write_text("case,activity,timestamp\n")
    assert workers_for(small) == 1
    assert workers_for(small, 3) == 3
    monkeypatch.setenv("VSM_WORKERS", "2")
    assert workers_for(small) == 2


def test_an_export_not_in_utf8_beyond_its_head_is_read_whole(tmp_path):
    """The head is plain ASCII, so the workers take the export for UTF-8; Arrow finds the cp1252 byte, and it is read whole."""
    rows = [f"T{i:05d},{'Open' if j == 0 else 'Closed'},2025-01-{1 + j:02d} 09:00:00" for i in range(9000) for j in range(2)]
    rows[-1] = rows[-1].replace("Closed", "Clos\xe9d")
    path = tmp_path / "late-cp1252.csv"
    path.write_bytes(("case,activity,timestamp\n" + "\n".join(rows) + "\n").encode("cp1252"))
    assert path.stat().st_size > 256 * 1024
    one = run_cli("mine", path, "--workers", "1", "--json", tmp_path / "one.json")
    two = run_cli("mine", path, "--workers", "2", "--json", tmp_path / "two.json")
    assert (one.exit_code, two.exit_code) == (0, 0)
    assert two.stdout == one.stdout and "Clos\xe9d" in two.stdout


@pytest.mark.parametrize("export", ["ties", "servicenow_audit.csv"])
def test_report_json_and_csv_are_the_same_bytes_with_workers(small_sample, tmp_path, export):
    """HTML, JSON and every CSV table, byte for byte but for generated_at, on a log full of ties and on an audit export."""
    from tests.hardening.test_determinism import _args, _outputs, _ties

    path = _ties(tmp_path / "ties.csv") if export == "ties" else SAMPLE_LOGS / export
    runs = []
    for workers in ("1", "2"):
        folder = tmp_path / f"w{workers}"
        folder.mkdir()
        result = run_cli(*_args(path, folder), "--workers", workers)
        assert result.exit_code == 0, result.stderr
        runs.append(_outputs(folder))
    assert len(runs[0]) >= 10
    assert runs[0] == runs[1]


def test_an_export_too_large_for_the_workers_fails_in_one_line(tmp_path, monkeypatch):
    monkeypatch.setenv("VSM_MEMORY_LIMIT", "100K")
    path = SAMPLE_LOGS / "servicenow_audit.csv"
    result = run_cli("report", path, "--workers", "2", "-o", tmp_path / "r.html", "--quiet")
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith(f"Error: {path}: ") and "2x for delimited text in worker processes" in result.stderr
    assert not (tmp_path / "r.html").exists()


def test_partition_files_go_to_memory_only_with_room_to_spare(tmp_path, monkeypatch):
    monkeypatch.delenv("TMPDIR", raising=False)
    monkeypatch.setenv("VSM_MEMORY_LIMIT", "1G")
    folders = [parallel._parts_folder(1 << 30), parallel._parts_folder(1 << 20)]  # 1 GB needs 3.5 GB; 1 MB fits
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    folders.append(parallel._parts_folder(1 << 20))
    try:
        assert parallel.SHM not in folders[0].parents
        assert (parallel.SHM in folders[1].parents) == parallel.SHM.is_dir()
        assert folders[2].parent == tmp_path  # TMPDIR named: always there
    finally:
        for folder in folders:
            shutil.rmtree(folder, ignore_errors=True)


def test_partition_folders_of_runs_killed_outright_are_removed(tmp_path, monkeypatch):
    # A run killed by SIGKILL cannot remove its folder; the next run removes it
    # when the process that made it is gone, and leaves live runs' folders alone.
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    host = platform.node()
    dead = tmp_path / f"{parallel.PARTS_PREFIX}{host}-{gone.pid}-abc"
    live = tmp_path / f"{parallel.PARTS_PREFIX}{host}-{os.getppid()}-def"
    other_host = tmp_path / f"{parallel.PARTS_PREFIX}elsewhere-{gone.pid}-ghi"
    for folder in (dead, live, other_host):
        folder.mkdir()
        (folder / "part-0000-0.arrow").write_bytes(b"x")
    folder = parallel._parts_folder(1 << 20)
    try:
        assert not dead.exists()
        assert live.exists() and other_host.exists()
        assert folder.name.startswith(f"{parallel.PARTS_PREFIX}{host}-{os.getpid()}-")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _workers_of(pid: int) -> list[int]:
    """The worker processes (multiprocessing's spawn children) whose parent is ``pid``."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes()
        except OSError:
            continue
        state, ppid = stat.rsplit(")", 1)[1].split()[:2]
        if int(ppid) == pid and state != "Z" and b"spawn_main" in cmdline:
            found.append(int(entry))
    return found


@pytest.mark.skipif(not os.path.isdir("/proc"), reason="reads the process table from /proc (Linux)")
def test_workers_end_at_once_with_a_parent_killed_outright(tmp_path):
    # Killed with SIGKILL mid-run, the parent can neither stop its workers nor
    # remove its partition folder: the workers notice it is gone, remove the
    # folder and exit, instead of running on with their memory and files.
    export = tmp_path / "events.csv"
    assert run_cli("sample", "--source", "csv", "--tickets", "60000", "--seed", "2", "-o", str(export), "--quiet").exit_code == 0
    parts = tmp_path / "tmp"
    parts.mkdir()
    env = {**os.environ, "TMPDIR": str(parts), "PYTHONPATH": os.pathsep.join(filter(None, [os.getcwd(), os.environ.get("PYTHONPATH")]))}
    proc = subprocess.Popen([sys.executable, "-m", "vsm", "report", str(export), "--workers", "2", "-o", str(tmp_path / "r.html")],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        # Wait until both workers run and partition files exist: the split is done, loading has begun.
        while not (len(_workers_of(proc.pid)) == 2 and any(p.is_file() for p in parts.rglob("*"))):
            assert proc.poll() is None, "the run ended before it could be killed"
            assert time.monotonic() < deadline, "the workers never started"
            time.sleep(0.02)
        workers = _workers_of(proc.pid)
        proc.kill()
        proc.wait()
        killed = time.monotonic()
        while any(parallel._alive(w) and _state(w) != "Z" for w in workers) or any(parts.iterdir()):
            assert time.monotonic() - killed < 5, "workers or partition files outlived their parent by 5 s"
            time.sleep(0.02)
    finally:
        if proc.poll() is None:
            proc.kill()


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return "Z"


@pytest.mark.parametrize("name", ["servicenow_audit.csv", "service_desk_events.csv", "jira_changelog.json", "zendesk_ticket_events.json"])
def test_threads_over_runs_of_cases_equal_one_thread(name):
    log, report = connectors.load(SAMPLE_LOGS / name)
    plan = make_plan(log, source=report.source, design=True)
    one = document(report, run(log, plan, threads=1))
    assert document(report, run(log, plan, threads=3)) == one


def test_runs_of_cases_cut_only_between_cases():
    log, _ = connectors.load(SAMPLE_LOGS / "servicenow_audit.csv")
    for n in (1, 2, 3, 7, len(log) + 5):
        pieces = discovery._case_runs(log, n)
        assert 1 <= len(pieces) <= n
        assert sum(len(p) for p in pieces) == len(log)
        seen = [set(p["case_id"].astype(str)) for p in pieces]
        assert all(a.isdisjoint(b) for i, a in enumerate(seen) for b in seen[i + 1:])  # no case in two pieces
        assert pd.concat(pieces, ignore_index=True)["source_row"].tolist() == log["source_row"].tolist()


def whole_filtered(path, filters) -> dict:
    log, report = connectors.load(path)
    log, notes = filters.apply(log)
    report.notes.extend(n.text() for n in notes)
    report.flags.extend(filters.flags())
    return document(report, run(log, make_plan(log, source=report.source, design=True)))


@pytest.mark.parametrize(("name", "filters"), [
    ("servicenow_audit.csv", Filters(date_from="2025-01-10", where=("priority=re:^[12]",))),
    ("service_desk_events.csv", Filters(date_to="2025-02-15", window_by="resolved")),
    # One ticket left: most partitions lose every ticket.
    ("service_desk_events.csv", Filters(where=("case_id=INC10001",))),
])
def test_filters_in_workers_equal_one_process(small_sample, name, filters):
    """Each worker filters its partitions of whole tickets; the JSON (results, filter notes and flags) is the one process's."""
    path = SAMPLE_LOGS / name
    results, report = run_parallel(str(path), workers=2, partitions=5, filters=filters)
    got = document(report, results)
    assert got == whole_filtered(path, filters)
    notes = [n for n in got["load"]["notes"] if n.startswith("Filter ")]
    assert len(notes) == (2 if len(filters.where) == 1 and filters.date_from else 1)
    assert got["input"]["flags"][-len(filters.flags()):] == filters.flags()


def test_filters_that_leave_no_ticket_fail_in_workers_as_in_one_process(tmp_path):
    path = SAMPLE_LOGS / "servicenow_audit.csv"
    one = run_cli("compare", path, "--workers", "1", "--from", "2031-01-01")
    two = run_cli("compare", path, "--workers", "2", "--from", "2031-01-01")
    assert one.exit_code == two.exit_code == 2
    assert two.stderr == one.stderr and "no tickets are left after the filters" in one.stderr


def test_the_cli_with_filters_and_workers_writes_what_one_process_writes(tmp_path):
    path = SAMPLE_LOGS / "servicenow_audit.csv"
    args = ("--where", "priority=re:^[12]", "--from", "2025-01-10")
    one = run_cli("compare", path, *args, "--workers", "1", "--json", tmp_path / "one.json")
    two = run_cli("compare", path, *args, "--workers", "2", "--json", tmp_path / "two.json")
    assert (one.exit_code, two.exit_code) == (0, 0)
    assert two.stdout == one.stdout and two.stderr == one.stderr
    docs = [json.loads((tmp_path / f"{n}.json").read_text()) for n in ("one", "two")]
    for doc in docs:
        doc.pop("generated_at")
    assert docs[0] == docs[1]
    assert docs[0]["input"]["flags"][-2:] == ["--from 2025-01-10", "--where 'priority=re:^[12]'"]


def test_filters_that_leave_no_ticket_are_refused_by_the_workers_themselves(small_sample):
    with pytest.raises(connectors.errors.BadOption, match="no tickets are left after the filters"):
        run_parallel(str(SAMPLE_LOGS / "servicenow_audit.csv"), workers=2, partitions=3, filters=Filters(date_from="2031-01-01"))
