"""Turning a table of rows, one event each, into the canonical event table.

Shared by the generic CSV/XLSX/Parquet connector and by vendor connectors
whose exports are (or become) one row per event. It rejects, with reasons,
rows without a case, an activity or a readable timestamp, and exact duplicate
rows; it pairs lifecycle start/complete rows when asked.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

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
    make_event_table,
)
from connectors.options import LoadOptions
from connectors.report import LoadReport, Rejects, tally

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
    case = _clean_text(frame[roles.case_id])
    rejects.add(f"no case id in {roles.case_id!r}", case.isna())
    activity = _activity(frame, roles.activity)
    rejects.add(f"no activity in {roles.activity!r}", activity.isna())

    raw_time = frame[roles.timestamp]
    present = raw_time.notna().to_numpy().copy()
    if not pd.api.types.is_datetime64_any_dtype(raw_time.dtype):
        present &= (_clean_text(raw_time).notna()).to_numpy()  # a blank cell is no timestamp, not a bad one
    rejects.add(f"no timestamp in {roles.timestamp!r}", ~present)
    kept_for_time = rejects.kept
    parsed = parse_timestamps(
        frame[roles.timestamp].where(kept_for_time, None) if not kept_for_time.all() else frame[roles.timestamp],
        options=options.dates, name=roles.timestamp, path=path, rows=source_rows, cases=case,
    )
    report.notes.append(f"timestamps in {roles.timestamp!r}: {parsed.description}")
    report.notes.extend(parsed.notes)
    report.warnings.extend(parsed.warnings)
    report.flags.extend(f for f in parsed.flags if f not in report.flags)
    rejects.add(f"timestamp in {roles.timestamp!r} is not a date ({parsed.description})", parsed.bad, frame[roles.timestamp])

    end = None
    if roles.end_timestamp:
        parsed_end = parse_timestamps(
            frame[roles.end_timestamp], options=options.dates, name=roles.end_timestamp, path=path, rows=source_rows, cases=case,
        )
        report.notes.extend(parsed_end.notes)
        report.warnings.extend(parsed_end.warnings)
        rejects.add(f"end timestamp in {roles.end_timestamp!r} is not a date", parsed_end.bad, frame[roles.end_timestamp])
        end = parsed_end.values
        backwards = (end < parsed.values).fillna(False).to_numpy()
        rejects.add(f"{roles.end_timestamp!r} is before {roles.timestamp!r}", backwards, frame[roles.end_timestamp])

    events = pd.DataFrame({CASE_ID: case, ACTIVITY: activity, TIMESTAMP: parsed.values, SOURCE_ROW: source_rows})
    if end is not None:
        events[END_TIMESTAMP] = end
    for role in (RESOURCE, GROUP):
        col = getattr(roles, role)
        if col:
            events[role] = _clean_text(frame[col])
    if attributes is None:
        attributes = [c for c in frame.columns if c not in roles.used()]
    attr_names = {}
    for c in attributes:
        name = c if c not in events.columns else f"src_{c}"
        attr_names[c] = name
        events[name] = frame[c].array  # no index alignment, and Arrow strings stay Arrow strings

    if drop_duplicates and not options.keep_duplicates:
        _reject_duplicates(events, rejects, list(frame.columns), frame)

    keep = rejects.kept
    events = events[keep].reset_index(drop=True)

    pairs = 0
    if roles.lifecycle and len(events):
        transitions = frame[roles.lifecycle][keep].reset_index(drop=True)
        do_pair, why = lifecycle.decide(options.lifecycle, transitions)
        if why:
            report.notes.append(why)
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
                suffix = (" (" + kinds[other] + ")").to_numpy(dtype=object)
                events.loc[other, ACTIVITY] = events.loc[other, ACTIVITY].to_numpy(dtype=object) + suffix
            report.derivation = f"{paired.note}; every other row is one event"

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


def _activity(frame: pd.DataFrame, spec: str) -> pd.Series:
    parts = [_clean_text(frame[c]) for c in spec.split("+")]
    if len(parts) == 1:
        return parts[0]
    joined = parts[0]
    for part in parts[1:]:
        # A missing part leaves the other part alone, without a dangling '/'.
        joined = joined.where(part.isna(), joined + ACTIVITY_JOIN + part).where(joined.notna(), part)
    return joined


def _clean_text(column: pd.Series) -> pd.Series:
    """Return ``column`` as strings with surrounding blanks removed; blanks are missing."""
    if isinstance(column.dtype, pd.CategoricalDtype):
        column = column.astype("str").where(column.notna(), None)
    text = column.astype("str") if not pd.api.types.is_string_dtype(column.dtype) else column
    text = text.where(column.notna(), None).str.strip()
    return text.where(text != "", None)


def _reject_duplicates(events: pd.DataFrame, rejects: Rejects, columns: list[str], frame: pd.DataFrame) -> None:
    kept = np.flatnonzero(rejects.kept)
    if not len(kept):
        return
    # Two equal rows have the same ticket and time: compare whole rows only
    # where those repeat (a few rows, instead of every row's every column).
    # One wrapping 64-bit mix of the two: equal pairs mix equal, and a rare
    # collision only adds a row to compare.
    case = pd.factorize(events[CASE_ID].iloc[kept])[0].astype("uint64")
    time = events[TIMESTAMP].iloc[kept].array.asi8.view("uint64")  # datetime64[us, UTC]
    key = pd.Series(time * np.uint64(0x9E3779B97F4A7C15) + case)
    kept = kept[key.duplicated(keep=False).to_numpy()]
    if not len(kept):
        return
    dup = frame.iloc[kept][columns].duplicated(keep="first").to_numpy()
    if dup.any():
        mask = np.zeros(len(frame), dtype=bool)
        mask[kept[dup]] = True
        rejects.add("exact duplicate of an earlier row (pass --keep-duplicates to keep)", mask)
