"""A standalone Spark cluster on this machine, for tests: one Master and one Worker from pyspark's
``spark-class``, every process bound to loopback, on ports free at run time."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import pytest

LOOPBACK = "127.0.0.1"
START_SECONDS = 60


@dataclass
class Cluster:
    url: str  # spark://127.0.0.1:PORT
    ui: str  # the master's web UI (JSON at /json/)
    folder: Path  # logs and the worker's folder
    procs: list[subprocess.Popen] = field(default_factory=list)

    def env(self) -> dict[str, str]:
        """The environment of a driver that runs on this cluster (loopback only, this Python on the executors)."""
        root = str(Path(__file__).resolve().parents[2])
        return {**os.environ, "SPARK_LOCAL_IP": LOOPBACK, "PYSPARK_PYTHON": sys.executable,
                "PYTHONPATH": os.pathsep.join([root, os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)}

    def state(self) -> dict:
        with urllib.request.urlopen(f"{self.ui}/json/", timeout=5) as response:
            return json.load(response)

    def logs(self) -> str:
        return "\n".join(f"--- {p.name}\n{p.read_text(errors='replace')[-2000:]}" for p in sorted(self.folder.glob("*.log")))

    def stop(self) -> None:
        """Stop every process the cluster started: the Worker's executors and their Python workers, the Worker, the Master."""
        pids = [p.pid for p in self.procs]
        for pid in reversed(_descendants(pids)):  # children first: a Python daemon leaves the Worker's process group
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGTERM)
        for proc in reversed(self.procs):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + 10
        for proc in self.procs:
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=5)
        for pid in _descendants(pids):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)


def spark_class() -> Path:
    """pyspark's spark-class, or skip the test (with why) when it or Java is missing."""
    pyspark = pytest.importorskip("pyspark", reason="pyspark is in the [spark] extra")
    if shutil.which("java") is None:
        pytest.skip("a standalone Spark cluster needs Java (17) on the PATH")
    script = Path(pyspark.__file__).parent / "bin" / "spark-class"
    if not script.is_file():
        pytest.skip(f"{script} is missing: this pyspark does not ship spark-class")
    return script


def start_cluster(folder: Path, cores: int = 1, memory: str = "1g") -> Cluster:
    """Start a Master and a Worker (``cores``, ``memory``) and wait until the Worker has registered."""
    script = spark_class()
    folder.mkdir(parents=True, exist_ok=True)
    port, ui_port, worker_port, worker_ui = _free_ports(4)
    env = {**os.environ, "SPARK_HOME": str(script.parent.parent), "SPARK_LOCAL_IP": LOOPBACK, "SPARK_NO_DAEMONIZE": "1",
           "SPARK_LOG_DIR": str(folder), "SPARK_WORKER_DIR": str(folder / "work"),
           # no REST submission server (it takes a fixed port); the executors' Python is this one
           "SPARK_MASTER_OPTS": "-Dspark.master.rest.enabled=false", "PYSPARK_PYTHON": sys.executable}
    cluster = Cluster(f"spark://{LOOPBACK}:{port}", f"http://{LOOPBACK}:{ui_port}", folder)
    try:
        cluster.procs.append(_start(folder / "master.log", env, [
            str(script), "org.apache.spark.deploy.master.Master",
            "--host", LOOPBACK, "--port", str(port), "--webui-port", str(ui_port)]))
        _wait(cluster, lambda s: s.get("status") == "ALIVE", "the Master to start")
        cluster.url = cluster.state()["url"]  # where it listens (Spark takes the next port if another process took ours)
        cluster.procs.append(_start(folder / "worker.log", env, [
            str(script), "org.apache.spark.deploy.worker.Worker", cluster.url,
            "--host", LOOPBACK, "--port", str(worker_port), "--webui-port", str(worker_ui),
            "--cores", str(cores), "--memory", memory, "--work-dir", str(folder / "work")]))
        _wait(cluster, lambda s: s.get("aliveworkers", 0) >= 1, "the Worker to register")
    except BaseException:
        cluster.stop()
        raise
    return cluster


def _start(log: Path, env: dict[str, str], args: list[str]) -> subprocess.Popen:
    with log.open("wb") as out:  # the child keeps its own handle
        return subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env, start_new_session=True)


def _wait(cluster: Cluster, ready, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        for proc in cluster.procs:
            if proc.poll() is not None:
                raise RuntimeError(f"a Spark process stopped (exit {proc.returncode}) while waiting for {what}:\n{cluster.logs()}")
        with contextlib.suppress(OSError, ValueError):
            if ready(cluster.state()):
                return
        time.sleep(0.5)
    raise RuntimeError(f"waited {START_SECONDS} s for {what}:\n{cluster.logs()}")


def _free_ports(n: int) -> list[int]:
    socks = []
    try:
        for _ in range(n):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind((LOOPBACK, 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def _descendants(roots: list[int]) -> list[int]:
    """Every live process below ``roots``, parents before children (from /proc)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            text = stat.read_text()
            ppid = int(text[text.rindex(")") + 2:].split()[1])
            children.setdefault(ppid, []).append(int(stat.parent.name))
    out: list[int] = []
    todo = list(roots)
    while todo:
        pid = todo.pop(0)
        for child in children.get(pid, []):
            out.append(child)
            todo.append(child)
    return out
