"""The canonical event table: the one data model every connector produces and
every miner function consumes.

It is a pandas DataFrame whose string columns are Arrow-backed (pandas
``Categorical`` maps to an Arrow dictionary array, so ``pa.Table.from_pandas``
is zero-copy for codes). Columns:

===================  ==========================================  ==========
column               meaning                                     dtype
===================  ==========================================  ==========
``case_id``          the ticket or case                          category
``activity``         the state entered or activity performed     category
``timestamp``        when the event happened (state entered);    datetime64[us, UTC]
                     for interval events, the start
``end_timestamp``    optional: when an interval event ended      datetime64[us, UTC]
``resource``         optional: the person or agent               category
``group``            optional: assignment group, team or queue   category
``source_row``       the row or record number in the input       int64
===================  ==========================================  ==========

Any further column is a ticket or event attribute (category, priority, type …)
carried as it came, as a category or string.

Order: by case, then ``timestamp``; where timestamps are equal, by
``source_row`` and then by the order the connector built the events in (two
events from one row, such as a state change and a hand-off, keep their build
order). A connector whose rows are not in event order (an audit snapshot sorted
newest first, where updates share a minute) adds ``_sequence``, which then
decides ties before ``source_row``. Cases come in order of first appearance in
the input. This is pm4py's order, so directly-follows relations and variants
agree with it.

Without ``_sequence``, the file's own order decides ties: where a case's
events at different times mostly come in the file newest first (an export
sorted descending), events at the same time are taken by descending
``source_row``, and the load report says so. Where the file's order is mixed,
ties keep file order and the report warns how many events that leaves to a
guess (:func:`file_order`).

``source_row`` numbering: for delimited and spreadsheet files it is the row
number a spreadsheet shows (the header is row 1, the first record row 2); for
Parquet, JSON and XES it is the 1-based position of the record in the file.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from connectors.report import LoadReport, tally

CASE_ID = "case_id"
ACTIVITY = "activity"
TIMESTAMP = "timestamp"
END_TIMESTAMP = "end_timestamp"
RESOURCE = "resource"
GROUP = "group"
SOURCE_ROW = "source_row"

REQUIRED_COLUMNS = (CASE_ID, ACTIVITY, TIMESTAMP, SOURCE_ROW)
OPTIONAL_COLUMNS = (END_TIMESTAMP, RESOURCE, GROUP)
CANONICAL_COLUMNS = (CASE_ID, ACTIVITY, TIMESTAMP, END_TIMESTAMP, RESOURCE, GROUP, SOURCE_ROW)
ROLES = (CASE_ID, ACTIVITY, TIMESTAMP, END_TIMESTAMP, RESOURCE, GROUP)

TIMESTAMP_DTYPE = pd.DatetimeTZDtype("us", "UTC")

# A connector may add this column to fix the order of events that share a case,
# a timestamp and a source row; make_event_table drops it.
BUILD_ORDER = "_build_order"
# A connector may add this column to give events that share a case and a
# timestamp their order, before source_row; make_event_table drops it.
SEQUENCE = "_sequence"


def make_event_table(frame: pd.DataFrame, *, attributes: Iterable[str] = (), report: LoadReport | None = None) -> pd.DataFrame:
    """Return the canonical, sorted event table built from ``frame``.

    ``frame`` holds the canonical columns (the optional ones may be absent) and
    the attribute columns named in ``attributes``. Rows must already be free of
    missing case ids, activities and timestamps: connectors reject those rows
    and account for them in the load report before calling this. With a
    ``report`` (a connector reading a file), ties follow the file's direction
    and the report says how (:func:`file_order`); without one, ties keep the
    order of ``source_row``.
    """
    n = len(frame)
    case_codes, case_names = _factorize_text(frame[CASE_ID])
    timestamps = _as_utc(frame[TIMESTAMP])
    if (case_codes < 0).any() or timestamps.isna().any():
        raise ValueError("make_event_table needs rows without missing case ids or timestamps")
    keys: list[np.ndarray] = []
    if BUILD_ORDER in frame:
        keys.append(frame[BUILD_ORDER].to_numpy())
    rows = frame[SOURCE_ROW].to_numpy()
    keys.append(rows)
    if SEQUENCE in frame:
        keys.append(frame[SEQUENCE].to_numpy())
    micros = timestamps.to_numpy(dtype="datetime64[us]").view("int64")
    keys += [micros, case_codes]
    # Connectors often give the events in order already: then nothing is sorted or copied.
    order = None if in_lexsort_order(keys) else np.lexsort(keys)
    if report is not None and SEQUENCE not in frame:  # a file the connector has not ordered itself
        seen = file_order(case_codes, micros, rows, order)
        if seen.direction == "descending" and seen.tied:
            keys[len(keys) - 3] = -rows.astype(np.int64)  # ties by descending source row
            order = np.lexsort(keys)
        seen.tell(report)

    def pick(values: Any) -> Any:
        return values if order is None else values[order]

    out: dict[str, object] = {
        CASE_ID: known_categorical(pick(case_codes), case_names),
        ACTIVITY: _category(frame[ACTIVITY], order),
        # .array.take keeps the zone; .to_numpy() would build one Timestamp object per row.
        TIMESTAMP: timestamps.array if order is None else timestamps.array.take(order),
    }
    if END_TIMESTAMP in frame:
        ends = _as_utc(frame[END_TIMESTAMP]).array
        out[END_TIMESTAMP] = ends if order is None else ends.take(order)
    for role in (RESOURCE, GROUP):
        if role in frame:
            out[role] = _category(frame[role], order)
    out[SOURCE_ROW] = pick(frame[SOURCE_ROW].to_numpy(dtype="int64"))
    for name in attributes:
        column = frame[name]
        out[name] = _category(column, order) if _is_text(column) else pick(column.to_numpy())

    table = pd.DataFrame(out, index=pd.RangeIndex(n))
    table[TIMESTAMP] = table[TIMESTAMP].astype(TIMESTAMP_DTYPE)
    if END_TIMESTAMP in table:
        table[END_TIMESTAMP] = table[END_TIMESTAMP].astype(TIMESTAMP_DTYPE)
    if table[ACTIVITY].isna().any():
        raise ValueError("make_event_table needs rows without missing activities")
    return table


@dataclass
class FileOrder:
    """How the input lists each case's events in time: counts of consecutive events of a case."""

    forward: int  # at different times and rows, the later one further down the file
    backward: int  # at different times and rows, the later one further up the file
    tied: int  # events at the same time as another event of their case from another row

    # Below this share of pairs going the other way, the file's order is clear.
    CLEAR = 0.1

    @property
    def direction(self) -> str:
        """'ascending', 'descending' or 'mixed' ('ascending' when nothing tells)."""
        pairs = self.forward + self.backward
        if self.backward <= self.CLEAR * pairs:
            return "ascending"
        if self.forward <= self.CLEAR * pairs:
            return "descending"
        return "mixed"

    def tell(self, report: LoadReport) -> None:
        """Say in ``report`` how events at the same time were ordered, where it is not plain file order."""
        pairs = self.forward + self.backward
        if self.direction == "descending":
            report.notes.append(
                f"the file lists each case's events newest first ({tally(self.backward)} of {tally(pairs)} "
                "consecutive events at different times go back in time): events at the same time are taken "
                f"in reverse file order ({tally(self.tied, 'event')} at the same time as another of their case)"
            )
        elif self.direction == "mixed" and self.tied:
            report.warnings.append(
                f"the file lists cases' events neither oldest nor newest first ({tally(self.forward)} consecutive "
                f"events at different times go forward in time, {tally(self.backward)} back): "
                f"{tally(self.tied, 'event')} at the same time as another of their case keep file order, "
                "which is a guess; sort the export by time, or give distinct times"
            )


