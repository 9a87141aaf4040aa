"""Issue 14: what a newcomer runs in the first hour ends in a result or one line and exit 2."""

from __future__ import annotations

import json
import re

import pandas as pd
import pytest

from tests.conftest import SAMPLE_LOGS, run_cli

CSV = SAMPLE_LOGS / "service_desk_events.csv"
AUDIT = SAMPLE_LOGS / "servicenow_audit.csv"


# ---- delimiters -----------------------------------------------------------------


@pytest.fixture
def tsv(tmp_path):
    path = tmp_path / "events.tsv"
    path.write_text(CSV.read_text().replace(",", "\t"))
    return path


@pytest.mark.parametrize("typed", ["\\t", "tab", "\t"])
def test_a_tab_delimiter_typed_as_backslash_t_reads_the_file(tsv, typed):
    result = run_cli("inspect", tsv, "--delimiter", typed, "--json", "-")
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert (doc["events"], doc["cases"]) == (3559, 400)


@pytest.mark.parametrize("typed", [";;", "", "\\n"])
def test_a_delimiter_of_more_than_one_character_is_refused_with_a_hint(tsv, typed):
    result = run_cli("inspect", tsv, "--delimiter", typed)
    assert result.exit_code == 2
    assert result.stderr == f"Error: --delimiter must be one character, such as ',' ';' '|' or '\\t' for a tab, not {typed!r}\n"


# ---- vsm sample -o --------------------------------------------------------------


def test_sample_into_a_missing_folder_is_one_line(tmp_path):
    out = tmp_path / "missing" / "dir" / "x.csv"
    result = run_cli("sample", "--source", "csv", "--tickets", "5", "-o", out)
    assert result.exit_code == 2
    assert result.stderr == f"Error: cannot write {out}: folder {out.parent} does not exist; create it first\n"
    assert not (tmp_path / "missing").exists()


@pytest.mark.parametrize("suffix", ["parquet", "xlsx"])
def test_sample_writes_the_format_its_name_asks_for(tmp_path, suffix):
    run_cli("sample", "--source", "servicenow-audit", "--tickets", "30", "-o", tmp_path / "x.csv", "--quiet")
    result = run_cli("sample", "--source", "servicenow-audit", "--tickets", "30", "-o", tmp_path / f"x.{suffix}")
    assert result.exit_code == 0, result.stderr
    magic = {"parquet": b"PAR1", "xlsx": b"PK\x03\x04"}[suffix]
    assert (tmp_path / f"x.{suffix}").read_bytes()[:4] == magic
    as_csv = json.loads(run_cli("inspect", tmp_path / "x.csv", "--json", "-").stdout)
    converted = json.loads(run_cli("inspect", tmp_path / f"x.{suffix}", "--json", "-").stdout)
    truth = json.loads((tmp_path / f"x.{suffix}.truth.json").read_text())
    assert converted["source"] == "servicenow-audit"
    assert (converted["events"], converted["cases"]) == (as_csv["events"], as_csv["cases"]) == (truth["events"], 30)
    assert converted["activity_counts"] == as_csv["activity_counts"]


@pytest.mark.parametrize("source, name, message", [
    ("csv", "x.json", "--source csv writes a table: name the output .csv, .parquet or .xlsx, not .json"),
    ("jira", "x.xlsx", "--source jira writes the vendor's JSON: name the output .json, not .xlsx"),
    ("zendesk", "x.csv", "--source zendesk writes the vendor's JSON: name the output .json, not .csv"),
    ("csv", "-", "vsm sample -o needs a file name, not '-': it writes OUTPUT.truth.json beside the export"),
])
def test_sample_refuses_a_name_whose_format_it_cannot_write(tmp_path, monkeypatch, source, name, message):
    monkeypatch.chdir(tmp_path)
    result = run_cli("sample", "--source", source, "--tickets", "5", "-o", name)
    assert result.exit_code == 2
    assert result.stderr == f"Error: {message}\n"
    assert list(tmp_path.iterdir()) == []


# ---- output paths: '-' is stdout, folders must exist, checked before loading --------


def test_two_outputs_on_one_path_is_an_error(tmp_path):
    out = tmp_path / "r.html"
    result = run_cli("report", AUDIT, "-o", out, "--json", out, "--quiet")
    assert result.exit_code == 2
    assert result.stderr == f"Error: --json and -o both write {out}; give each output its own path\n"
    assert not out.exists()
    both = run_cli("report", AUDIT, "-o", "-", "--json", "-", "--quiet")
    assert both.exit_code == 2
    assert both.stderr == "Error: --json and -o both write stdout; give each output its own path\n"


def test_json_dash_is_stdout_for_report_never_a_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = run_cli("report", AUDIT, "-o", "r.html", "--json", "-", "--quiet")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["kind"] == "compare"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.html"]


