"""The three questions of value-stream mapping, answered with evidence.

Every finding carries what it rests on: a count out of a denominator, the
rate with its Wilson 95% interval, its impact in ticket-hours, and, where it
claims that something is worse than the rest, a one-sided test whose p-values
are corrected with Benjamini–Hochberg across the findings of that kind.
Findings are ranked by impact, not by rate, and those resting on fewer than
``min_support`` tickets (hand-offs, for a pair of groups) are left out, with a
note saying how many. Every number a sentence quotes is a field of the
finding, so the JSON can be checked against the text.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from connectors.report import counted
from miner.significance import bh_adjusted, fisher_greater, mannwhitney_greater, wilson_interval
from miner.results import wait_label
from miner.stats import key_codes
from miner.waits import IDLE
from reports.units import hours, human, pct, pct_bound

WAIT_CLASSES = ("queue", "customer", "vendor", "internal", "handoff", "reopened")
MIN_SUPPORT = 20
ALPHA = 0.05  # false discovery rate of the tests of one kind
SHOWN = 2  # findings per kind in the summary; the JSON lists every one that passes


@dataclass
class Finding:
    """One sentence and the evidence behind it."""

    kind: str
    sentence: str
    count: int | None = None
    denominator: int | None = None
    unit: str = "tickets"
    impact_hours: float | None = None
    impact_basis: str | None = None
    support: int | None = None
    figures: dict[str, Any] = field(default_factory=dict)
    test: dict[str, Any] | None = None
    examples: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.sentence = self.sentence[:1].upper() + self.sentence[1:]

    @property
    def text(self) -> str:
        return self.sentence

    @property
    def rate(self) -> float | None:
        return self.count / self.denominator if self.count is not None and self.denominator else None

    @property
    def rate_ci(self) -> tuple[float, float] | None:
        return wilson_interval(self.count, self.denominator) if self.count is not None and self.denominator else None

    def record(self) -> dict[str, Any]:
        """The finding as the JSON's ``findings`` entries are (docs/json-schema.md)."""
        ci = self.rate_ci
        return {"kind": self.kind, "sentence": self.sentence, "count": self.count, "denominator": self.denominator,
                "unit": self.unit, "rate": self.rate, "rate_ci": list(ci) if ci else None,
                "impact_hours": self.impact_hours, "impact_basis": self.impact_basis, "support": self.support,
                "figures": dict(self.figures), "test": self.test, "examples": list(self.examples)}


def rate_ci_text(k: int, n: int) -> str:
    """'81%, 95% CI 65–91%': a rate and its interval, with a decimal near 0% and 100%."""
    lo, hi = wilson_interval(k, n)
    digits = _digits(k / n, lo, hi)
    return f"{pct(k / n, digits)}, 95% CI {pct_bound(lo, digits)}–{pct_bound(hi, digits)}"


def ci_text(k: int, n: int) -> str:
    """'81% (65–91%)': a rate and its Wilson interval, for tables."""
    lo, hi = wilson_interval(k, n)
    digits = _digits(k / n, lo, hi)
    return f"{pct(k / n, digits)} ({pct_bound(lo, digits)}–{pct_bound(hi, digits)})"


def _digits(rate: float, lo: float, hi: float) -> int:
    """A decimal near 0% and 100%, and where whole percents would hide the interval's width."""
    return 1 if min(rate, lo) < 0.1 or max(rate, hi) > 0.9 or round(lo * 100) == round(hi * 100) else 0


def p_text(p: float) -> str:
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"


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
    """The findings per question, ranked by impact, and what ``min_support`` left out."""

    waits: list[Finding]
    rework: list[Finding]
    no_value: list[Finding]
    min_support: int = MIN_SUPPORT
    left_out: dict[str, int] = field(default_factory=dict)
    all: dict[str, list[Finding]] = field(default_factory=dict)  # per question, every finding that passed (JSON)

    def record(self) -> dict[str, Any]:
        return {"min_support": self.min_support, "ranked_by": "impact_hours", "alpha": ALPHA,
                "left_out": dict(self.left_out),
                **{q: [{**f.record(), "in_summary": any(f is g for g in getattr(self, q))} for f in self.all.get(q, getattr(self, q))]
                   for q in ("waits", "rework", "no_value")}}


