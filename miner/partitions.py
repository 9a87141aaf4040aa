"""The protocol both partitioned engines follow (worker processes on this
machine, :mod:`miner.parallel`, and Spark, :mod:`miner.spark`).

1. A sample of the export's first rows decides the source and the case
   column, by which the rows are cut.
2. The rows are cut into partitions of whole cases.
3. Pass one: each partition is loaded into the canonical event table, by the
   same code as a whole export, and described (:func:`describe`): load report,
   date extremes, activities, ticket-type profile. :func:`plan_from` merges
   the descriptions into the load report and the plan, as the embedded engine
   decides them for a whole log. The partitions must agree on how the export
   reads (source, columns, date format …); the counts in the reports' texts
   add up (:func:`connectors.report.tally`).
4. Pass two: :func:`miner.analysis.analyse` on each partition; the partials
   merge (:func:`miner.results.combine`) and :func:`miner.results.finalize`
   builds the results.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow as pa

from connectors.report import LoadReport, merge_reports
from connectors.sanity import add_warnings, date_stats, merge_date_stats
from miner.analysis import MEASURES, SAMPLES, TABLE_KEYS, Partial, Plan
from miner.cases import case_arrays
from miner.discovery import latest_moment, resolve_as_of
from miner.design import Design, load_design
from miner.filters import FilterNote, Filters
from miner.mapping import Mapping, check_user_rules, resolve_mapping
from miner.streams import attribute_profile, choose_stream_attribute

SAMPLE_ROWS = 20_000
PROFILE_COLUMNS = ["attribute", "value", "tickets"]


@dataclass
class Description:
    """What pass one learns about one partition."""

    report: LoadReport
    stats: dict[str, object]  # connectors.sanity.date_stats
    activities: list[str]
    profile: pd.DataFrame  # attribute, value, tickets
    columns: list[str]
    latest_us: int | None = None  # the partition's latest moment (timestamps and end timestamps), µs


def describe(log: pd.DataFrame, report: LoadReport) -> Description:
    """Describe one loaded partition for :func:`plan_from`."""
    arrays = case_arrays(log)
    return Description(report, date_stats(log), sorted(map(str, log["activity"].cat.categories)),
                       attribute_profile(log, arrays), [str(c) for c in log.columns], latest_moment(arrays))


def describe_filtered(log: pd.DataFrame, report: LoadReport, filters: Filters) -> tuple[pd.DataFrame, Description, list[FilterNote]]:
    """Filter one loaded partition (whole tickets) and describe it; return the kept table, its description and the filters' notes.

    The date figures are of the loaded rows (the load report's checks, which
    one process makes before filtering); the rest is of the tickets kept, as
    one process plans the filtered log.
    """
    if not filters:
        return log, describe(log, report), []
    stats = date_stats(log)
    log, notes = filters.apply(log, allow_empty=True)
    if not len(log):
        return log, Description(report, stats, sorted(map(str, log["activity"].cat.categories)),
                                pd.DataFrame(columns=PROFILE_COLUMNS), [str(c) for c in log.columns]), notes
    described = describe(log, report)
    described.stats = stats
    return log, described, notes


class Disagreement(Exception):
    """The partitions were read differently (another date order, say): the merged report would not be the whole's."""


def plan_from(
    parts: list[Description],
    first: LoadReport,
    mapping: Mapping | str | Path | None,
    design: Design | str | Path | bool | None,
    stream_by: str | None,
    *,
    strict: bool = True,
    as_of: str | None = None,
) -> tuple[Plan, LoadReport]:
    """Merge the partitions' descriptions into the load report and decide the plan for the whole log.

    If the partitions disagree on how the export reads, raise
    :class:`Disagreement` when ``strict``; otherwise keep the texts of
    ``first`` (the first rows) and add a warning.
    """
    report, disagree = merge_reports([p.report for p in parts], first)
    if disagree and strict:
        raise Disagreement("; ".join(disagree))
    if disagree:
        report.warnings.append(f"partitions of the export read differently ({'; '.join(disagree)}); "
                               "the load notes are those of the first rows")
    report.finish()
    add_warnings(report, merge_date_stats([p.stats for p in parts]))
    frames = [p.profile for p in parts if len(p.profile)]
    if frames:
        profile = pd.concat(frames, ignore_index=True).groupby(["attribute", "value"], dropna=False)["tickets"].sum().reset_index()
    else:
        profile = pd.DataFrame(columns=PROFILE_COLUMNS)
    columns = next((p.columns for p in parts if p.columns), [])
    activities = set().union(*(p.activities for p in parts)) if parts else set()
    rules = mapping if isinstance(mapping, Mapping) else resolve_mapping(mapping, first.source)
    check_user_rules(rules, activities, columns)
    choice = choose_stream_attribute(columns, profile, stream_by)
    if design is True:
        design = load_design(None)
    elif design is False:
        design = None
    elif design is not None and not isinstance(design, Design):
        design = load_design(design)
    latest = [p.latest_us for p in parts if p.latest_us is not None]
    end = resolve_as_of(as_of, max(latest) if latest else None)
    return Plan(first.source, rules, choice.column, choice.reason, design, end), report


def partial_frames(part: Partial) -> dict[str, pd.DataFrame]:
    """A partial analysis as named frames, for sending between processes as Arrow (:func:`partial_from`)."""
    frames = {"tickets": part.tickets, "examples": part.examples, "has_groups": pd.DataFrame({"v": [part.has_groups]})}
    frames.update({f"table:{name}": table for name, table in part.tables.items()})
    frames.update({f"measure:{name}": measure for name, measure in part.measures.items()})
    frames.update({f"sample:{name}": sample for name, sample in part.samples.items()})
    return frames


def partial_from(frames: dict[str, pd.DataFrame]) -> Partial:
    """The partial analysis :func:`partial_frames` gave the frames of."""
    tables = {name: frames.get(f"table:{name}", pd.DataFrame()) for name in TABLE_KEYS}
    measures = {name: frames[f"measure:{name}"] for name in MEASURES if f"measure:{name}" in frames}
    samples = {name: frames[f"sample:{name}"] for name in SAMPLES if f"sample:{name}" in frames}
    return Partial(frames["tickets"], tables, measures, frames["examples"], bool(frames["has_groups"]["v"].iloc[0]), samples)


def to_arrow(frame: pd.DataFrame) -> pa.Table:
    return pa.Table.from_pandas(frame.reset_index(drop=True), preserve_index=False)


def write_frames(frames: dict[str, pd.DataFrame], folder: Path) -> Path:
    """Write frames as Arrow IPC files into ``folder`` (one per frame); return the folder."""
    folder.mkdir(parents=True, exist_ok=True)
    for i, (name, frame) in enumerate(frames.items()):
        table = to_arrow(frame)
        table = table.replace_schema_metadata({**(table.schema.metadata or {}), b"vsm_name": name.encode()})
        with pa.OSFile(str(folder / f"{i:03d}.arrow"), "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
            writer.write_table(table)
    return folder


def read_frames(folder: Path) -> dict[str, pd.DataFrame]:
    """The frames :func:`write_frames` wrote, by name."""
    out = {}
    for file in sorted(folder.glob("*.arrow")):
        with pa.memory_map(str(file)) as source:
            table = pa.ipc.open_file(source).read_all()
        out[table.schema.metadata[b"vsm_name"].decode()] = table.to_pandas()
    return out
