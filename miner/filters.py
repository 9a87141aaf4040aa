"""Filters that keep or drop whole tickets of the canonical event table.

A filter never removes single events: a ticket is kept with all its events,
or dropped with all of them, so that every per-ticket figure (lead time,
rework, conformance) stays what it is in the unfiltered log. Filters run on
the canonical table before the plan, in the order given, and each says how
many tickets it removed (:class:`FilterNote`).

* ``--from DATE`` / ``--to DATE``: tickets whose anchor falls in the window,
  ``from <= anchor < to``. A ``--to`` given as a bare date (``2025-03-31``)
  includes that whole day. The anchor is the ticket's first event
  (``--window-by opened``, the default) or its last event
  (``--window-by resolved``: the resolution of a delivered ticket, the latest
  update of an open one).
* ``--where EXPR``: ``attr=value``, ``attr=a,b`` (any of the values),
  ``attr=glob:Net*``, ``attr=re:^Net``. A ticket is kept when any of its
  events matches, so an event attribute (the assignment group) keeps the
  tickets that were ever there, and a ticket attribute (the priority) works
  as expected.
"""

from __future__ import annotations

import fnmatch
import re
import shlex
from dataclasses import dataclass

import numpy as np
import pandas as pd

from connectors.errors import BadOption
from connectors.report import counted
from connectors.eventlog import CASE_ID, TIMESTAMP

WINDOW_BY = ("opened", "resolved")


@dataclass(frozen=True)
class FilterNote:
    """What one filter did: its text, the tickets before it and how many it removed."""

    filter: str
    tickets_before: int
    removed: int

    def text(self) -> str:
        return f"Filter {self.filter}: removed {self.removed:,} of {counted(self.tickets_before, 'ticket')}"


@dataclass(frozen=True)
class Filters:
    """The filters of one run, as given on the command line (picklable: worker processes apply them per partition)."""

    date_from: str | None = None
    date_to: str | None = None
    window_by: str = "opened"
    where: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.date_from or self.date_to or self.where)

    def check(self) -> None:
        """Refuse a bad date, anchor or pattern before any export is read."""
        if self.window_by not in WINDOW_BY:
            raise BadOption(f"--window-by {self.window_by!r}: use one of {', '.join(WINDOW_BY)}")
        if self.date_from is not None:
            parse_date(self.date_from, "--from")
        if self.date_to is not None:
            parse_date(self.date_to, "--to", end=True)
        for expr in self.where:
            _matcher(expr, None)

    def flags(self) -> list[str]:
        """The options that reproduce these filters (for the load report's flags)."""
        out = [f"--from {shlex.quote(self.date_from)}"] if self.date_from is not None else []
        out += [f"--to {shlex.quote(self.date_to)}"] if self.date_to is not None else []
        if (self.date_from is not None or self.date_to is not None) and self.window_by != "opened":
            out.append(f"--window-by {self.window_by}")
        return out + [f"--where {shlex.quote(expr)}" for expr in self.where]

    def apply(self, log: pd.DataFrame, *, allow_empty: bool = False) -> tuple[pd.DataFrame, list[FilterNote]]:
        """:func:`apply_filters` with these filters."""
        return apply_filters(log, date_from=self.date_from, date_to=self.date_to, window_by=self.window_by,
                             where=self.where, allow_empty=allow_empty)


def merge_notes(parts: list[list[FilterNote]]) -> list[FilterNote]:
    """The notes of the whole log from those of its partitions of whole tickets (the counts add up)."""
    parts = [p for p in parts if p]
    if not parts:
        return []
    return [FilterNote(notes[0].filter, sum(n.tickets_before for n in notes), sum(n.removed for n in notes))
            for notes in zip(*parts, strict=True)]


def check_left(notes: list[FilterNote]) -> None:
    """Refuse filters that left no ticket, saying what each removed."""
    if notes and notes[-1].removed == notes[-1].tickets_before:
        said = "; ".join(n.text() for n in notes)
        raise BadOption(f"no tickets are left after the filters ({said}); widen the window or loosen --where")


def parse_date(text: str, option: str, *, end: bool = False, zone: str = "UTC") -> pd.Timestamp:
    """A moment in UTC: ``text`` read in ``zone`` unless it names its own; a bare date as ``--to`` means the end of that day."""
    try:
        when = pd.Timestamp(text)
    except (ValueError, TypeError) as exc:
        raise BadOption(f"{option} {text!r} is not a date; write it like 2025-03-31 or 2025-03-31T18:00") from exc
    if when is pd.NaT:
        raise BadOption(f"{option} {text!r} is not a date; write it like 2025-03-31 or 2025-03-31T18:00")
    if when.tzinfo is None:
        when = when.tz_localize(zone, ambiguous=True, nonexistent="shift_forward")
    when = when.tz_convert("UTC")
    if end and re.fullmatch(r"\s*\d{4}-\d{2}-\d{2}\s*", text):
        when += pd.Timedelta(days=1)
    return when


