"""Merging partial analyses and turning them into the final tables vsm reports.

:func:`combine` merges :class:`~miner.analysis.Partial` results of disjoint
sets of cases; :func:`aggregate_measures` reduces the measures to counts,
sums, exact quantiles and distinct counts per key (Spark does the same in SQL,
see :mod:`miner.spark`); :func:`finalize` builds :class:`Results`.
"""

from __future__ import annotations

import math
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from connectors.report import counted
from miner.analysis import FIRST_ROW, MEASURES, PATH_SEP, SAMPLES, TABLE_KEYS, VC_SEP, Partial, Plan
from miner.cases import US
from miner.conformance import NO_STREAM, deviation_table, stream_summary
from miner.design import BUILTIN_ORIGIN, Design
from miner.groups import group_table
from miner.mapping import INHERIT, UNMAPPED
from miner.rework import EXAMPLES, KEY_SEP, top_examples
from miner.stats import grouped_stats, key_codes, quantiles
from miner.steps import step_table
from miner.streams import StreamChoice, stream_table
from miner.summary import LogSummary
from miner.valuechain import STAGES, label
from miner.waits import CLASSES, END, OPEN, START, flow_efficiency

TOP_BOTTLENECKS = 10
# Below this share of events mapped to the value chain, a path says nothing about the design: no conformance.
MIN_MAPPED_FOR_CONFORMANCE = 0.05
WAIT_CLASSES = ("queue", "customer", "vendor", "internal", "handoff", "reopened")


@dataclass
class Comparison:
    """The actual flow against the designed streams."""

    design: Design
    streams: pd.DataFrame  # name, tickets, fitness, conforming_share, open
    deviations: pd.DataFrame  # stream, type, step, tickets, share, median_extra_lead_s, examples
    pairs: pd.DataFrame  # pair, bounces, tickets, time_s, examples
    handoffs: pd.DataFrame  # from_group, to_group, handoffs, followed_by_rework, rework_share, bounced_back, examples
    loops: pd.DataFrame  # from_activity, to_activity, loops, tickets, time_s, examples
    repeated: pd.DataFrame  # activity, repetitions, self_loops, tickets, time_s, examples
    by_class: dict[str, float]
    by_state: pd.DataFrame  # activity, class, events, tickets, total_s, median_s, p90_s, share
    transitions: pd.DataFrame  # source, target, waits, tickets, total_s, median_s, examples
    flow_efficiency: dict[str, float | None]
    steps: pd.DataFrame
    bottlenecks: pd.DataFrame
    groups: pd.DataFrame
    headline: dict[str, float | None]
    # Waiting ranked apart: at designed steps (shares of step waiting), and between two activities (shares of all waiting).
    bottleneck_steps: pd.DataFrame = field(default_factory=pd.DataFrame)
    bottleneck_transitions: pd.DataFrame = field(default_factory=pd.DataFrame)
    # Figures that cannot be measured on this log, and why: conformance, flow_efficiency, wait_share.
    not_measured: dict[str, str] = field(default_factory=dict)


@dataclass
class Results:
    """Everything vsm found in a log: the DataFrames reports are made of."""

    plan: Plan
    summary: LogSummary
    tickets: pd.DataFrame  # one row per ticket
    edges: pd.DataFrame  # source, target, count, median_wait_s, p90_wait_s, mean_wait_s, total_wait_s
    start_activities: dict[str, int]
    end_activities: dict[str, int]
    variants: pd.DataFrame  # variant, cases, length, path (tuple)
    vc_variants: pd.DataFrame
    mapping_table: pd.DataFrame  # activity, events, stage, rule_stage, kind, wait, practice, rule
    coverage: float
    unmapped: dict[str, int]
    rework_by_activity: dict[str, int]
    case_duration_s: dict[str, float | None]
    lead_time_s: dict[str, float | None]  # over delivered tickets
    open_tickets: dict[str, Any]  # tickets not delivered at the export's end: count, ages, where they wait now
    time_in_state_s: dict[str, float]
    stream_choice: StreamChoice
    streams: pd.DataFrame
    streams_by_path: pd.DataFrame
    has_groups: bool
    tables: dict[str, pd.DataFrame]
    comparison: Comparison | None = None

    @property
    def mapping(self) -> Any:
        return self.plan.mapping


def combine(parts: list[Partial]) -> Partial:
    """Merge the analyses of disjoint sets of cases."""
    if len(parts) == 1:
        return parts[0]
    tickets = pd.concat([p.tickets for p in parts], ignore_index=True)
    tables = {}
    for name, keys in TABLE_KEYS.items():
        frames = [p.tables[name] for p in parts if name in p.tables and len(p.tables[name])]
        if not frames:
            tables[name] = next((p.tables[name] for p in parts if name in p.tables), pd.DataFrame())
            continue
        merged = pd.concat(frames, ignore_index=True)
        tables[name] = merged.groupby(keys, sort=False, dropna=False).sum(numeric_only=True).reset_index()
    measures = {name: concat_measures([p.measures[name] for p in parts if name in p.measures])
                for name in MEASURES if any(name in p.measures for p in parts)}
    samples = {name: concat_measures([p.samples[name] for p in parts if name in p.samples])
               for name in SAMPLES if any(name in p.samples for p in parts)}
    examples = top_examples(pd.concat([p.examples for p in parts], ignore_index=True), k=EXAMPLES)
    return Partial(tickets, tables, measures, examples, any(p.has_groups for p in parts), samples)


