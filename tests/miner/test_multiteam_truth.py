"""A multi-team log (desk teams escalating to resolver teams) against its known truth.

The generator's truth is checked first (it must be right before vsm is judged
by it), then vsm's rework, flow efficiency and moved-bottleneck flag.
"""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path

import pytest

import connectors
import miner
from connectors.samples import generate

TICKETS = 3_000
SEED = 11
WAIT_OF = {"New": "engage_queue", "Assigned": "handoff_queue", "Pending - Client Action Required": "customer", "Awaiting User Info": "customer"}
DESKS = ["Service Desk A", "Service Desk B", "Service Desk C", "Service Desk D"]


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    path = tmp_path_factory.mktemp("multiteam") / "multi_team.csv"
    result = generate("multi-team", tickets=TICKETS, seed=SEED, path=path)
    return path, json.loads(result.truth_path.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def compared(sample: tuple[Path, dict]):
    path, _ = sample
    log, report = connectors.load(path)
    return report, miner.compare(log, source=report.source)


def _seconds(stamp: str) -> int:
    return int(datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).timestamp())


def _recount(case: dict) -> dict:
    """Lead, work and waits of one ticket, recounted from its event list alone."""
    events = case["events"]
    names = [e[0] for e in events]
    secs = [_seconds(e[1]) for e in events]
    delivered = names[-1] in ("Resolved", "Closed")
    end = max(i for i, n in enumerate(names) if n == "Resolved") if delivered else len(events) - 1
    work, waits = 0, dict.fromkeys(("engage_queue", "handoff_queue", "customer", "resolved_before_reopen"), 0)
    for i in range(end):
        dt = secs[i + 1] - secs[i]
        if names[i] == "In Progress":
            work += dt
        elif names[i] == "Resolved":
            waits["resolved_before_reopen"] += dt
        else:
            waits[WAIT_OF[names[i]]] += dt
    return {"delivered": delivered, "lead": secs[end] - secs[0] if delivered else None, "work": work, "waits": waits}


# --------------------------------------------------------------------------
# The generator and its truth


def test_truth_lead_is_work_plus_waits_and_agrees_with_the_events(sample: tuple[Path, dict]) -> None:
    _, truth = sample
    mt, cases = truth["multi_team"], truth["cases"]
    total_lead = total_work = 0
    total_waits: dict[str, int] = defaultdict(int)
    for cid, case in cases.items():
        again = _recount(case)
        assert case["delivered"] == again["delivered"], cid
        assert case["work_s"] == again["work"], cid
        assert case["wait_s"] == again["waits"], cid
        if case["delivered"]:
            assert case["delivered_lead_time_s"] == again["lead"] == case["work_s"] + sum(case["wait_s"].values()), cid
            total_lead += again["lead"]
            total_work += again["work"]
            for k, v in again["waits"].items():
                total_waits[k] += v
        else:
            assert case["delivered_lead_time_s"] is None
    assert mt["totals_delivered"] == {"lead_time_s": total_lead, "work_s": total_work, "wait_s": dict(total_waits)}
    assert mt["flow_efficiency_pooled"] == round(total_work / total_lead, 6)
    assert 0.13 <= mt["flow_efficiency_pooled"] <= 0.19, "about 16% of lead time is work"


def test_truth_rework_is_reopens_and_bounces_only(sample: tuple[Path, dict]) -> None:
    _, truth = sample
    mt, cases = truth["multi_team"], truth["cases"]
    reopened = {cid for cid, c in cases.items() if c["reopens"]}  # the generic truth's own recount
    bounced = {cid for cid, c in cases.items() if c["bounces"]}
    assert set(mt["reopened"]) == reopened and set(mt["bounced"]) == bounced
    assert set(mt["tickets_with_rework"]) == reopened | bounced == {cid for cid, c in cases.items() if c["rework"]}
    assert all(c["reopens"] <= 1 and not c["loops"] and not c["self_loops"] for c in cases.values())
    assert 0.14 <= len(reopened | bounced) / TICKETS <= 0.20, "about 17% of tickets have rework"
    assert len(reopened) > 150 and len(bounced) > 150
    # The decoy of the old rule: clean escalations, In Progress at two teams and no rework.
    clean = [c for c in cases.values() if len(c["group_path"]) == 2 and not c["rework"] and c["delivered"]]
    assert len(clean) > TICKETS // 3