def _case_bounds(log: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Per event its case's index (0 … n-1, cases in table order) and each case's first-event offset."""
    codes = log[CASE_ID].cat.codes.to_numpy() if isinstance(log[CASE_ID].dtype, pd.CategoricalDtype) else pd.factorize(log[CASE_ID])[0]
    change = np.ones(len(codes), bool)
    change[1:] = codes[1:] != codes[:-1]
    starts = np.flatnonzero(change)
    case = np.cumsum(change) - 1
    return case, starts


def ticket_anchor(log: pd.DataFrame, window_by: str = "opened") -> np.ndarray:
    """Per event, its ticket's anchor time (µs since the epoch): the first event's time, or the last's."""
    if window_by not in WINDOW_BY:
        raise BadOption(f"--window-by {window_by!r}: use one of {', '.join(WINDOW_BY)}")
    case, starts = _case_bounds(log)
    ts = log[TIMESTAMP].to_numpy(dtype="datetime64[us]").view(np.int64)
    if window_by == "opened":
        per_case = np.minimum.reduceat(ts, starts) if len(ts) else ts
    else:
        per_case = np.maximum.reduceat(ts, starts) if len(ts) else ts
    return per_case[case]


def _matcher(expr: str, columns: list[str] | None) -> tuple[str, object]:
    """Parse ``attr=value`` into the column and a function from an array of strings to a boolean mask (``columns`` None: any)."""
    if "=" not in expr:
        raise BadOption(f"--where {expr!r}: write it as attr=value, attr=a,b, attr=glob:PATTERN or attr=re:PATTERN")
    attr, value = (s.strip() for s in expr.split("=", 1))
    if columns is not None and attr not in columns:
        raise BadOption(f"--where {expr!r}: no column {attr!r} in the export; its columns are {', '.join(columns)}")
    if value.startswith("re:"):
        try:
            pattern = re.compile(value[3:])
        except re.error as exc:
            raise BadOption(f"--where {expr!r}: bad regular expression ({exc})") from exc
        return attr, lambda s: np.array([pattern.search(v) is not None for v in s], bool)
    if value.startswith("glob:"):
        rx = re.compile(fnmatch.translate(value[5:]))
        return attr, lambda s: np.array([rx.match(v) is not None for v in s], bool)
    wanted = {v.strip() for v in value.split(",")} if "," in value else {value}
    return attr, lambda s: np.isin(np.asarray(s, dtype=object), list(wanted))


def where_mask(log: pd.DataFrame, expr: str) -> np.ndarray:
    """Per event: does it match ``expr``? Matched on the distinct values only (one look per category)."""
    attr, match = _matcher(expr, [str(c) for c in log.columns])
    column = log[attr]
    if isinstance(column.dtype, pd.CategoricalDtype):
        cats = np.asarray(column.cat.categories.astype(str), dtype=object)
        hit = np.append(match(cats), False)  # code -1 (missing) never matches
        return hit[column.cat.codes.to_numpy()]
    values = column.astype("string")
    uniques, codes = np.unique(values.fillna("\x00").to_numpy(dtype=object), return_inverse=True)
    hit = match(uniques) & (uniques != "\x00")
    return hit[codes]


def _keep_cases(log: pd.DataFrame, event_hit: np.ndarray) -> np.ndarray:
    """Per event: is any event of its ticket a hit?"""
    case, starts = _case_bounds(log)
    if not len(case):
        return event_hit
    any_hit = np.logical_or.reduceat(event_hit, starts)
    return any_hit[case]


def _tickets(log: pd.DataFrame) -> int:
    return int(log[CASE_ID].nunique()) if len(log) else 0


def apply_filters(
    log: pd.DataFrame,
    *,
    date_from: str | None = None,
    date_to: str | None = None,
    window_by: str = "opened",
    where: tuple[str, ...] | list[str] = (),
    allow_empty: bool = False,
) -> tuple[pd.DataFrame, list[FilterNote]]:
    """Keep the whole tickets that pass every filter; return the table and one note per filter.

    ``allow_empty``: a partition of the log may lose every ticket (the caller
    checks the whole with :func:`check_left`).
    """
    notes: list[FilterNote] = []

    def step(label: str, keep: np.ndarray) -> None:
        nonlocal log
        before = _tickets(log)
        log = log[keep].reset_index(drop=True)
        if isinstance(log[CASE_ID].dtype, pd.CategoricalDtype):
            log[CASE_ID] = log[CASE_ID].cat.remove_unused_categories()
        notes.append(FilterNote(label, before, before - _tickets(log)))

    if date_from is not None or date_to is not None:
        anchor = ticket_anchor(log, window_by)
        keep = np.ones(len(log), bool)
        label = []
        if date_from is not None:
            keep &= anchor >= parse_date(date_from, "--from").value // 1000
            label.append(f"--from {date_from}")
        if date_to is not None:
            keep &= anchor < parse_date(date_to, "--to", end=True).value // 1000
            label.append(f"--to {date_to}")
        if window_by != "opened":
            label.append(f"--window-by {window_by}")
        step(" ".join(label), keep)
    for expr in where:
        step(f"--where {expr}", _keep_cases(log, where_mask(log, expr)))
    if not allow_empty:
        check_left(notes)
    return log, notes
