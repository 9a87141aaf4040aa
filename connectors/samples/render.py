"""Turning the simulated arrays into export text, column by column.

Everything here works on whole arrays with numpy and pyarrow: timestamps are
formatted with ``pyarrow.compute.strftime``, repeated values are Arrow
dictionary columns, CSV goes through ``pyarrow.csv.CSVWriter`` in chunks, and
JSON is assembled from per-field string arrays, so no Python code runs once
per row.
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

CHUNK_ROWS = 1 << 19


def timestamps(seconds: np.ndarray, fmt: str, *, offset_minutes: np.ndarray | None = None) -> pa.Array:
    """Return epoch ``seconds`` (UTC) formatted with a strftime ``fmt`` (date directives, then time ones).

    ``pyarrow.compute.strftime`` costs about two seconds per million values, so
    it formats only the distinct days and the 86,400 times of day, and each
    value is put together from those by index. With ``offset_minutes`` the
    times are shown in that local offset and a trailing ``%z`` writes it
    (``-0600``).
    """
    seconds = np.asarray(seconds, np.int64)
    offset = np.zeros(len(seconds), np.int64) if offset_minutes is None else np.asarray(offset_minutes, np.int64)
    local = seconds + offset * 60
    if len(local) == 0:
        return pa.array([], pa.string())
    zone = fmt.endswith("%z")
    body = fmt[:-2] if zone else fmt
    cut = min((i for i in (body.find(d) for d in ("%H", "%I", "%M", "%S", "%p")) if i >= 0), default=len(body))
    date_fmt, time_fmt = body[:cut], body[cut:]
    if any(d in time_fmt for d in ("%Y", "%y", "%m", "%d", "%b", "%z")):
        raise ValueError(f"format {fmt!r}: date directives must come before time ones, and %z only at the end")
    day = local // 86_400
    first = int(day.min())
    parts: list[pa.Array] = []
    if date_fmt:
        days = np.arange(first, int(day.max()) + 1, dtype=np.int64) * 86_400
        parts.append(pc.take(_strftime(days, date_fmt), pa.array(day - first)))
    if time_fmt:
        parts.append(pc.take(_times_of_day(time_fmt), pa.array(local - day * 86_400)))
    if zone:
        values, codes = np.unique(offset, return_inverse=True)
        texts = [f"{'-' if v < 0 else '+'}{abs(v) // 60:02d}{abs(v) % 60:02d}" for v in values.tolist()]
        parts.append(pc.take(pa.array(texts, pa.string()), pa.array(codes)))
    return parts[0] if len(parts) == 1 else pc.binary_join_element_wise(*parts, "")


def zone_offsets(seconds: np.ndarray, zone: str) -> np.ndarray:
    """Return the UTC offset of ``zone`` in minutes at each of the epoch ``seconds``."""
    import pandas as pd

    utc = pd.DatetimeIndex(np.asarray(seconds, np.int64).astype("datetime64[s]"))
    local = utc.tz_localize("UTC").tz_convert(zone).tz_localize(None)
    return ((local - utc).total_seconds().to_numpy() // 60).astype(np.int64)


def _strftime(seconds: np.ndarray, fmt: str) -> pa.Array:
    return pc.strftime(pa.array(seconds.astype("datetime64[s]")), format=fmt)


@functools.lru_cache(maxsize=8)
def _times_of_day(fmt: str) -> pa.Array:
    return _strftime(np.arange(86_400, dtype=np.int64), fmt)


def optional_timestamps(seconds: np.ndarray, fmt: str, missing: str) -> pa.Array:
    """Return formatted times, with ``missing`` where ``seconds`` is negative (only present ones are formatted)."""
    present = np.flatnonzero(seconds >= 0)
    text = timestamps(seconds[present], fmt)
    where = np.full(len(seconds), -1, np.int64)
    where[present] = np.arange(len(present))
    indices = pa.array(where, mask=where < 0)
    return pc.fill_null(pc.take(text, indices), pa.scalar(missing, pa.string()))


def labelled(codes: np.ndarray, values: list[str], missing: str = "") -> pa.DictionaryArray:
    """Return ``values[codes]`` as a dictionary column; negative codes read ``missing``."""
    codes = np.asarray(codes)
    indices = np.where(codes >= 0, codes, len(values)).astype(np.int32)
    return pa.DictionaryArray.from_arrays(pa.array(indices, pa.int32()), pa.array([*values, missing], pa.string()))


def numbers(values: np.ndarray) -> pa.Array:
    """Return integers as decimal text."""
    return pc.cast(pa.array(values), pa.string())


def counts(values: np.ndarray) -> pa.DictionaryArray:
    """Return small non-negative integers (counters) as decimal text, as a dictionary column."""
    values = np.asarray(values)
    top = int(values.max()) + 1 if len(values) else 1
    return labelled(values, [str(i) for i in range(top)])


def padded(prefix: str, values: np.ndarray, width: int) -> pa.Array:
    """Return ``prefix`` + each integer zero-padded to ``width`` digits, e.g. INC0010001."""
    digits = pc.utf8_lpad(numbers(values), width=width, padding="0")
    return pc.binary_join_element_wise(pa.scalar(prefix), digits, "")


def write_csv(path: str | os.PathLike[str], rows: int, chunk: Callable[[int, int], pa.Table], *, quoting: str = "all_valid") -> None:
    """Write ``rows`` rows built by ``chunk(start, stop)``.

    ``quoting="all_valid"`` quotes every value and name, as ServiceNow does;
    ``"none"`` quotes nothing (the values must then hold no comma or quote).
    """
    options = pacsv.WriteOptions(quoting_style=quoting, quoting_header=quoting if quoting != "none" else "none")
    starts = list(range(0, max(rows, 1), CHUNK_ROWS))

    def build(start: int) -> pa.Table:
        table = chunk(start, min(start + CHUNK_ROWS, rows))
        # Dictionary columns are written as their values; the writer needs one schema for every chunk.
        return table.cast(pa.schema([pa.field(f.name, _text_type(f.type)) for f in table.schema]))

    # Build the next chunk on a second thread while this one is written (both release the GIL).
    with ThreadPoolExecutor(max_workers=1) as pool:
        pending = pool.submit(build, starts[0])
        table = pending.result()
        with pacsv.CSVWriter(str(path), table.schema, write_options=options) as writer:
            for nxt in [*starts[1:], None]:
                if nxt is not None:
                    pending = pool.submit(build, nxt)
                writer.write_table(table)
                if nxt is not None:
                    table = pending.result()


def _text_type(kind: pa.DataType) -> pa.DataType:
    return pa.dictionary(pa.int32(), pa.string()) if pa.types.is_dictionary(kind) else pa.string()


# --------------------------------------------------------------------------
# JSON assembled from string arrays


def js(value: object) -> str:
    """Return one value as compact JSON text."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def js_strings(values: Iterable[object]) -> list[str]:
    """Return each value as JSON text (a dictionary for :func:`pick`)."""
    return [js(v) for v in values]