def file_order(case_codes: np.ndarray, micros: np.ndarray, rows: np.ndarray, order: np.ndarray | None) -> FileOrder:
    """How the file orders each case's events, from the events sorted by case, time and source row (``order``, None: as given)."""
    if order is not None:
        case_codes, micros, rows = case_codes[order], micros[order], rows[order]
    if len(rows) < 2:
        return FileOrder(0, 0, 0)
    same_case = case_codes[1:] == case_codes[:-1]
    same_time = micros[1:] == micros[:-1]
    other_row = rows[1:] != rows[:-1]
    apart = same_case & ~same_time & other_row
    forward = int((apart & (rows[1:] > rows[:-1])).sum())
    backward = int((apart & (rows[1:] < rows[:-1])).sum())
    # Events tied in time with an event of their case from another row: their order is the file's.
    tie = same_case & same_time & other_row
    if not tie.any():
        return FileOrder(forward, backward, 0)
    group = np.cumsum(np.r_[True, ~(same_case & same_time)])
    tied_groups = np.zeros(group[-1] + 1, dtype=bool)
    tied_groups[group[1:][tie]] = True
    return FileOrder(forward, backward, int(tied_groups[group].sum()))


def attribute_columns(log: pd.DataFrame) -> list[str]:
    """Return the names of the ticket and event attribute columns of ``log``."""
    return [c for c in log.columns if c not in CANONICAL_COLUMNS]


