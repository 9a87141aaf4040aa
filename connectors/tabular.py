"""Turning a table of rows, one event each, into the canonical event table.

Shared by the generic CSV/XLSX/Parquet connector and by vendor connectors
whose exports are (or become) one row per event. It rejects, with reasons,
rows without a case, an activity or a readable timestamp, and exact duplicate
rows; it pairs lifecycle start/complete rows when asked.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from connectors import lifecycle
from connectors.dates import parse_timestamps
from connectors.errors import EmptyExport
from connectors.eventlog import (
    ACTIVITY,
    CASE_ID,
    END_TIMESTAMP,
    GROUP,
    RESOURCE,
    SOURCE_ROW,
    TIMESTAMP,
    appearance_codes,
    in_lexsort_order,
    known_categorical,
    make_event_table,
)
from connectors.options import LoadOptions
from connectors.report import LoadReport, Rejects, tally
from connectors.textio import release_unused

ACTIVITY_JOIN = "/"


@dataclass
class Roles:
    """Which input column fills each canonical role (``activity`` may be ``a+b``)."""

    case_id: str
    activity: str
    timestamp: str
    end_timestamp: str | None = None
    resource: str | None = None
    group: str | None = None
    lifecycle: str | None = None

    def used(self) -> set[str]:
        cols = {self.case_id, self.timestamp, *self.activity.split("+")}
        return cols | {c for c in (self.end_timestamp, self.resource, self.group) if c}


def build_events(
    frame: pd.DataFrame,
    roles: Roles,
    source_rows: np.ndarray,
    report: LoadReport,
    options: LoadOptions,
    *,
    rows_read: int | None = None,
    attributes: list[str] | None = None,
    rejects: Rejects | None = None,
    drop_duplicates: bool = True,
) -> pd.DataFrame:
    """Return the canonical table for ``frame`` and fill ``report``'s accounting.

    ``attributes`` defaults to every column not used for a role. ``rejects``
    may carry rejections made before this call (same length as ``frame``).
    """
    path = report.path
    n = len(frame)
    rejects = rejects or Rejects(n, source_rows)
    # Text roles as codes into their distinct values: cleaned, compared and
    # turned into categories once per distinct value, not once per row.
    case = _text_codes(frame[roles.case_id])
    release_unused()
    rejects.add(f"no case id in {roles.case_id!r}", case.codes < 0)
    activity = _activity(frame, roles.activity)
    release_unused()
    rejects.add(f"no activity in {roles.activity!r}", activity.codes < 0)

    raw_time = frame[roles.timestamp]
    present = raw_time.notna().to_numpy().copy()
    if not pd.api.types.is_datetime64_any_dtype(raw_time.dtype):
        present &= _has_text(raw_time)  # a blank cell is no timestamp, not a bad one
    rejects.add(f"no timestamp in {roles.timestamp!r}", ~present)
    kept_for_time = rejects.kept
    parsed = parse_timestamps(
        frame[roles.timestamp].where(kept_for_time, None) if not kept_for_time.all() else frame[roles.timestamp],
        options=options.dates, name=roles.timestamp, path=path, rows=source_rows, cases=case.codes,
    )
    release_unused()
    report.notes.append(f"timestamps in {roles.timestamp!r}: {parsed.description}")
    report.notes.extend(parsed.notes)
    report.warnings.extend(parsed.warnings)
    report.flags.extend(f for f in parsed.flags if f not in report.flags)
    rejects.add(f"timestamp in {roles.timestamp!r} is not a date ({parsed.description})", parsed.bad, frame[roles.timestamp])

    end = None
    if roles.end_timestamp:
        parsed_end = parse_timestamps(
            frame[roles.end_timestamp], options=options.dates, name=roles.end_timestamp, path=path, rows=source_rows, cases=case.codes,
        )
        report.notes.extend(parsed_end.notes)
        report.warnings.extend(parsed_end.warnings)
        rejects.add(f"end timestamp in {roles.end_timestamp!r} is not a date", parsed_end.bad, frame[roles.end_timestamp])
        end = parsed_end.values
        backwards = (end < parsed.values).fillna(False).to_numpy()
        rejects.add(f"{roles.end_timestamp!r} is before {roles.timestamp!r}", backwards, frame[roles.end_timestamp])

    if drop_duplicates and not options.keep_duplicates:
        _reject_duplicates(case.codes, parsed.values, rejects, list(frame.columns), frame)

    keep = rejects.kept
    everything = bool(keep.all())

    def kept(values: Any) -> Any:
        return values if everything else values[keep]

    columns = {CASE_ID: case.kept(kept), ACTIVITY: activity.kept(kept), TIMESTAMP: kept(parsed.values.array), SOURCE_ROW: kept(source_rows)}
    if end is not None:
        columns[END_TIMESTAMP] = kept(end.array)
    for role in (RESOURCE, GROUP):
        col = getattr(roles, role)
        if col:
            columns[role] = _text_codes(frame[col]).kept(kept)
            release_unused()
    # No copies: these arrays are this function's own, and nothing writes into them.
    events = pd.DataFrame(columns, index=pd.RangeIndex(int(keep.sum())), copy=False)
    del case, activity, parsed, columns  # their codes and times are in events now
    if attributes is None:
        attributes = [c for c in frame.columns if c not in roles.used()]
    attr_names = {}
    for c in attributes:
        name = c if c not in events.columns else f"src_{c}"
        attr_names[c] = name
        events[name] = kept(frame[c].array)  # no index alignment, and Arrow strings stay Arrow strings

    pairs = 0
    if roles.lifecycle and len(events):
        transitions = frame[roles.lifecycle][keep].reset_index(drop=True)
        do_pair, why, advise = lifecycle.decide(options.lifecycle, transitions)
        if why:
            (report.warnings if advise else report.notes).append(why)
        if do_pair:
            case_codes = pd.factorize(events[CASE_ID])[0]
            act_codes = pd.factorize(events[ACTIVITY])[0]
            paired = lifecycle.pair_intervals(events, case_codes, act_codes, transitions)
            events = paired.frame.iloc[paired.keep].reset_index(drop=True)
            pairs = paired.pairs
            kinds = transitions.iloc[paired.keep].astype("str").str.lower()
            # Rows with no transition keep their activity's name as it is.
            other = (kinds.notna() & ~kinds.isin(["start", "complete"])).to_numpy()
            if other.any():
                events[ACTIVITY] = events[ACTIVITY].astype("str")  # new names: no longer codes into the same categories
                suffix = (" (" + kinds[other] + ")").to_numpy(dtype=object)
                events.loc[other, ACTIVITY] = events.loc[other, ACTIVITY].to_numpy(dtype=object) + suffix
            report.derivation = f"{paired.note}; every other row is one event"

    for role in (ACTIVITY, RESOURCE, GROUP):  # make_event_table orders the cases itself
        if role in events:
            events[role] = _in_order_of_appearance(events[role])
    rejects.fill(report, rows_read if rows_read is not None else n)
    if not len(events):
        # As the vendor connectors do: a log with no event is an error, not an empty report.
        reasons = "; ".join(f"{r.reason} ({r.count:,})" for r in report.rejections)
        raise EmptyExport(f"{path}: every row was rejected: {reasons}")
    table = make_event_table(events, attributes=list(attr_names.values()), report=report)
    report.events = len(table)
    if pairs:
        report.derivation = (
            f"{tally(pairs, 'start/complete pair')} joined into one interval event each, so "
            f"{tally(report.rows_loaded, 'row')} give {tally(report.events, 'event')}"
        )
    return table


@dataclass
class _Text:
    """A text column, cleaned as :func:`_clean_text` cleans it, as codes (-1: missing) into its distinct values."""

    codes: np.ndarray
    values: pd.Index  # distinct strings (dtype str)

    def kept(self, take: Callable[[np.ndarray], np.ndarray]) -> pd.Categorical:
        """The rows ``take`` keeps of the codes, as a categorical."""
        return known_categorical(take(self.codes), self.values)


def _in_order_of_appearance(column: pd.Series) -> pd.Series:
    """A categorical ``column`` with only the values it uses, in order of first appearance.

    That is the order the event table gives a column of strings, so the table
    is the same whichever it was built from.
    """
    if not isinstance(column.dtype, pd.CategoricalDtype):
        return column
    new, used = appearance_codes(column.cat.codes.to_numpy())
    values = column.cat.categories.take(used)
    if pc.any(pc.match_substring(pa.array(values.array), "\0")).as_py():
        # A value with a NUL character: as strings, the event table cuts those at the end (numpy's strings do).
        return pd.Series(values.to_numpy(dtype=object)[new], dtype="str").where(new >= 0, None)
    return pd.Series(known_categorical(new, values))


def _text_codes(column: pd.Series) -> _Text:
    """Return ``column`` cleaned (surrounding blanks removed; blanks missing) as codes into its distinct values."""
    text = _as_text(column)
    chunks = getattr(text.array, "_pa_array", None)
    if chunks is None:  # not Arrow-backed: clean every row
        clean = _clean_text(column)
        codes, uniques = pd.factorize(clean, sort=False)
        return _Text(codes, pd.Index(np.asarray(uniques, dtype=object), dtype="str"))
    encoded = pc.dictionary_encode(chunks.combine_chunks())
    # Strip each distinct value once; values equal once stripped become one, blanks missing.
    stripped = pc.utf8_trim_whitespace(encoded.dictionary)
    stripped = pc.if_else(pc.equal(stripped, ""), pa.scalar(None, stripped.type), stripped)
    merged = pc.dictionary_encode(stripped)
    remap = np.append(pc.fill_null(merged.indices, -1).to_numpy(zero_copy_only=False).astype(np.int32), np.int32(-1))
    indices = pc.fill_null(encoded.indices, len(encoded.dictionary)).to_numpy(zero_copy_only=False)
    values = pd.Index(merged.dictionary.to_pandas(types_mapper=_str_mapper), dtype="str")
    return _Text(remap[indices], values)


def _str_mapper(dtype: pa.DataType) -> object:
    return pd.StringDtype("pyarrow", na_value=np.nan)


def _has_text(column: pd.Series) -> np.ndarray:
    """Where ``column`` holds more than blanks."""
    text = _as_text(column)
    chunks = getattr(text.array, "_pa_array", None)
    if chunks is None:
        return _clean_text(column).notna().to_numpy()
    # All blanks (what stripping leaves empty), without building the stripped strings.
    blank = pc.or_(pc.equal(pc.binary_length(chunks), 0), pc.utf8_is_space(chunks))
    return pc.invert(pc.fill_null(blank, True)).to_numpy(zero_copy_only=False)


def _activity(frame: pd.DataFrame, spec: str) -> _Text:
    if "+" not in spec:
        return _text_codes(frame[spec])
    parts = [_clean_text(frame[c]) for c in spec.split("+")]
    joined = parts[0]
    for part in parts[1:]:
        # A missing part leaves the other part alone, without a dangling '/'.
        joined = joined.where(part.isna(), joined + ACTIVITY_JOIN + part).where(joined.notna(), part)
    return _text_codes(joined)


def _as_text(column: pd.Series) -> pd.Series:
    """``column`` as strings, missing values missing."""
    if isinstance(column.dtype, pd.CategoricalDtype):
        column = column.astype("str").where(column.notna(), None)
    if pd.api.types.is_string_dtype(column.dtype) and isinstance(column.dtype, pd.StringDtype):
        return column
    text = column.astype("str") if not pd.api.types.is_string_dtype(column.dtype) else column
    return text.where(column.notna(), None)


def _clean_text(column: pd.Series) -> pd.Series:
    """Return ``column`` as strings with surrounding blanks removed; blanks are missing."""
    if isinstance(column.dtype, pd.CategoricalDtype):
        column = column.astype("str").where(column.notna(), None)
    text = column.astype("str") if not pd.api.types.is_string_dtype(column.dtype) else column
    text = text.where(column.notna(), None).str.strip()
    return text.where(text != "", None)


def _reject_duplicates(case: np.ndarray, times: pd.Series, rejects: Rejects, columns: list[str], frame: pd.DataFrame) -> None:
    kept = np.flatnonzero(rejects.kept)
    if not len(kept):
        return
    # Two equal rows have the same ticket and time: compare whole rows only
    # where those repeat (a few rows, instead of every row's every column).
    codes = case[kept]
    time = times.array.asi8[kept]  # datetime64[us, UTC]
    if in_lexsort_order([time, codes]):
        # Sorted by ticket and time, as most exports are: repeats are neighbours.
        same = (codes[1:] == codes[:-1]) & (time[1:] == time[:-1])
        repeats = np.r_[same, False] | np.r_[False, same]
    else:
        # One wrapping 64-bit mix of the two: equal pairs mix equal, and a rare
        # collision only adds a row to compare.
        key = pd.Series(time.view("uint64") * np.uint64(0x9E3779B97F4A7C15) + codes.astype("uint64"))
        repeats = key.duplicated(keep=False).to_numpy()
    kept = kept[repeats]
    if not len(kept):
        return
    dup = frame.iloc[kept][columns].duplicated(keep="first").to_numpy()
    if dup.any():
        mask = np.zeros(len(frame), dtype=bool)
        mask[kept[dup]] = True
        rejects.add("exact duplicate of an earlier row (pass --keep-duplicates to keep)", mask)