@pytest.mark.parametrize("command", [["design"], ["mapping", "init"]])
def test_dash_output_writes_the_file_to_stdout(tmp_path, monkeypatch, command):
    monkeypatch.chdir(tmp_path)
    result = run_cli(*command, CSV, "-o", "-")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith("# vsm ")
    assert "Wrote stdout:" in result.stderr
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("args, option_path", [
    (["report", "{in}", "-o", "{out}/r.html"], "{out}/r.html"),
    (["report", "{in}", "-o", "{tmp}/r.html", "--json", "{out}/r.json"], "{out}/r.json"),
    (["report", "{in}", "-o", "{tmp}/r.html", "--csv-dir", "{out}/csv"], "{out}/csv"),
    (["compare", "{in}", "--json", "{out}/r.json"], "{out}/r.json"),
    (["compare", "{in}", "--csv-dir", "{out}/csv"], "{out}/csv"),
    (["mine", "{in}", "--bpmn", "{out}/models"], "{out}/models"),
    (["inspect", "{in}", "--json", "{out}/i.json"], "{out}/i.json"),
    (["design", "{in}", "-o", "{out}/d.toml"], "{out}/d.toml"),
    (["mapping", "init", "{in}", "-o", "{out}/m.toml"], "{out}/m.toml"),
])
def test_every_output_into_a_missing_folder_fails_before_loading(tmp_path, monkeypatch, args, option_path):
    import connectors.sources

    def no_load(*a, **k):
        raise AssertionError("the export was read before the outputs were checked")

    monkeypatch.setattr(connectors.sources, "load", no_load)
    out = tmp_path / "missing"
    fill = {"{in}": str(CSV), "{out}": str(out), "{tmp}": str(tmp_path)}

    def sub(text):
        for k, v in fill.items():
            text = text.replace(k, v)
        return text

    result = run_cli(*[sub(a) for a in args])
    assert result.exit_code == 2
    assert result.stderr == f"Error: cannot write {sub(option_path)}: folder {out} does not exist; create it first\n"
    assert list(tmp_path.iterdir()) == []


def test_a_csv_dir_is_created_when_its_folder_exists(tmp_path):
    result = run_cli("compare", CSV, "--csv-dir", tmp_path / "tables")
    assert result.exit_code == 0, result.stderr
    assert (tmp_path / "tables" / "steps.csv").exists()


def test_help_states_the_one_rule_for_outputs():
    text = " ".join(run_cli("report", "--help").stdout.split())
    assert "HTML file to write. '-' is stdout; the folder it goes into must exist." in text
    assert "Also write the results as JSON. '-' is stdout; the folder it goes into must exist." in text


# ---- the Python API on a plain DataFrame --------------------------------------------


PM4PY_NAMES = {"case_id": "case:concept:name", "activity": "concept:name", "timestamp": "time:timestamp",
               "resource": "org:resource", "group": "org:group"}


def test_from_dataframe_with_pm4py_names_gives_the_table_load_gives():
    import connectors

    loaded, _ = connectors.load(CSV)
    df = pd.read_csv(CSV).rename(columns=PM4PY_NAMES)
    df["time:timestamp"] = pd.to_datetime(df["time:timestamp"])
    log, report = connectors.from_dataframe(df)
    assert report.source == "csv"
    assert list(log.columns) == list(loaded.columns)
    for column in ("case_id", "activity", "resource", "group", "ticket_type"):
        assert log[column].astype(str).tolist() == loaded[column].astype(str).tolist()
    assert (log["timestamp"].to_numpy() == loaded["timestamp"].to_numpy()).all()


def test_from_dataframe_takes_named_columns_and_naive_times_in_a_zone():
    import connectors

    df = pd.DataFrame({"Ticket": ["A", "A", "B"], "Status": ["New", "Done", "New"],
                       "At": pd.to_datetime(["2025-03-01 09:00", "2025-03-01 10:00", "2025-03-02 09:00"])})
    log, _ = connectors.from_dataframe(df, case="Ticket", activity="Status", timestamp="At", timezone="Europe/Berlin")
    assert log["timestamp"].dt.strftime("%H:%M").tolist() == ["08:00", "09:00", "08:00"]
    with pytest.raises(connectors.VsmError, match=r"^<DataFrame>: no column 'Case' for case; columns are 'Ticket', 'Status', 'At'$"):
        connectors.from_dataframe(df, case="Case")


@pytest.mark.parametrize("entry", ["discover", "compare"])
def test_miner_entry_points_explain_a_plain_dataframe(entry):
    import connectors
    import miner

    with pytest.raises(connectors.VsmError) as caught:
        getattr(miner, entry)(pd.read_csv(CSV))
    assert str(caught.value) == (
        f"miner.{entry} needs vsm's event table, and this DataFrame lacks 'source_row'; build it with "
        "connectors.from_dataframe(df, case=..., activity=..., timestamp=...) or connectors.load(path)")
    with pytest.raises(connectors.VsmError, match=r"lacks 'activity', 'source_row'"):
        getattr(miner, entry)(pd.read_csv(CSV).rename(columns={"activity": "status"}))