def empty_event_table() -> pd.DataFrame:
    """Return a canonical table with no rows."""
    return make_event_table(
        pd.DataFrame(
            {
                CASE_ID: pd.Series([], dtype="str"),
                ACTIVITY: pd.Series([], dtype="str"),
                TIMESTAMP: pd.Series([], dtype=TIMESTAMP_DTYPE),
                SOURCE_ROW: pd.Series([], dtype="int64"),
            }
        )
    )


def check_event_table(log: pd.DataFrame) -> None:
    """Raise ``ValueError`` if ``log`` does not follow the canonical schema."""
    for name in REQUIRED_COLUMNS:
        if name not in log:
            raise ValueError(f"event table lacks column {name!r}")
    if log[TIMESTAMP].dtype != TIMESTAMP_DTYPE:
        raise ValueError(f"timestamp dtype is {log[TIMESTAMP].dtype}, expected {TIMESTAMP_DTYPE}")
    if not isinstance(log[CASE_ID].dtype, pd.CategoricalDtype):
        raise ValueError("case_id must be categorical")
    codes = log[CASE_ID].cat.codes.to_numpy()
    if len(codes) == 0:
        return
    ts = log[TIMESTAMP].to_numpy(dtype="datetime64[us]").view("int64")
    same_case = codes[1:] == codes[:-1]
    if (same_case & (ts[1:] < ts[:-1])).any():
        raise ValueError("events are not in time order within their case")
    starts = np.flatnonzero(np.r_[True, ~same_case])
    if len(np.unique(codes[starts])) != len(starts):
        raise ValueError("a case's events are not contiguous")


def require_event_table(log: object, caller: str) -> None:
    """Raise BadOption, naming ``caller`` and the fix, unless ``log`` is vsm's canonical event table."""
    from connectors.errors import BadOption

    hint = "build it with connectors.from_dataframe(df, case=..., activity=..., timestamp=...) or connectors.load(path)"
    if not isinstance(log, pd.DataFrame):
        raise BadOption(f"{caller} needs vsm's event table (a DataFrame), not {type(log).__name__}; {hint}")
    missing = [c for c in REQUIRED_COLUMNS if c not in log.columns]
    if missing:
        raise BadOption(f"{caller} needs vsm's event table, and this DataFrame lacks {', '.join(map(repr, missing))}; {hint}")
    try:
        check_event_table(log)
        for role in (ACTIVITY, RESOURCE, GROUP):
            if role in log and not isinstance(log[role].dtype, pd.CategoricalDtype):
                raise ValueError(f"{role} must be categorical")
    except ValueError as exc:
        raise BadOption(f"{caller} needs vsm's event table, and this DataFrame is not one ({exc}); {hint}") from None


def _as_utc(series: pd.Series) -> pd.Series:
    if isinstance(series.dtype, pd.DatetimeTZDtype):
        return series.dt.tz_convert("UTC").astype(TIMESTAMP_DTYPE)
    return pd.to_datetime(series, utc=True).astype(TIMESTAMP_DTYPE)


