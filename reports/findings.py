"""The three questions of value-stream mapping, answered in plain sentences
with numbers and example tickets."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from miner.waits import END, START
from reports.units import human, pct

WAIT_CLASSES = ("queue", "customer", "vendor", "internal", "handoff")


@dataclass
class Finding:
    text: str
    examples: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.text = self.text[:1].upper() + self.text[1:]


def worst_tickets(tickets: pd.DataFrame, column: str, n: int = 3) -> list[str]:
    """The ids of the ``n`` tickets with the most ``column``, ties by id, without sorting every ticket."""
    values = tickets[column].to_numpy(dtype="float64", na_value=np.nan)
    if len(values) > n:
        cut = np.partition(np.nan_to_num(values, nan=-np.inf), len(values) - n)[len(values) - n]
        tickets = tickets[~(values < cut)]  # missing values stay, and sort last as before
    worst = tickets.sort_values([column, "case_id"], ascending=[False, True]).head(n)
    return [str(x) for x in worst["case_id"]]


@dataclass
class Answers:
    waits: list[Finding]
    rework: list[Finding]
    no_value: list[Finding]


def answers(found: Any) -> Answers:
    """Return sentences answering: where does work wait, which hand-offs cause rework, which steps add no value."""
    c = found.comparison
    return Answers(_where_work_waits(found, c), _handoffs_and_rework(found, c), _no_value(found, c))


def _where_work_waits(found: Any, c: Any) -> list[Finding]:
    out: list[Finding] = []
    steps = c.steps
    tickets = found.tickets
    if len(steps):
        row = steps.sort_values("wait_total_s", ascending=False).iloc[0]
        lead_total = tickets.loc[tickets["designed_stream"] == row["stream"], "lead_time_s"].sum()
        if row["wait_total_s"] > 0:
            out.append(Finding(
                f"Work waits longest before {row['label']} in the {row['stream']} stream: median {human(row['wait_median_s'])} "
                f"per ticket, {pct(row['wait_total_s'] / lead_total if lead_total else None)} of that stream's lead time.",
                list(row.get("examples_over_target") or []),
            ))
    by_class = c.by_class
    waiting = sum(by_class[k] for k in WAIT_CLASSES)
    total = sum(v for k, v in by_class.items() if k != "done")
    if total:
        kinds = sorted(((by_class[k], k) for k in WAIT_CLASSES if by_class[k] > 0), reverse=True)
        detail = ", ".join(f"{k} {pct(v / waiting)}" for v, k in kinds[:3]) if waiting else ""
        out.append(Finding(
            f"Overall, tickets spend {pct(waiting / total)} of their lead time waiting"
            + (f" (of the waiting: {detail})" if detail else "")
            + f"; flow efficiency is {pct(c.flow_efficiency['pooled'])} pooled, {pct(c.flow_efficiency['median'])} for the median ticket."
        ))
    transitions = c.transitions
    if len(transitions):
        t = transitions.iloc[0]
        if t["source"] == START and t["target"] == END:
            where = "The most waiting is in tickets where no work is recorded at all"
        elif t["source"] == START:
            where = f"The most waiting is before any work starts, until '{t['target']}'"
        elif t["target"] == END:
            where = f"The most waiting is after '{t['source']}', with no work after it"
        else:
            where = f"The most waiting between two pieces of work is from '{t['source']}' to '{t['target']}'"
        out.append(Finding(
            f"{where}: {human(t['total_s'])} in all over {int(t['tickets']):,} tickets, median {human(t['median_s'])} each.",
            list(t["examples"]),
        ))
    return out


def _handoffs_and_rework(found: Any, c: Any) -> list[Finding]:
    out: list[Finding] = []
    per = found.tickets
    n = max(len(per), 1)
    handoffs = c.handoffs
    if not found.has_groups:
        out.append(Finding("The export has no group or team column, so hand-offs between teams cannot be seen."))
    elif len(handoffs):
        risky = handoffs[handoffs["handoffs"] >= 3].sort_values(["rework_share", "handoffs"], ascending=False)
        if len(risky) and risky.iloc[0]["followed_by_rework"] > 0:
            h = risky.iloc[0]
            out.append(Finding(
                f"{pct(h['rework_share'])} of hand-offs from {h['from_group']} to {h['to_group']} are followed by rework "
                f"({int(h['followed_by_rework']):,} of {int(h['handoffs']):,}); {int(h['bounced_back']):,} were sent straight back.",
                list(h["examples"]),
            ))
        bounced = int((per["bounces"] > 0).sum())
        pairs = c.pairs
        if bounced and len(pairs):
            p = pairs.iloc[0]
            out.append(Finding(
                f"{pct(bounced / n)} of tickets bounce between groups; most often between {p['pair']} "
                f"({int(p['bounces']):,} bounces in {int(p['tickets']):,} tickets, {human(p['time_s'])} spent in the middle).",
                list(p["examples"]),
            ))
        elif not bounced:
            out.append(Finding(f"No ticket bounces between groups; {int(per['reassignments'].sum()):,} reassignments in all."))
    reopened = int((per["reopens"] > 0).sum())
    if reopened:
        out.append(Finding(
            f"{pct(reopened / n)} of tickets are reopened after delivery ({int(per['reopens'].sum()):,} reopens), "
            f"costing {human(per['reopens_s'].sum())} until they were delivered again.",
            worst_tickets(per, "reopens_s"),
        ))
    repeated = c.repeated
    if len(repeated):
        r = repeated.iloc[0]
        out.append(Finding(
            f"'{r['activity']}' is redone most: in {int(r['tickets']):,} tickets ({pct(r['tickets'] / n)}), "
            f"{human(r['time_s'])} of repeated work in all.",
            list(r["examples"]),
        ))
    if not out:
        out.append(Finding("No rework found: no repeated work, reopens, backflows or bounces."))
    return out


def _no_value(found: Any, c: Any) -> list[Finding]:
    out: list[Finding] = []
    by_state = c.by_state
    waiting = by_state[by_state["class"].isin(WAIT_CLASSES)]
    total_time = by_state["total_s"].sum()
    if len(waiting):
        w = waiting.iloc[0]
        out.append(Finding(
            f"'{w['activity']}' adds only waiting ({w['class']} wait): {human(w['total_s'])} in all, "
            f"{pct(w['total_s'] / total_time if total_time else None)} of all time in the log, median {human(w['median_s'])} per visit."
        ))
    per = found.tickets
    rework_time = per[["self_loops_s", "repetitions_s", "backflows_s", "reopens_s"]].sum().sum()
    lead = found.tickets["lead_time_s"].sum()
    if rework_time > 0 and lead > 0:
        out.append(Finding(f"Rework takes {human(rework_time)}, {pct(rework_time / lead)} of all lead time: time spent doing work again."))
    devs = c.deviations
    extra = devs[devs["type"].isin(["extra", "repeated"])] if len(devs) else devs
    if len(extra):
        d = extra.sort_values("tickets", ascending=False).iloc[0]
        impact = d["median_extra_lead_s"]
        cost = f", adding a median {human(impact)} to lead time" if impact is not None and not pd.isna(impact) and impact > 0 else ""
        what = "is not in the designed" if d["type"] == "extra" else "is done again, which the design does not foresee, in the"
        out.append(Finding(
            f"{d['step']} {what} {d['stream']} stream, yet {int(d['tickets']):,} tickets ({pct(d['share'])}) go through it{cost}.",
            list(d["examples"]),
        ))
    flagged = c.groups[c.groups["moved_bottleneck"]] if len(c.groups) else c.groups
    for g in flagged.head(2).itertuples(index=False):
        out.append(Finding(f"{g.group} looks {g.reason}: its speed moves the bottleneck downstream."))
    return out
