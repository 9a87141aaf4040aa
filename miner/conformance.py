"""Conformance of tickets to their designed stream: optimal alignments at value-chain level.

A ticket's path is its sequence of value-chain stages with consecutive repeats
collapsed (steps narrowed to activities get their own symbols). It is aligned
with the designed steps by dynamic programming, which is exact: a synchronous
move costs 0, a log move (a step the design does not expect there) 1, a model
move (a designed step not taken) 1, or 0 for an optional step; after a
repeatable step the ticket may loop back to it at no cost. Fitness is 1 - cost / (path length + required
steps), the alignment fitness pm4py computes on the equivalent Petri net.

Alignments are computed once per distinct path and joined to the tickets.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from miner.cases import CaseArrays
from miner.design import Design, DesignedStream
from miner.mapping import ALL_KINDS, EventClasses
from miner.valuechain import STAGES, label
from miner.variants import collapse_repeats, variants

DONE = ALL_KINDS.index("done")

SKIPPED = "skipped"
EXTRA = "extra"
REPEATED = "repeated"
OUT_OF_ORDER = "out of order"


@dataclass
class Alignment:
    cost: float
    fitness: float
    moves: list[tuple[str, str]]  # ("sync"|"log"|"model", symbol)
    deviations: list[tuple[str, str]] = field(default_factory=list)  # (type, step label)


def align(path: list[str], stream: DesignedStream, symbols: list[str], *, complete: bool = True) -> Alignment:
    """Return the optimal alignment of ``path`` (symbols) with the stream's steps.

    ``symbols[j]`` is the symbol step j accepts; ``complete`` is false for a
    ticket not yet delivered. The design is the workflow
    net step 1 → step 2 → …, where an optional step has a silent skip and a
    repeatable step a silent arc back to before it: after a repeatable step,
    the ticket may go back and do it again, including after later repeatable
    steps (build → test → build → test).
    """
    steps = stream.steps
    n, m = len(path), len(steps)
    inf = float("inf")
    cost = [[inf] * (m + 1) for _ in range(n + 1)]
    back: list[list[tuple[int, int, str] | None]] = [[None] * (m + 1) for _ in range(n + 1)]
    cost[0][0] = 0.0
    for i in range(n + 1):
        row, brow = cost[i], back[i]
        # Moves that consume no log symbol: model moves forward, silent loops back.
        changed = True
        while changed:
            changed = False
            for j in range(m):
                step_cost = 0.0 if steps[j].optional else 1.0
                if row[j] + step_cost < row[j + 1]:
                    row[j + 1] = row[j] + step_cost
                    brow[j + 1] = (i, j, "model")
                    changed = True
            for j in range(m, 0, -1):
                if steps[j - 1].repeat and row[j] < row[j - 1]:
                    row[j - 1] = row[j]
                    brow[j - 1] = (i, j, "loop")
                    changed = True
        if i == n:
            break
        nxt, bnxt = cost[i + 1], back[i + 1]
        for j in range(m + 1):
            c = row[j]
            if c == inf:
                continue
            if j < m and path[i] == symbols[j] and c < nxt[j + 1]:
                nxt[j + 1] = c
                bnxt[j + 1] = (i, j, "sync")
            if c + 1.0 < nxt[j]:
                nxt[j] = c + 1.0
                bnxt[j] = (i, j, "log")
    # A ticket still open at the export's end is judged on the steps so far:
    # its alignment may stop anywhere in the design (a prefix alignment).
    end = m if complete else min(range(m + 1), key=lambda j: (cost[n][j], -j))
    moves: list[tuple[str, str]] = []
    i, j = n, end
    while (i, j) != (0, 0):
        pi, pj, kind = back[i][j]  # type: ignore[misc]
        if kind == "model":
            moves.append(("model", symbols[pj]))
        elif kind in ("sync", "log"):
            moves.append((kind, path[pi]))
        i, j = pi, pj
    moves.reverse()
    required = sum(1 for s in steps[:end] if not s.optional)
    total = cost[n][end]
    worst = n + required
    fitness = 1.0 - total / worst if worst else 1.0
    result = Alignment(total, fitness, moves)
    result.deviations = _deviations(moves, stream, symbols)
    return result


def _deviations(moves: list[tuple[str, str]], stream: DesignedStream, symbols: list[str]) -> list[tuple[str, str]]:
    """Name the deviations of an alignment: skipped, extra, repeated and out-of-order steps."""
    synced = {s for kind, s in moves if kind == "sync"}
    skipped = [s for kind, s in moves if kind == "model" and not stream.steps[symbols.index(s)].optional]
    logged = [s for kind, s in moves if kind == "log"]
    out: list[tuple[str, str]] = []
    for s in skipped:
        if s in logged:
            logged.remove(s)  # done, but elsewhere than designed
            out.append((OUT_OF_ORDER, _symbol_label(s, stream, symbols)))
        else:
            out.append((SKIPPED, _symbol_label(s, stream, symbols)))
    for s in logged:
        kind = REPEATED if s in synced else EXTRA
        out.append((kind, _symbol_label(s, stream, symbols)))
    return out


def _symbol_label(symbol: str, stream: DesignedStream, symbols: list[str]) -> str:
    if symbol in symbols:
        return stream.steps[symbols.index(symbol)].label
    stage, _, _ = symbol.partition("|")
    return label(stage) + (" (other activities)" if "|" in symbol else "")


def step_symbols(stream: DesignedStream) -> list[str]:
    """Return the symbol each step accepts: its stage, or stage|k for the k-th narrowed step of a stage."""
    out = []
    for j, step in enumerate(stream.steps):
        out.append(f"{step.stage}|{j}" if step.activities else step.stage)
    return out


def event_symbols(arrays: CaseArrays, classes: EventClasses, stream: DesignedStream) -> tuple[np.ndarray, np.ndarray]:
    """Return each event's symbol code for one stream: stage, or the narrowed step its activity belongs to."""
    stage = classes.stage.astype(np.int64)
    codes = stage.copy()  # stage index; narrowed steps get codes beyond the stages
    names = list(STAGES)
    narrowed = [(j, step) for j, step in enumerate(stream.steps) if step.activities]
    if narrowed:
        acts = arrays.activity_names
        for j, step in narrowed:
            code_in = np.isin(acts, list(step.activities))
            hit = (stage == STAGES.index(step.stage)) & code_in[arrays.activity]
            names.append(f"{step.stage}|{j}")
            codes[hit] = len(names) - 1
        for stage_name in {step.stage for _, step in narrowed}:
            # Events of a narrowed stage that no narrowed step names are 'other'.
            other = (stage == STAGES.index(stage_name)) & (codes < len(STAGES))
            if not any(not s.activities and s.stage == stage_name for s in stream.steps):
                names.append(f"{stage_name}|other")
                codes[other] = len(names) - 1
    return codes, np.array(names, dtype=object)