# ---- error messages that say what failed ----------------------------------------------


@pytest.fixture
def unnamed_times(tmp_path):
    """The sample with its timestamp column under a name vsm does not know, so only content finds it."""
    path = tmp_path / "z.csv"
    path.write_text(CSV.read_text().replace("timestamp", "zeit", 1))
    return path


@pytest.mark.parametrize("given_column", [False, True])
def test_a_date_format_that_matches_nothing_says_so_with_an_example(unnamed_times, given_column):
    args = ["--timestamp-col", "zeit"] if given_column else []
    result = run_cli("inspect", unnamed_times, "--date-format", "%d.%m.%Y %H:%M", *args)
    assert result.exit_code == 2
    assert result.stderr == (
        f"Error: {unnamed_times}: --date-format '%d.%m.%Y %H:%M' matched none of the values of column 'zeit' "
        "(such as '2025-01-06T10:36:21Z'); fix the format, or leave --date-format out to detect it\n")


def test_a_date_format_that_matches_some_values_still_lists_the_failures(tmp_path):
    path = tmp_path / "mixed.csv"
    path.write_text("case,activity,timestamp\nA,New,01.02.2025 10:00\nA,Done,2025-02-02 10:00\nB,New,2025-02-03 10:00\n")
    result = run_cli("inspect", path, "--date-format", "%d.%m.%Y %H:%M")
    assert result.exit_code == 2
    assert result.stderr.startswith(f"Error: {path}: timestamp column 'timestamp' has 2 of 3 values that are not dates read as format")


def test_end_timestamp_on_the_start_column_says_so():
    result = run_cli("inspect", CSV, "--timestamp-col", "timestamp", "--end-timestamp-col", "timestamp")
    assert result.exit_code == 2
    assert result.stderr == ("Error: --end-timestamp-col 'timestamp' is also the --timestamp-col; an interval's end needs "
                             "its own column (or leave --end-timestamp-col out)\n")
    alone = run_cli("inspect", CSV, "--end-timestamp-col", "timestamp")
    assert alone.exit_code == 2
    assert alone.stderr == (f"Error: {CSV}: no column is left for the timestamp: 'timestamp', the column of dates, is given as "
                            "--end-timestamp-col; pass --timestamp-col NAME for the start\n")


# ---- text: singular and plural, stream choice, warnings on their own line, numbers ----------


@pytest.fixture
def one_ticket(tmp_path):
    path = tmp_path / "one.csv"
    path.write_text("case_id,activity,timestamp,ticket_type\nINC1,Log incident,2025-01-06T10:36:21Z,Incident\n"
                    "INC1,Resolve,2025-01-06T10:39:51Z,Incident\n")
    return path


def test_one_ticket_is_one_ticket_everywhere(one_ticket, tmp_path):
    inspect = run_cli("inspect", one_ticket)
    assert "Log         1 case, 2 events, 2 activities" in inspect.stdout
    mine = run_cli("mine", one_ticket)
    assert mine.stdout.startswith("Log        1 ticket, 2 events, 2 activities, ")
    compare = run_cli("compare", one_ticket, "--min-support", "1")
    out = compare.stdout
    assert out.startswith("Log        1 ticket, 2 events, ")
    assert "each rests on at least 1 ticket (hand-offs" in out
    assert "Stream 'Incident': 1 ticket, fitness" in out
    assert "Rework     0 of 1 ticket (0%); in all 0 self-loops, 0 repetitions, 0 backflows, 0 reopens, 0 bounces" in out
    assert "Ping-pong  n/a: the export has no group or team column" in out
    assert "Design     built-in design: Incident (1 ticket)" in out
    design = run_cli("design", one_ticket, "-o", tmp_path / "d.toml")
    assert design.stderr.startswith(f"Wrote {tmp_path / 'd.toml'}: 1 stream; edit them")
    sample = run_cli("sample", "--source", "csv", "--tickets", "1", "-o", tmp_path / "s.csv")
    assert sample.stderr.startswith(f"Wrote {tmp_path / 's.csv'} (") and ", 1 ticket) and " in sample.stderr


def test_a_stream_attribute_given_reads_as_a_sentence():
    out = run_cli("mine", CSV, "--stream-by", "priority").stdout
    assert "\nValue streams, by attribute 'priority' (given with --stream-by)\n" in out