def pick(codes: np.ndarray, texts: list[str]) -> pa.Array:
    """Return ``texts[codes]`` as a string array (``texts`` is a small vocabulary of JSON snippets)."""
    return pc.take(pa.array(texts, pa.string()), pa.array(np.asarray(codes, np.int64)))


def concat(*parts: pa.Array | str) -> pa.Array:
    """Return the element-wise concatenation of string arrays and literal strings."""
    return pc.binary_join_element_wise(*[pa.scalar(p) if isinstance(p, str) else p for p in parts], "")


def join_groups(texts: pa.Array, offsets: np.ndarray, sep: str = ",") -> pa.Array:
    """Return one string per group: the texts between consecutive ``offsets``, joined with ``sep``."""
    lists = pa.ListArray.from_arrays(pa.array(offsets.astype(np.int32)), texts)
    return pc.binary_join(lists, sep)


def by_template(template: np.ndarray, builders: list[Callable[[np.ndarray], pa.Array]]) -> pa.Array:
    """Return one text per element, in order: builder ``k`` makes the texts of the elements
    whose ``template`` is ``k``, given their positions."""
    positions, parts = [], []
    for k, build in enumerate(builders):
        at = np.flatnonzero(template == k)
        if at.size:
            positions.append(at)
            parts.append(build(at).cast(pa.string()))
    if not parts:
        return pa.array([], pa.string())
    order = np.argsort(np.concatenate(positions), kind="stable")
    return pa.concat_arrays(parts).take(pa.array(order))


def write_text_parts(path: str | os.PathLike[str], parts: Iterable[str | pa.Array]) -> Path:
    """Write literal strings and string arrays (their elements back to back) to ``path``, as they come."""
    out = Path(path)
    with out.open("wb") as fh:
        for part in parts:
            if isinstance(part, str):
                fh.write(part.encode("utf-8"))
            elif len(part):
                data = part.buffers()[2]
                offsets = np.frombuffer(part.buffers()[1], dtype=np.int32, count=len(part) + 1, offset=part.offset * 4)
                fh.write(memoryview(data)[offsets[0] : offsets[-1]])
    return out
