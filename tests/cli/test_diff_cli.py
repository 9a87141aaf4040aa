"""`vsm diff` on the command line: two exports, --split, --by, --json, --fail-on and its errors."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from tests.miner.diff_scenarios import AFTER_MOVED, BEFORE, START, generate, write
from vsm.cli import cli


@pytest.fixture(scope="module")
def exports(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("diff")
    before = generate(BEFORE, 1200, 21, prefix="B")
    after = generate(AFTER_MOVED, 1200, 121, start=START + pd.Timedelta(days=28), prefix="A")
    same = generate(BEFORE, 1200, 221, start=START + pd.Timedelta(days=28), prefix="S")
    return {"before": write(before, folder / "before.csv"), "after": write(after, folder / "after.csv"),
            "same": write(same, folder / "same.csv"), "both": write(pd.concat([before, after]), folder / "both.csv"),
            "folder": folder}


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["diff", *map(str, args)])
    return result.exit_code, result.stdout, result.stderr


def test_two_exports_name_the_moved_bottleneck_first_in_what_changed(exports: dict[str, Path]) -> None:
    code, out, _ = run(exports["before"], exports["after"])
    assert code == 0, out
    assert out.index("What changed") < out.index("Moved bottlenecks") < out.index("Headline, whole log")
    assert "Service Desk C: time per visit (median): down" in out
    assert "Service Desk C is faster per visit (" in out and "the bottleneck moved downstream" in out
    assert "reopen rate: no clear change (" in out


def test_split_of_one_export_finds_the_same_as_two_exports(exports: dict[str, Path]) -> None:
    code, out, _ = run(exports["both"], "--split", "2025-02-03", "--json", "-")
    assert code == 0
    doc = json.loads(out)
    assert doc["kind"] == "diff" and doc["schema_version"]
    assert doc["before"]["tickets"] == 1200 and doc["after"]["tickets"] == 1200
    assert [m["group"] for m in doc["moved_bottlenecks"]] == ["Service Desk C"]
    overall = {m["name"]: m for m in doc["metrics"] if m["stream"] is None}
    assert set(overall) >= {"lead_time_median_h", "lead_time_p90_h", "rework_rate", "reopen_rate", "pingpong_rate",
                            "flow_efficiency", "fitness", "conforming_share", "wait_share"}
    assert overall["reopen_rate"]["direction"] == "none" and overall["flow_efficiency"]["direction"] == "down"
    for m in doc["metrics"]:
        assert m["direction"] in ("up", "down", "none")
        assert (m["direction"] != "none") == m["significant"]


def test_no_change_between_two_runs_of_one_process(exports: dict[str, Path]) -> None:
    code, out, _ = run(exports["before"], exports["same"])
    assert code == 0
    assert "no clear change in any measure" in out
    assert "none: no group got faster" in out


def test_fail_on_exits_1_only_on_a_significant_regression(exports: dict[str, Path]) -> None:
    assert run(exports["before"], exports["after"], "--fail-on", "flow_efficiency:worse")[0] == 1
    assert run(exports["before"], exports["after"], "--fail-on", "reopen_rate:worse,lead_time_p90_h:+200%")[0] == 0
    assert run(exports["before"], exports["same"], "--fail-on", "flow_efficiency:worse,lead_time_median_h:worse")[0] == 0


def test_by_week_compares_each_period_with_the_one_before(exports: dict[str, Path]) -> None:
    code, out, _ = run(exports["both"], "--by", "week", "--json", "-")
    assert code == 0
    doc = json.loads(out)
    assert len(doc["periods"]) == 7
    moved = [p["after"]["label"] for p in doc["periods"] if p["moved_bottlenecks"]]
    assert moved == ["2025-02-03/2025-02-09"]


@pytest.mark.parametrize(("args", "message"), [
    (["{both}"], "give --split DATE or --by"),
    (["{both}", "--split", "2030-01-01"], "every ticket was opened on one side"),
    (["{before}", "{after}", "--split", "2025-02-03"], "with two exports"),
    (["{before}", "{after}", "--fail-on", "speed:worse"], "unknown metric 'speed'"),
    (["{before}", "{after}", "--where", "team=x"], "no column 'team'"),
])
def test_bad_input_is_one_line_and_exit_2(exports: dict[str, Path], args: list[str], message: str) -> None:
    code, _, err = run(*(a.format(**{k: str(v) for k, v in exports.items()}) for a in args))
    assert code == 2
    assert message in err and len(err.strip().splitlines()) == 1


def test_exports_without_common_activities_are_refused(exports: dict[str, Path]) -> None:
    other = pd.read_csv(exports["before"]).head(200)
    other["activity"] = other["activity"].map(lambda a: f"x {a}")
    path = exports["folder"] / "renamed.csv"
    other.to_csv(path, index=False)
    code, _, err = run(exports["before"], path)
    assert code == 2 and "no activity in common" in err and "--mapping" in err


def test_csv_dir_writes_the_diff_tables(exports: dict[str, Path]) -> None:
    out_dir = exports["folder"] / "csv"
    code, _, _ = run(exports["before"], exports["after"], "--csv-dir", out_dir)
    assert code == 0
    moved = pd.read_csv(out_dir / "diff_moved_bottlenecks.csv")
    assert moved["group"].tolist() == ["Service Desk C"]
    metrics = pd.read_csv(out_dir / "diff_metrics.csv")
    overall = metrics[metrics["stream"].isna()].set_index("name")
    assert overall.loc["flow_efficiency", "direction"] == "down" and overall.loc["reopen_rate", "direction"] == "none"


def test_html_json_and_csv_follow_the_output_rules(exports: dict[str, Path]) -> None:
    """Every output is checked before any export is read; '-' is stdout; two outputs on one path are refused."""
    folder = exports["folder"]
    code, _, err = run(exports["before"], exports["after"], "-o", "-", "--json", "-")
    assert code == 2 and "--json and -o both write stdout" in err
    code, _, err = run(exports["before"], exports["after"], "-o", folder / "missing" / "d.html")
    assert code == 2 and "does not exist" in err
    (folder / "out").mkdir(exist_ok=True)
    code, _, err = run(exports["before"], exports["after"], "-o", folder / "out" / "diff_metrics.csv", "--csv-dir", folder / "out")
    assert code == 2 and "both write" in err
    code, _, err = run(exports["before"], exports["after"], "-o", exports["after"])
    assert code == 2 and len(err.strip().splitlines()) == 1
    code, out, _ = run(exports["before"], exports["after"], "-o", "-")
    assert code == 0 and out.startswith("<!DOCTYPE html>") and "What changed" in out and "\nBefore: " not in out


def test_filter_flags_are_recorded_to_reproduce_the_run(exports: dict[str, Path]) -> None:
    code, out, _ = run(exports["both"], "--split", "2025-02-03", "--where", "priority=P2,P3", "--from", "2025-01-06", "--json", "-")
    assert code == 0
    doc = json.loads(out)
    for side in ("before", "after"):
        assert doc[side]["flags"][-2:] == ["--from 2025-01-06", "--where priority=P2,P3"]