def test_a_warning_while_loading_gets_its_own_line_and_the_step_its_time(tmp_path):
    export = tmp_path / "w.csv"
    export.write_text("case_id,activity,timestamp\nA,New,2025-01-01T10:00:00Z\nA,Done,2025-01-01T11:00:00Z\n"
                      "B,New,2025-01-01T10:00:00Z\nB,Done,2099-01-01T10:00:00Z\n")
    result = run_cli("report", export, "-o", tmp_path / "r.html")
    assert result.exit_code == 0, result.stderr
    lines = result.stderr.splitlines()
    assert lines[0] == f"[1/3] Loading {export} …"
    assert lines[1] == "Warning: 1 event is dated in the future (latest 2099-01-01 10:00); check the date format or time zone"
    assert re.fullmatch(rf"\[1/3\] Loading {re.escape(str(export))} … \d+\.\d s", lines[2])
    assert re.fullmatch(r"\[2/3\] Mining and comparing 4 events … \d+\.\d s", lines[3])
    assert all(line.startswith(("[", "Warning: ", "Wrote ")) for line in lines)


def test_long_durations_have_thousands_separators():
    from reports.units import human

    assert human(18313.4 * 86400) == "18,313.4 d"
    assert human(4.25 * 86400) == "4.2 d"


def test_step_columns_of_tickets_csv_count_from_one_as_steps_csv_does(tmp_path):
    result = run_cli("compare", AUDIT, "--csv-dir", tmp_path)
    assert result.exit_code == 0, result.stderr
    tickets = pd.read_csv(tmp_path / "tickets.csv")
    steps = pd.read_csv(tmp_path / "steps.csv")
    numbers = sorted({int(c.split("_")[0][4:]) for c in tickets.columns if re.match(r"step\d+_", c)})
    assert numbers == list(range(1, max(numbers) + 1)) and set(steps["step"]) <= set(numbers)
    # Step 1 of each stream: the tickets that reached it are the tickets steps.csv counts for it.
    for stream, first in steps[steps["step"] == 1].set_index("stream").iterrows():
        assert int(tickets.loc[tickets["designed_stream"] == stream, "step1_reached"].sum()) == first["tickets"]


# ---- --fail-on on vsm report ------------------------------------------------------------


def test_report_fails_on_a_breached_threshold_after_writing_the_report(tmp_path):
    out = tmp_path / "r.html"
    result = run_cli("report", AUDIT, "-o", out, "--quiet", "--fail-on", "rework_rate>0.1")
    assert result.exit_code == 1
    assert re.fullmatch(r"Threshold breached: rework_rate 0\.\d+ > 0\.1\n", result.stderr)
    assert out.read_text().rstrip().endswith("</html>")
    assert run_cli("report", AUDIT, "-o", out, "--quiet", "--fail-on", "fitness<0.1").exit_code == 0
    bad = run_cli("report", AUDIT, "-o", tmp_path / "x.html", "--fail-on", "fitnes<0.1")
    assert (bad.exit_code, bad.stderr) == (2, "Error: --fail-on: unknown metric 'fitnes'; did you mean 'fitness'?\n")
    assert not (tmp_path / "x.html").exists()


def test_fail_on_reads_durations_with_units(tmp_path):
    from miner.thresholds import Threshold, parse_fail_on

    assert parse_fail_on("lead_time_p90>2d, lead_time_median_h>=90min") == [
        Threshold("lead_time_p90_h", ">", 48.0), Threshold("lead_time_median_h", ">=", 1.5)]
    breached = run_cli("compare", AUDIT, "--fail-on", "lead_time_p90>1h")
    assert breached.exit_code == 1
    assert re.fullmatch(r"Threshold breached: lead_time_p90_h [\d.]+ > 1\n", breached.stderr)
    assert run_cli("compare", AUDIT, "--fail-on", "lead_time_p90>100w").exit_code == 0
    for expr, message in [("fitness<2d", "--fail-on: 'fitness' is not a duration, so 'fitness<2d' cannot take the unit 'd'; "
                                         "durations: lead_time_median, lead_time_p90"),
                          ("lead_time_p90>2", "--fail-on: 'lead_time_p90>2' needs a unit (s, min, h, d, w), e.g. lead_time_p90>2d")]:
        result = run_cli("compare", AUDIT, "--fail-on", expr)
        assert (result.exit_code, result.stderr) == (2, f"Error: {message}\n")


def test_a_case_column_with_a_handful_of_values_is_questioned():
    # The ticket id given as the team: 9 'tickets' of about 395 events each. The decoy: the real ticket id, no warning.
    wrong = run_cli("inspect", CSV, "--case-col", "group")
    assert wrong.exit_code == 0
    assert ("Warning: only 9 tickets for 3,559 events (about 395 events each): column 'group' looks like a status or a team "
            "rather than the ticket id; name the ticket-id column with --case-col") in wrong.stderr.splitlines()
    right = run_cli("inspect", CSV)
    assert "looks like a status or a team" not in right.stderr