def aggregate_measures(measures: dict[str, pd.DataFrame], tables: dict[str, pd.DataFrame] | None = None) -> dict[str, pd.DataFrame]:
    """Reduce each measure to: keys, count, sum, q<percent> per quantile, distinct (when asked).

    Values are integer microseconds; sums stay integers, quantiles interpolate
    linearly between order statistics (numpy's default, and Spark's percentile).
    ``distinct``, the tickets per key, comes from the additive tables
    ``tickets_<measure>`` that :func:`miner.analysis.analyse` counts per
    partition of cases (``tables``).
    """
    def aggregate(name: str) -> pd.DataFrame:
        frame, spec = measures[name], MEASURES[name]
        keys = list(spec.keys)
        columns = [*keys, "count", "sum", *(f"q{int(q * 100)}" for q in spec.quantiles)] + (["distinct"] if spec.distinct else [])
        if frame.empty:
            return pd.DataFrame(columns=columns)
        codes, uniques = key_codes(frame, keys)
        values = frame[spec.value].to_numpy(dtype=np.int64)
        key_codes_, counts, qs, sums = grouped_stats(codes.astype(np.int64), values, spec.quantiles)
        agg = uniques.iloc[key_codes_].reset_index(drop=True)
        agg["count"] = counts
        agg["sum"] = sums  # integer microseconds sum exactly, whatever the order of the rows
        for q, column in zip(spec.quantiles, qs, strict=True):
            agg[f"q{int(q * 100)}"] = column
        return agg

    # Side by side on threads: the sorts, most of the work, run outside the GIL.
    with ThreadPoolExecutor(max_workers=min(len(measures), os.cpu_count() or 1) or 1) as pool:
        out = dict(zip(measures, pool.map(aggregate, measures), strict=True))
    return add_ticket_counts(out, tables or {})


