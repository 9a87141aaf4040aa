"""`vsm inspect`: what a user sees, exactly."""

from __future__ import annotations

import json

from tests.conftest import real_log, run_cli

CSV = "Case ID,Activity,Timestamp\nT1,Log call,01/02/2024 09:00\nT1,Resolve,13/02/2024 10:00\nT2,Log call,02/02/2024 09:00\n"


def test_inspect_prints_source_columns_rows_and_reproducing_flags(tmp_path):
    path = tmp_path / "log.csv"
    path.write_text(CSV)
    result = run_cli("inspect", path)
    assert result.exit_code == 0
    out = result.stdout
    assert out.startswith("Source      csv  (delimited text with no vendor's column names)\n")
    assert "  timestamp  Timestamp  name 'Timestamp' and 100% of sampled values are dates" in out
    assert "timestamps in 'Timestamp': d/m/yyyy H:MM (day-first: some values are dates only when read day-first)" in out
    assert "Rows        3 read = 3 loaded + 0 rejected\n" in out
    assert "Log         2 cases, 3 events, 2 activities\n" in out
    assert "Period      2024-02-01 09:00 UTC to 2024-02-13 10:00 UTC\n" in out
    assert out.rstrip().endswith(
        f"vsm inspect {path} --source csv --timestamp-col Timestamp --case-col 'Case ID' --activity-col Activity --dayfirst"
    )
    assert result.stderr == ""


def test_inspect_json_has_the_documented_keys(tmp_path):
    path = tmp_path / "log.csv"
    path.write_text(CSV)
    result = run_cli("inspect", path, "--json", "-")
    doc = json.loads(result.stdout)
    for key in ("source", "columns", "rows_read", "rows_rejected", "events", "cases", "activities", "start", "end"):
        assert key in doc
    assert (doc["rows_read"], doc["rows_rejected"], doc["events"], doc["cases"], doc["activities"]) == (3, 0, 3, 2, 2)
    assert doc["start"] == "2024-02-01T09:00:00Z"
    assert doc["columns"]["case_id"] == {"column": "Case ID", "reason": "name 'Case ID' (2 distinct values)"}


def test_inspect_warns_about_rejected_rows_on_stderr(tmp_path):
    path = tmp_path / "log.csv"
    path.write_text(CSV + "T3,Log call,\n")
    result = run_cli("inspect", path)
    assert result.exit_code == 0
    assert result.stderr == "Warning: 1 of 4 rows rejected: no timestamp in 'Timestamp' (1)\n"
    assert "Rejected    1  no timestamp in 'Timestamp'  (first: row 5)" in result.stdout


def test_errors_are_one_line_with_exit_code_2(tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    result = run_cli("inspect", empty)
    assert result.exit_code == 2
    assert result.stderr == f"Error: {empty}: the file is empty\n"
    result = run_cli("inspect", tmp_path / "nope.csv")
    assert (result.exit_code, result.stderr) == (2, f"Error: {tmp_path / 'nope.csv'}: no such file\n")
    path = tmp_path / "log.csv"
    path.write_text(CSV)
    result = run_cli("inspect", path, "--source", "servicenw")
    assert result.exit_code == 2
    assert result.stderr.startswith("Error: unknown source 'servicenw' (choose from auto, ")
    assert result.stderr.rstrip().endswith("did you mean 'servicenow'?")


def test_inspect_helpdesk_counts_as_provenance():
    result = run_cli("inspect", real_log("helpdesk.xes.gz"), "--json", "-")
    doc = json.loads(result.stdout)
    assert (doc["events"], doc["cases"], doc["activities"], doc["rows_rejected"]) == (21_348, 4_580, 14, 0)


def test_inspect_bpic2013_counts_as_provenance():
    doc = json.loads(run_cli("inspect", real_log("bpic2013_closed_problems.csv"), "--json", "-").stdout)
    assert (doc["events"], doc["cases"]) == (6_660, 1_487)


def test_every_command_has_help_with_an_example():
    from vsm.cli import cli

    def walk(group, prefix):
        for name, cmd in group.commands.items():
            if hasattr(cmd, "commands"):
                yield from walk(cmd, prefix + [name])
            else:
                yield prefix + [name], cmd

    for path, _ in walk(cli, []):
        result = run_cli(*path, "--help")
        assert result.exit_code == 0, path
        assert "Example: vsm " in result.stdout, f"vsm {' '.join(path)} --help lacks an Example: line"


def test_help_does_not_import_pandas_or_pm4py():
    import subprocess
    import sys

    code = "import sys; from vsm.cli import main; sys.argv=['vsm','--help']\ntry:\n    main()\nexcept SystemExit: pass\nprint('pandas' in sys.modules, 'pm4py' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip().endswith("False False")
