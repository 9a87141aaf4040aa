"""vsm on a real standalone Spark cluster (a Master and a Worker started here, loopback only):
the JSON, the terminal text and stderr are the embedded engine's, byte for byte (but generated_at)."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from tests.conftest import SAMPLE_LOGS, run_cli
from tests.engines.spark_cluster import start_cluster

pytestmark = pytest.mark.spark

DRIVER_SECONDS = 240


@pytest.fixture(scope="module")
def cluster(request, tmp_path_factory):
    started = start_cluster(tmp_path_factory.mktemp("spark-cluster"))
    request.addfinalizer(started.stop)
    return started


def json_text(path) -> str:
    return re.sub(r'"generated_at": "[^"]*"', '"generated_at": ""', path.read_text(encoding="utf-8"))


def test_compare_on_a_standalone_cluster_gives_the_embedded_bytes(cluster, tmp_path):
    export = SAMPLE_LOGS / "servicenow_audit.csv"
    embedded = run_cli("compare", export, "--json", tmp_path / "embedded.json")
    assert embedded.exit_code == 0, embedded.stderr
    # The CLI as a user runs it: its own process, the driver of an application on the cluster.
    driver = subprocess.run(
        [sys.executable, "-c", "from vsm.cli import main; main()", "compare", str(export),
         "--spark-master", cluster.url, "--json", str(tmp_path / "cluster.json")],
        capture_output=True, text=True, env=cluster.env(), timeout=DRIVER_SECONDS, check=False)
    assert driver.returncode == 0, driver.stderr + cluster.logs()
    assert json_text(tmp_path / "cluster.json") == json_text(tmp_path / "embedded.json")
    assert (driver.stdout, driver.stderr) == (embedded.stdout, embedded.stderr)
    # The work ran on the cluster's executor, not in local mode.
    apps = cluster.state()["completedapps"] + cluster.state()["activeapps"]
    assert [a["name"] for a in apps] == ["vsm"]
    assert list((cluster.folder / "work").glob("app-*/*/stderr")), "no executor ran on the Worker"