class _Collector:
    """Findings of one question: candidates per kind, kept when their support reaches the minimum."""

    def __init__(self, min_support: int, left_out: dict[str, int]) -> None:
        self.min_support = min_support
        self.left_out = left_out
        self.ranked: list[Finding] = []
        self.context: list[Finding] = []
        # Hours are totalled only where some ticket is delivered: with none, every ticket's time runs to the export's end.
        self.timed = True

    def offer(self, finding: Finding) -> bool:
        if finding.support is not None and finding.support < self.min_support:
            self.left_out[finding.kind] = self.left_out.get(finding.kind, 0) + 1
            return False
        (self.ranked if finding.impact_hours is not None else self.context).append(finding)
        return True

    def note(self, finding: Finding) -> None:
        self.context.append(finding)

    def result(self, shown: int = SHOWN) -> tuple[list[Finding], list[Finding]]:
        """(the summary's findings, every finding): ranked by impact, at most ``shown`` per kind, then the context."""
        ranked = sorted(self.ranked, key=lambda f: (-(f.impact_hours or 0.0), f.kind, f.sentence))
        per_kind: dict[str, int] = {}
        summary = []
        for f in ranked:
            per_kind[f.kind] = per_kind.get(f.kind, 0) + 1
            if per_kind[f.kind] <= shown:
                summary.append(f)
        return summary + self.context, ranked + self.context


UNIT_OF_KIND = {"handoff_rework": "hand-offs", "moved_bottleneck": "visits"}


def _left_out_note(kinds: tuple[str, ...], left_out: dict[str, int], min_support: int) -> Finding | None:
    n = sum(left_out.get(k, 0) for k in kinds)
    if not n:
        return None
    units = sorted({UNIT_OF_KIND.get(k, "tickets") for k in kinds if left_out.get(k)})
    what = "possible finding rests" if n == 1 else "possible findings rest"
    return Finding("left_out", f"{n:,} {what} on fewer than {min_support:,} {' or '.join(units)} and "
                   f"{'is' if n == 1 else 'are'} left out "
                   "(--min-support; all are in the JSON tables).", count=n, figures={"min_support": min_support})


NO_VALUE_KINDS = ("waiting_state", "rework_total", "deviation", "moved_bottleneck")


def answers(found: Any, *, min_support: int = MIN_SUPPORT) -> Answers:
    """Answer: where does work wait, which hand-offs cause rework, which steps add no value."""
    c = found.comparison
    left_out: dict[str, int] = {}
    out = Answers([], [], [], min_support, left_out)
    for name, build, kinds in (
        ("waits", _where_work_waits, ("wait_step", "wait_transition")),
        ("rework", _handoffs_and_rework, ("handoff_rework", "bounce", "reopen", "repeated_activity")),
        ("no_value", _no_value, NO_VALUE_KINDS),
    ):
        col = _Collector(min_support, left_out)
        col.timed = timed(found)
        build(found, c, col)
        note = _left_out_note(kinds, left_out, min_support)
        if note:
            col.note(note)
        shown, every = col.result()
        setattr(out, name, shown)
        out.all[name] = every
    return out


# --- Where does work wait? ---------------------------------------------------------------


def wait_place(source: str, target: str) -> str:
    """A wait between two activities in plain words (:func:`miner.results.wait_label` as a phrase)."""
    return wait_label(source, target, phrase=True)


def _where_work_waits(found: Any, c: Any, col: _Collector) -> None:
    n_tickets = len(found.tickets)
    steps = getattr(c, "bottleneck_steps", pd.DataFrame()) if col.timed else pd.DataFrame()
    for r in steps.itertuples(index=False):
        col.offer(Finding(
            "wait_step",
            f"at {r.label} in the {r.stream} stream, {hours(r.total_wait_s / 3600)} ticket-hours of waiting before or between its work: "
            f"{int(r.tickets_waited):,} of {int(r.tickets):,} tickets that reached it waited ({rate_ci_text(r.tickets_waited, r.tickets)}), "
            f"median {human(r.median_wait_s)} among them; {pct(r.share_of_step_waiting)} of the waiting at designed steps"
            + (f"; {hours(r.open_wait_s / 3600)} of these ticket-hours are in {counted(r.open_tickets_waited, 'open ticket')}, "
               "still waiting at the export's end" if r.open_tickets_waited else "")
            + ".",
            count=int(r.tickets_waited), denominator=int(r.tickets), impact_hours=r.total_wait_s / 3600,
            impact_basis="total waiting at the step, before or between its work", support=int(r.tickets_waited),
            figures={"stream": r.stream, "step": int(r.step), "total_wait_s": r.total_wait_s, "median_wait_s": r.median_wait_s,
                     "share_of_step_waiting": r.share_of_step_waiting, "open_tickets_waited": int(r.open_tickets_waited),
                     "open_wait_s": r.open_wait_s},
            examples=list(r.examples)))
    transitions = getattr(c, "bottleneck_transitions", pd.DataFrame()) if col.timed else pd.DataFrame()
    for r in transitions.itertuples(index=False):
        col.offer(Finding(
            "wait_transition",
            f"{wait_place(r.source, r.target)}: {hours(r.total_wait_s / 3600)} ticket-hours of waiting in "
            f"{int(r.tickets):,} of {n_tickets:,} tickets ({rate_ci_text(r.tickets, n_tickets)}), {counted(r.waits, 'wait')}, "
            f"median {human(r.median_wait_s)} per wait; {pct(r.share_of_waiting)} of all waiting{spent_in(r.via)}.",
            count=int(r.tickets), denominator=n_tickets, impact_hours=r.total_wait_s / 3600,
            impact_basis="total of these waits", support=int(r.tickets),
            figures={"source": r.source, "target": r.target, "label": r.label, "waits": int(r.waits),
                     "total_wait_s": r.total_wait_s, "median_wait_s": r.median_wait_s, "share_of_waiting": r.share_of_waiting,
                     "via": list(r.via)},
            examples=list(r.examples)))
    col.note(_waiting_overall(found, c))


