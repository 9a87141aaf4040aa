"""Analysis of one set of whole cases: the part of mining that runs per partition.

Everything vsm computes is a function of single cases, so a log can be cut into
partitions of whole cases, each analysed on its own (here, or by Spark), and the
results merged (:mod:`miner.results`). One :class:`Partial` holds:

* ``tickets``: one row per ticket with everything about it (paths, lead time,
  time per stage and per designed step, rework, conformance);
* ``tables``: small additive tables (counts and sums keyed by activity, group,
  pair …) that merge by summing;
* ``measures``: one value per event or per wait, behind every median and
  percentile, which merge by concatenation or aggregate where they live;
* ``samples``: one row per item that a whole-log statistic needs
  individually (every hand-off, for the groups' tests), which merge by
  concatenation and are used only after the merge;
* ``examples``: the costliest example tickets per finding, which merge by
  keeping the costliest.

The embedded engine analyses the whole log as one partition, so both engines
run the same code.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from connectors.eventlog import RESOURCE, SOURCE_ROW
from miner.accounting import Accounting, account, idle_transitions, instance_ends, intake_events, path_events
from miner.cases import US, CaseArrays, case_arrays
from miner.conformance import NO_STREAM, align_tickets
from miner.design import Design, assign_streams
from miner.dfg import edge_waits
from miner.groups import group_part
from miner.mapping import Mapping, apply_labels, apply_mapping
from miner.rework import Rework, examples_frame, rework, top_examples
from miner.stats import distinct_per_key
from miner.steps import returns, step_values
from miner.streams import case_values
from miner.tickets import ticket_table
from miner.valuechain import LABELS, STAGES
from miner.variants import collapse_repeats, variants
from miner.waits import wait_part

PATH_SEP = "\x1f"  # joins activities in a ticket's activity path
FIRST_ROW = "_first_row"  # a ticket's first source row, by which merged partitions are ordered (then dropped)
VC_SEP = " → "  # joins value-chain stages in a ticket's value-chain path

# Additive tables: their key columns; every other column is summed on merge.
# Times in them, and in the measures, are whole microseconds (int64, columns
# ending in _us), so that sums are exact in any order of partitions.
TABLE_KEYS: dict[str, list[str]] = {
    "activities": ["activity"],  # events, cases, time_in_state_s
    "starts": ["activity"],
    "ends": ["activity"],
    "mapping": ["activity", "rule", "stage"],  # events
    "pm4py_rework": ["activity"],  # cases in which the activity occurs twice or more
    "stream_edges": ["stream", "source", "target"],  # count, for a model per stream
    "stream_ends": ["stream", "kind", "activity"],  # count of start and end activities per stream
    "pairs": ["pair"],
    "repeated": ["activity"],
    "handoffs": ["from_group", "to_group"],
    "loops": ["from_activity", "to_activity"],
    "by_class": ["class"],
    "groups": ["group"],
    "wait_via": ["source", "target", "via"],  # us: the waiting between two works, by the state it was spent in
}


@dataclass(frozen=True)
class MeasureSpec:
    keys: tuple[str, ...]
    value: str
    quantiles: tuple[float, ...]
    distinct: str | None = None  # a column whose distinct values are counted per key (tickets)


MEASURES: dict[str, MeasureSpec] = {
    "edges": MeasureSpec(("source", "target"), "wait_us", (0.5, 0.9)),
    "states": MeasureSpec(("activity", "class"), "duration_us", (0.5, 0.9), "case_id"),
    "waits": MeasureSpec(("source", "target"), "t_us", (0.5,), "case_id"),
    "visits": MeasureSpec(("group",), "t_us", (0.5,), "case_id"),
}


# Samples: their names (see Partial.samples).
SAMPLES = ("handoffs",)  # sender, receiver, ticket_type, us: one row per hand-off (miner.groups.group_part)


# Tickets per key of the measures that count them: distinct case ids, exact
# within a partition of whole cases, so these tables add up like the others.
TABLE_KEYS.update({f"tickets_{name}": list(spec.keys) for name, spec in MEASURES.items() if spec.distinct})


@dataclass(frozen=True)
class Plan:
    """What is decided once for the whole log, before any partition is analysed."""

    source: str
    mapping: Mapping
    stream_column: str | None
    stream_reason: str
    design: Design | None = None  # None: discovery only (vsm mine)
    as_of: int | None = None  # µs: the export's end, until which open tickets' current states run (None: each partition's latest moment)


@dataclass
class Partial:
    tickets: pd.DataFrame
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    measures: dict[str, pd.DataFrame] = field(default_factory=dict)
    examples: pd.DataFrame = field(default_factory=lambda: top_examples(pd.DataFrame()))
    has_groups: bool = False
    samples: dict[str, pd.DataFrame] = field(default_factory=dict)


def analyse(log: pd.DataFrame, plan: Plan) -> Partial:
    """Analyse the whole cases in ``log`` (the canonical table) under ``plan``."""
    log = apply_labels(log, plan.mapping)  # a mapping file's [labels] name activity codes, in every engine
    arrays = case_arrays(log)
    classes = apply_mapping(log, arrays, plan.mapping)
    ends = idle = None
    if LIFECYCLE in log.columns:
        ends = instance_ends(arrays, log[LIFECYCLE])
        idle = idle_transitions(log[LIFECYCLE], ends)
    acc = account(arrays, classes, plan.as_of, ends, idle)
    intake = intake_events(arrays, classes, acc)
    classes.stage[intake] = STAGES.index("engage")  # the queue a ticket is logged into is engage, whatever its rule says
    path = path_events(arrays, classes, acc, intake)
    names = arrays.activity_names.astype(str)

    act_var = variants(arrays.activity, arrays.case_start, arrays.activity_names)
    act_paths = np.array([PATH_SEP.join(p) for p in act_var.table["path"]], dtype=object)
    vc_var = _value_chain_variants(arrays, classes, path)
    vc_paths = np.array([VC_SEP.join(p) for p in vc_var.table["path"]], dtype=object)
    # Per case, as strings taken from the distinct values (converting a string per case costs more).
    vc_of_case = pd.array(vc_paths, dtype="str").take(vc_var.of_case)
    if plan.stream_column is not None:
        types = case_values(log[plan.stream_column], arrays).fillna(NO_STREAM).astype(str).to_numpy()
        type_codes, type_names = pd.factorize(types)
        streams = types
    else:  # the stream is the value-chain path: its variant is its code
        type_codes, first = pd.factorize(vc_var.of_case)
        type_names = vc_paths[first]
        streams, types = vc_of_case, None

    tickets = ticket_table(arrays, classes, acc, vc_paths=vc_of_case, streams=streams)
    tickets["activity_path"] = pd.array(act_paths, dtype="str").take(act_var.of_case)
    tickets["first_activity"] = pd.array(names, dtype="str").take(arrays.activity[arrays.case_start[:-1]])
    # The ticket's first row in the export: partitions merge back into the export's order of tickets.
    rows = log[SOURCE_ROW].to_numpy(dtype=np.int64)
    tickets[FIRST_ROW] = np.minimum.reduceat(rows, arrays.case_start[:-1]) if arrays.n_cases else np.zeros(0, dtype=np.int64)

    tables = _discovery_tables(arrays, classes, type_codes, np.asarray(type_names, dtype=object))
    src, dst, wait = edge_waits(arrays)
    categories = pd.Index(names)
    measures = {"edges": pd.DataFrame({"source": pd.Categorical.from_codes(src, categories=categories),
                                       "target": pd.Categorical.from_codes(dst, categories=categories), "wait_us": wait.astype(np.int64)})}
    part = Partial(tickets, tables, measures, has_groups=arrays.group is not None and bool((arrays.group >= 0).any()))
    if plan.design is not None:
        _compare(log, arrays, classes, acc, path, plan.design, part, types)
    _count_tickets(part)
    return part


def _count_tickets(part: Partial) -> None:
    """Count the tickets per key of each measure that asks for it; the measure then drops its case ids."""
    for name, spec in MEASURES.items():
        if spec.distinct and name in part.measures:
            frame = part.measures[name]
            part.tables[f"tickets_{name}"] = distinct_per_key(frame, list(spec.keys), spec.distinct)
            part.measures[name] = frame.drop(columns=[spec.distinct])


def _value_chain_variants(arrays: CaseArrays, classes, path: np.ndarray) -> object:  # type: ignore[no-untyped-def]
    """Variants over value-chain stages of the path events (work and the intake queue), consecutive repeats
    collapsed; plan, which guides the whole stream, is left out."""
    mapped = path & (classes.stage != STAGES.index("plan"))
    codes = classes.stage[mapped].astype(np.int64)
    case = arrays.case[mapped]
    starts = np.searchsorted(case, np.arange(arrays.n_cases + 1)).astype(np.int64)
    codes, starts, _ = collapse_repeats(codes, case, starts)
    return variants(codes, starts, np.array([LABELS[s] for s in STAGES], dtype=object))


def _cases_per_activity(case: np.ndarray, act: np.ndarray, n_cases: int, n_act: int) -> tuple[np.ndarray, np.ndarray]:
    """Per activity: the cases it occurs in, and those where it occurs at least twice."""
    width = max(n_act, 1)
    key = case.astype(np.int64) * width + act
    if n_cases * width <= 4 * len(key) + 1024:  # a count per (case, activity) fits: no hashing
        per_pair = np.bincount(key, minlength=n_cases * width).reshape(-1, width)
        return (per_pair > 0).sum(axis=0)[:n_act], (per_pair >= 2).sum(axis=0)[:n_act]
    pair_counts = pd.Series(key).value_counts()
    pair_act = (pair_counts.index.to_numpy() % width).astype(np.int64)
    return np.bincount(pair_act, minlength=n_act), np.bincount(pair_act[pair_counts.to_numpy() >= 2], minlength=n_act)


def _value_counts3(x: np.ndarray, y: np.ndarray, z: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``DataFrame({x, y, z}).value_counts()`` of small non-negative-or-minus-one integer codes, by one bincount:
    the distinct triples in the same order (the most frequent first, ties in order of appearance), and their counts."""
    if len(x) == 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, empty, empty
    lo = [int(v.min()) for v in (x, y, z)]
    span = [int(v.max()) - m + 1 for v, m in zip((x, y, z), lo, strict=True)]
    if span[0] * span[1] * span[2] > 4 * len(x) + 1024:  # too many possible triples for a count each
        m = pd.DataFrame({"x": x, "y": y, "z": z}).value_counts().reset_index(name="n")
        return m["x"].to_numpy(), m["y"].to_numpy(), m["z"].to_numpy(), m["n"].to_numpy()
    key = ((x - lo[0]) * span[1] + (y - lo[1])) * span[2] + (z - lo[2])
    counts = np.bincount(key, minlength=span[0] * span[1] * span[2])
    present = np.flatnonzero(counts)
    first = np.full(len(counts), len(key), dtype=np.int64)
    np.minimum.at(first, key, np.arange(len(key)))
    k = present[np.lexsort((first[present], -counts[present]))]  # the most frequent first, ties in order of appearance
    return k // (span[1] * span[2]) + lo[0], (k // span[2]) % span[1] + lo[1], k % span[2] + lo[2], counts[k]


