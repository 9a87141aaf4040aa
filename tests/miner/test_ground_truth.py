"""vsm finds exactly what `vsm sample` injected: every loop, reopen, bounce and wait."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import connectors
import miner
from miner.cases import US, case_arrays
from tests.conftest import SAMPLE_LOGS

HISTORY_SAMPLES = ["servicenow_audit.csv", "jira_changelog.json", "zendesk_ticket_events.json", "service_desk_events.csv"]


def mined(path: Path):
    log, report = connectors.load(path)
    found = miner.compare(log, source=report.source)
    return log, found, found.comparison


def figures(log, found, c) -> dict:
    per = found.tickets
    loops = c.loops
    return {
        "events": len(log),
        "reopens": int(per["reopens"].sum()),
        "cases_with_reopen": int((per["reopens"] > 0).sum()),
        "bounces": int(per["bounces"].sum()),
        "cases_with_bounce": int((per["bounces"] > 0).sum()),
        "reassignments": int(per["reassignments"].sum()),
        "cases_with_reassignment": int((per["reassignments"] > 0).sum()),
        "self_loops": int(per["self_loops"].sum()),
        "rework_loops": {f"{r.from_activity}→{r.to_activity}": int(r.loops) for r in loops.itertuples()},
        "top_group_pairs": [[r.pair, int(r.bounces)] for r in c.pairs.itertuples()],
    }


@pytest.fixture(scope="module", params=HISTORY_SAMPLES)
def sample(request):
    path = SAMPLE_LOGS / request.param
    truth = json.loads(Path(f"{path}.truth.json").read_text())
    return request.param, truth, *mined(path)


@pytest.mark.parametrize(
    "key",
    ["events", "reopens", "cases_with_reopen", "bounces", "cases_with_bounce", "reassignments", "cases_with_reassignment", "self_loops", "rework_loops"],
)
def test_totals_equal_the_truth(sample, key):
    name, truth, log, found, c = sample
    assert figures(log, found, c)[key] == truth["totals"][key], f"{name}: {key}"


def test_top_group_pairs_equal_the_truth(sample):
    name, truth, log, found, c = sample
    ours = figures(log, found, c)["top_group_pairs"]
    theirs = truth["totals"]["top_group_pairs"]  # the truth keeps the ten most frequent
    counts = dict(map(tuple, ours))
    assert all(counts.get(pair) == n for pair, n in theirs)
    if len(theirs) < 10:
        assert len(ours) == len(theirs)


def test_time_in_each_state_is_exact_to_the_second(sample):
    name, truth, log, found, c = sample
    ours = {a: int(round(v)) for a, v in found.time_in_state_s.items()}
    assert ours == {k: int(v) for k, v in truth["totals"]["time_in_state_s"].items() if k in ours}
    assert set(truth["totals"]["time_in_state_s"]) - set(ours) <= {k for k, v in truth["totals"]["time_in_state_s"].items() if v == 0}


def test_per_ticket_waits_reopens_and_bounces(sample):
    name, truth, log, found, c = sample
    a = case_arrays(log)
    per = found.tickets.set_index("case_id")
    durations = a.duration_to_next / US
    for case_id, expected in truth["cases"].items():
        assert per.loc[case_id, "reopens"] == expected["reopens"], case_id
        assert per.loc[case_id, "bounces"] == expected["bounces"], case_id
        assert per.loc[case_id, "reassignments"] == expected["reassignments"], case_id
        idx = int(np.flatnonzero(a.case_ids == case_id)[0])
        lo, hi = a.case_start[idx], a.case_start[idx + 1]
        spent: dict[str, int] = {}
        for act, d in zip(a.activity_names[a.activity[lo:hi]], durations[lo:hi], strict=True):
            if d:
                spent[str(act)] = spent.get(str(act), 0) + int(round(d))
        assert spent == {k: v for k, v in expected["time_in_state_s"].items() if v}, case_id
        assert per.loc[case_id, "duration_s"] == expected["lead_time_s"], case_id


def test_snapshot_repeats_are_not_rework():
    """The audit export repeats states in noise rows; none of them may count as rework."""
    truth = json.loads((SAMPLE_LOGS / "servicenow_audit.csv.truth.json").read_text())
    assert truth["folded_rows"] > 0
    log, found, c = mined(SAMPLE_LOGS / "servicenow_audit.csv")
    assert int(found.tickets["self_loops"].sum()) == truth["totals"]["self_loops"]


@pytest.mark.parametrize("source, name", [("csv", "log.csv"), ("jira", "log.json"), ("servicenow-audit", "log.csv")])
def test_fresh_samples_with_another_seed(tmp_path, source, name):
    from connectors.samples import generate

    path = tmp_path / name
    generate(source, tickets=300, seed=4242, path=path)
    truth = json.loads(Path(f"{path}.truth.json").read_text())["totals"]
    got = figures(*mined(path))
    for key in ("events", "reopens", "bounces", "cases_with_bounce", "reassignments", "self_loops", "rework_loops"):
        assert got[key] == truth[key], key


def _repeated_sessions(events: list[list], acts: dict) -> list[int]:
    """Indices of events that repeat the previous event's work activity, group and person."""
    return [i for i in range(1, len(events))
            if events[i][0] == events[i - 1][0] and events[i][2:4] == events[i - 1][2:4]
            and acts[events[i][0]]["status"] and acts[events[i][0]]["time"] == "work" and events[i][3] is not None]


def test_self_loops_need_another_person(tmp_path):
    """The generic sample's repeated work sessions (the same person again) are decoys: a naive rule
    (the same activity twice in a row in one group) flags them, vsm and the truth do not. Give each
    second session to a colleague and each becomes a self-loop, which vsm then finds exactly."""
    from tests.connectors.test_samples import _recount

    path = SAMPLE_LOGS / "service_desk_events.csv"
    truth = json.loads(Path(f"{path}.truth.json").read_text())
    acts = truth["activities"]
    decoys = {cid: _repeated_sessions(case["events"], acts) for cid, case in truth["cases"].items()}
    assert sum(map(len, decoys.values())) >= 40
    _, found, _ = mined(path)
    assert int(found.tickets["self_loops"].sum()) == truth["totals"]["self_loops"] == 0

    expected = {}
    for cid, case in truth["cases"].items():
        events = [list(e) for e in case["events"]]
        for i in decoys[cid]:
            events[i][3] = f"{events[i][3]} (colleague)"
        expected[cid] = _recount({"events": events}, acts)["self_loops"]
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    frame = frame.sort_values(["case_id", "timestamp"], kind="stable").reset_index(drop=True)
    position = frame.groupby("case_id", sort=False).cumcount().to_numpy()
    moved = [(cid, i) for cid, idx in decoys.items() for i in idx]
    hit = pd.MultiIndex.from_arrays([frame["case_id"], position]).isin(moved)
    frame.loc[hit, "resource"] = frame.loc[hit, "resource"] + " (colleague)"
    assert hit.sum() == len(moved)
    changed = tmp_path / "colleagues.csv"
    frame.to_csv(changed, index=False)
    _, found, _ = mined(changed)
    got = found.tickets.set_index("case_id")["self_loops"]
    assert sum(expected.values()) >= 30
    assert {cid: int(got[cid]) for cid in expected} == expected
