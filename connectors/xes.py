"""XES event logs (IEEE 1849), plain or gzipped.

Trace attributes become ticket attributes named ``case:<key>`` (as pm4py
names them); ``concept:name`` of the trace is the case id, of the event the
activity; ``time:timestamp``, ``org:resource``, ``org:group`` and
``lifecycle:transition`` fill their roles. Lifecycle start/complete pairs
become intervals as :mod:`connectors.lifecycle` explains.
"""

from __future__ import annotations

import html
import re
from typing import IO

import numpy as np
import pandas as pd
from lxml import etree

from connectors.errors import EmptyExport, UnreadableExport
from connectors.options import LoadOptions
from connectors.probe import Probe, Source
from connectors.report import LoadReport, counted
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
        raise EmptyExport(f"{sniffed.path}: the XES log has {n_traces:,} trace{'' if n_traces == 1 else 's'} but no events")
    frame = pd.DataFrame({k: pd.Series(v, dtype="str") for k, v in columns.items()})
    report = LoadReport(str(sniffed.path), "xes", "")
    report.notes.append(f"{counted(n_traces, 'trace')}, {counted(n_events, 'event')}")
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
    return sniffed.open()  # unpacked as it is read when the file is gzip


# XES attributes as nearly every tool writes them: <string key="…" value="…"/>.
_TOKEN = re.compile(
    r'<(/?)(trace|event)\b[^>]*>|<(?:string|date|int|float|boolean|id)\s+key="([^"]*)"\s+value="([^"]*)"\s*/?>'
)


def _parse(sniffed: Sniff) -> tuple[dict[str, list[object]], int, int]:
    """Return event columns (attribute key -> values, None where absent), events and traces.

    Flat logs are tokenised with one regular expression and assembled with
    numpy; logs with nested attributes (lists, containers) or unusual markup
    go through lxml, which is slower but reads any well-formed XES.
    """
    try:
        with _open(sniffed) as fh:
            data = fh.read()
    except (OSError, EOFError) as exc:
        raise UnreadableExport(f"{sniffed.path}: the file is damaged or truncated ({exc})") from exc
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = ""
    if text and "<list" not in text and "<container" not in text:
        fast = _parse_flat(text)
        if fast is not None:
            if fast[1] == 0 or "</log>" in text[-4096:]:
                return fast
            raise UnreadableExport(f"{sniffed.path}: the XES file ends before </log>; it is truncated: export it again")
    return _parse_lxml(sniffed)


def _parse_flat(text: str) -> tuple[dict[str, list[object]], int, int] | None:
    tokens = _TOKEN.findall(text)
    if not tokens:
        return {}, 0, 0
    grid = np.array(tokens, dtype=object)
    tag = grid[:, 1].astype("U5")
    close = grid[:, 0].astype("U1")
    attribute = tag == ""
    # Every attribute written with key="…" must have been read; otherwise the
    # markup is unusual (value before key, single quotes) and lxml reads it.
    written = text.count(' key="') + text.count('\tkey="') + text.count('\nkey="')
    if int(attribute.sum()) != written:
        return None
    key = grid[:, 2]
    value = grid[:, 3]
    trace_start = (tag == "trace") & (close == "")
    event_start = (tag == "event") & (close == "")
    event_end = (tag == "event") & (close == "/")
    in_event = (np.cumsum(event_start) - np.cumsum(event_end)) > 0
    trace_id = np.cumsum(trace_start)
    event_id = np.cumsum(event_start) - 1
    n_events = int(event_start.sum())
    n_traces = int(trace_start.sum())
    if "&" in text:
        value[attribute] = [html.unescape(v) if "&" in v else v for v in value[attribute]]
    columns: dict[str, list[object]] = {}
    ev = attribute & in_event
    ev_key, ev_event, ev_value = key[ev], event_id[ev], value[ev]
    for k in dict.fromkeys(ev_key.tolist()):
        col = np.full(n_events, None, dtype=object)
        sel = ev_key == k
        col[ev_event[sel]] = ev_value[sel]
        columns[k] = col.tolist()
    # Trace attributes belong to every event of their trace (trace 0 is the log header).
    event_trace = trace_id[event_start]
    tr = attribute & ~in_event & (trace_id > 0)
    tr_key, tr_trace, tr_value = key[tr], trace_id[tr], value[tr]
    for k in dict.fromkeys(tr_key.tolist()):
        per_trace = np.full(n_traces + 1, None, dtype=object)
        sel = tr_key == k
        per_trace[tr_trace[sel]] = tr_value[sel]
        columns["case:" + k] = per_trace[event_trace].tolist()
    return columns, n_events, n_traces


def _parse_lxml(sniffed: Sniff) -> tuple[dict[str, list[object]], int, int]:
    records: list[dict[str, object]] = []
    n_traces = 0
    try:
        with _open(sniffed) as fh:
            context = etree.iterparse(fh, events=("end",), tag=("{*}event", "{*}trace"), huge_tree=True, remove_comments=True)
            trace_start = 0
            for _, elem in context:
                if etree.QName(elem).localname == "event":
                    records.append({c.get("key"): c.get("value") for c in elem if _simple(c)})
                    elem.clear(keep_tail=False)
                    continue
                # The trace's own attributes are its direct children other than events.
                attrs = {"case:" + c.get("key"): c.get("value") for c in elem if _simple(c)}
                for record in records[trace_start:]:
                    record.update(attrs)
                trace_start = len(records)
                n_traces += 1
                elem.clear(keep_tail=False)
                while elem.getprevious() is not None:
                    del elem.getparent()[0]
    except etree.XMLSyntaxError as exc:
        if "encoding" in exc.msg.lower():
            raise UnreadableExport(
                f"{sniffed.path}: the XES file is not in the encoding its XML declaration names "
                f"({exc.msg}); save it again as UTF-8"
            ) from exc
        raise UnreadableExport(
            f"{sniffed.path}: the XES file is not well-formed XML ({exc.msg}, line {exc.lineno}); "
            "it may be truncated: export it again"
        ) from exc
    except (OSError, EOFError) as exc:
        raise UnreadableExport(f"{sniffed.path}: the file is damaged or truncated ({exc})") from exc
    frame = pd.DataFrame.from_records(records) if records else pd.DataFrame()
    columns = {str(k): frame[k].tolist() for k in frame.columns if k is not None}
    return columns, len(records), n_traces


def _simple(child: etree._Element) -> bool:
    tag = child.tag
    return isinstance(tag, str) and tag.rsplit("}", 1)[-1] in SIMPLE_TYPES and child.get("key") is not None


SOURCES = [Source("xes", "XES event log (IEEE 1849), plain or .xes.gz", detect_xes, load_xes)]