def _discovery_tables(arrays: CaseArrays, classes, type_codes: np.ndarray, type_names: np.ndarray) -> dict[str, pd.DataFrame]:  # type: ignore[no-untyped-def]
    """Additive tables of one partition; ``type_codes`` per case index into ``type_names``, its ticket types."""
    names = arrays.activity_names.astype(str).astype(object)
    n_act = len(names)
    act = arrays.activity.astype(np.int64)
    events = np.bincount(act, minlength=n_act)
    cases, repeated = _cases_per_activity(arrays.case, act, arrays.n_cases, n_act)
    time_in_state = pd.Series(arrays.duration_to_next.astype(np.int64)).groupby(act).sum().reindex(range(n_act), fill_value=0).to_numpy()
    used = events > 0
    tables = {
        "activities": pd.DataFrame({"activity": names, "events": events, "cases": cases, "time_in_state_us": time_in_state})[used],
        "pm4py_rework": pd.DataFrame({"activity": names, "cases": repeated})[repeated > 0],
    }
    for kind, mask in (("starts", arrays.is_first), ("ends", arrays.is_last)):
        counts = np.bincount(act[mask], minlength=n_act)
        tables[kind] = pd.DataFrame({"activity": names, "count": counts})[counts > 0]
    # Mapping: events per (activity, rule, resolved stage), to name each activity's usual class.
    rule = classes.rule.astype(np.int64)
    stage = classes.stage.astype(np.int64)
    a, r, st, events = _value_counts3(act, rule, stage)
    tables["mapping"] = pd.DataFrame({"activity": names[a], "rule": r, "stage": st, "events": events})
    # Directly-follows counts and start/end activities per ticket type, for a model per stream.
    width = max(n_act, 1)
    if arrays.n_events > 1:
        follows = arrays.same_case_next
        key = (type_codes[arrays.case[:-1][follows]].astype(np.int64) * width + act[:-1][follows]) * width + act[1:][follows]
        counts = pd.Series(key).value_counts(sort=False)
        k = counts.index.to_numpy()
        tables["stream_edges"] = pd.DataFrame({"stream": type_names[k // (width * width)], "source": names[(k // width) % width],
                                               "target": names[k % width], "count": counts.to_numpy()})
    else:
        tables["stream_edges"] = pd.DataFrame(columns=["stream", "source", "target", "count"])
    ends = []
    for kind, mask in (("start", arrays.is_first), ("end", arrays.is_last)):
        key = type_codes[arrays.case[mask]].astype(np.int64) * width + act[mask]
        counts = pd.Series(key).value_counts(sort=False)
        k = counts.index.to_numpy()
        ends.append(pd.DataFrame({"stream": type_names[k // width], "kind": kind, "activity": names[k % width], "count": counts.to_numpy()}))
    tables["stream_ends"] = pd.concat(ends, ignore_index=True)
    return tables


def _compare(log: pd.DataFrame, arrays: CaseArrays, classes, acc: Accounting, path: np.ndarray, design: Design,  # type: ignore[no-untyped-def]
             part: Partial, ticket_types: np.ndarray | None) -> None:
    """Compare the cases with the design; ``ticket_types`` per case (None: the designed stream is the type)."""
    tickets = part.tickets
    columns = {m.column for s in design.streams for m in (s.applies_to or ()) if m.column != "stream"}
    attrs = pd.DataFrame({c: case_values(log[c], arrays).reset_index(drop=True) for c in columns if c in log.columns})
    assigned = assign_streams(design, pd.Series(tickets["stream"].to_numpy(), dtype=object), attrs)
    stream_names = np.array([s.name for s in design.streams] + [NO_STREAM], dtype=object)
    tickets["designed_stream"] = stream_names[np.where(assigned >= 0, assigned, len(design.streams))]

    aligned = align_tickets(arrays, classes, design, assigned, path, ~acc.delivered)
    tickets["fitness"] = aligned["fitness"].to_numpy()
    tickets["deviations"] = aligned["deviations"].to_numpy()
    tickets["open"] = aligned["open"].to_numpy()
    tickets["conforming"] = tickets["fitness"] >= 1.0 - 1e-12

    rank = _stage_rank(arrays.case, classes.stage, design, assigned)
    rw: Rework = rework(arrays, classes, acc, rank, _instance_steps(log), _person(log))
    per = rw.per_ticket.drop(columns=["case"])
    for col in per.columns:
        tickets[col] = per[col].to_numpy()

    wp = wait_part(arrays, acc)
    back = returns(arrays, classes, acc, rw.event_kind["backflow"].to_numpy(), acc.reopen)
    steps = step_values(arrays, classes, acc, design, assigned, path, back)
    for col in steps.columns:
        tickets[col] = steps[col].to_numpy()
    # The type that holds a hand-off's comparison: the ticket-type attribute, else the designed stream
    # (not the value-chain path, which the hand-off's own consequences change).
    kind = ticket_types if ticket_types is not None else tickets["designed_stream"].to_numpy(dtype=object)
    groups, visits, handoff_values = group_part(arrays, wp.time_class, acc.time_us, rw, acc.in_lead, kind)
    part.samples["handoffs"] = handoff_values

    part.tables.update({"pairs": rw.pairs, "repeated": rw.repeated, "handoffs": rw.handoffs, "loops": rw.loops,
                        "by_class": wp.by_class, "groups": groups, "wait_via": wp.via})
    part.measures.update({"states": wp.states, "waits": wp.runs, "visits": visits})
    runs = wp.runs
    src, dst = runs["source"].cat, runs["target"].cat
    pair_codes, used = pd.factorize(src.codes.to_numpy().astype(np.int64) * len(dst.categories) + dst.codes.to_numpy())
    used = np.asarray(used, dtype=np.int64)
    pair_names = np.array([f"{src.categories[u // len(dst.categories)]}{VC_SEP}{dst.categories[u % len(dst.categories)]}" for u in used], dtype=object)
    wait_examples = examples_frame("waits", pair_codes, runs["case_id"].cat.codes.to_numpy(), runs["t_us"].to_numpy() / US,
                                   arrays, key_names=pair_names)
    part.examples = top_examples(pd.concat([rw.examples, wait_examples], ignore_index=True))


LIFECYCLE = "lifecycle:transition"


def _person(log: pd.DataFrame) -> np.ndarray | None:
    """Per event, a code for the person who did it (-1: none named); None when the log names nobody."""
    if RESOURCE not in log.columns:
        return None
    return log[RESOURCE].astype("category").cat.codes.to_numpy()


def _instance_steps(log: pd.DataFrame) -> np.ndarray | None:
    """Events that move an activity instance along its XES lifecycle without completing it (schedule, start …)."""
    if LIFECYCLE not in log.columns:
        return None
    values = log[LIFECYCLE].astype("category")
    names = pd.Index(values.cat.categories.astype(str).str.lower())
    partial = ~names.isin(["complete", "completed"])
    codes = values.cat.codes.to_numpy()
    return np.where(codes >= 0, partial[np.maximum(codes, 0)], False)


def _stage_rank(case: np.ndarray, stage: np.ndarray, design: Design, assigned: np.ndarray) -> np.ndarray:
    """Per event: its stage's position in its ticket's designed order.

    A stage the design lacks ranks -1: work there is an extra step
    (conformance), never a backflow; so is plan unless the design names it.
    Tickets no stream applies to follow the value chain's order.
    """
    table = np.full((len(design.streams) + 1, len(STAGES)), -1, dtype=np.int64)
    for i, stream in enumerate(design.streams):
        for name, rank in stream.stage_rank().items():
            table[i, STAGES.index(name)] = rank
    table[len(design.streams), 1:] = np.arange(len(STAGES) - 1)
    row = np.where(assigned >= 0, assigned, len(design.streams))[case]
    return np.where(stage >= 0, table[row, np.maximum(stage, 0)], -1)

