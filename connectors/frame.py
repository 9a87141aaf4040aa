"""Build vsm's event table from a DataFrame a user already has in Python.

>>> log, report = connectors.from_dataframe(df, case="ticket", activity="status", timestamp="changed_at")

The frame is read exactly as a generic table with the same columns would be
(the same date parsing, rejections, lifecycle pairing and load report), so a
DataFrame and its CSV give one answer. pm4py's column names
(``case:concept:name``, ``concept:name``, ``time:timestamp``, ``org:resource``,
``org:group``) are taken without being named.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from connectors.errors import BadOption
from connectors.report import LoadReport

# pm4py's (XES) column names, for each role left unnamed.
PM4PY_COLUMNS = {"case": "case:concept:name", "activity": "concept:name", "timestamp": "time:timestamp",
                 "resource": "org:resource", "group": "org:group"}
NAME = "<DataFrame>"


def from_dataframe(
    df: pd.DataFrame,
    *,
    case: str | None = None,
    activity: str | None = None,
    timestamp: str | None = None,
    end_timestamp: str | None = None,
    resource: str | None = None,
    group: str | None = None,
    source: str = "csv",
    **options: Any,
) -> tuple[pd.DataFrame, LoadReport]:
    """Return the canonical event table of ``df`` and its load report.

    Columns not named are taken from pm4py's names when present, else guessed
    as for a CSV file. ``options`` are the other load options (``timezone``,
    ``dayfirst``, ``date_format``, ``lifecycle``, ``keep_duplicates``).
    """
    from connectors.options import LoadOptions
    from connectors.sources import load_table
    from connectors.textio import TextTable

    if not isinstance(df, pd.DataFrame):
        raise BadOption(f"from_dataframe needs a pandas DataFrame, not {type(df).__name__}")
    names = [str(c) for c in df.columns]
    if len(set(names)) != len(names):
        repeated = sorted({n for n in names if names.count(n) > 1})
        raise BadOption(f"{NAME}: column names repeat ({', '.join(map(repr, repeated))}); rename them first")
    given = {"case": case, "activity": activity, "timestamp": timestamp, "end_timestamp": end_timestamp,
             "resource": resource, "group": group}
    for role, column in given.items():
        if column is not None and column not in names:
            raise BadOption(f"{NAME}: no column {column!r} for {role}; columns are {', '.join(map(repr, names[:20]))}")
    for role, column in PM4PY_COLUMNS.items():
        if given[role] is None and column in names:
            given[role] = column
    table = pa.table({name: _text(df.iloc[:, i]) for i, name in enumerate(names)})
    text = TextTable(table, np.arange(1, len(df) + 1, dtype=np.int64), names, [], [])
    columns = {f"{role}_col": col for role, col in given.items()}
    load_options = LoadOptions.from_kwargs(**{k: v for k, v in columns.items() if v is not None}, **options)
    return load_table(NAME, text, source, load_options, kind="parquet")


def _text(column: pd.Series) -> pa.Array:
    """``column`` as strings, as a file would hold it: missing and blank values null, times in ISO 8601."""
    if isinstance(column.dtype, pd.DatetimeTZDtype):
        values = column.dt.tz_convert("UTC").dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    elif pd.api.types.is_datetime64_dtype(column.dtype):
        values = column.dt.strftime("%Y-%m-%dT%H:%M:%S.%f")
    else:
        values = column.astype("string")
    values = values.astype("string").str.strip()
    return pa.array(values.mask(values == ""), type=pa.string(), from_pandas=True)
