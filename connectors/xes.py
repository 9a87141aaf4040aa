"""XES event logs (IEEE 1849), plain or gzipped.

Trace attributes become ticket attributes named ``case:<key>`` (as pm4py
names them); ``concept:name`` of the trace is the case id, of the event the
activity; ``time:timestamp``, ``org:resource``, ``org:group`` and
``lifecycle:transition`` fill their roles. Lifecycle start/complete pairs
become intervals as :mod:`connectors.lifecycle` explains.
"""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from typing import IO

import numpy as np
import pandas as pd
from lxml import etree

from connectors.errors import EmptyExport, UnreadableExport
from connectors.options import LoadOptions
from connectors.probe import Probe, Source
from connectors.report import LoadReport
from connectors.tabular import Roles, build_events
from connectors.textio import Sniff

CASE_KEY = "case:concept:name"
SIMPLE_TYPES = {"string", "date", "int", "float", "boolean", "id"}


def detect_xes(probe: Probe) -> str | None:
    if probe.kind == "gzip-xes":
        return "gzip file holding XML whose root is <log> (XES)"
    if probe.kind == "xes" and "<log" in probe.sniffed.text_head[:4096]:
        return "XML whose root element is <log> (XES)"
    return None


def load_xes(probe: Probe, options: LoadOptions) -> tuple[pd.DataFrame, LoadReport]:
    """Load an XES or XES.gz file."""
    sniffed = probe.sniffed
    columns, n_events, n_traces = _parse(sniffed)
    if n_events == 0:
        raise EmptyExport(f"{sniffed.path}: the XES log has {n_traces} traces but no events")
    frame = pd.DataFrame({k: pd.Series(v, dtype="str") for k, v in columns.items()})
    report = LoadReport(str(sniffed.path), "xes", "")
    report.notes.append(f"{n_traces:,} traces, {n_events:,} events")
    given = options.given_columns()
    roles = Roles(
        case_id=given.get("case_id", CASE_KEY),
        activity=given.get("activity", "concept:name"),
        timestamp=given.get("timestamp", "time:timestamp"),
        end_timestamp=given.get("end_timestamp"),
        resource=given.get("resource", "org:resource" if "org:resource" in frame else None),
        group=given.get("group", "org:group" if "org:group" in frame else None),
        lifecycle="lifecycle:transition" if "lifecycle:transition" in frame else None,
    )
    for role in ("case_id", "activity", "timestamp", "resource", "group"):
        col = getattr(roles, role)
        if col is not None:
            why = "given" if role in given else "XES standard extension key"
            report.choose(role, col, why)
    if roles.lifecycle:
        report.choose("lifecycle", roles.lifecycle, "XES lifecycle extension key")
    missing = [c for c in (roles.case_id, roles.timestamp, *roles.activity.split("+")) if c not in frame]
    if missing:
        from connectors.errors import MissingColumn

        raise MissingColumn(
            f"{sniffed.path}: the XES events have no {missing[0]!r} attribute "
            f"(keys: {', '.join(sorted(frame.columns)[:12])}); pass the key to use with --activity-col or --timestamp-col"
        )
    source_rows = np.arange(1, n_events + 1, dtype=np.int64)
    table = build_events(frame, roles, source_rows, report, options, rows_read=n_events, drop_duplicates=False)
    return table, report


def _open(sniffed: Sniff) -> IO[bytes]:
    if sniffed.kind == "gzip-xes":
        return gzip.open(sniffed.path, "rb")
    return sniffed.path.open("rb")


def _parse(sniffed: Sniff) -> tuple[dict[str, list[object]], int, int]:
    """Return event columns (attribute key -> values, None where absent)."""
    columns: dict[str, list[object]] = {}
    n_events = 0
    n_traces = 0
    trace_attrs: dict[str, object] = {}
    try:
        with _open(sniffed) as fh:
            for kind, key, value in _walk(fh):
                if kind == "trace-start":
                    trace_attrs = {}
                elif kind == "trace-attr":
                    trace_attrs["case:" + key] = value
                elif kind == "event":
                    event: dict[str, object] = value  # type: ignore[assignment]
                    event.update(trace_attrs)
                    for k, v in event.items():
                        col = columns.get(k)
                        if col is None:
                            col = columns[k] = [None] * n_events
                        col.append(v)
                    n_events += 1
                    for k, col in columns.items():
                        if len(col) < n_events:
                            col.append(None)
                elif kind == "trace-end":
                    n_traces += 1
    except etree.XMLSyntaxError as exc:
        raise UnreadableExport(
            f"{sniffed.path}: the XES file is not well-formed XML ({exc.msg}, line {exc.lineno}); "
            "it may be truncated: export it again"
        ) from exc
    except (OSError, EOFError) as exc:
        raise UnreadableExport(f"{sniffed.path}: the file is damaged or truncated ({exc})") from exc
    return columns, n_events, n_traces


def _walk(fh: IO[bytes]) -> Iterator[tuple[str, str, object]]:
    """Yield trace starts and ends, trace attributes and events, in file order."""
    depth_in_event = False
    event: dict[str, object] = {}
    context = etree.iterparse(fh, events=("start", "end"), huge_tree=True, remove_comments=True)
    stack: list[str] = []
    for action, elem in context:
        tag = etree.QName(elem).localname
        if action == "start":
            stack.append(tag)
            if tag == "trace":
                yield ("trace-start", "", None)
            elif tag == "event":
                depth_in_event = True
                event = {}
            continue
        stack.pop()
        if tag == "event":
            depth_in_event = False
            yield ("event", "", event)
            elem.clear()
        elif tag == "trace":
            yield ("trace-end", "", None)
            elem.clear()
        elif tag in SIMPLE_TYPES and stack:
            parent = stack[-1]
            key = elem.get("key")
            if key is None:
                continue
            if depth_in_event and parent == "event":
                event[key] = elem.get("value")
            elif parent == "trace":
                yield ("trace-attr", key, elem.get("value"))


SOURCES = [Source("xes", "XES event log (IEEE 1849), plain or .xes.gz", detect_xes, load_xes)]
