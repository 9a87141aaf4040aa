"""The comparison of actual flow with the designed value streams: conformance,
rework, waits, bottlenecks and groups."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from miner.conformance import Conformance, conformance
from miner.design import Design, assign_streams, load_design
from miner.discovery import Discovery
from miner.groups import group_table
from miner.rework import Rework, rework
from miner.steps import step_table
from miner.streams import case_values
from miner.valuechain import STAGES
from miner.waits import Waits, waits

TOP = 10


@dataclass
class Comparison:
    design: Design
    assigned: np.ndarray  # designed stream index per case
    conformance: Conformance
    rework: Rework
    waits: Waits
    steps: pd.DataFrame
    bottlenecks: pd.DataFrame
    groups: pd.DataFrame

    def stream_of_case(self) -> np.ndarray:
        names = np.array([s.name for s in self.design.streams] + ["(none)"], dtype=object)
        return names[np.where(self.assigned >= 0, self.assigned, len(names) - 1)]


def compare(log: pd.DataFrame, found: Discovery, design: Design | str | None = None) -> Comparison:
    """Compare every ticket of ``log`` (already discovered) with its designed stream."""
    if not isinstance(design, Design):
        design = load_design(design)
    arrays = found.arrays
    ticket_types = pd.Series(found.tickets["stream"].to_numpy(), dtype=object)
    columns = {m.column for s in design.streams for m in (s.applies_to or ()) if m.column != "stream"}
    attrs = pd.DataFrame({c: case_values(log[c], arrays).reset_index(drop=True) for c in columns if c in log.columns})
    assigned = assign_streams(design, ticket_types, attrs)
    tim = found.timing
    conf = conformance(arrays, found.classes, design, assigned, found.tickets["lead_time_s"].to_numpy())
    rank = _stage_rank(arrays.case, found.classes.stage, design, assigned)
    rw = rework(arrays, found.classes, tim.duration, tim.in_lead, rank)
    work_time = found.tickets["work_s"].to_numpy()
    wt = waits(arrays, found.classes, tim.duration, found.tickets["lead_time_s"].to_numpy(), work_time)
    steps = step_table(arrays, found.classes, wt.time_class, tim.duration, design, assigned)
    groups = group_table(arrays, wt.time_class, tim.duration, rw, tim.in_lead)
    return Comparison(design, assigned, conf, rw, wt, steps, _bottlenecks(steps, wt), groups)


def _stage_rank(case: np.ndarray, stage: np.ndarray, design: Design, assigned: np.ndarray) -> np.ndarray:
    """Per event: its stage's position in its ticket's designed order.

    Designed stages rank 10, 20 …; a stage the design lacks ranks just before
    the first designed stage that follows it in the value chain's order.
    """
    table = np.full((len(design.streams) + 1, len(STAGES)), -1, dtype=np.int64)
    for i, stream in enumerate(design.streams + [None]):  # type: ignore[operator]
        ranks = stream.stage_rank() if stream else {}
        for s, name in enumerate(STAGES):
            if name in ranks:
                table[i, s] = 10 * (ranks[name] + 1)
            else:
                later = [10 * (ranks[x] + 1) for x in STAGES[s + 1:] if x in ranks]
                table[i, s] = (min(later) - 5) if later else 10 * (len(ranks) + 1) + 5
    row = np.where(assigned >= 0, assigned, len(design.streams))[case]
    return np.where(stage >= 0, table[row, np.maximum(stage, 0)], -1)


def _bottlenecks(steps: pd.DataFrame, wt: Waits) -> pd.DataFrame:
    """Rank designed steps and waits between activities by the total waiting they carry."""
    rows = []
    for r in steps.itertuples(index=False):
        if r.wait_total_s > 0:
            rows.append({"kind": "step", "name": f"{r.stream}: {r.label}", "total_wait_s": r.wait_total_s,
                         "tickets": r.tickets, "median_wait_s": r.wait_median_s, "examples": r.examples_over_target})
    for r in wt.transitions.head(50).itertuples(index=False):
        rows.append({"kind": "transition", "name": f"{r.source} → {r.target}", "total_wait_s": r.total_s,
                     "tickets": r.tickets, "median_wait_s": r.median_s, "examples": r.examples})
    frame = pd.DataFrame(rows, columns=["kind", "name", "total_wait_s", "tickets", "median_wait_s", "examples"])
    all_wait = sum(v for k, v in wt.by_class.items() if k in ("queue", "customer", "vendor", "internal", "handoff"))
    frame["share_of_waiting"] = frame["total_wait_s"] / all_wait if all_wait else 0.0
    return frame.sort_values(["total_wait_s", "name"], ascending=[False, True], ignore_index=True).head(TOP)


def headline(found: Discovery, comparison: Comparison) -> dict[str, float | None]:
    """Return the figures --fail-on can test (see miner.thresholds.METRICS)."""
    per = comparison.rework.per_ticket
    n = max(len(per), 1)
    conf = comparison.conformance.per_ticket
    lead = found.tickets["lead_time_s"]
    by_class = comparison.waits.by_class
    waiting = sum(by_class[k] for k in ("queue", "customer", "vendor", "internal", "handoff"))
    total = sum(by_class.values())
    return {
        "fitness": float(conf["fitness"].mean()) if len(conf) else None,
        "conforming_share": float(conf["conforming"].mean()) if len(conf) else None,
        "rework_rate": float(per["any_rework"].sum() / n),
        "reopen_rate": float((per["reopens"] > 0).sum() / n),
        "pingpong_rate": float((per["bounces"] > 0).sum() / n),
        "flow_efficiency": comparison.waits.flow_efficiency["pooled"],
        "lead_time_median_h": float(lead.median() / 3600) if len(lead) else None,
        "lead_time_p90_h": float(lead.quantile(0.9) / 3600) if len(lead) else None,
        "wait_share": waiting / total if total else None,
    }
