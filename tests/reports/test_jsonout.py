"""The mine document's value-chain section: coverage and bookkeeping counts."""

from __future__ import annotations

import json

from tests.conftest import run_cli

ROWS = [
    ("J1", "Open", "2025-01-06T09:00:00Z"),
    ("J1", "Add Comment", "2025-01-06T09:10:00Z"),
    ("J1", "In Progress", "2025-01-06T10:00:00Z"),
    ("J1", "Change Field: Fix Version", "2025-01-06T11:00:00Z"),
    ("J1", "Add Comment", "2025-01-06T11:30:00Z"),
    ("J1", "Resolved", "2025-01-06T12:00:00Z"),
    ("J2", "Open", "2025-01-06T09:00:00Z"),
    ("J2", "Add Watcher", "2025-01-06T09:05:00Z"),
    ("J2", "Frobnicate", "2025-01-06T09:30:00Z"),
    ("J2", "Resolved", "2025-01-06T10:00:00Z"),
]


def test_bookkeeping_events_are_counted_and_classified(tmp_path):
    path = tmp_path / "log.csv"
    path.write_text("case_id,activity,timestamp\n" + "".join(",".join(r) + "\n" for r in ROWS))
    doc = json.loads(run_cli("mine", path, "--json", "-").stdout)
    vc = doc["value_chain"]
    assert vc["bookkeeping_events"] == 4
    assert vc["coverage"] == 9 / 10  # only Frobnicate is unclassified
    assert vc["unmapped"] == {"Frobnicate": 1}
    # bookkeeping events stay in the activity-level graph and variants, as pm4py sees them
    edges = {(e["source"], e["target"]): e["count"] for e in doc["activity_dfg"]}
    assert edges[("Open", "Add Comment")] == 1 and edges[("Add Comment", "In Progress")] == 1
    assert edges[("Add Watcher", "Frobnicate")] == 1
    assert doc["variants"]["top"][0]["path"] in (
        ["Open", "Add Comment", "In Progress", "Change Field: Fix Version", "Add Comment", "Resolved"],
        ["Open", "Add Watcher", "Frobnicate", "Resolved"],
    )
    assert doc["log"]["events"] == 10
