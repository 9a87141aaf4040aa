"""Shared fixtures: paths to sample logs and to ../shared/real_logs."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SAMPLE_LOGS = ROOT / "sample_logs"
DATA = Path(__file__).resolve().parent / "data"
REAL_LOGS = Path(os.environ.get("VSM_REAL_LOGS", ROOT.parent / "shared" / "real_logs"))


def real_log(name: str) -> Path:
    """Return the path of a file in ../shared/real_logs, or skip the test if it is absent."""
    path = REAL_LOGS / name
    if not path.exists():
        pytest.skip(f"{path} is absent: real logs live in ../shared/real_logs beside the checkout (CI has them)")
    return path


@pytest.fixture
def cli_runner():
    from click.testing import CliRunner

    return CliRunner()


def run_cli(*args: str):
    """Invoke the vsm CLI in-process and return click's Result (stdout and stderr apart)."""
    from click.testing import CliRunner

    from vsm.cli import cli

    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)