def timed(found: Any) -> bool:
    """Some ticket is delivered. With none, every ticket's time runs until the export's end, an age and not a
    duration, so no output totals hours (findings, terminal tables, the HTML's Rework and Waits)."""
    return bool(found.tickets["delivered"].any())


def spent_in(via: list[dict[str, Any]]) -> str:
    """'; spent in 'Assigned' (68%) and 'Awaiting User Info' (17%)': the states a wait between two activities was spent in."""
    named = [f"'{v['state']}' ({pct(v['share'])})" if v["state"] != IDLE else f"idle time after work ended ({pct(v['share'])})"
             for v in via]
    if not named:
        return ""
    return "; spent in " + (named[0] if len(named) == 1 else ", ".join(named[:-1]) + " and " + named[-1])


def class_name(kind: str, has_groups: bool) -> str:
    """A wait class as the summary names it: without a group column, 'handoff' waits are named by activities
    ('Assign to group'), not seen between teams, so they are called assignment waits."""
    return "assignment" if kind == "handoff" and not has_groups else kind


IDLE_VISIT_S = 24 * 3600  # a visit to a work state that lasts over a day is hardly all touch time
IDLE_WORK_SHARE = 0.1  # ... worth naming when the state holds this share of all work time


def _idle_in_work(c: Any) -> list[tuple[str, float]]:
    """Work states whose slowest tenth of visits last over a day and that hold a tenth of the work time: (activity, p90), at most two.

    vsm knows only states, not touch time: a state like 'In Progress' or
    'Take in charge' counts whole as work, even while nobody works on it. These
    are the states where that most likely inflates flow efficiency.
    """
    states = getattr(c, "by_state", None)
    if states is None or not len(states):
        return []
    work = states[states["class"].astype(str) == "work"]
    total = float(work["total_s"].sum())
    if total <= 0:
        return []
    hit = work[(work["p90_s"] > IDLE_VISIT_S) & (work["total_s"] >= IDLE_WORK_SHARE * total)]
    hit = hit.sort_values(["total_s", "activity"], ascending=[False, True]).head(2)
    return [(str(a), float(v)) for a, v in zip(hit["activity"], hit["p90_s"], strict=True)]


