"""Generic event tables: CSV/TSV, Excel and Parquet with one row per event."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd
import pyarrow as pa

from connectors.columns import guess_columns, lifecycle_column
from connectors.errors import EmptyExport, UnreadableExport
from connectors.options import LoadOptions
from connectors.probe import Probe, Source
from connectors.report import LoadReport, Rejects
from connectors.tabular import Roles, build_events
from connectors.textio import PLACEHOLDERS, Sniff, TextTable, read_delimited, release_unused, unique_names

ROLE_FLAGS = {
    "case_id": "--case-col",
    "activity": "--activity-col",
    "timestamp": "--timestamp-col",
    "end_timestamp": "--end-timestamp-col",
    "resource": "--resource-col",
    "group": "--group-col",
}


def read_table(sniffed: Sniff, options: LoadOptions) -> TextTable:
    """Read any tabular export (delimited text, XLSX, Parquet) into strings or typed columns."""
    if sniffed.kind == "text":
        return read_delimited(sniffed, options.delimiter)
    if sniffed.kind == "xlsx":
        return _read_xlsx(sniffed, options.sheet)
    if sniffed.kind == "parquet":
        return _read_parquet(sniffed)
    raise UnreadableExport(f"{sniffed.path}: not a table (it looks like {sniffed.kind})")


def to_frame(text: TextTable) -> pd.DataFrame:
    """Return the table as a pandas frame with Arrow-backed string columns."""
    return text.table.to_pandas(types_mapper=_string_mapper, self_destruct=True)


def detect_generic(probe: Probe) -> str | None:
    """Any table is a generic event table; this source is tried last."""
    kinds = {"text": "delimited text", "xlsx": "an Excel workbook", "parquet": "a Parquet file"}
    return f"{kinds[probe.kind]} with no vendor's column names" if probe.is_table else None


def load_generic(probe: Probe, options: LoadOptions) -> tuple[pd.DataFrame, LoadReport]:
    """Load a generic one-row-per-event table."""
    sniffed = probe.sniffed
    text = probe.table
    report = LoadReport(str(sniffed.path), "csv", "")
    report.notes.extend(text.notes)
    frame = to_frame(text)
    release_unused()
    guesses = guess_columns(frame, options.given_columns(), dates=options.dates, path=str(sniffed.path))
    release_unused()
    for role, guess in guesses.items():
        report.choose(role, guess.column, guess.reason)
        if guess.note:
            report.notes.append(guess.note)
        if guess.warning:
            report.warnings.append(guess.warning)
        report.flags.append(f"{ROLE_FLAGS[role]} {_quote(guess.column)}")
    roles = Roles(**{role: g.column for role, g in guesses.items()})
    roles.lifecycle = lifecycle_column(frame, roles.used())
    if roles.lifecycle:
        report.choose("lifecycle", roles.lifecycle, f"name {roles.lifecycle!r} holds XES lifecycle transitions")
    rows_read = len(frame) + sum(r.count for r in text.rejected)
    rejects = Rejects(len(frame), text.source_rows)
    for rejection in text.rejected:
        rejects.extend(rejection)
    table = build_events(frame, roles, text.source_rows, report, options, rows_read=rows_read, rejects=rejects)
    return table, report


def _read_xlsx(sniffed: Sniff, sheet: str | None) -> TextTable:
    try:
        book = pd.read_excel(sniffed.path, sheet_name=None, dtype=object, engine="openpyxl")
    except Exception as exc:  # openpyxl raises many types for a damaged workbook
        raise UnreadableExport(f"{sniffed.path}: cannot be read as an Excel workbook ({exc})") from exc
    if not book:
        raise EmptyExport(f"{sniffed.path}: the workbook has no sheets")
    notes = []
    if sheet is not None:
        if sheet not in book:
            raise UnreadableExport(f"{sniffed.path}: no sheet {sheet!r} (sheets: {', '.join(book)})")
        name = sheet
    else:
        name = max(book, key=lambda k: len(book[k]))
        if len(book) > 1:
            notes.append(f"sheet {name!r}, the largest of {len(book)} (pass --sheet to choose)")
    frame = book[name]
    header = [str(c) for c in frame.columns]
    frame.columns = unique_names([h if not h.startswith("Unnamed:") else "" for h in header])
    frame = frame.dropna(how="all")
    source_rows = frame.index.to_numpy(dtype=np.int64) + 2
    if frame.empty:
        raise EmptyExport(f"{sniffed.path}: sheet {name!r} has a header but no data rows")
    columns = {}
    for c in frame.columns:
        col = frame[c]
        if col.map(lambda v: isinstance(v, pd.Timestamp)).all():
            columns[c] = pa.array(pd.to_datetime(col))
        else:
            text = col.map(lambda v: None if v is None or (isinstance(v, float) and np.isnan(v)) else str(v).strip())
            text = text.where(~text.isin(PLACEHOLDERS), None)
            # from_pandas: pandas 3 infers a str column here, whose missing cells are NaN.
            columns[c] = pa.array(text.to_numpy(dtype=object), pa.string(), from_pandas=True)
    return TextTable(pa.table(columns), source_rows, header, [], notes)


def _read_parquet(sniffed: Sniff) -> TextTable:
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(sniffed.path)
    except (pa.ArrowInvalid, OSError) as exc:
        raise UnreadableExport(f"{sniffed.path}: cannot be read as Parquet ({exc})") from exc
    if table.num_rows == 0:
        raise EmptyExport(f"{sniffed.path}: the Parquet file has no rows")
    names = unique_names([str(n) for n in table.column_names])
    return TextTable(_parquet_text(table, names), np.arange(1, table.num_rows + 1, dtype=np.int64), names, [], [])


def iter_parquet(sniffed: Sniff, batch_rows: int = 1 << 20) -> tuple[list[str], Iterator[pa.RecordBatch]]:
    """Return the column names of a Parquet file and its rows batch by batch, read as :func:`read_table` reads them."""
    import pyarrow.parquet as pq

    try:
        file = pq.ParquetFile(sniffed.path)
    except (pa.ArrowInvalid, OSError) as exc:
        raise UnreadableExport(f"{sniffed.path}: cannot be read as Parquet ({exc})") from exc
    names = unique_names([str(n) for n in file.schema_arrow.names])

    def batches() -> Iterator[pa.RecordBatch]:
        try:
            for batch in file.iter_batches(batch_size=batch_rows):
                yield from _parquet_text(pa.Table.from_batches([batch]), names).to_batches()
        except (pa.ArrowInvalid, OSError) as exc:
            raise UnreadableExport(f"{sniffed.path}: cannot be read as Parquet ({exc})") from exc

    return names, batches()


def _parquet_text(table: pa.Table, names: list[str]) -> pa.Table:
    """Dates and times stay typed; every other column becomes strings."""
    columns = {}
    for name, col in zip(names, table.columns, strict=True):
        if pa.types.is_timestamp(col.type) or pa.types.is_date(col.type) or pa.types.is_string(col.type):
            columns[name] = col
        else:
            columns[name] = col.cast(pa.string())
    return pa.table(columns)


def _string_mapper(dtype: pa.DataType) -> object:
    if pa.types.is_string(dtype) or pa.types.is_large_string(dtype):
        return pd.StringDtype("pyarrow", na_value=np.nan)
    return None


def _quote(name: str) -> str:
    return name if name.replace("_", "").replace(":", "").replace("+", "").isalnum() else f"'{name}'"


SOURCES = [Source("csv", "generic event table: CSV/TSV, XLSX or Parquet, one row per event", detect_generic, load_generic)]
