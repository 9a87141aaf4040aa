"""The event table as flat arrays grouped by case: the shape every miner
computation works on.

Events stay in the canonical order (case, time, source row), so a case is a
contiguous slice ``[case_start[c], case_start[c + 1])``. Computations compare
each event with the next one of the same case (``same_case_next``) or reduce
over the slices with ``np.add.reduceat``/``np.bincount``: no Python loop over
events, and any subset of whole cases gives the same per-case results, which is
what lets a partition of cases be computed on its own and merged.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd

from connectors.eventlog import ACTIVITY, CASE_ID, END_TIMESTAMP, GROUP, RESOURCE, TIMESTAMP, known_categorical

US = 1_000_000  # microseconds per second: timestamps are int64 microseconds since the epoch


@dataclass(frozen=True, eq=False)
class CaseArrays:
    """Flat arrays over the events of a log, in canonical order."""

    case: np.ndarray  # dense case index per event, 0 … n_cases-1, non-decreasing
    case_start: np.ndarray  # offsets of each case's first event; len n_cases + 1
    case_ids: np.ndarray  # case id per case index (object array of str)
    activity: np.ndarray  # activity code per event
    activity_names: np.ndarray  # activity name per code (object array of str)
    ts: np.ndarray  # int64 microseconds
    end: np.ndarray | None  # int64 microseconds, or None; missing ends are -2**63
    group: np.ndarray | None  # group code per event, -1 where missing
    group_names: np.ndarray | None

    @property
    def n_events(self) -> int:
        return len(self.case)

    @property
    def n_cases(self) -> int:
        return len(self.case_ids)

    @cached_property
    def case_id_index(self) -> pd.Index:
        """The case ids as a string index (distinct: one per case)."""
        return pd.Index(self.case_ids, dtype="str")

    def case_id_categorical(self, case: np.ndarray) -> pd.Categorical:
        """The ids of the cases ``case`` (indices) as a categorical over all case ids."""
        return known_categorical(case, self.case_id_index)

    @cached_property
    def case_len(self) -> np.ndarray:
        return np.diff(self.case_start)

    @cached_property
    def same_case_next(self) -> np.ndarray:
        """True at event i when event i+1 belongs to the same case (length n_events - 1)."""
        return self.case[1:] == self.case[:-1]

    @cached_property
    def is_first(self) -> np.ndarray:
        out = np.zeros(self.n_events, dtype=bool)
        out[self.case_start[:-1]] = True
        return out

    @cached_property
    def is_last(self) -> np.ndarray:
        out = np.zeros(self.n_events, dtype=bool)
        out[self.case_start[1:] - 1] = True
        return out

    @cached_property
    def first_index(self) -> np.ndarray:
        """Per event: the index of its case's first event."""
        return self.case_start[:-1][self.case]

    @cached_property
    def end_index(self) -> np.ndarray:
        """Per event: one past the index of its case's last event."""
        return self.case_start[1:][self.case]

    @cached_property
    def finish(self) -> np.ndarray:
        """When each event ends: its end timestamp if known, else its timestamp."""
        if self.end is None:
            return self.ts
        return np.where(self.end == NAT, self.ts, np.maximum(self.end, self.ts))

    @cached_property
    def case_first_ts(self) -> np.ndarray:
        return self.ts[self.case_start[:-1]]

    @cached_property
    def case_last_ts(self) -> np.ndarray:
        """Latest moment of each case: the maximum of timestamps and end timestamps."""
        if self.n_cases == 0:
            return np.zeros(0, dtype=np.int64)
        return np.maximum.reduceat(self.finish, self.case_start[:-1])

    @cached_property
    def duration_to_next(self) -> np.ndarray:
        """Microseconds each event's state lasts: to its end if known, else to the case's next event.

        The last event of a case without an end lasts 0.
        """
        out = np.zeros(self.n_events, dtype=np.int64)
        if self.n_events > 1:
            nxt = np.where(self.same_case_next, self.ts[1:] - self.ts[:-1], 0)
            out[:-1] = nxt
        if self.end is not None:
            known = self.end != NAT
            out = np.where(known, np.maximum(self.end - self.ts, 0), out)
        return out

    def names(self, codes: np.ndarray) -> np.ndarray:
        """Return activity names for activity codes."""
        return self.activity_names[codes]


NAT = np.iinfo(np.int64).min


def case_arrays(log: pd.DataFrame) -> CaseArrays:
    """Return the flat arrays of a canonical event table (sorted by case)."""
    n = len(log)
    case_codes = log[CASE_ID].cat.codes.to_numpy()
    if n:
        boundary = np.empty(n, dtype=bool)
        boundary[0] = True
        np.not_equal(case_codes[1:], case_codes[:-1], out=boundary[1:])
        case = np.cumsum(boundary, dtype=np.int64) - 1
        starts = np.flatnonzero(boundary)
    else:
        case = np.zeros(0, dtype=np.int64)
        starts = np.zeros(0, dtype=np.int64)
    case_start = np.append(starts, n).astype(np.int64)
    categories = np.asarray(log[CASE_ID].cat.categories, dtype=object)
    case_ids = categories[case_codes[starts]] if n else np.zeros(0, dtype=object)

    act_codes, act_names = _dense(log[ACTIVITY])
    ts = log[TIMESTAMP].to_numpy(dtype="datetime64[us]").view(np.int64)
    end = None
    if END_TIMESTAMP in log and log[END_TIMESTAMP].notna().any():
        end = log[END_TIMESTAMP].to_numpy(dtype="datetime64[us]").view(np.int64)
    group = group_names = None
    if GROUP in log:
        group, group_names = _dense(log[GROUP])
    return CaseArrays(case, case_start, case_ids, act_codes, act_names, ts, end, group, group_names)


def _dense(column: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Return codes renumbered over the categories that occur, and their names."""
    codes = column.cat.codes.to_numpy().astype(np.int32)
    names = np.asarray(column.cat.categories, dtype=object)
    used = np.zeros(len(names) + 1, dtype=bool)
    used[codes + 1] = True
    used = used[1:]
    if used.all():
        return codes, names
    remap = np.cumsum(used) - 1
    return np.where(codes >= 0, remap[codes], -1).astype(np.int32), names[used]


def resource_names(log: pd.DataFrame) -> np.ndarray | None:
    return np.asarray(log[RESOURCE].astype(object)) if RESOURCE in log else None


def subset(arrays: CaseArrays, keep_case: np.ndarray) -> CaseArrays:
    """Return the arrays of the cases where ``keep_case`` is true, in the same order."""
    keep_event = keep_case[arrays.case]
    lengths = arrays.case_len[keep_case]
    case_start = np.r_[0, np.cumsum(lengths)].astype(np.int64)
    case = np.repeat(np.arange(len(lengths)), lengths)
    return CaseArrays(
        case=case,
        case_start=case_start,
        case_ids=arrays.case_ids[keep_case],
        activity=arrays.activity[keep_event],
        activity_names=arrays.activity_names,
        ts=arrays.ts[keep_event],
        end=None if arrays.end is None else arrays.end[keep_event],
        group=None if arrays.group is None else arrays.group[keep_event],
        group_names=arrays.group_names,
    )
