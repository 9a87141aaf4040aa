"""The ``vsm`` command ends its process without tearing down the interpreter: the output must be
complete, the exit codes those of the command, and the exit handlers must have run."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT

SAMPLE = ROOT / "sample_logs" / "service_desk_events.csv"


def _vsm(*args: str, stdout: object = subprocess.PIPE) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "vsm", *args], cwd=ROOT, stdout=stdout, stderr=subprocess.PIPE,
                          text=True, timeout=300)


def test_output_to_a_file_is_complete_and_the_exit_code_kept(tmp_path: Path) -> None:
    out = tmp_path / "mine.txt"
    with out.open("w") as handle:
        done = _vsm("mine", str(SAMPLE), "--json", str(tmp_path / "m.json"), stdout=handle)
    assert done.returncode == 0, done.stderr
    text = out.read_text()
    assert text.startswith("Log        400 tickets, 3,559 events")
    assert text.endswith("\n") and "Top variants" in text
    assert (tmp_path / "m.json").read_text().rstrip().endswith("}")


def test_a_breached_threshold_still_exits_1_and_bad_input_2(tmp_path: Path) -> None:
    done = _vsm("compare", str(SAMPLE), "--fail-on", "rework_rate>0.0001")
    assert done.returncode == 1
    assert done.stderr.splitlines()[-1] == "Threshold breached: rework_rate 0.3025 > 0.0001"
    missing = tmp_path / "nothing.csv"
    done = _vsm("mine", str(missing))
    assert (done.returncode, done.stdout, done.stderr) == (2, "", f"Error: {missing}: no such file\n")


def test_exit_handlers_run_before_the_process_ends(tmp_path: Path) -> None:
    marker = tmp_path / "handled"
    code = ("import atexit, pathlib, sys\n"
            f"atexit.register(pathlib.Path({str(marker)!r}).write_text, 'yes')\n"
            "sys.argv = ['vsm', '--help']\n"
            "from vsm.cli import run\n"
            "run()\n")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout.startswith("Usage: vsm")
    assert marker.read_text() == "yes"


def test_a_reader_that_goes_away_is_no_error() -> None:
    proc = subprocess.Popen([sys.executable, "-m", "vsm", "mine", str(SAMPLE)], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.readline()
    proc.stdout.close()  # as `vsm mine … | head -1` does
    with proc.stderr:
        err = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == 0
    assert err == ""


def test_the_cycle_collector_pauses_during_a_loading_command_and_runs_again_after(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import gc

    import vsm.cli as cli
    from tests.conftest import run_cli

    seen = []
    load = cli._load

    def watched(*args, **kwargs):  # type: ignore[no-untyped-def]
        seen.append(gc.isenabled())
        return load(*args, **kwargs)

    monkeypatch.setattr(cli, "_load", watched)
    assert gc.isenabled()
    result = run_cli("mine", SAMPLE)
    assert result.exit_code == 0, result.output
    assert seen == [False]  # paused while the export loads and is analysed
    assert gc.isenabled()  # and running again after the command
    gc.disable()
    try:
        assert run_cli("mine", SAMPLE).exit_code == 0
        assert not gc.isenabled()  # a collector paused before the command stays paused
    finally:
        gc.enable()


def test_a_failing_loading_command_runs_the_collector_again(tmp_path: Path) -> None:
    import gc

    from tests.conftest import run_cli

    result = run_cli("mine", tmp_path / "nothing.csv")
    assert result.exit_code == 2
    assert gc.isenabled()