def _waiting_overall(found: Any, c: Any) -> Finding:
    """The overall share of waiting, over delivered tickets: the same figures as the JSON headline.

    Open tickets' waiting so far (until the export's end) is added apart: the
    waits between activities and in states count it too, so their shares are
    of all waiting, delivered and open.
    """
    per = found.tickets
    done = per["delivered"].to_numpy(dtype=bool)
    n_done, n_open = int(done.sum()), int((~done).sum())
    who = "tickets" if n_done == len(per) else f"the {n_done:,} delivered tickets"
    gone = getattr(c, "not_measured", {})
    if "wait_share" in gone:
        why = gone["wait_share"]
        if not n_done and n_open and "conformance" not in gone:
            why += (f"; all {n_open:,} tickets are open, so their time runs until the export's end and vsm totals no waiting "
                    "or rework in hours; if tickets do end (Resolved, Closed, Declined …), name those states in a mapping (vsm mapping init)")
        return Finding("waiting_overall", f"wait share and flow efficiency are n/a: {why}.",
                       count=n_done, denominator=len(per), figures={"not_measured": gone["wait_share"], "open_tickets": n_open})
    waiting = math.fsum(per["wait_s"][done].tolist())
    total = math.fsum(per["lead_time_s"][done].tolist())
    if not total:
        return Finding("waiting_overall", "no delivered ticket has any lead time, so there is no share of waiting.",
                       count=n_done, denominator=len(per))
    open_waiting = math.fsum(per["wait_s"][~done].tolist())
    all_waiting = waiting + open_waiting
    by_class = {k: math.fsum(per[f"{k}_s"].tolist()) for k in WAIT_CLASSES}
    share = c.headline.get("wait_share", waiting / total) if getattr(c, "headline", None) else waiting / total
    kinds = sorted(((v, k) for k, v in by_class.items() if v > 0), reverse=True)
    detail = ", ".join(f"{class_name(k, found.has_groups)} {pct(v / all_waiting)}" for v, k in kinds) if all_waiting else ""
    fe = c.flow_efficiency
    flow = (f"flow efficiency is n/a: {gone['flow_efficiency']}" if "flow_efficiency" in gone
            else f"flow efficiency is {pct(fe['pooled'])} pooled; the median ticket's is {pct(fe['median'])}")
    suspect = _idle_in_work(c) if "flow_efficiency" not in gone else []
    caveat = ""
    if suspect:
        names = " and ".join(f"'{a}'" for a, _ in suspect)
        caveat = (f". But {names} {'are work states' if len(suspect) > 1 else 'is a work state'} whose visits last over "
                 f"{' and '.join(human(v) for _, v in suspect)} one time in ten: idle time there counts as work, so flow efficiency is an upper bound")
    unclassified = (c.headline.get("unclassified_share") if getattr(c, "headline", None) else None) or 0.0
    neither = (f"; {pct(unclassified)} of the lead time is in states that are neither work nor waiting (unclassified)"
               if unclassified > 0 else "")
    still = (f"; the {n_open:,} open {'ticket has' if n_open == 1 else 'tickets have'} waited {hours(open_waiting / 3600)} "
             f"ticket-hours so far (until the export's end), so {hours(all_waiting / 3600)} in all, the base of every 'of all waiting' share"
             if n_open and open_waiting > 0 else "")
    return Finding(
        "waiting_overall",
        (f"overall, {who} wait {hours(waiting / 3600)} of {hours(total / 3600)} ticket-hours of lead time ({pct(share)}){still}"
         if waiting or open_waiting else f"no time of the {hours(total / 3600)} ticket-hours of lead time is classified as waiting (the mapping names no waiting state)")
        + (f"; of the waiting: {detail}" if detail else "")
        + f"; {flow}{neither}{caveat}.",
        count=n_done, denominator=len(per),
        figures={"waiting_s": waiting, "lead_s": total, "waiting_share": share, "open_tickets": n_open,
                 "open_waiting_s": open_waiting, "all_waiting_s": all_waiting,
                 "waiting_by_class_share": {k: v / all_waiting for v, k in kinds} if all_waiting else {},
                 "flow_efficiency_pooled": fe["pooled"], "flow_efficiency_median": fe["median"],
                 "unclassified_share": unclassified, "idle_in_work_states": [{"activity": a, "p90_s": v} for a, v in suspect]})


# --- Which hand-offs cause rework? ------------------------------------------------------


def handoff_tests(handoffs: pd.DataFrame, min_support: int) -> pd.DataFrame:
    """Per pair of groups with at least ``min_support`` hand-offs: is it followed by rework more often than the other hand-offs?

    One-sided Fisher's exact test of the pair against all other hand-offs;
    Benjamini–Hochberg across the pairs tested. ``excess`` is the pair's
    hand-offs followed by rework beyond what the other hand-offs' rate predicts.
    """
    h = handoffs.copy()
    if h.empty:
        return h.assign(rest_k=[], rest_n=[], excess=[], p_value=[], p_adjusted=[])
    k_all, n_all = int(h["followed_by_rework"].sum()), int(h["handoffs"].sum())
    h["rest_k"] = k_all - h["followed_by_rework"]
    h["rest_n"] = n_all - h["handoffs"]
    rest_rate = (h["rest_k"] / h["rest_n"].where(h["rest_n"] > 0)).fillna(0.0)
    h["excess"] = h["followed_by_rework"] - h["handoffs"] * rest_rate
    tested = h["handoffs"] >= min_support
    p = fisher_greater([(int(k), int(n - k), int(rk), int(rn - rk))
                        for k, n, rk, rn in h.loc[tested, ["followed_by_rework", "handoffs", "rest_k", "rest_n"]].itertuples(index=False)])
    h["p_value"] = np.nan
    h["p_adjusted"] = np.nan
    h.loc[tested, "p_value"] = p
    h.loc[tested, "p_adjusted"] = bh_adjusted(p)
    # Tested pairs first, most excess rework first: a table ranked by what the rate costs, not by the rate.
    h["_tested"] = tested
    h = h.sort_values(["_tested", "excess", "handoffs", "from_group", "to_group"], ascending=[False, False, False, True, True])
    return h.drop(columns="_tested").reset_index(drop=True)


