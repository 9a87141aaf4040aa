"""The malformed-input corpus (tests/corpus): every file, run through the CLI
in-process, gives exactly the exit code, message and row counts its entry in
tests/corpus/manifest.toml says, and never a traceback."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest

import connectors
from tests.conftest import ROOT, SAMPLE_LOGS, run_cli

CORPUS = ROOT / "tests" / "corpus"
MANIFEST = tomllib.loads((CORPUS / "manifest.toml").read_text(encoding="utf-8"))["case"]
COUNTS = ("read", "loaded", "rejected", "events", "cases")


def _args(case: dict[str, object]) -> list[str]:
    path = str(CORPUS / str(case["file"]))
    return [str(a).replace("{file}", path).replace("{samples}", str(SAMPLE_LOGS)) for a in case["command"]]  # type: ignore[attr-defined]


def test_the_manifest_covers_every_corpus_file_once():
    files = sorted(p.name for p in CORPUS.iterdir() if p.name != "manifest.toml")
    named = [c["file"] for c in MANIFEST]
    assert sorted(named) == files, "every corpus file needs exactly one manifest entry"
    assert len(files) >= 30
    assert all(p.stat().st_size < 64 * 1024 for p in CORPUS.iterdir()), "keep corpus files small"


@pytest.mark.parametrize("case", [pytest.param(c, id=c["file"]) for c in MANIFEST])
def test_corpus_file(case):
    path = str(CORPUS / case["file"])
    result = run_cli(*_args(case))
    stderr = result.stderr
    assert "Traceback" not in stderr and "Traceback" not in result.stdout
    assert result.exit_code == case["exit"], stderr
    lines = stderr.splitlines()
    if case["exit"] != 0:
        assert lines == ["Error: " + case["error"].replace("{path}", path)]
        assert all(k not in case for k in COUNTS)
        return
    assert lines == ["Warning: " + w for w in case["warnings"]]
    doc = json.loads(result.stdout)
    got = {"read": doc["rows_read"], "loaded": doc["rows_loaded"], "rejected": doc["rows_rejected"],
           "events": doc["events"], "cases": doc["cases"]}
    assert got == {k: case[k] for k in COUNTS}
    # The accounting identity, and where rows are events one to one, events = rows loaded.
    assert doc["rows_read"] == doc["rows_loaded"] + doc["rows_rejected"]
    assert doc["rows_rejected"] == sum(r["count"] for r in doc["rejections"])
    if doc["derivation"] == "one event per row":
        assert doc["events"] == doc["rows_loaded"]


def _activities(name: str) -> dict[str, list[str]]:
    log, _ = connectors.load(CORPUS / name)
    return {str(c): [str(a) for a in g["activity"]] for c, g in log.groupby("case_id", observed=True, sort=False)}


def test_time_running_backwards_is_put_in_order():
    assert _activities("generic_time_backwards.csv") == {
        "T1": ["Log call", "Work", "Resolve", "Close"],
        "T2": ["Log call", "Resolve"],
    }


def test_names_keep_every_character():
    emoji = _activities("generic_emoji_rtl.csv")
    assert emoji["T1"] == ["🎫 Log call", "תגובה ללקוח", "حل المشكلة"]
    assert emoji["T2"] == ["🎫 Log call", "\u202eesolveR", "👩\u200d💻 Work 🔥"]
    long = _activities("generic_long_names.csv")
    assert long["T1"] == ["Log call", "Escalate " + "x" * 10_000]
    assert long["C" * 10_000] == ["Log call"]
    assert _activities("generic_cp1252.csv") == {"T1": ["Créé", "Résolu – fermé"], "T2": ["Créé", "Coût 5 €"]}
    assert _activities("generic_utf16_excel_unicode_text.csv") == {"T1": ["Log call", "Résolu"], "T2": ["Log call"]}


def test_quoted_newlines_stay_inside_their_field_and_rows_keep_their_numbers():
    log, report = connectors.load(CORPUS / "generic_crlf_bom_quoted_newlines.csv")
    assert list(log["comment"]) == ["first line\r\nsecond line", 'said "done"\r\nthen left', "plain"]
    # Rows are numbered as a spreadsheet shows them: a record spanning two lines is one row.
    assert list(log["source_row"]) == [2, 3, 4]
    assert report.notes[0] == "encoding UTF-8 with a byte-order mark"


def test_rejected_rows_are_named_with_their_reason():
    result = run_cli("inspect", CORPUS / "generic_placeholders.csv", "--json", "-")
    rejections = {r["reason"]: [e["row"] for e in r["examples"]] for r in json.loads(result.stdout)["rejections"]}
    assert rejections == {
        "no case id in 'case_id'": [4, 5, 6],
        "no activity in 'activity'": [7, 8],
        "no timestamp in 'timestamp'": [9, 10],
    }


def test_one_case_with_100k_events(tmp_path: Path):
    n = 100_000
    path = tmp_path / "one_case.csv"
    import pandas as pd

    times = pd.date_range("2024-01-01", periods=n, freq="s").strftime("%Y-%m-%d %H:%M:%S")
    with path.open("w", encoding="utf-8") as fh:
        fh.write("case_id,activity,timestamp\n")
        fh.writelines(f"T1,Step {i % 7},{t}\n" for i, t in enumerate(times))
    result = run_cli("inspect", path, "--json", "-")
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert (doc["rows_read"], doc["rows_rejected"], doc["events"], doc["cases"], doc["activities"]) == (n, 0, n, 1, 7)
    assert doc["start"] == "2024-01-01T00:00:00Z" and doc["end"] == "2024-01-02T03:46:39Z"
    # The whole analysis too: one 100,000-step path through rework, alignment and waits.
    result = run_cli("compare", path, "--json", "-")
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert (doc["log"]["events"], doc["log"]["cases"], len(doc["conformance"]["streams"])) == (n, 1, 1)
