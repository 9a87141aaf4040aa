"""miner.significance: scipy.stats imported without rebuilding its docstrings gives the same statistics."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

# Each case runs in a fresh interpreter: this test process has scipy.stats already (pm4py imports it).
PROBE = textwrap.dedent("""
    import json, sys
    import miner.significance as ms
    {setup}
    stats = ms.import_scipy_stats() if {quick} else ms._stats()
    from scipy._lib import _docscrape
    rng_values = [3.0, 1.0, 4.0, 1.0, 5.0, 9.0, 2.0, 6.0]
    out = {{
        "restored": _docscrape.FunctionDoc.__name__,
        "wilson": list(map(float, stats.binomtest(7, 20).proportion_ci(confidence_level=0.95, method="wilson"))),
        "bh": [float(p) for p in stats.false_discovery_control([0.01, 0.04, 0.03, 0.2], method="bh")],
        "fisher": float(stats.fisher_exact([[7, 13], [2, 30]], alternative="greater").pvalue),
        "mwu": float(stats.mannwhitneyu(rng_values[:4], rng_values[4:], alternative="greater").pvalue),
        "norm": float(stats.norm.sf(1.5)),
        "boot": list(map(float, stats.bootstrap((rng_values,), lambda x, axis: x.mean(axis=axis), n_resamples=200,
                                                method="percentile", rng=1).confidence_interval)),
        "doc": (stats.mannwhitneyu.__doc__ or "").split(chr(10))[0],
    }}
    print(json.dumps(out))
""")


def _probe(quick: bool, setup: str = "") -> dict:
    code = PROBE.format(quick=quick, setup=setup)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(done.stdout)


def test_the_quick_import_gives_the_same_statistics_and_restores_scipys_parser() -> None:
    plain, quick = _probe(False), _probe(True)
    assert quick == plain
    assert quick["restored"] == "FunctionDoc"
    assert quick["doc"].startswith("Perform the Mann-Whitney U rank test")


def test_a_failed_quick_import_falls_back_to_the_usual_one() -> None:
    # A stand-in that breaks scipy's decorators: the import fails that way, is forgotten, and is done as usual.
    setup = "class Broken:\n    def __init__(self, *a, **k):\n        raise RuntimeError('scipy changed')\nms._UnparsedDoc = Broken"
    assert _probe(True, setup) == _probe(False)