def _handoffs_and_rework(found: Any, c: Any, col: _Collector) -> None:
    per = found.tickets
    n = len(per)
    if not found.has_groups:
        col.note(Finding("no_groups", "the export has no group or team column, so hand-offs between teams cannot be seen."))
    elif len(c.handoffs):
        h = handoff_tests(c.handoffs, col.min_support)
        k_all, n_all = int(h["followed_by_rework"].sum()), int(h["handoffs"].sum())
        # Rework after a hand-off costs, on average, the groups' downstream rework over the hand-offs followed by rework.
        per_episode = None
        if "downstream_rework_s" in c.groups and k_all and col.timed:
            per_episode = float(c.groups["downstream_rework_s"].sum()) / k_all / 3600
        significant = 0
        small = h[h["handoffs"] < col.min_support]
        if len(small):
            col.left_out["handoff_rework"] = col.left_out.get("handoff_rework", 0) + len(small)
        for r in h[h["handoffs"] >= col.min_support].itertuples(index=False):
            test = {"method": "Fisher's exact test, one-sided, against all other hand-offs; Benjamini–Hochberg across pairs",
                    "p_value": r.p_value, "p_adjusted": r.p_adjusted, "significant": bool(r.p_adjusted < ALPHA)}
            if not test["significant"]:
                continue
            significant += 1
            impact = r.excess * per_episode if per_episode is not None else None
            cost = f"; about {hours(impact)} ticket-hours of rework beyond that rate" if impact is not None else ""
            col.offer(Finding(
                "handoff_rework",
                f"hand-offs from {r.from_group} to {r.to_group}: {int(r.followed_by_rework):,} of {int(r.handoffs):,} followed by rework "
                f"({rate_ci_text(r.followed_by_rework, r.handoffs)}) against {pct(r.rest_k / r.rest_n if r.rest_n else None)} of the other "
                f"hand-offs ({int(r.rest_k):,} of {int(r.rest_n):,}; adjusted {p_text(r.p_adjusted)}){cost}; "
                f"{int(r.bounced_back):,} were sent straight back.",
                count=int(r.followed_by_rework), denominator=int(r.handoffs), unit="hand-offs", impact_hours=impact,
                impact_basis=("estimate: hand-offs followed by rework beyond the other hand-offs' rate × the mean rework "
                              "after a hand-off followed by rework (groups' downstream rework ÷ such hand-offs)") if impact is not None else None,
                support=int(r.handoffs), test=test,
                figures={"from_group": r.from_group, "to_group": r.to_group, "rest_count": int(r.rest_k), "rest_denominator": int(r.rest_n),
                         "rest_rate": r.rest_k / r.rest_n if r.rest_n else None, "excess": r.excess, "bounced_back": int(r.bounced_back),
                         "p_adjusted": r.p_adjusted},
                examples=list(r.examples)))
        tested = int((h["handoffs"] >= col.min_support).sum())
        if not tested and n_all:
            col.note(Finding(
                "handoff_rework_none",
                f"no pair of groups has {col.min_support:,} hand-offs or more, so none is tested for excess rework; overall "
                f"{k_all:,} of {n_all:,} hand-offs are followed by rework ({rate_ci_text(k_all, n_all)}).",
                count=k_all, denominator=n_all, unit="hand-offs", figures={"pairs_tested": 0, "min_support": col.min_support}))
        elif not significant and n_all:
            col.note(Finding(
                "handoff_rework_none",
                f"no hand-off between two groups is followed by rework clearly more often than the others: {tested:,} pairs with at least "
                f"{col.min_support:,} hand-offs tested; overall {k_all:,} of {n_all:,} hand-offs are followed by rework ({rate_ci_text(k_all, n_all)}).",
                count=k_all, denominator=n_all, unit="hand-offs", figures={"pairs_tested": tested, "min_support": col.min_support}))
        bounced = int((per["bounces"] > 0).sum())
        pairs = c.pairs
        if bounced and len(pairs):
            p = pairs.iloc[0]
            middle = f", {hours(per['bounce_s'].sum() / 3600)} ticket-hours in the middle group" if col.timed else ""
            col.offer(Finding(
                "bounce",
                f"{bounced:,} of {n:,} tickets bounce between groups ({rate_ci_text(bounced, n)}), {counted(per['bounces'].sum(), 'bounce')}"
                f"{middle}; most between {p['pair']} ({counted(p['bounces'], 'bounce')} in {counted(p['tickets'], 'ticket')}).",
                count=bounced, denominator=n, impact_hours=float(per["bounce_s"].sum()) / 3600 if col.timed else None,
                impact_basis="time in the middle group of each bounce" if col.timed else None, support=bounced,
                figures={"bounces": int(per["bounces"].sum()), "bounce_s": float(per["bounce_s"].sum()), "top_pair": p["pair"],
                         "top_pair_bounces": int(p["bounces"]), "top_pair_tickets": int(p["tickets"])},
                examples=list(p["examples"])))
        elif not bounced:
            col.note(Finding("bounce", f"no ticket bounces between groups; {int(per['reassignments'].sum()):,} reassignments in all.",
                             count=0, denominator=n, figures={"reassignments": int(per["reassignments"].sum())}))
    reopened = int((per["reopens"] > 0).sum())
    if reopened:
        col.offer(Finding(
            "reopen",
            f"{reopened:,} of {n:,} tickets were reopened after delivery ({rate_ci_text(reopened, n)}), {counted(per['reopens'].sum(), 'reopen')}, "
            f"{hours(per['reopens_s'].sum() / 3600)} ticket-hours until they were delivered again.",
            count=reopened, denominator=n, impact_hours=float(per["reopens_s"].sum()) / 3600,
            impact_basis="from each reopen until the next delivery", support=reopened,
            figures={"reopens": int(per["reopens"].sum()), "reopens_s": float(per["reopens_s"].sum())},
            examples=worst_tickets(per, "reopens_s")))
    acts = found.summary.activity_table
    doing = dict(zip(acts["activity"].astype(str), acts["cases"].astype(int), strict=True))
    for r in c.repeated.itertuples(index=False):
        d = doing.get(str(r.activity), int(r.tickets))
        kinds = ((int(r.repetitions), "after other work"),
                 (int(r.self_loops), "straight after, by another person"))
        how_text = "; ".join(f"{n:,} {'time' if n == 1 else 'times'} {text}" for n, text in kinds if n)
        cost = f": {hours(r.time_s / 3600)} ticket-hours of repeated work" if col.timed else ""
        col.offer(Finding(
            "repeated_activity",
            f"'{r.activity}' is done again in {int(r.tickets):,} of {d:,} tickets that do it ({rate_ci_text(r.tickets, d)}), "
            f"{how_text}{cost}.",
            count=int(r.tickets), denominator=d, impact_hours=r.time_s / 3600 if col.timed else None,
            impact_basis="time in the repeated occurrences" if col.timed else None,
            support=int(r.tickets), figures={"activity": r.activity, "repetitions": int(r.repetitions), "self_loops": int(r.self_loops),
                                             "time_s": r.time_s},
            examples=list(r.examples)))
    if not col.ranked and not col.context:
        col.note(Finding("no_rework", "no rework found: no repeated work, reopens, backflows or bounces."))


