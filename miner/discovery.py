"""The miner's entry points: discover the value streams of a log, and compare
them with the designed ones.

Both plan once for the whole log (mapping rules, the ticket-type attribute),
analyse the log as one partition of whole cases, and finalize the merged
result: the same three steps the Spark engine runs over many partitions.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from connectors.eventlog import ACTIVITY
from miner.analysis import Plan, analyse
from miner.cases import case_arrays
from miner.design import Design, load_design
from miner.mapping import Mapping, check_user_rules, resolve_mapping
from miner.results import Results, aggregate_measures, finalize
from miner.streams import attribute_profile, choose_stream_attribute


def make_plan(
    log: pd.DataFrame,
    mapping: Mapping | str | Path | None = None,
    *,
    stream_by: str | None = None,
    source: str = "csv",
    design: Design | str | Path | bool | None = None,
) -> Plan:
    """Decide, for the whole log, the mapping rules, the ticket-type attribute and the design.

    ``design`` is a :class:`Design`, a design file, True for the built-in
    design, or None/False for discovery only.
    """
    if not isinstance(mapping, Mapping):
        mapping = resolve_mapping(mapping, source)
    check_user_rules(mapping, set(map(str, log[ACTIVITY].cat.categories)), [str(c) for c in log.columns])
    choice = choose_stream_attribute([str(c) for c in log.columns], attribute_profile(log, case_arrays(log)), stream_by)
    if design is True:
        design = load_design(None)
    elif design is False:
        design = None
    elif design is not None and not isinstance(design, Design):
        design = load_design(design)
    return Plan(source, mapping, choice.column, choice.reason, design)


def run(log: pd.DataFrame, plan: Plan) -> Results:
    """Analyse ``log`` under ``plan`` on this machine."""
    part = analyse(log, plan)
    return finalize(part, aggregate_measures(part.measures, part.tables), plan)


def discover(
    log: pd.DataFrame,
    mapping: Mapping | str | Path | None = None,
    *,
    stream_by: str | None = None,
    source: str = "csv",
) -> Results:
    """Return the directly-follows graph, variants, value streams and per-ticket table of ``log``.

    ``mapping`` is a :class:`Mapping`, the path of a mapping file, or None for
    the built-in rules of ``source`` (the load report's source name). The
    result's ``edges``, ``variants``, ``streams`` and ``tickets`` are DataFrames.
    """
    return run(log, make_plan(log, mapping, stream_by=stream_by, source=source))


def compare(
    log: pd.DataFrame,
    design: Design | str | Path | None = None,
    mapping: Mapping | str | Path | None = None,
    *,
    stream_by: str | None = None,
    source: str = "csv",
) -> Results:
    """Discover ``log`` and compare every ticket with its designed stream (``results.comparison``)."""
    return run(log, make_plan(log, mapping, stream_by=stream_by, source=source, design=design if design is not None else True))
