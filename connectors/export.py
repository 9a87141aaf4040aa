"""Write the canonical event table for other tools: XES, XES.gz, CSV, Parquet.

What is written is the table vsm's connectors built (snapshots folded,
hand-offs and pickups derived, rejected rows left out), so pm4py, Disco, ProM
or Celonis see the same events vsm mines.

* **XES** (IEEE 1849-2016): one trace per case with ``concept:name`` and the
  ticket's attributes (those constant over the case); events carry
  ``concept:name``, ``time:timestamp``, ``org:resource``, ``org:group`` and
  their own attributes. Where the log has intervals (``end_timestamp``), an
  interval is a ``start`` and a ``complete`` event, and an event without an end
  is a ``complete``; vsm and pm4py join them back. Written a chunk of events at
  a time, never as a document tree, with every value escaped.
* **CSV / Parquet** use pm4py's column names: ``case:concept:name``,
  ``concept:name``, ``time:timestamp`` (the event's time, the start of an
  interval), ``end_timestamp``, ``org:resource``, ``org:group``; ticket
  attributes are ``case:<name>``, event attributes keep their names.

``source_row`` is left out: it numbers the rows of the input, not of the
written file. Ties keep vsm's order, since every writer keeps the table's row
order and pm4py sorts stably.
"""

from __future__ import annotations

import gzip
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import numpy as np
import pandas as pd

from connectors.errors import BadOption, OutputError
from connectors.eventlog import ACTIVITY, CASE_ID, END_TIMESTAMP, GROUP, RESOURCE, SOURCE_ROW, TIMESTAMP

FORMATS = (".xes", ".xes.gz", ".csv", ".parquet")
# Events per chunk of XES text: bounds the writer's memory whatever the log's size.
CHUNK = 50_000

PM4PY_NAMES = {CASE_ID: "case:concept:name", ACTIVITY: "concept:name", TIMESTAMP: "time:timestamp",
               END_TIMESTAMP: "end_timestamp", RESOURCE: "org:resource", GROUP: "org:group"}
_INTERNAL = {SOURCE_ROW, "_sequence", "_build_order"}


def output_format(path: str | os.PathLike[str]) -> str:
    """The format ``path``'s name asks for, or a one-line error."""
    name = str(path).lower()
    for suffix in (".xes.gz", ".xes", ".csv", ".parquet"):
        if name.endswith(suffix):
            return suffix
    raise BadOption(f"{path}: cannot tell the format to write from the name; end it in {', '.join(FORMATS)}")


def attribute_levels(log: pd.DataFrame) -> tuple[list[str], list[str]]:
    """Split the attribute columns into ticket attributes (one value per case) and event attributes."""
    names = [c for c in log.columns if c not in PM4PY_NAMES and c not in _INTERNAL]
    if not names:
        return [], []
    case = log[CASE_ID].cat.codes.to_numpy() if isinstance(log[CASE_ID].dtype, pd.CategoricalDtype) else pd.factorize(log[CASE_ID])[0]
    first = np.r_[True, case[1:] != case[:-1]]
    start = np.flatnonzero(first)
    owner = np.cumsum(first) - 1
    trace, event = [], []
    for name in names:
        codes = pd.factorize(log[name], use_na_sentinel=True)[0]
        (trace if (codes == codes[start][owner]).all() else event).append(name)
    return trace, event


def _trace_key(name: str) -> str:
    return name[5:] if name.startswith("case:") else name


def to_frame(log: pd.DataFrame) -> pd.DataFrame:
    """The event table under pm4py's column names (what CSV and Parquet hold)."""
    trace, event = attribute_levels(log)
    out = {}
    for column, name in PM4PY_NAMES.items():
        if column in log:
            out[name] = log[column]
    for name in trace:
        out["case:" + _trace_key(name)] = log[name]
    for name in event:
        out[name if name not in out else f"event:{name}"] = log[name]
    return pd.DataFrame(out)