def add_ticket_counts(aggregates: dict[str, pd.DataFrame], tables: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """Give each aggregated measure that counts tickets its ``distinct`` column, from the merged ``tickets_<measure>`` tables."""
    out = {}
    for name, agg in aggregates.items():
        spec = MEASURES[name]
        if spec.distinct and len(agg):
            keys = list(spec.keys)
            counted = tables.get(f"tickets_{name}", pd.DataFrame(columns=[*keys, "tickets"]))
            lookup = dict(zip(map(tuple, counted[keys].astype(str).to_numpy().tolist()), counted["tickets"].astype(np.int64), strict=True))
            agg = agg.copy()
            agg["distinct"] = np.array([lookup.get(k, 0) for k in map(tuple, agg[keys].astype(str).to_numpy().tolist())], dtype=np.int64)
        elif spec.distinct:
            agg = agg.reindex(columns=[*agg.columns, "distinct"]) if "distinct" not in agg.columns else agg
        out[name] = agg
    return out


def concat_measures(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """Concatenate measure frames, keeping categorical columns categorical across differing categories."""
    frames = [f for f in frames if len(f)] or frames[:1]
    if len(frames) == 1:
        return frames[0]
    out = {}
    for col in frames[0].columns:
        if isinstance(frames[0][col].dtype, pd.CategoricalDtype):
            out[col] = pd.api.types.union_categoricals([f[col] for f in frames], ignore_order=True)
        else:
            out[col] = np.concatenate([f[col].to_numpy() for f in frames])
    return pd.DataFrame(out)


def finalize(part: Partial, aggregates: dict[str, pd.DataFrame], plan: Plan) -> Results:
    """Build the final tables from merged analyses and aggregated measures."""
    tickets = part.tickets
    if FIRST_ROW in tickets:
        # Tickets in the order they first appear in the export, however the cases were partitioned.
        tickets = tickets.sort_values(FIRST_ROW, kind="stable").drop(columns=FIRST_ROW)
    tickets = tickets.reset_index(drop=True)
    with ThreadPoolExecutor(max_workers=1) as side:
        # The comparison's tables that need neither the variants nor each other go to a second thread meanwhile:
        # most of their time is numpy's, sorts and hashing outside the GIL. They read a shallow copy of the
        # ticket table, to which this thread adds the variant column.
        early = _start_comparison(side, tickets.copy(deep=False), part, aggregates, plan.design) if plan.design is not None else {}
        results = _finalize(part, aggregates, plan, tickets)
        if plan.design is not None:
            results.comparison = _comparison(results, part, aggregates, plan.design, early)
    return results


def _start_comparison(side: ThreadPoolExecutor, tickets: pd.DataFrame, part: Partial, aggregates: dict[str, pd.DataFrame],
                      design: Design) -> dict[str, Any]:
    """Submit the comparison's tables that :func:`_comparison` takes ready-made; return their futures by name."""
    return {
        "groups": side.submit(group_table, part.tables["groups"], _rename_visits(aggregates.get("visits")), part.samples.get("handoffs")),
        "deviations": side.submit(deviation_table, tickets),
        "streams": side.submit(stream_summary, tickets, design),
    }


def _finalize(part: Partial, aggregates: dict[str, pd.DataFrame], plan: Plan, tickets: pd.DataFrame) -> Results:
    """:func:`finalize` of the tickets in export order, but the comparison."""
    t = part.tables
    variants_table = _variants(tickets["activity_path"], PATH_SEP)
    # Each ticket's variant through codes of its path: one lookup per distinct path.
    path_codes, paths = pd.factorize(tickets["activity_path"])
    variant_of = pd.Series(variants_table["variant"].to_numpy(), index=variants_table["key"].to_numpy())
    if (path_codes < 0).any():  # a ticket without a path (none is expected): look each up by name
        tickets["variant"] = tickets["activity_path"].map(variant_of)
    else:
        tickets["variant"] = variant_of.reindex(paths).to_numpy()[path_codes]
    variants_table = variants_table.drop(columns="key")
    vc = _variants(tickets["path"], VC_SEP).drop(columns="key")
    activities = t["activities"].sort_values(["events", "activity"], ascending=[False, True], ignore_index=True)
    summary = LogSummary(
        cases=len(tickets),
        events=int(activities["events"].sum()) if len(activities) else 0,
        activities=len(activities),
        start=tickets["start"].min() if len(tickets) else None,
        end=tickets["end"].max() if len(tickets) else None,
        activity_table=activities[["activity", "events", "cases"]],
    )
    mapping_table, coverage, unmapped = _mapping_table(t["mapping"], plan)
    durations = tickets["duration_s"].to_numpy()
    median, p90 = quantiles(durations, (0.5, 0.9))
    delivered = tickets["delivered"].to_numpy(dtype=bool)
    lead = tickets["lead_time_s"].to_numpy()[delivered]
    lead_q = quantiles(lead, (0.5, 0.9))
    streams_by_path = stream_table(tickets, tickets["path"], variants_table)
    if plan.stream_column is not None:
        group = tickets["stream"].where((tickets["stream"] != NO_STREAM).to_numpy(dtype=bool, na_value=True))
        streams = stream_table(tickets, group, variants_table)
    else:  # the streams are the value-chain paths
        streams = streams_by_path.copy()
    results = Results(
        plan=plan,
        summary=summary,
        tickets=tickets,
        edges=_edges(aggregates.get("edges")),
        start_activities=_named_counts(t["starts"], "count"),
        end_activities=_named_counts(t["ends"], "count"),
        variants=variants_table,
        vc_variants=vc,
        mapping_table=mapping_table,
        coverage=coverage,
        unmapped=unmapped,
        rework_by_activity=_named_counts(t["pm4py_rework"], "cases"),
        case_duration_s={"median": median, "p90": p90, "mean": fmean(durations)},
        lead_time_s={"median": lead_q[0], "p90": lead_q[1], "mean": fmean(lead), "tickets": int(delivered.sum())},
        open_tickets=open_tickets(tickets, plan),
        time_in_state_s={a: int(s) / US for a, s in zip(activities["activity"], activities["time_in_state_us"], strict=True)},
        stream_choice=StreamChoice(plan.stream_column, plan.stream_reason),
        streams=streams,
        streams_by_path=streams_by_path,
        has_groups=part.has_groups,
        tables=t,
    )
    _warn_silent(results)
    return results


SILENT_WARN_SHARE = 0.05  # silent tickets worth a warning: this share of all tickets, and at least 20


def _warn_silent(results: Results) -> None:
    """Warn when many open tickets have gone silent (:func:`dormant_tickets`): name the activities they went
    silent after, which a mapping file may call done."""
    silent = results.open_tickets["silent"]
    if not silent or silent["tickets"] < max(SILENT_MIN_DELIVERED, SILENT_WARN_SHARE * results.summary.cases):
        return
    days = silent["silent_over_s"] / 86400
    items = list(silent["last_activities"].items())
    shown = [f"'{a}' ({n:,})" for a, n in items[:3]]
    after = " or ".join(shown) if len(shown) <= 2 else ", ".join(shown[:-1]) + f" or {shown[-1]}"
    more = sum(n for _, n in items[3:]) + silent["tickets"] - sum(n for _, n in items)
    warning = (f"{silent['tickets']:,} of the {results.open_tickets['tickets']:,} open tickets have had no event for over "
               f"{days:,.0f} day{'s' if round(days) != 1 else ''} before the export's end (95% of delivered tickets take less "
               f"from first event to delivery); they went silent after {after}" + (f" ({more:,} after others)" if more else "")
               + ". If such a state ends a ticket, name it done in a mapping file (vsm mapping init EXPORT -o mapping.toml; "
               "kind = \"done\"); if not, these tickets are stuck. Until then their time to the export's end counts as "
               "waiting (and as rework after a step back)")
    if warning not in results.mapping.warnings:
        results.mapping.warnings.append(warning)


def _comparison(results: Results, part: Partial, aggregates: dict[str, pd.DataFrame], design: Design,
                early: dict[str, Any]) -> Comparison:
    """The comparison with the design; ``early``: the futures of :func:`_start_comparison`."""
    tickets = results.tickets
    t = part.tables
    ex = part.examples
    by_class = {row["class"]: int(row["us"]) / US for _, row in t["by_class"].iterrows()}
    by_class = {c: by_class.get(c, 0.0) for c in CLASSES}
    steps = step_table(tickets, design)
    transitions = _transitions(aggregates.get("waits"), ex)
    pairs = _with_examples(t["pairs"], ["pair"], ex, "pairs").sort_values(["bounces", "pair"], ascending=[False, True], ignore_index=True)
    handoffs = t["handoffs"].copy()
    handoffs["rework_share"] = handoffs["followed_by_rework"] / handoffs["handoffs"] if len(handoffs) else []
    handoffs = _with_examples(handoffs, ["from_group", "to_group"], ex, "handoffs").sort_values(
        ["followed_by_rework", "handoffs", "from_group", "to_group"], ascending=[False, False, True, True], ignore_index=True)
    handoffs = handoffs[["from_group", "to_group", "handoffs", "followed_by_rework", "rework_share", "bounced_back", "examples"]]
    loops = _with_examples(t["loops"], ["from_activity", "to_activity"], ex, "loops").sort_values(
        ["loops", "from_activity", "to_activity"], ascending=[False, True, True], ignore_index=True)
    repeated = _with_examples(t["repeated"], ["activity"], ex, "repeated").sort_values(["tickets", "activity"], ascending=[False, True], ignore_index=True)
    for frame in (pairs, loops, repeated):
        frame.insert(list(frame.columns).index("time_us"), "time_s", frame["time_us"].astype(np.int64) / US)
    pairs, loops, repeated = (f.drop(columns="time_us") for f in (pairs, loops, repeated))
    for frame in (pairs, handoffs, loops, repeated):
        for col in frame.columns:
            if col in ("bounces", "tickets", "handoffs", "followed_by_rework", "bounced_back", "loops", "repetitions", "self_loops"):
                frame[col] = frame[col].astype(np.int64)
    comparison = Comparison(
        design=design,
        streams=early["streams"].result(),
        deviations=early["deviations"].result(),
        pairs=pairs,
        handoffs=handoffs,
        loops=loops,
        repeated=repeated,
        by_class=by_class,
        by_state=_by_state(aggregates.get("states")),
        transitions=transitions,
        flow_efficiency=flow_efficiency(*(tickets[col].to_numpy()[tickets["delivered"].to_numpy(dtype=bool)] for col in ("work_s", "lead_time_s"))),
        steps=steps,
        bottlenecks=_bottlenecks(steps, transitions, by_class),
        groups=early["groups"].result(),
        headline={},
        bottleneck_steps=bottleneck_steps(tickets, design),
        bottleneck_transitions=bottleneck_transitions(transitions, by_class, t.get("wait_via")),
    )
    _mark_not_measured(comparison, tickets, results.coverage)
    for stream in design.streams if design.origin != BUILTIN_ORIGIN else ():  # the built-in streams are a menu: not all apply
        if stream.name not in set(comparison.streams["name"]):
            what = "takes the tickets no other stream matched" if stream.is_default else f"applies to {', '.join(m.describe() for m in stream.applies_to)}"
            warning = f"designed stream {stream.name!r} matches no ticket (it {what}); check its applies_to against the ticket types"
            if warning not in design.warnings:
                design.warnings.append(warning)
    _warn_unrecorded_first_step(comparison, design)
    comparison.headline = headline(tickets, comparison)
    return comparison


UNRECORDED_SHARE = 0.5  # a required first step that most of a stream's tickets skip


def _warn_unrecorded_first_step(c: Comparison, design: Design) -> None:
    """Say when most of a stream's tickets skip its required first step: their first event is already later work.

    That is more often an export that starts after tickets are logged than a
    process that skips them; the skipped figures then measure the export.
    """
    devs = c.deviations
    if not len(devs):
        return
    for stream in design.streams:
        first = stream.steps[0] if stream.steps else None
        if first is None or first.optional:
            continue
        row = devs[(devs["stream"] == stream.name) & (devs["type"] == "skipped") & (devs["step"] == first.label)]
        if len(row) and float(row["share"].iloc[0]) >= UNRECORDED_SHARE:
            r = row.iloc[0]
            warning = (f"stream {stream.name!r}: {counted(r['tickets'], 'ticket')} ({r['share']:.0%}) {'has' if int(r['tickets']) == 1 else 'have'} no {first.label} event, their first "
                       f"event is already later work; if the export starts after tickets are logged, mark that step optional "
                       f"(optional = true) in a design file (vsm design EXPORT -o streams.toml writes one), so that skipping it is not counted as a deviation")
            if warning not in design.warnings:
                design.warnings.append(warning)


def not_measured(tickets: pd.DataFrame, coverage: float) -> dict[str, str]:
    """Which headline figures this log cannot support, and why (as words that follow 'n/a').

    Nothing mapped to the value chain means every path is empty, which
    conforms to any design; no work state means flow efficiency would be 0%
    for want of information, not for want of work.
    """
    out: dict[str, str] = {}
    if coverage < MIN_MAPPED_FOR_CONFORMANCE:
        out["conformance"] = (f"only {coverage:.1%} of events are mapped to the value chain, so paths cannot be compared with the design; "
                              "write a mapping (vsm mapping init) or pass --mapping")
    done = tickets["delivered"].to_numpy(dtype=bool)
    work = math.fsum(tickets["work_s"][done].tolist())
    waiting = math.fsum(tickets["wait_s"][done].tolist())
    if coverage < MIN_MAPPED_FOR_CONFORMANCE:
        why = "no event is mapped to a work or waiting state"
    elif not done.any():
        why = "no ticket reaches a done state such as Resolved or Closed" if len(tickets) else "no tickets"
    else:
        why = "no work states in this export"
    if work <= 0:
        out["flow_efficiency"] = why
    if work + waiting <= 0:
        out["wait_share"] = why
    return out


def _mark_not_measured(c: Comparison, tickets: pd.DataFrame, coverage: float) -> None:
    """Blank the figures the log cannot support, so every output shows n/a rather than a number that misleads."""
    c.not_measured = not_measured(tickets, coverage)
    if "conformance" in c.not_measured:
        c.streams = c.streams.assign(fitness=np.nan, conforming_share=np.nan)
        c.deviations = c.deviations.iloc[0:0]
    if "flow_efficiency" in c.not_measured:
        c.flow_efficiency = {"median": None, "pooled": None}


def open_tickets(tickets: pd.DataFrame, plan: Plan) -> dict[str, Any]:
    """Tickets not delivered at the export's end: how many, how old, in which class of state they are now, and
    how many have gone silent (:func:`dormant_tickets`)."""
    still = ~tickets["delivered"].to_numpy(dtype=bool)
    age = tickets["lead_time_s"].to_numpy()[still]
    median, p90 = quantiles(age, (0.5, 0.9))
    now = tickets["current_class"][still].value_counts()
    return {
        "tickets": int(still.sum()),
        "share": float(still.mean()) if len(still) else 0.0,
        "age_median_s": median,
        "age_p90_s": p90,
        "as_of": pd.Timestamp(plan.as_of, unit="us", tz="UTC").isoformat() if plan.as_of is not None else None,
        "waiting_now": {str(k): int(v) for k, v in sorted(now.items(), key=lambda kv: (-kv[1], str(kv[0])))},
        "silent": dormant_tickets(tickets, plan),
    }


SILENT_QUANTILE = 0.95  # an open ticket is silent when no event came for longer than this share of delivered lead times
SILENT_MIN_DELIVERED = 20  # delivered tickets needed to say what is long
LAST_ACTIVITIES = 5


def dormant_tickets(tickets: pd.DataFrame, plan: Plan) -> dict[str, Any] | None:
    """Open tickets with no event for longer than 95% of delivered tickets take from first event to delivery,
    and the activities they went silent after; None when fewer than 20 tickets are delivered to tell what is long.

    Either those activities end tickets without the mapping knowing it (a done state it does not name), or the
    tickets are stuck: both are the user's to decide, and both make the open tickets' waiting and rework long.
    """
    done = tickets["delivered"].to_numpy(dtype=bool)
    if done.sum() < SILENT_MIN_DELIVERED:
        return None
    limit = float(np.quantile(tickets["lead_time_s"].to_numpy()[done], SILENT_QUANTILE))
    end = tickets["end"]
    as_of = pd.Timestamp(plan.as_of, unit="us", tz="UTC") if plan.as_of is not None else end.max()
    silence = (as_of - end).dt.total_seconds().to_numpy()
    quiet = ~done & (silence > limit)
    last = tickets["activity_path"][quiet].str.rsplit(PATH_SEP, n=1).str[-1].value_counts()
    last = last.sort_index(kind="stable").sort_values(ascending=False, kind="stable")
    return {
        "tickets": int(quiet.sum()),
        "silent_over_s": limit,
        "last_activities": {str(k): int(v) for k, v in last.head(LAST_ACTIVITIES).items()},
    }


def headline(tickets: pd.DataFrame, c: Comparison) -> dict[str, float | None]:
    """Return the figures --fail-on can test (see miner.thresholds.METRICS).

    Lead time, flow efficiency and wait share are over delivered tickets, so
    that flow_efficiency + wait_share + unclassified_share = 1 exactly.
    """
    n = max(len(tickets), 1)
    assigned = tickets[tickets["designed_stream"] != NO_STREAM]
    gone = c.not_measured
    done = tickets["delivered"].to_numpy(dtype=bool)
    lead = tickets["lead_time_s"][done]
    total = math.fsum(lead.tolist())
    waiting = math.fsum(tickets["wait_s"][done].tolist())
    return {
        "fitness": fmean(assigned["fitness"].to_numpy()) if "conformance" not in gone else None,
        "conforming_share": float(assigned["conforming"].mean()) if len(assigned) and "conformance" not in gone else None,
        "rework_rate": float(tickets["any_rework"].sum() / n),
        "reopen_rate": float((tickets["reopens"] > 0).sum() / n),
        "pingpong_rate": float((tickets["bounces"] > 0).sum() / n),
        "flow_efficiency": c.flow_efficiency["pooled"],
        "lead_time_median_h": float(lead.median() / 3600) if len(lead) else None,
        "lead_time_p90_h": float(lead.quantile(0.9) / 3600) if len(lead) else None,
        "wait_share": waiting / total if total and "wait_share" not in gone else None,
        "unclassified_share": math.fsum(tickets["unclassified_s"][done].tolist()) / total if total else None,
        "open_share": float((~done).sum() / n),
    }


def fmean(values: np.ndarray) -> float | None:
    """Mean with exactly rounded summation: the same in any order of the values."""
    values = values[~np.isnan(values)] if len(values) else values
    return math.fsum(values.tolist()) / len(values) if len(values) else None


def _variants(paths: pd.Series, sep: str) -> pd.DataFrame:
    """Number distinct paths: most frequent first, equal counts in path order."""
    counts = paths.value_counts()
    table = pd.DataFrame({"key": counts.index.to_numpy(dtype=object), "cases": counts.to_numpy()})
    table["path"] = [tuple(k.split(sep)) if k else () for k in table["key"]]
    table["length"] = [len(p) for p in table["path"]]
    table["sort"] = [" \x00 ".join(p) for p in table["path"]]
    table = table.sort_values(["cases", "sort"], ascending=[False, True], ignore_index=True).drop(columns="sort")
    table.insert(0, "variant", np.arange(1, len(table) + 1))
    return table[["variant", "cases", "length", "path", "key"]]


def _edges(agg: pd.DataFrame | None) -> pd.DataFrame:
    columns = ["source", "target", "count", "median_wait_s", "p90_wait_s", "mean_wait_s", "total_wait_s"]
    if agg is None or agg.empty:
        return pd.DataFrame(columns=columns)
    total = agg["sum"].astype(np.int64)
    edges = pd.DataFrame({
        "source": agg["source"].astype(str), "target": agg["target"].astype(str), "count": agg["count"].astype(np.int64),
        "median_wait_s": agg["q50"] / US, "p90_wait_s": agg["q90"] / US, "mean_wait_s": total / agg["count"] / US, "total_wait_s": total / US,
    })
    return edges.sort_values(["count", "source", "target"], ascending=[False, True, True], ignore_index=True)[columns]


def _by_state(agg: pd.DataFrame | None) -> pd.DataFrame:
    columns = ["activity", "class", "events", "tickets", "total_s", "median_s", "p90_s", "share"]
    if agg is None or agg.empty:
        return pd.DataFrame(columns=columns)
    sums = agg["sum"].astype(np.int64)
    total = int(sums.sum())
    frame = pd.DataFrame({
        "activity": agg["activity"].astype(str), "class": agg["class"].astype(str), "events": agg["count"].astype(np.int64),
        "tickets": agg["distinct"].astype(np.int64), "total_s": sums / US, "median_s": agg["q50"] / US, "p90_s": agg["q90"] / US,
        "share": sums / total if total else 0.0,
    })
    return frame.sort_values(["total_s", "activity", "class"], ascending=[False, True, True], ignore_index=True)[columns]


def _transitions(agg: pd.DataFrame | None, examples: pd.DataFrame) -> pd.DataFrame:
    columns = ["source", "target", "waits", "tickets", "total_s", "median_s", "examples"]
    if agg is None or agg.empty:
        return pd.DataFrame(columns=[*columns, "label"])
    frame = pd.DataFrame({
        "source": agg["source"].astype(str), "target": agg["target"].astype(str), "waits": agg["count"].astype(np.int64),
        "tickets": agg["distinct"].astype(np.int64), "total_s": agg["sum"].astype(np.int64) / US, "median_s": agg["q50"] / US,
    })
    frame = _with_examples(frame, ["source", "target"], examples, "waits", sep=VC_SEP)
    frame["label"] = [wait_label(a, b) for a, b in zip(frame["source"], frame["target"], strict=True)]
    return frame.sort_values(["total_s", "source", "target"], ascending=[False, True, True], ignore_index=True)[[*columns, "label"]]


def _rename_visits(agg: pd.DataFrame | None) -> pd.DataFrame:
    if agg is None:
        return pd.DataFrame(columns=["group", "count", "distinct", "q50"])
    return agg


def _with_examples(frame: pd.DataFrame, keys: list[str], examples: pd.DataFrame, table: str, sep: str = KEY_SEP) -> pd.DataFrame:
    """Attach each row's example tickets (costliest first) from the merged examples."""
    out = frame.copy()
    if out.empty:
        out["examples"] = pd.Series([], dtype=object)
        return out
    mine = examples[examples["table"] == table]
    by_key = {k: list(g["case_id"]) for k, g in mine.groupby("key", sort=False)}
    joined = out[keys[0]].astype(str) if len(keys) == 1 else out[keys[0]].astype(str) + sep + out[keys[1]].astype(str)
    out["examples"] = [by_key.get(k, []) for k in joined]
    return out


def wait_label(source: str, target: str, *, phrase: bool = False) -> str:
    """Name a wait between two activities plainly: the first and last waits of a ticket have work on one side only.

    A table's label by default (``A → B``); with ``phrase``, words that fit in a sentence ("between 'A' and 'B'").
    """
    if source == START:
        if target in (END, OPEN):
            until = "delivery" if target == END else "the export's end"
            if phrase:
                return f"in {'open ' if target == OPEN else ''}tickets with no work recorded, from the first event until {until}"
            return "no work recorded: from the first event until delivery" if target == END else "no work recorded, still waiting at the export's end"
        return f"before first work, until '{target}'" if phrase else f"before first work ({target})"
    shown = f"'{source}'" if phrase else source
    if target == END:
        return f"after last work ({shown}) until delivery"
    if target == OPEN:
        return f"{'in open tickets ' if phrase else ''}after last work ({shown}), still waiting at the export's end"
    if not phrase:
        return f"{source} → {target}"
    return f"between two runs of '{source}'" if source == target else f"between '{source}' and '{target}'"


def _bottlenecks(steps: pd.DataFrame, transitions: pd.DataFrame, by_class: dict[str, float]) -> pd.DataFrame:
    """Designed steps and waits between activities in one ranking (kept for schema 1.0; the split tables say more)."""
    rows = []
    for r in steps.itertuples(index=False):
        if r.wait_total_s > 0:
            rows.append({"kind": "step", "name": f"{r.stream}: {r.label}", "total_wait_s": r.wait_total_s,
                         "tickets": r.tickets, "median_wait_s": r.wait_median_s, "examples": r.examples_over_target})
    for r in transitions.head(50).itertuples(index=False):
        rows.append({"kind": "transition", "name": r.label, "total_wait_s": r.total_s,
                     "tickets": r.tickets, "median_wait_s": r.median_s, "examples": r.examples})
    frame = pd.DataFrame(rows, columns=["kind", "name", "total_wait_s", "tickets", "median_wait_s", "examples"])
    all_wait = sum(by_class[k] for k in WAIT_CLASSES)
    frame["share_of_waiting"] = frame["total_wait_s"] / all_wait if all_wait else 0.0
    return frame.sort_values(["total_wait_s", "name"], ascending=[False, True], ignore_index=True).head(TOP_BOTTLENECKS)


STEP_COLUMNS = ["stream", "step", "label", "total_wait_s", "tickets", "tickets_waited", "median_wait_s",
                "share_of_step_waiting", "examples", "open_tickets_waited", "open_wait_s"]


def bottleneck_steps(tickets: pd.DataFrame, design: Design) -> pd.DataFrame:
    """Rank designed steps by the waiting before them; every step with waiting, most first.

    ``tickets`` reached the step; ``tickets_waited`` waited before it at all;
    ``median_wait_s`` is the median among those that waited (a median over
    all tickets is 0 s whenever most do not wait); ``share_of_step_waiting``
    is of the waiting at all designed steps, so the shares sum to 1.
    ``open_tickets_waited`` and ``open_wait_s``: the part of it in open
    tickets, still waiting at the export's end (their waiting so far).
    """
    rows = []
    still = ~tickets["delivered"].to_numpy(dtype=bool)
    streams = tickets["designed_stream"].to_numpy(dtype=object) if "designed_stream" in tickets else np.zeros(0, dtype=object)
    ids = tickets["case_id"].astype(str).to_numpy(dtype=object)
    for stream in design.streams:
        idx = np.flatnonzero(streams == stream.name)
        if len(idx) == 0:
            continue
        for j, step in enumerate(stream.steps):
            reached = tickets[f"step{j}_reached"].to_numpy(dtype=bool)[idx]
            wait = tickets[f"step{j}_wait_s"].to_numpy(dtype=np.float64)[idx]
            waited = reached & (wait > 0)
            total = math.fsum(wait[waited].tolist())
            if total <= 0:
                continue
            w, who = wait[waited], ids[idx][waited]
            rows.append({"stream": stream.name, "step": j + 1, "label": step.label, "total_wait_s": total,
                         "tickets": int(reached.sum()), "tickets_waited": int(waited.sum()),
                         "median_wait_s": float(np.median(w)), "examples": [str(x) for x in who[_longest(w, who)]],
                         "open_tickets_waited": int((waited & still[idx]).sum()),
                         "open_wait_s": math.fsum(wait[waited & still[idx]].tolist())})
    frame = pd.DataFrame(rows, columns=[c for c in STEP_COLUMNS if c != "share_of_step_waiting"])
    all_steps = math.fsum(frame["total_wait_s"].tolist())
    frame["share_of_step_waiting"] = frame["total_wait_s"] / all_steps if all_steps else 0.0
    return frame.sort_values(["total_wait_s", "stream", "step"], ascending=[False, True, True], ignore_index=True)[STEP_COLUMNS]


def _longest(values: np.ndarray, ids: np.ndarray, k: int = EXAMPLES) -> np.ndarray:
    """Positions of the ``k`` largest ``values``, ties by id; only the candidates are sorted."""
    kth = np.partition(values, len(values) - min(k, len(values)))[len(values) - min(k, len(values))]
    candidates = np.flatnonzero(values >= kth)
    return candidates[np.lexsort((ids[candidates], -values[candidates]))][:k]


TRANSITION_COLUMNS = ["source", "target", "label", "total_wait_s", "waits", "tickets", "median_wait_s", "share_of_waiting", "examples", "via"]
VIA_TOP = 3  # states named per wait between two activities


def bottleneck_transitions(transitions: pd.DataFrame, by_class: dict[str, float], via: pd.DataFrame | None = None) -> pd.DataFrame:
    """Rank the waits between two activities by their total, each with its share of all waiting (the shares sum to 1).

    ``source`` '(start)' and ``target`` '(end)' stay machine-readable; ``label``
    names them "before first work" and "after last work … until delivery".
    ``via``: the states the waiting was spent in, most first (at most three),
    each with its share of this wait's total ('(idle)': gaps between intervals).
    """
    if transitions.empty:
        return pd.DataFrame(columns=TRANSITION_COLUMNS)
    all_wait = sum(by_class[k] for k in WAIT_CLASSES)
    frame = transitions.rename(columns={"total_s": "total_wait_s", "median_s": "median_wait_s"}).copy()
    frame["share_of_waiting"] = frame["total_wait_s"] / all_wait if all_wait else 0.0
    frame["via"] = _via(frame, via)
    return frame[TRANSITION_COLUMNS].reset_index(drop=True)


def _via(frame: pd.DataFrame, via: pd.DataFrame | None) -> list[list[dict[str, Any]]]:
    """For each wait between two activities, the states its waiting was spent in: [{state, share}], most first."""
    if via is None or via.empty:
        return [[] for _ in range(len(frame))]
    v = via[via["us"] > 0].astype({"source": str, "target": str, "via": str})
    v = v.sort_values(["source", "target", "us", "via"], ascending=[True, True, False, True])
    totals = v.groupby(["source", "target"], sort=False)["us"].transform("sum")
    v = v.assign(share=v["us"] / totals).groupby(["source", "target"], sort=False).head(VIA_TOP)
    named = {k: [{"state": s, "share": float(x)} for s, x in zip(g["via"], g["share"], strict=True)]
             for k, g in v.groupby(["source", "target"], sort=False)}
    return [named.get((str(a), str(b)), []) for a, b in zip(frame["source"], frame["target"], strict=True)]


def _mapping_table(counts: pd.DataFrame, plan: Plan) -> tuple[pd.DataFrame, float, dict[str, int]]:
    """Per activity: events and the class most of its events got; coverage; unmapped events per activity."""
    columns = ["activity", "events", "stage", "rule_stage", "kind", "wait", "practice", "rule"]
    if counts.empty:
        return pd.DataFrame(columns=columns), 1.0, {}
    totals = counts.groupby("activity")["events"].sum()
    mapped = int(counts.loc[counts["rule"] >= 0, "events"].sum())
    all_events = int(counts["events"].sum())
    unmapped_counts = counts[counts["rule"] < 0].groupby("activity")["events"].sum()
    unmapped = {str(a): int(n) for a, n in sorted(unmapped_counts.items(), key=lambda x: (-x[1], str(x[0])))}
    best = counts.sort_values(["activity", "events", "rule"], ascending=[True, False, True]).drop_duplicates("activity")
    rows = []
    for a, r, s in best[["activity", "rule", "stage"]].itertuples(index=False, name=None):
        rl = plan.mapping.rules[r] if r >= 0 else None
        rows.append({
            "activity": str(a), "events": int(totals[a]),
            "stage": label(STAGES[s]) if s >= 0 else UNMAPPED,
            "rule_stage": (INHERIT if rl.stage == INHERIT else label(rl.stage)) if rl else UNMAPPED,
            "kind": rl.kind if rl else UNMAPPED, "wait": rl.wait if rl else None,
            "practice": rl.practice if rl else None, "rule": rl.origin if rl else None,
        })
    table = pd.DataFrame(rows, columns=columns).sort_values(["events", "activity"], ascending=[False, True], ignore_index=True)
    return table, (mapped / all_events if all_events else 1.0), unmapped


def _named_counts(frame: pd.DataFrame, column: str) -> dict[str, int]:
    if frame is None or frame.empty:
        return {}
    ordered = frame.sort_values([column, "activity"], ascending=[False, True])
    return {str(a): int(n) for a, n in zip(ordered["activity"], ordered[column], strict=True)}