def test_truth_open_tickets_and_export_time(sample: tuple[Path, dict]) -> None:
    _, truth = sample
    mt, cases = truth["multi_team"], truth["cases"]
    as_of = _seconds(mt["as_of"])
    assert all(_seconds(e[1]) <= as_of for c in cases.values() for e in c["events"])
    still_open = {cid for cid, c in cases.items() if c["events"][-1][0] not in ("Resolved", "Closed")}
    assert set(mt["open_tickets"]) == still_open and mt["open"] == len(still_open) == TICKETS - mt["delivered"]
    assert {"In Progress", "Awaiting User Info", "Assigned"} <= set(mt["open_by_state"])
    assert len(still_open) >= 20


def test_truth_handoff_queues_and_the_scenario(sample: tuple[Path, dict]) -> None:
    """Hand-off queues recounted per sender and receiver; C's receivers wait longer, D's only as long as anyone's."""
    _, truth = sample
    mt, cases = truth["multi_team"], truth["cases"]
    waits: dict[tuple[str, str], list[int]] = defaultdict(list)
    for case in cases.values():
        ev = case["events"]
        for i in range(1, len(ev) - 1):
            if ev[i][0] == "Assigned":
                assert ev[i + 1][0] == "In Progress" and ev[i + 1][2] == ev[i][2]
                waits[(ev[i - 1][2], ev[i][2])].append(_seconds(ev[i + 1][1]) - _seconds(ev[i][1]))
    pairs = mt["handoff_queue_by_pair"]
    assert {(s, r) for r in pairs for s in pairs[r]} == set(waits)
    for (s, r), w in waits.items():
        assert pairs[r][s] == {"handoffs": len(w), "mean_s": round(sum(w) / len(w), 1)}, (s, r)
    for r in ("Network", "Applications", "Database"):
        others = [pairs[r][s]["mean_s"] for s in ("Service Desk A", "Service Desk B")]
        assert pairs[r]["Service Desk C"]["mean_s"] > 2 * max(others), r
    assert set(pairs["Database"]) >= set(DESKS) and all(set(pairs[r]) == set(DESKS[:3]) for r in ("Network", "Applications"))
    into_db = [pairs["Database"][s]["mean_s"] for s in ("Service Desk A", "Service Desk B", "Service Desk D")]
    assert max(into_db) < 1.3 * min(into_db), "Database's queue is as slow for D as for anyone"
    assert all(pairs["Database"][s]["mean_s"] > pairs[r][s]["mean_s"] for s in DESKS[:3] for r in ("Network", "Applications"))
    desk = mt["by_desk"]
    fast = [desk[d]["first_visit_mean_s"] for d in ("Service Desk B", "Service Desk C", "Service Desk D")]
    assert max(fast) < desk["Service Desk A"]["first_visit_mean_s"] / 3
    # What fools a naive rule: D causes as much hand-off waiting as C, B's is like slow A's.
    assert desk["Service Desk D"]["handoff_queue_caused_mean_s"] > 0.8 * desk["Service Desk C"]["handoff_queue_caused_mean_s"]
    assert mt["moved_bottlenecks"] == ["Service Desk C"]
    assert mt["decoys"] == {"fast_clean": "Service Desk B", "fast_to_slowest": "Service Desk D"}