def write(log: pd.DataFrame, path: str | os.PathLike[str]) -> int:
    """Write ``log`` to ``path`` in the format its name gives; return the events written.

    The file is written next to its target and moved into place, so a failed
    write never leaves half a file under the target's name.
    """
    fmt = output_format(path)
    target = Path(path)
    tmp = target.with_name(f".{target.name}.part")
    try:
        if fmt in (".xes", ".xes.gz"):
            opener = gzip.open if fmt == ".xes.gz" else open
            with opener(tmp, "wb") as fh:
                n = write_xes(log, fh)
        elif fmt == ".csv":
            frame = to_frame(log)
            _iso_columns(frame).to_csv(tmp, index=False, encoding="utf-8", lineterminator="\n")
            n = len(frame)
        else:
            frame = to_frame(log)
            _write_parquet(frame, tmp)
            n = len(frame)
        os.replace(tmp, target)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise OutputError(f"{target}: cannot write the event log ({exc.strerror or exc}); check the folder and free space") from exc
    return n


def _write_parquet(frame: pd.DataFrame, path: Path) -> None:
    """Parquet with plain string columns: pandas reads dictionary columns back as categories, which pm4py refuses."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(frame, preserve_index=False)
    fields = [pa.field(f.name, f.type.value_type) if pa.types.is_dictionary(f.type) else f for f in table.schema]
    schema = pa.schema(fields)  # no pandas metadata: it would restore the categories
    pq.write_table(table.cast(schema), path)


def _iso_columns(frame: pd.DataFrame) -> pd.DataFrame:
    """Timestamps as ISO 8601 with their UTC offset, which every tool reads the same way."""
    out = frame.copy()
    for name in out.columns:
        if isinstance(out[name].dtype, pd.DatetimeTZDtype):
            out[name] = _iso(out[name])
    return out


def _iso(values: pd.Series) -> np.ndarray:
    """ISO 8601 text with microseconds and '+00:00' (None where missing)."""
    arr = values.to_numpy(dtype="datetime64[us]")
    text = np.datetime_as_string(arr, unit="us").astype(object) + "+00:00"
    text[np.isnat(arr)] = None
    return text


# --- XES ---------------------------------------------------------------------

# Characters XML 1.0 cannot hold at all; they are dropped.
_INVALID_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")

HEADER = """<?xml version="1.0" encoding="UTF-8"?>
<log xes.version="1849-2016" xes.features="" xmlns="http://www.xes-standard.org/">
  <extension name="Concept" prefix="concept" uri="http://www.xes-standard.org/concept.xesext"/>
  <extension name="Time" prefix="time" uri="http://www.xes-standard.org/time.xesext"/>
  <extension name="Organizational" prefix="org" uri="http://www.xes-standard.org/org.xesext"/>
  <extension name="Lifecycle" prefix="lifecycle" uri="http://www.xes-standard.org/lifecycle.xesext"/>
  <global scope="trace">
    <string key="concept:name" value="__INVALID__"/>
  </global>
  <global scope="event">
    <string key="concept:name" value="__INVALID__"/>
    <date key="time:timestamp" value="1970-01-01T00:00:00.000+00:00"/>
  </global>
  <classifier name="Activity" keys="concept:name"/>
"""


def escape(text: str) -> str:
    """``text`` as an XML attribute value: markup and line breaks escaped, characters XML cannot hold dropped."""
    text = _INVALID_XML.sub("", text)
    return (text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
            .replace("\n", "&#10;").replace("\r", "&#13;").replace("\t", "&#9;"))


def _elements(values: pd.Series, key: str, indent: str) -> np.ndarray:
    """One XES attribute element per value ('' where missing), typed by the column's dtype."""
    k = escape(key)
    dtype = values.dtype
    if isinstance(dtype, pd.DatetimeTZDtype):
        text = _iso(values)
        out = np.where(pd.isna(text), "", np.char.add(f'{indent}<date key="{k}" value="', text.astype(str)).astype(object) + '"/>\n')
        return np.asarray(out, dtype=object)
    if pd.api.types.is_bool_dtype(dtype) or pd.api.types.is_integer_dtype(dtype) or pd.api.types.is_float_dtype(dtype):
        tag = "boolean" if pd.api.types.is_bool_dtype(dtype) else "int" if pd.api.types.is_integer_dtype(dtype) else "float"
        missing = values.isna().to_numpy()
        text = values.astype(str).str.lower().to_numpy(dtype=object) if tag == "boolean" else values.astype(str).to_numpy(dtype=object)
        out = f'{indent}<{tag} key="{k}" value="' + text + '"/>\n'
        out[missing] = ""
        return out
    # Text: escape each distinct value once, then take by code.
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    rendered = np.array([f'{indent}<string key="{k}" value="{escape(str(u))}"/>\n' for u in uniques] + [""], dtype=object)
    return rendered[codes]  # code -1 takes the last entry, ''


