"""miner.significance: the findings' tests and intervals give the same values, errors and warnings in the helper
process as here; the helper starts only where it may, gives way when it is not ready or gone, and ends with
its command. Each helper case runs in a fresh interpreter: this test process has numpy and scipy loaded."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
import time

from tests.conftest import ROOT, SAMPLE_LOGS, run_cli

CALLS = textwrap.dedent("""
    import numpy as np
    values = np.array([3.0, 1.0, 4.0, 1.0, 5.0, 9.0, 2.0, 6.0, 5.0, 3.0])
    def calls():
        return {
            "wilson": s.wilson_interval(7, 20),
            "bh": s.bh_adjusted([0.01, 0.04, 0.03, 0.2]),
            "fisher": s.fisher_greater([(7, 13, 2, 30), (1, 1, 1, 1)]),
            "mwu": s.mannwhitney_greater(values[:5], values[5:]),
            "t": s.t_interval(values),
            "boot": s.bootstrap_mean_interval(values, 500, 100, np.random.default_rng([20251206, 7, 0])),
            "normal": s.normal_sf(1.5),
        }
""")


def _python(*parts: str) -> dict:
    code = "".join(textwrap.dedent(part) for part in parts)
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.splitlines()[-1])


def test_the_helper_gives_the_values_errors_and_warnings_of_the_calls_made_here() -> None:
    out = _python("""
        import json, warnings
        import miner.significance as s
        started = s.start_helper()
        pid = s.helper_pid()
    """, CALLS, """
        there = calls()
        errors, caught = [], []
        for bad in (lambda: s.bh_adjusted([2.0]), lambda: s.wilson_interval(5, 3)):
            try:
                bad()
            except ValueError as exc:
                errors.append(str(exc))
        with warnings.catch_warnings(record=True) as seen:
            warnings.simplefilter("always")
            s.t_interval([1.0, 1.0, 1.0])
        caught = [(w.category.__name__, str(w.message)[:40]) for w in seen]
        still = s.helper_pid()
        s.stop_helper()
        here = calls()
        with warnings.catch_warnings(record=True) as seen:
            warnings.simplefilter("always")
            s.t_interval([1.0, 1.0, 1.0])
        print(json.dumps({"started": started, "pid": pid, "still": still, "there": there, "here": here, "errors": errors,
                          "caught": caught, "caught_here": [(w.category.__name__, str(w.message)[:40]) for w in seen]}))
    """)
    assert out["started"] is True and isinstance(out["pid"], int) and out["still"] == out["pid"]
    assert out["there"] == out["here"]
    assert abs(out["here"]["fisher"][1] - 5 / 6) < 1e-12 and len(out["here"]["boot"]) == 2  # P(X ≥ 1), X hypergeometric (4, 2, 2)
    assert out["errors"] == ["`ps` must include only numbers between 0 and 1.", "k (5) must not be greater than n (3)."]
    assert out["caught"] == out["caught_here"] == [["RuntimeWarning", "Precision loss occurred in moment calcul"]]


def test_a_helper_that_is_gone_or_not_ready_gives_way_to_the_calls_made_here() -> None:
    out = _python("""
        import json, os, signal, time
        import miner.significance as s
        s.start_helper()
        first = s.helper_pid()
        time.sleep(0.1)
        os.kill(first, signal.SIGKILL)  # gone, whatever it was doing
    """, CALLS, """
        after_kill = calls()
        gone = s.helper_pid()
        s.stop_helper()
        here = calls()
        print(json.dumps({"first": first, "gone": gone, "after_kill": after_kill, "here": here}))
    """)
    assert isinstance(out["first"], int) and out["gone"] is None
    assert out["after_kill"] == out["here"]


def test_a_helper_still_importing_after_the_wait_is_ended_and_the_call_made_here() -> None:
    out = _python("""
        import json, os
        import miner.significance as s
        s.READY_WAIT = 0.001  # the first call comes long before scipy.stats has imported
        s.start_helper()
        pid = s.helper_pid()
        value = s.normal_sf(1.5)
        try:
            os.kill(pid, 0)
            alive = True
        except OSError:
            alive = False
        print(json.dumps({"value": value, "helper": s.helper_pid(), "alive": alive}))
    """)
    assert out["helper"] is None and out["alive"] is False  # ended, and reaped
    assert abs(out["value"] - 0.0668072012688581) < 1e-15


def test_no_helper_in_a_process_with_numpy_loaded() -> None:
    import numpy  # noqa: F401 - loaded, as in any process that has begun its work
    import miner.significance as s

    assert s.start_helper() is False and s.helper_pid() is None


def test_the_helper_ends_with_its_command() -> None:
    done = subprocess.run([sys.executable, "-c", "import os, miner.significance as s\ns.start_helper()\n"
                           "print(s.helper_pid(), flush=True)\nos._exit(0)"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    pid = int(done.stdout.strip())
    deadline = time.monotonic() + 20  # it finishes importing scipy.stats, then finds its pipe closed
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except OSError:
            break
        time.sleep(0.05)
    else:
        raise AssertionError(f"the helper {pid} outlived its command")


def test_vsm_report_with_the_helper_writes_what_it_writes_without(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A command run as `vsm` forks the helper; in this test process (numpy loaded) the same command runs without."""
    export = SAMPLE_LOGS / "multi_team_events.csv"
    code = ("import sys\nimport miner.significance as s\nstop = s.stop_helper\n"  # the helper's pid, as the command ends it
            "s.stop_helper = lambda: (print('helper', s.helper_pid(), file=sys.stderr), stop())\n"
            f"sys.argv = ['vsm', 'report', {str(export)!r}, '-o', {str(tmp_path / 'a.html')!r}, '--json', {str(tmp_path / 'a.json')!r}, '--quiet']\n"
            "from vsm.cli import run\nrun()\n")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert re.fullmatch(r"helper \d+", done.stderr.strip())
    try:  # ended and waited for by the command, not left behind
        os.kill(int(done.stderr.split()[1]), 0)
        raise AssertionError("the helper outlived the command")
    except ProcessLookupError:
        pass
    result = run_cli("report", export, "-o", tmp_path / "b.html", "--json", tmp_path / "b.json", "--quiet")
    assert result.exit_code == 0, result.output

    def same(name: str) -> str:
        return re.sub(r'"generated_at": "[^"]*"|generated \\d{4}-[^<]*', "", (tmp_path / name).read_text(encoding="utf-8"))

    assert same("a.json") == same("b.json")
    assert "moved_bottleneck" in same("a.json")
