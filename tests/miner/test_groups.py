"""Moved bottlenecks: a sender's downstream excess with the receiving group and ticket type held constant."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from miner.discovery import compare
from miner.groups import excess_tests
from tests.helpers import make_log

COLUMNS = ("case_id", "activity", "minutes", "group", "category")
RESOLVERS = {"R1": 120.0, "R2": 180.0, "Slow": 1440.0}  # mean queue (minutes) after any clean hand-off
USER_INFO = 480.0  # mean minutes in "Awaiting User Info"


def tickets(rng: np.random.Generator, desks: dict[str, dict], n: int) -> pd.DataFrame:
    """One row per ticket: the desk, its time, where it goes and what waits there (the truth behind the log)."""
    rows = []
    for desk, d in desks.items():
        to = rng.choice(list(d["routes"]), size=n, p=list(d["routes"].values()))
        queue = rng.exponential(1.0, n) * np.array([RESOLVERS[r] for r in to]) * d.get("slowdown", 1.0)
        info = np.where(rng.random(n) < d.get("info_share", 0.0), rng.exponential(USER_INFO, n), 0.0)
        rows.append(pd.DataFrame({"desk": desk, "local": rng.exponential(d["local"], n) + 1, "to": to, "queue": queue + 1,
                                  "info": info, "work": rng.exponential(60.0, n) + 1, "category": rng.choice(["Incident", "Request"], n)}))
    frame = pd.concat(rows, ignore_index=True)
    frame["case_id"] = [f"T{i:05d}" for i in range(len(frame))]
    return frame


def log_of(truth: pd.DataFrame) -> pd.DataFrame:
    """The event log of the tickets: the desk logs and works, hands off; the resolver's queue, user info, work, resolve.

    The resolver asks for user info as it picks the ticket up, so no work repeats: what follows a
    hand-off is its queue and its wait for the user, nothing else.
    """
    t = truth
    t0 = np.arange(len(t)) * 7.0
    handoff = t0 + t["local"]
    picked = handoff + t["queue"]
    back = picked + t["info"]
    events = [
        (t["case_id"], "Log call", t0, t["desk"]),
        (t["case_id"], "Reassigned", handoff, t["to"]),
        (t["case_id"][t["info"] > 0], "Awaiting User Info", picked[t["info"] > 0], t["to"][t["info"] > 0]),
        (t["case_id"], "Investigate", back, t["to"]),
        (t["case_id"], "Resolved", back + t["work"], t["to"]),
    ]
    frames = [pd.DataFrame({"case_id": c.to_numpy(), "activity": a, "minutes": np.asarray(m, dtype=float), "group": g.to_numpy()})
              for c, a, m, g in events]
    frame = pd.concat(frames, ignore_index=True).merge(t[["case_id", "category"]], on="case_id")
    frame = frame.sort_values(["case_id", "minutes"], kind="stable")
    return make_log(list(frame[list(COLUMNS)].itertuples(index=False, name=None)), columns=COLUMNS)


DESKS = {
    "A": {"local": 240.0, "routes": {"R1": 0.45, "R2": 0.4, "Slow": 0.15}},                                    # slow, clean
    "B": {"local": 20.0, "routes": {"R1": 0.45, "R2": 0.4, "Slow": 0.15}},                                     # fast, clean
    "C": {"local": 20.0, "routes": {"R1": 0.45, "R2": 0.4, "Slow": 0.15}, "slowdown": 2.5, "info_share": 0.5},  # fast, sloppy
    "D": {"local": 20.0, "routes": {"Slow": 1.0}},                                                              # fast, to the slow resolver
}


def groups_of(truth: pd.DataFrame) -> pd.DataFrame:
    return compare(log_of(truth), stream_by="category").comparison.groups.set_index("group")


@pytest.fixture(scope="module")
def scenario():
    truth = tickets(np.random.default_rng(7), DESKS, 300)
    return truth, groups_of(truth)


def test_only_the_sloppy_desk_is_a_moved_bottleneck(scenario):
    truth, groups = scenario
    assert list(groups.index[groups["moved_bottleneck"]]) == ["C"]
    assert not groups.loc[["A", "B", "D"], "moved_bottleneck"].any()
    # The resolvers hand nothing off: nothing to compare.
    assert groups.loc[["R1", "R2", "Slow"], "comparable_handoffs"].eq(0).all()
    assert groups.loc[["R1", "R2", "Slow"], "p_value"].isna().all()


def test_the_excess_interval_excludes_zero_and_holds_the_truth(scenario):
    truth, groups = scenario
    c = groups.loc["C"]
    mine = truth[truth["desk"] == "C"]
    # Other desks' hand-offs wait the resolver's mean queue; C's wait 2.5 times as long, and half add user info.
    true_excess = float((1.5 * mine["to"].map(RESOLVERS) + 0.5 * USER_INFO).mean()) * 60
    low, high = c["downstream_excess_ci_s"]
    assert 0 < low <= true_excess <= high
    assert c["comparable_handoffs"] == len(mine)
    assert c["downstream_excess_total_s"] == pytest.approx(c["downstream_excess_s"] * len(mine))
    assert c["p_value"] < 0.05
    assert c["reason"].startswith("fast locally (median")
    assert "comparable hand-offs" in c["reason"] and "adjusted p" in c["reason"]
    # D sends only to the slow resolver, whose queue every sender waits in: the naive rule's pick, as its
    # hand-offs cost the most per visit, but they are no worse than the others' into the same resolver.
    d = groups.loc["D"]
    desks = groups.loc[["A", "B", "C", "D"]]
    assert desks["downstream_cost_per_visit_s"].idxmax() == "D"
    assert d["comparable_handoffs"] == (truth["desk"] == "D").sum()
    assert d["p_value"] > 0.05 and d["downstream_excess_s"] < 0  # below the others, whose mean C's hand-offs raise


def test_groups_rank_by_total_excess(scenario):
    _, groups = scenario
    order = list(groups.index)
    assert order[0] == "C"
    tested = groups[groups["comparable_handoffs"] > 0]
    totals = tested["downstream_excess_total_s"].to_numpy()
    assert (np.diff(totals[1:]) <= 0).all()


def test_thirty_desks_that_behave_alike_flag_none():
    desks = {f"Desk{i:02d}": {"local": 20.0 + 10 * i, "routes": {"R1": 0.5, "R2": 0.3, "Slow": 0.2}} for i in range(30)}
    groups = groups_of(tickets(np.random.default_rng(11), desks, 60))
    assert groups["comparable_handoffs"].gt(0).sum() == 30
    assert not groups["moved_bottleneck"].any()


def test_permuting_senders_within_cells_leaves_nothing_to_flag():
    """Shuffle which desk sent each ticket within its (receiver, ticket type): the sender no longer matters."""
    base = tickets(np.random.default_rng(3), DESKS, 120)
    flagged = 0
    for seed in range(5):
        rng = np.random.default_rng(100 + seed)
        shuffled = base.copy()
        for _, idx in shuffled.groupby(["to", "category"]).groups.items():
            shuffled.loc[idx, "desk"] = rng.permutation(shuffled.loc[idx, "desk"].to_numpy())
        flagged += bool(groups_of(shuffled)["moved_bottleneck"].any())
    assert flagged <= 1


def test_excess_against_a_hand_computed_example():
    """Into R: X's values 10, 20; Y's 4, 6. X's excess 15 − 5 = 10 s per hand-off; Y's −10."""
    frame = pd.DataFrame({
        "sender": pd.Categorical(["X", "X", "Y", "Y", "Z"]), "receiver": pd.Categorical(["R", "R", "R", "R", "Q"]),
        "ticket_type": pd.Categorical(["t"] * 5), "us": np.array([10, 20, 4, 6, 99], dtype=np.int64) * 1_000_000,
    })
    out = excess_tests(frame, resamples=200).set_index("group")
    assert out.loc["X", "downstream_excess_s"] == pytest.approx(10.0)
    assert out.loc["Y", "downstream_excess_s"] == pytest.approx(-10.0)
    assert "Z" not in out.index  # the only sender into Q: nothing to compare with
    assert list(out["comparable_handoffs"]) == [2, 2]
    assert out["p_raw"].isna().all()  # two hand-offs each: too few to test, so no p-value and no place in the BH family


def test_a_group_is_tested_from_five_comparable_handoffs():
    """Into R: X hands off 5 times (50 s each), Y 4 times, W 5 times (10 s each). X and W are tested; Y, with 4, is not."""
    senders = ["X"] * 5 + ["Y"] * 4 + ["W"] * 5
    frame = pd.DataFrame({
        "sender": pd.Categorical(senders), "receiver": pd.Categorical(["R"] * len(senders)),
        "ticket_type": pd.Categorical(["t"] * len(senders)),
        "us": np.array([50] * 5 + [10] * 4 + [10] * 5, dtype=np.int64) * 1_000_000,
    })
    out = excess_tests(frame, resamples=200).set_index("group")
    assert out.loc["X", "p_raw"] < 0.05 and out.loc["W", "p_raw"] > 0.5
    assert np.isnan(out.loc["Y", "p_raw"]) and out.loc["Y", "comparable_handoffs"] == 4


def test_partitions_of_cases_give_the_same_tests(scenario):
    """The hand-offs travel as a sample that concatenates on merge: three partitions, the same figures."""
    from miner.discovery import make_plan, run

    truth, groups = scenario
    log = log_of(truth)
    parts = run(log, make_plan(log, stream_by="category", design=True), threads=3).comparison.groups.set_index("group")
    pd.testing.assert_frame_equal(parts, groups)


def test_the_compare_json_carries_the_excess(scenario):
    from reports.jsonout import records

    _, groups = scenario
    doc = {g["group"]: g for g in records(groups.reset_index())}
    c, r1 = doc["C"], doc["R1"]
    assert len(c["downstream_excess_ci_s"]) == 2 and c["downstream_excess_ci_s"][0] < c["downstream_excess_s"] < c["downstream_excess_ci_s"][1]
    assert 0 < c["p_value"] < 0.05 and c["moved_bottleneck"] is True
    assert (r1["downstream_excess_s"], r1["downstream_excess_ci_s"], r1["p_value"], r1["reason"]) == (None, None, None, "")