# --- Which steps add no value? -----------------------------------------------------------


def deviation_tests(tickets: pd.DataFrame, deviations: pd.DataFrame) -> list[dict[str, Any] | None]:
    """Per deviation row: is the lead time of its tickets longer than that of the stream's conforming tickets?

    One-sided Mann–Whitney U test over delivered tickets (an open ticket's age
    is no lead time); Benjamini–Hochberg across the rows tested. None where a
    stream has no delivered conforming or deviating tickets to compare.
    """
    from miner.conformance import DEVIATION_SEP, explode_deviations

    frame = tickets.loc[tickets["delivered"].to_numpy(dtype=bool), ["designed_stream", "lead_time_s", "deviations", "conforming"]]
    if frame.empty:
        return [None] * len(deviations)
    exploded = explode_deviations(frame)
    # Lead times per (stream, deviation), grouped by codes: no string per row (a million rows at 10M events).
    codes, pairs = key_codes(exploded, ["designed_stream", "deviations"])
    order = np.argsort(codes, kind="stable")
    codes, lead = codes[order], exploded["lead_time_s"].to_numpy(dtype=np.float64)[order]
    starts = np.flatnonzero(np.r_[True, codes[1:] != codes[:-1]]) if len(codes) else np.zeros(0, dtype=np.int64)
    names = (pairs["designed_stream"] + "\x00" + pairs["deviations"]).to_numpy(dtype=object)
    ends = np.r_[starts[1:], len(codes)] if len(starts) else starts  # no delivered ticket deviates: no key at all
    lead_by_key = {names[c]: lead[a:b] for c, a, b in zip(codes[starts].tolist(), starts.tolist(), ends.tolist(), strict=True)}
    conforming = frame[frame["conforming"].astype(bool)]
    conf_by_stream = conforming["lead_time_s"].groupby(conforming["designed_stream"].astype(str)).apply(lambda s: s.to_numpy(dtype=np.float64))
    out: list[dict[str, Any] | None] = []
    p = []
    for d in deviations.itertuples(index=False):
        mine = lead_by_key.get(f"{d.stream}\x00{d.type}{DEVIATION_SEP}{d.step}")
        conf = conf_by_stream.get(str(d.stream))
        if mine is None or conf is None or len(mine) == 0 or len(conf) == 0:
            out.append(None)
            continue
        pv = mannwhitney_greater(mine, conf)
        p.append(pv)
        out.append({"method": "Mann–Whitney U, one-sided, lead time against the stream's conforming tickets; Benjamini–Hochberg across deviations",
                    "p_value": pv})
    adjusted = iter(bh_adjusted(p))
    for t in out:
        if t is not None:
            t["p_adjusted"] = next(adjusted)
            t["significant"] = bool(t["p_adjusted"] < ALPHA)
    return out


