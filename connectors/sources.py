"""The registry of sources and the one entry point, :func:`load`."""

from __future__ import annotations

import difflib
import os

import pandas as pd

from connectors import generic, jira, servicenow, store, xes, zendesk
from connectors.errors import BadOption, UnknownSource, UnreadableExport
from connectors.limits import check_memory
from connectors.options import LoadOptions
from connectors.probe import FrameProbe, Probe, Source
from connectors.report import LoadReport
from connectors.sanity import check_loaded
from connectors.textio import TextTable

# Most specific first: a vendor's export is also a valid generic table.
SOURCES: list[Source] = [*servicenow.SOURCES, *jira.SOURCES, *zendesk.SOURCES, *xes.SOURCES, *generic.SOURCES]
SOURCE_NAMES = ["auto", *(s.name for s in SOURCES)]


def load(path: str | os.PathLike[str], source: str = "auto", **options: object) -> tuple[pd.DataFrame, LoadReport]:
    """Load an export into the canonical event table, with its load report.

    ``source`` is ``"auto"`` or one of :data:`SOURCE_NAMES`. ``options`` are
    the fields of :class:`~connectors.options.LoadOptions` (``case_col``,
    ``activity_col`` …) and the date options ``dayfirst``, ``monthfirst``,
    ``date_format`` and ``timezone``.
    """
    opts = options.pop("_options", None) or LoadOptions.from_kwargs(**options)
    if store.is_store(path):  # a folder `vsm pull` wrote
        return store.load_store(path, source, opts)
    if os.path.isdir(path):
        raise UnreadableExport(f"{path}: a folder, not an export nor a store that vsm pull finished (no {store.STATE}); "
                               "give a file, or pull into the folder again")
    probe = Probe(path, opts)  # type: ignore[arg-type]
    check_memory(probe.sniffed)  # before anything reads the whole file
    chosen, reason = _choose(probe, source)
    _check_names(probe, chosen, opts)  # type: ignore[arg-type]
    table, report = chosen.load(probe, opts)  # type: ignore[arg-type]
    report.source = chosen.name
    report.source_reason = reason
    report.flags.insert(0, f"--source {chosen.name}")
    report.finish()
    check_loaded(table, report)
    return table, report


def load_table(
    path: str | os.PathLike[str], table: TextTable, source: str = "auto", options: LoadOptions | None = None, *, check: bool = True,
    kind: str = "text",
) -> tuple[pd.DataFrame, LoadReport]:
    """Load a table already in memory (strings, placeholders null) as if it were the export at ``path``.

    ``kind`` is the sniffed kind of the file it came from ("text" or
    "parquet"). The partitioned engines call this on each partition of an export; ``check``
    false leaves the whole-log checks (implausible dates) to the caller, and
    the report's texts marked for merging (:func:`connectors.report.tally`).
    """
    opts = options or LoadOptions()
    probe = FrameProbe(path, opts, table, kind)
    chosen, reason = _choose(probe, source)
    _check_names(probe, chosen, opts)
    log, report = chosen.load(probe, opts)
    report.source = chosen.name
    report.source_reason = reason
    report.flags.insert(0, f"--source {chosen.name}")
    if check:
        report.finish()
        check_loaded(log, report)
    return log, report


def _check_names(probe: Probe, chosen: Source, options: LoadOptions) -> None:
    """Refuse --names for an export whose ids it cannot name (only Zendesk's are named so far)."""
    if options.names and not chosen.name.startswith("zendesk"):
        raise BadOption(f"{probe.path}: --names names the group and user ids of a Zendesk export, but this is {chosen.name}; leave --names out")


def _choose(probe: Probe, source: str) -> tuple[Source, str]:
    if source != "auto":
        for s in SOURCES:
            if s.name == source:
                return s, "given with --source"
        close = difflib.get_close_matches(source, SOURCE_NAMES, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise UnknownSource(f"unknown source {source!r} (choose from {', '.join(SOURCE_NAMES)}){hint}")
    for s in SOURCES:
        reason = s.detect(probe)
        if reason:
            return s, reason
    raise UnknownSource(
        f"{probe.path}: not a kind of export vsm knows ({probe.kind}); "
        f"pass --source with one of {', '.join(SOURCE_NAMES[1:])}"
    )