def test_same_seed_same_files(tmp_path: Path) -> None:
    a = generate("multi-team", tickets=300, seed=3, path=tmp_path / "a.csv")
    b = generate("multi-team", tickets=300, seed=3, path=tmp_path / "b.csv")
    c = generate("multi-team", tickets=300, seed=4, path=tmp_path / "c.csv")
    assert a.path.read_bytes() == b.path.read_bytes() != c.path.read_bytes()
    truth_a = json.loads(a.truth_path.read_text(encoding="utf-8"))
    truth_b = json.loads(b.truth_path.read_text(encoding="utf-8"))
    assert {**truth_a, "export": None} == {**truth_b, "export": None}


def test_row_accounting(sample: tuple[Path, dict], compared) -> None:
    path, truth = sample
    report, _ = compared
    lines = path.read_text(encoding="utf-8").splitlines()
    assert len(lines) - 1 == truth["rows"] == truth["events"] == sum(len(c["events"]) for c in truth["cases"].values())
    assert report.rows_read == truth["rows"] and report.rows_rejected == 0
    assert report.source == "csv"


# --------------------------------------------------------------------------
# vsm against the truth


def test_reopen_and_bounce_columns_equal_the_truth(sample: tuple[Path, dict], compared) -> None:
    _, truth = sample
    _, found = compared
    t = found.tickets
    assert set(t.loc[t["reopens"] > 0, "case_id"]) == set(truth["multi_team"]["reopened"])
    assert set(t.loc[t["bounces"] > 0, "case_id"]) == set(truth["multi_team"]["bounced"])


def test_tickets_with_rework_are_the_reopened_and_bounced(sample: tuple[Path, dict], compared) -> None:
    _, truth = sample
    _, found = compared
    t = found.tickets
    assert set(t.loc[t["any_rework"], "case_id"]) == set(truth["multi_team"]["reopened"]) | set(truth["multi_team"]["bounced"])


def test_pooled_flow_efficiency_is_within_three_points(sample: tuple[Path, dict], compared) -> None:
    _, truth = sample
    _, found = compared
    assert abs(found.comparison.flow_efficiency["pooled"] - truth["multi_team"]["flow_efficiency_pooled"]) <= 0.03


def test_only_the_sloppy_fast_desk_is_a_moved_bottleneck(sample: tuple[Path, dict], compared) -> None:
    _, truth = sample
    _, found = compared
    groups = found.comparison.groups
    assert sorted(groups.loc[groups["moved_bottleneck"].astype(bool), "group"]) == truth["multi_team"]["moved_bottlenecks"]


def test_the_bundled_sample_waits_as_its_truth_says() -> None:
    """The built-in rules read every state of the bundled sample as its truth does: the client's Pending is the
    customer's time (a bare Pending would be a queue: its owner is unknown), New and Assigned are queues."""
    import numpy as np
    import pandas as pd

    from miner.accounting import CLASSES, account
    from miner.cases import case_arrays
    from miner.mapping import apply_mapping, builtin_mapping
    from tests.conftest import SAMPLE_LOGS

    path = SAMPLE_LOGS / "multi_team_events.csv"
    truth = json.loads(path.with_name(path.name + ".truth.json").read_text(encoding="utf-8"))["multi_team"]
    log, report = connectors.load(path)
    arrays = case_arrays(log)
    acc = account(arrays, apply_mapping(log, arrays, builtin_mapping(report.source)), pd.Timestamp(truth["as_of"]).value // 1000)
    got = dict(zip(CLASSES, (acc.per_case_class(arrays.case, arrays.n_cases)[acc.delivered].sum(axis=0) // 1_000_000).tolist(), strict=True))
    want = truth["totals_delivered"]
    assert int(acc.delivered.sum()) == truth["delivered"]
    assert got["work"] == want["work_s"]
    assert got["customer"] == want["wait_s"]["customer"]
    assert got["queue"] == want["wait_s"]["engage_queue"]
    assert got["handoff"] == want["wait_s"]["handoff_queue"]
    assert got["reopened"] == want["wait_s"]["resolved_before_reopen"]
    assert got["vendor"] == got["internal"] == got["unclassified"] == 0
    assert np.isin(log["activity"].astype(str).unique(), list(WAIT_OF) + ["In Progress", "Resolved", "Closed"]).all()
