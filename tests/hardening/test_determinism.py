"""Determinism: the same input and options give byte-identical JSON, HTML and
CSV, apart from the one ``generated_at`` field, in one process and across
processes (whose string hash seeds differ, which exposes set and dict order)."""

from __future__ import annotations

import os
import random
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT, run_cli

GENERATED_JSON = re.compile(r'^  "generated_at": "[0-9T:Z-]+",\n', re.MULTILINE)
GENERATED_HTML = re.compile(r"<span data-generated>[^<]*</span>")


def _ties(path: Path) -> Path:
    """A log full of ties: equal timestamps in a case, and activities, groups and paths of equal counts."""
    rng = random.Random(5)
    acts = [f"Act {c}" for c in "QWERTYUIOPASDFGHJKLZ"]
    rows = ["case_id,activity,timestamp,group,resource,ticket_type"]
    for c in range(40):
        for i in range(rng.randint(2, 7)):
            rows.append(f"C{c:03d},{rng.choice(acts)},2024-03-{1 + c % 20:02d} 09:{(i // 2) * 10:02d}:00,"
                        f"Grp {rng.choice('ABCDEFG')},P{rng.randint(1, 9)},{rng.choice(['Incident', 'Request', 'Change'])}")
    path.write_text("\n".join(rows) + "\n")
    return path


def _jira(path: Path) -> Path:
    result = run_cli("sample", "--source", "jira", "--tickets", "60", "--seed", "3", "-o", path, "--quiet")
    assert result.exit_code == 0, result.stderr
    return path


INPUTS = [pytest.param(_ties, id="ties"), pytest.param(_jira, id="jira-sample")]


def _outputs(folder: Path) -> dict[str, bytes]:
    """The report's files with the generated_at stamp taken out (it must be there exactly once)."""
    out = {}
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            data = path.read_text(encoding="utf-8")
            if path.suffix == ".json":
                data, n = GENERATED_JSON.subn("", data)
                assert n == 1, path
            elif path.suffix == ".html":
                data, n = GENERATED_HTML.subn("", data)
                assert n == 1, path
            out[str(path.relative_to(folder))] = data.encode("utf-8")
    return out


def _args(export: Path, folder: Path) -> list[str]:
    return ["report", str(export), "-o", str(folder / "r.html"), "--json", str(folder / "r.json"),
            "--csv-dir", str(folder / "csv"), "--quiet"]


@pytest.mark.parametrize("make", INPUTS)
def test_two_runs_in_one_process_give_the_same_bytes(tmp_path, make):
    export = make(tmp_path / ("export.json" if make is _jira else "export.csv"))
    runs = []
    for k in range(2):
        folder = tmp_path / f"run{k}"
        folder.mkdir()
        result = run_cli(*_args(export, folder))
        assert result.exit_code == 0, result.stderr
        runs.append(_outputs(folder))
    assert len(runs[0]) >= 10  # r.html, r.json and the CSV tables
    assert runs[0] == runs[1]


def test_two_processes_with_different_hash_seeds_give_the_same_bytes(tmp_path):
    export = _ties(tmp_path / "export.csv")
    runs = []
    for seed in ("1", "2"):
        folder = tmp_path / f"seed{seed}"
        folder.mkdir()
        env = {**os.environ, "PYTHONHASHSEED": seed}
        done = subprocess.run([sys.executable, "-m", "vsm", *_args(export, folder)], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr
        runs.append(_outputs(folder))
    assert runs[0] == runs[1]