def _expand(log: pd.DataFrame) -> tuple[np.ndarray, np.ndarray | None, np.ndarray]:
    """Positions of the events to write, their lifecycle (None: no intervals), and their times.

    An interval becomes a start at its timestamp and a complete at its end;
    the events are ordered by case, then time, then the table's order.
    """
    n = len(log)
    times = log[TIMESTAMP].to_numpy(dtype="datetime64[us]")
    if END_TIMESTAMP not in log or log[END_TIMESTAMP].isna().all():
        return np.arange(n), None, times
    ends = log[END_TIMESTAMP].to_numpy(dtype="datetime64[us]")
    has_end = ~np.isnat(ends)
    paired = np.flatnonzero(has_end)
    pos = np.r_[np.arange(n), paired]
    kind = np.r_[np.where(has_end, 0, 1), np.ones(len(paired), dtype=int)]  # 0 start, 1 complete
    when = np.r_[times, ends[paired]]
    case = log[CASE_ID].cat.codes.to_numpy() if isinstance(log[CASE_ID].dtype, pd.CategoricalDtype) else pd.factorize(log[CASE_ID])[0]
    # Cases in the table's order of first appearance.
    first_seen = np.zeros(case.max() + 1 if n else 0, dtype=np.int64)
    first_seen[case[::-1]] = np.arange(n)[::-1]
    rank = first_seen[case[pos]]
    order = np.lexsort((kind, pos, when.view("int64"), rank))
    lifecycle = np.where(kind[order] == 0, "start", "complete")
    return pos[order], lifecycle, when[order]


def write_xes(log: pd.DataFrame, fh: IO[bytes]) -> int:
    """Stream ``log`` as XES into the binary file ``fh``; return the events written."""
    fh.write(HEADER.encode("utf-8"))
    written = 0
    for chunk in _xes_chunks(log):
        fh.write(chunk.encode("utf-8"))
        written += chunk.count("<event>")
    fh.write(b"</log>\n")
    return written


def _xes_chunks(log: pd.DataFrame) -> Iterator[str]:
    if len(log) == 0:
        return
    trace_names, event_names = attribute_levels(log)
    pos, lifecycle, when = _expand(log)
    case_codes, case_names = pd.factorize(log[CASE_ID])
    case = case_codes[pos]
    n = len(pos)
    first = np.r_[True, case[1:] != case[:-1]]
    last = np.r_[case[1:] != case[:-1], True]
    # Trace openings: built per case (a loop over cases in C, through pandas), taken where a case starts.
    trace_open = np.full(n, "", dtype=object)
    if first.any():
        heads = log.iloc[pos[first]]
        opening = '  <trace>\n' + _elements(heads[CASE_ID].astype(str), "concept:name", "    ")
        for name in trace_names:
            opening = opening + _elements(heads[name], _trace_key(name), "    ")
        trace_open[first] = opening
    trace_close = np.where(last, "  </trace>\n", "").astype(object)
    for lo in range(0, n, CHUNK):
        hi = min(lo + CHUNK, n)
        rows = log.iloc[pos[lo:hi]]
        body = trace_open[lo:hi] + "    <event>\n" + _elements(rows[ACTIVITY], "concept:name", "      ")
        stamps = np.datetime_as_string(when[lo:hi], unit="us").astype(object)
        body = body + '      <date key="time:timestamp" value="' + stamps + '+00:00"/>\n'
        if lifecycle is not None:
            body = body + '      <string key="lifecycle:transition" value="' + lifecycle[lo:hi].astype(object) + '"/>\n'
        for column, key in ((RESOURCE, "org:resource"), (GROUP, "org:group")):
            if column in rows:
                body = body + _elements(rows[column], key, "      ")
        for name in event_names:
            body = body + _elements(rows[name], name, "      ")
        body = body + "    </event>\n" + trace_close[lo:hi]
        yield "".join(body.tolist())