DEVIATION_SEP = "\x1f"  # joins type and step in a ticket's deviation list
EXAMPLES = 5


def align_tickets(arrays: CaseArrays, classes: EventClasses, design: Design, assigned: np.ndarray, path: np.ndarray,
                  still_open: np.ndarray) -> pd.DataFrame:
    """Return per ticket its alignment fitness with its designed stream, its deviations, and whether it is still open.

    ``path`` flags the events of each ticket's value-chain path (its work, and
    the intake queue it starts in: waits and bookkeeping never add a step).
    Plan events are left out unless the stream names plan as a step: plan
    guides the whole stream. Tickets not yet delivered (``still_open``) are
    judged on the steps they have reached so far. Deviations are strings
    'type<US>step'. Tickets no stream applies to get NaN fitness.
    """
    n = arrays.n_cases
    fitness = np.full(n, np.nan)
    no_deviation = np.empty(1, dtype=object)
    no_deviation[0] = []
    # One shared empty list, as tickets of one path share theirs: a list per ticket costs more than the alignments.
    deviations = no_deviation[np.zeros(n, dtype=np.intp)]
    for s_index, stream in enumerate(design.streams):
        cases = np.flatnonzero(assigned == s_index)
        if len(cases) == 0:
            continue
        codes, names = event_symbols(arrays, classes, stream)
        keep_event = np.isin(arrays.case, cases) & path & (classes.stage >= 0)
        narrowed = {STAGES.index(step.stage) for step in stream.steps if step.activities}
        if narrowed:
            # A delivery in a stage narrowed to activities is not one of them, and no extra step either.
            keep_event &= ~((classes.kind == DONE) & np.isin(classes.stage, list(narrowed)))
        if not any(step.stage == "plan" for step in stream.steps):
            keep_event &= classes.stage != STAGES.index("plan")
        case_of = arrays.case[keep_event]
        dense = np.searchsorted(cases, case_of)
        starts = np.searchsorted(dense, np.arange(len(cases) + 1)).astype(np.int64)
        sym, starts, _ = collapse_repeats(codes[keep_event], dense, starts)
        var = variants(sym, starts, names)
        symbols = step_symbols(stream)
        is_open = still_open[cases]
        paths = list(var.table["path"])
        # One alignment per distinct (path, still open), spread to the tickets by index.
        key = var.of_case.astype(np.int64) * 2 + is_open.astype(np.int64)
        unique_keys, inverse = np.unique(key, return_inverse=True)
        aligned = [align(list(paths[k // 2]), stream, symbols, complete=not (k % 2)) for k in unique_keys.tolist()]
        fitness[cases] = np.array([a.fitness for a in aligned])[inverse]
        per_key = np.empty(len(aligned), dtype=object)
        per_key[:] = [[f"{t}{DEVIATION_SEP}{step}" for t, step in a.deviations] for a in aligned]
        deviations[cases] = per_key[inverse]
    return pd.DataFrame({"fitness": fitness, "deviations": deviations, "open": still_open})


def stream_summary(tickets: pd.DataFrame, design: Design) -> pd.DataFrame:
    """Return per designed stream: tickets, mean fitness, share conforming, tickets still open."""
    slim = tickets[["designed_stream", "case_id", "fitness", "conforming", "open"]]  # not a copy of every ticket column
    assigned = slim[slim["designed_stream"] != NO_STREAM]
    summary = assigned.groupby("designed_stream", sort=False).agg(
        tickets=("case_id", "size"), fitness=("fitness", lambda f: math.fsum(f.tolist()) / len(f)),
        conforming_share=("conforming", "mean"), open=("open", "sum"),
    ).reset_index().rename(columns={"designed_stream": "name"})
    order = {s.name: i for i, s in enumerate(design.streams)}
    return summary.sort_values("name", key=lambda c: c.map(order), ignore_index=True)


NO_STREAM = "(none)"


def explode_deviations(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with one row per deviation of its ``deviations`` lists, in order (as ``DataFrame.explode``, then
    dropping tickets without one), built with numpy: pandas' explode took most of a second at 10M events."""
    lists = frame["deviations"].to_numpy(dtype=object)
    lengths = np.zeros(len(lists), dtype=np.int64)
    listed = ~pd.isna(lists)  # a list (missing: none)
    if listed.any():
        lengths[listed] = np.frompyfunc(len, 1, 1)(lists[listed]).astype(np.int64)
    flat = np.fromiter(itertools.chain.from_iterable(lists[lengths > 0].tolist()), dtype=object, count=int(lengths.sum()))
    rows = np.repeat(np.arange(len(lists)), lengths)
    keep = pd.notna(flat)
    return frame.iloc[rows[keep]].assign(deviations=flat[keep])


def deviation_table(tickets: pd.DataFrame) -> pd.DataFrame:
    """Return per stream and deviation: tickets, share, and the median lead time it adds over conforming tickets.

    Lead times are of delivered tickets on both sides (an open ticket's age is
    no lead time). Examples are the deviating tickets with the longest lead times.
    """
    columns = ["stream", "type", "step", "tickets", "share", "median_extra_lead_s", "examples"]
    tickets = tickets.assign(lead_time_s=tickets["lead_time_s"].where(tickets["delivered"].to_numpy(dtype=bool)))
    frame = tickets[["designed_stream", "case_id", "lead_time_s", "deviations"]].rename(columns={"designed_stream": "stream"})
    exploded = explode_deviations(frame)
    if exploded.empty:
        return pd.DataFrame(columns=columns)
    # Split the distinct deviations, not every ticket's (a million rows at 10M events).
    codes, distinct = pd.factorize(exploded["deviations"])
    split = [str(d).split(DEVIATION_SEP, 1) for d in distinct]
    exploded["type"] = np.array([p[0] for p in split], dtype=object)[codes]
    exploded["step"] = np.array([p[1] if len(p) > 1 else np.nan for p in split], dtype=object)[codes]
    exploded = exploded.drop_duplicates(["stream", "case_id", "type", "step"])
    slim = tickets[["designed_stream", "conforming", "lead_time_s"]]  # not a copy of every ticket column
    assigned = slim[slim["designed_stream"] != NO_STREAM]
    totals = assigned.groupby("designed_stream").size()
    conforming_lead = assigned[assigned["conforming"]].groupby("designed_stream")["lead_time_s"].median()
    table = exploded.groupby(["stream", "type", "step"], sort=False).agg(tickets=("case_id", "size"), median_lead=("lead_time_s", "median")).reset_index()
    ranked = exploded.sort_values(["stream", "type", "step", "lead_time_s", "case_id"], ascending=[True, True, True, False, True])
    examples = ranked.groupby(["stream", "type", "step"], sort=False)["case_id"].agg(lambda c: [str(x) for x in c.head(EXAMPLES)])
    table["examples"] = [examples[(a, b, c)] for a, b, c in zip(table["stream"], table["type"], table["step"], strict=True)]
    table["share"] = table["tickets"] / table["stream"].map(totals)
    table["median_extra_lead_s"] = table["median_lead"] - table["stream"].map(conforming_lead)
    table = table.sort_values(["stream", "tickets", "type", "step"], ascending=[True, False, True, True], ignore_index=True)
    return table[columns]