def _is_text(column: pd.Series) -> bool:
    return (
        isinstance(column.dtype, pd.CategoricalDtype)
        or pd.api.types.is_string_dtype(column.dtype)
        or column.dtype == object
    )


_STR = pd.Index([], dtype="str").dtype


def known_categorical(codes: np.ndarray, categories: pd.Index) -> pd.Categorical:
    """Return the categorical of ``codes`` into ``categories``, which must be distinct strings (not checked again).

    Checking hashes every category: half a second per million events where
    every ticket id is one.
    """
    fast = getattr(pd.CategoricalDtype, "_from_fastpath", None)
    dtype = fast(categories, False) if fast is not None and categories.dtype == _STR else pd.CategoricalDtype(categories)
    return pd.Categorical.from_codes(codes, dtype=dtype)


def _is_str_categorical(column: pd.Series) -> bool:
    return isinstance(column.dtype, pd.CategoricalDtype) and column.cat.categories.dtype == _STR


def _factorize_text(column: pd.Series) -> tuple[np.ndarray, pd.Index]:
    """Codes of ``column`` in order of first appearance, and the distinct values as strings."""
    if _is_str_categorical(column):  # through the codes, not a string per row
        codes, used = appearance_codes(column.cat.codes.to_numpy())
        if (codes < 0).any():  # a missing value: make_event_table refuses it
            return np.full(len(codes), -1), pd.Index([], dtype="str")
        return codes, column.cat.categories.take(used)
    codes, values = pd.factorize(column, sort=False)
    return codes, pd.Index(values.astype(str), dtype="str")


def appearance_codes(codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Renumber the category ``codes`` (-1: missing, kept) in order of first appearance; return them and the old code of each new one.

    As ``pd.factorize(codes)`` for the present codes, but the new codes come
    in the smallest integer type and only the distinct codes are hashed and
    held, not a label per row.
    """
    used = pd.unique(codes)
    used = used[used >= 0]
    size = int(used.max()) + 2 if len(used) else 1
    dtype = np.int8 if len(used) < 2**7 else np.int16 if len(used) < 2**15 else np.int32
    remap = np.full(size, -1, dtype=dtype)  # the last slot: -1 stays -1
    remap[used] = np.arange(len(used), dtype=dtype)
    return remap[codes], used


def in_lexsort_order(keys: list[np.ndarray]) -> bool:
    """Whether rows are already in the order ``np.lexsort(keys)`` gives (the last key most significant)."""
    n = len(keys[-1])
    if n < 2:
        return True
    ascending = np.ones(n - 1, dtype=bool)
    tied = np.ones(n - 1, dtype=bool)
    for key in reversed(keys):
        ascending &= ~tied | (key[1:] >= key[:-1])
        tied &= key[1:] == key[:-1]
        if not ascending.all():
            return False
    return True


def _category(column: pd.Series, order: np.ndarray | None) -> pd.Categorical:
    """Return ``column`` reordered by ``order`` (None: as it is) as a categorical of strings.

    Missing values stay missing. Categories come in order of first appearance
    in the input, so codes are stable for a given file.
    """
    if _is_str_categorical(column):  # already distinct strings
        codes = column.cat.codes.to_numpy()
        return known_categorical(codes if order is None else codes[order], column.cat.categories)
    if isinstance(column.dtype, pd.CategoricalDtype):
        codes = column.cat.codes.to_numpy()
        uniques = column.cat.categories
    else:
        codes, uniques = pd.factorize(column, sort=False, use_na_sentinel=True)
    names = np.asarray(uniques, dtype=object).astype(str)
    categories = pd.Index(names, dtype="str")
    if categories.has_duplicates:  # e.g. 1 and "1" in one object column
        categories = categories.unique()
        codes = np.where(codes >= 0, categories.get_indexer(names)[codes], -1)
    return pd.Categorical.from_codes(codes if order is None else codes[order], categories=categories)
