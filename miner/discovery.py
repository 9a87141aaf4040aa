"""Discovery: from a canonical event log to the value streams that actually happened."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from miner.cases import US, CaseArrays, case_arrays
from miner.dfg import Dfg, directly_follows
from miner.mapping import EventClasses, Mapping, apply_mapping, resolve_mapping
from miner.rework import rework_cases_per_activity
from miner.stats import quantiles
from miner.streams import StreamChoice, case_values, choose_stream_attribute, stream_table
from miner.tickets import Timing, ticket_table, timing
from miner.valuechain import LABELS, STAGES
from miner.variants import Variants, collapse_repeats, variants

PATH_SEPARATOR = " → "


@dataclass
class Discovery:
    """Everything discovery found; the DataFrames are the public results."""

    arrays: CaseArrays
    mapping: Mapping
    classes: EventClasses
    timing: Timing
    dfg: Dfg
    activity_variants: Variants
    vc_variants: Variants
    rework_by_activity: dict[str, int]
    case_duration_s: dict[str, float | None]
    stream_choice: StreamChoice
    streams: pd.DataFrame
    streams_by_path: pd.DataFrame
    tickets: pd.DataFrame

    @property
    def edges(self) -> pd.DataFrame:
        return self.dfg.edges

    @property
    def variants(self) -> pd.DataFrame:
        return self.activity_variants.table


def discover(
    log: pd.DataFrame,
    mapping: Mapping | str | Path | None = None,
    *,
    stream_by: str | None = None,
    source: str = "csv",
) -> Discovery:
    """Return the directly-follows graph, variants, value streams and per-ticket table of ``log``.

    ``mapping`` is a :class:`Mapping`, the path of a mapping file, or None for
    the built-in rules of ``source`` (the load report's source name).
    """
    arrays = case_arrays(log)
    if not isinstance(mapping, Mapping):
        mapping = resolve_mapping(mapping, source)
    classes = apply_mapping(log, arrays, mapping)
    tim = timing(arrays, classes)
    dfg = directly_follows(arrays)
    act_variants = variants(arrays.activity, arrays.case_start, arrays.activity_names)
    vc = value_chain_variants(arrays, classes)
    vc_path_of_case = np.array([PATH_SEPARATOR.join(p) for p in vc.table["path"]], dtype=object)
    vc_paths = vc_path_of_case[vc.of_case] if arrays.n_cases else np.zeros(0, dtype=object)

    choice = choose_stream_attribute(log, arrays, stream_by)
    if choice.column is not None:
        group = case_values(log[choice.column], arrays)
    else:
        group = pd.Series(vc_paths, dtype=object)
    tickets = ticket_table(
        arrays, classes, tim, variant_of_case=act_variants.of_case, vc_paths=vc_paths,
        streams=group.fillna("(none)").astype(str).to_numpy(),
    )
    streams = stream_table(tickets, group, act_variants.table)
    by_path = stream_table(tickets, pd.Series(vc_paths, dtype=object), act_variants.table)

    durations = (arrays.case_last_ts - arrays.case_first_ts) / US
    median, p90 = quantiles(durations, (0.5, 0.9))
    return Discovery(
        arrays=arrays,
        mapping=mapping,
        classes=classes,
        timing=tim,
        dfg=dfg,
        activity_variants=act_variants,
        vc_variants=vc,
        rework_by_activity=rework_cases_per_activity(arrays),
        case_duration_s={"median": median, "p90": p90, "mean": float(durations.mean()) if len(durations) else None},
        stream_choice=choice,
        streams=streams,
        streams_by_path=by_path,
        tickets=tickets,
    )


def value_chain_variants(arrays: CaseArrays, classes: EventClasses) -> Variants:
    """Return variants over value-chain stages, consecutive repeats collapsed into one step.

    Unmapped events are left out of the path.
    """
    mapped = classes.stage >= 0
    codes = classes.stage[mapped].astype(np.int64)
    case = arrays.case[mapped]
    starts = np.searchsorted(case, np.arange(arrays.n_cases + 1)).astype(np.int64)
    codes, starts, _ = collapse_repeats(codes, case, starts)
    names = np.array([LABELS[s] for s in STAGES], dtype=object)
    return variants(codes, starts, names)