def _no_value(found: Any, c: Any, col: _Collector) -> None:
    per = found.tickets
    n = len(per)
    by_state = c.by_state
    # A delivered state is counted as 'reopened' waiting only where a reopen undid it, which the reopen finding
    # covers; a state with no time adds nothing (no "median 0 s" as a wait).
    # A state whose typical visit takes no time, or that is also work, does not add only waiting.
    worked = set(by_state.loc[by_state["class"] == "work", "activity"].astype(str))
    waiting = by_state[by_state["class"].isin(WAIT_CLASSES) & (by_state["class"] != "reopened") & (by_state["total_s"] > 0)
                       & (by_state["median_s"] > 0) & ~by_state["activity"].astype(str).isin(worked)]
    total_time = float(by_state["total_s"].sum())
    for w in waiting.to_dict("records") if col.timed else ():
        share = w["total_s"] / total_time if total_time else None
        col.offer(Finding(
            "waiting_state",
            f"'{w['activity']}' adds only waiting ({class_name(w['class'], found.has_groups)} wait): {hours(w['total_s'] / 3600)} ticket-hours in {int(w['tickets']):,} of {n:,} tickets "
            f"({rate_ci_text(w['tickets'], n)}), median {human(w['median_s'])} per visit; {pct(share)} of all time in the log.",
            count=int(w["tickets"]), denominator=n, impact_hours=w["total_s"] / 3600, impact_basis="total time in the state",
            support=int(w["tickets"]), figures={"activity": w["activity"], "class": w["class"], "visits": int(w["events"]),
                                                "total_s": w["total_s"], "median_s": w["median_s"], "share_of_all_time": share}))
    # Time: the kinds that are work done again (a bounce's time in the middle group is the bounce finding's).
    # Tickets: every ticket with rework of any kind, bounces included, as the headline's rework rate counts them.
    rework_time = float(per[["self_loops_s", "repetitions_s", "backflows_s", "reopens_s"]].sum().sum())
    lead = float(per["lead_time_s"].sum())
    reworked = int(per["any_rework"].sum())
    if rework_time > 0 and lead > 0 and n and col.timed:
        so_far = "" if per["delivered"].all() else ", open tickets counted until the export's end"
        apart = "; a bounce's time in the middle group is in the bounce finding, not here" if found.has_groups else ""
        col.offer(Finding(
            "rework_total",
            f"{reworked:,} of {n:,} tickets have rework of some kind ({rate_ci_text(reworked, n)}; the headline's rework rate). "
            f"Doing work again takes {hours(rework_time / 3600)} ticket-hours, {pct(rework_time / lead)} of all lead time"
            f"{so_far}: self-loops, repetitions, backflows and reopens{apart}.",
            count=reworked, denominator=n, impact_hours=rework_time / 3600, impact_basis="self-loops, repetitions, backflows and reopens",
            support=reworked, figures={"rework_s": rework_time, "lead_s": lead, "share_of_lead_time": rework_time / lead}))
    devs = c.deviations
    extra = devs[devs["type"].isin(["extra", "repeated"])].reset_index(drop=True) if len(devs) else devs
    if len(extra):
        streams = c.streams.set_index("name")["tickets"].to_dict()
        tests = deviation_tests(per, extra)
        priced: list[Finding] = []
        for d, test in zip(extra.itertuples(index=False), tests, strict=True):
            k, m = int(d.tickets), int(streams.get(d.stream, d.tickets))
            extra_s = d.median_extra_lead_s
            impact = None
            if test is None:
                effect = "; lead times not compared (no delivered conforming or deviating tickets)"
            elif test["significant"] and extra_s is not None and not pd.isna(extra_s) and extra_s > 0:
                impact = k * extra_s / 3600
                effect = (f"; their median lead time is {human(extra_s)} longer than conforming tickets' (adjusted {p_text(test['p_adjusted'])}), "
                          f"about {hours(impact)} ticket-hours")
            else:
                effect = f"; no clear difference in lead time from conforming tickets (adjusted {p_text(test['p_adjusted'])})"
            f = Finding(
                "deviation",
                (f"in the {d.stream} stream, {d.step} is not a designed step, yet {k:,} of {m:,} tickets go through it"
                 if d.type == "extra" else
                 f"in the {d.stream} stream, {d.step} is done more than once, which the design does not foresee, in {k:,} of {m:,} tickets")
                + f" ({rate_ci_text(k, m)}){effect}.",
                count=k, denominator=m, impact_hours=impact,
                impact_basis="estimate: tickets × median extra lead time over conforming tickets" if impact is not None else None,
                support=k, test=test, figures={"stream": d.stream, "type": d.type, "step": d.step,
                                                 "median_extra_lead_s": None if pd.isna(extra_s) else extra_s},
                examples=list(d.examples))
            priced.append(f)
        overlapping = Counter(f.figures["stream"] for f in priced if f.impact_hours is not None)
        for f in priced:
            if f.impact_hours is not None and overlapping[f.figures["stream"]] > 1:
                f.sentence = f.sentence[:-1] + "; a ticket can have more than one deviation, so these hours overlap with the other deviations' and do not add up."
            col.offer(f)
    flagged = c.groups[c.groups["moved_bottleneck"].astype(bool)] if len(c.groups) and col.timed else c.groups.iloc[0:0]
    for g in flagged.itertuples(index=False):
        # The receiver held constant: the excess over other senders' hand-offs into the same group and ticket type.
        excess_h = float(g.downstream_excess_total_s) / 3600
        low, high = (g.downstream_excess_ci_s if isinstance(g.downstream_excess_ci_s, (list, tuple)) else (None, None))
        ci = f" (95% CI {human(low)} to {human(high)})" if low is not None and high is not None else ""
        p = getattr(g, "p_value", None)
        col.offer(Finding(
            "moved_bottleneck",
            f"{g.group} is fast locally (median {human(g.local_time_median_s)} per visit), but after its hand-offs the receiving "
            f"group waits or reworks {human(g.downstream_excess_s)} longer per hand-off{ci} than after other groups' hand-offs "
            f"to the same group and ticket type: {hours(excess_h)} excess ticket-hours over {int(g.comparable_handoffs):,} "
            f"comparable hand-offs" + (f" (adjusted {p_text(p)})" if p is not None and not pd.isna(p) else "")
            + "; its speed moves the bottleneck downstream.",
            count=int(g.comparable_handoffs), unit="hand-offs", impact_hours=excess_h,
            impact_basis="excess waiting and rework after its hand-offs over other senders' into the same receiver and ticket type",
            support=int(g.comparable_handoffs), figures={"group": g.group, "local_time_median_s": float(g.local_time_median_s),
                                                         "downstream_excess_s": float(g.downstream_excess_s),
                                                         "downstream_excess_ci_s": [low, high],
                                                         "downstream_excess_total_s": float(g.downstream_excess_total_s),
                                                         "comparable_handoffs": int(g.comparable_handoffs),
                                                         **({"p_value": p} if p is not None else {})}))
    if "conformance" in getattr(c, "not_measured", {}):
        col.note(Finding("no_value_na", f"steps the design does not foresee are n/a: {c.not_measured['conformance']}."))
    elif not col.ranked and not col.context and not any(col.left_out.get(k) for k in NO_VALUE_KINDS):
        # Nothing found, not merely too few tickets for a finding (the left-out note says so).
        col.note(Finding("no_value_none", "no state adds only waiting, no time goes to rework, and no step is taken that the design lacks."))
