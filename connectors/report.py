"""The load report: what a connector detected, chose, read, rejected and why."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd

EXAMPLES_KEPT = 3


@dataclass
class ColumnChoice:
    """Which input column (or field) fills one canonical role, and why."""

    role: str
    column: str
    reason: str


@dataclass
class Rejection:
    """Input rows left out for one reason, with the first examples."""

    reason: str
    count: int
    examples: list[dict[str, object]] = field(default_factory=list)


@dataclass
class LoadReport:
    """What one load did, so that every input row is accounted for.

    ``rows_read = rows_loaded + rows_rejected`` always holds. When one input
    row gives exactly one event, ``events == rows_loaded``; otherwise
    ``derivation`` says how rows became events (a wide record gives several
    events, a snapshot row that repeats the previous state gives none).
    """

    path: str
    source: str
    source_reason: str
    rows_read: int = 0
    rows_rejected: int = 0
    events: int = 0
    columns: dict[str, ColumnChoice] = field(default_factory=dict)
    rejections: list[Rejection] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    derivation: str = "one event per row"
    flags: list[str] = field(default_factory=list)

    @property
    def rows_loaded(self) -> int:
        return self.rows_read - self.rows_rejected

    def choose(self, role: str, column: str, reason: str) -> None:
        """Record that ``column`` fills ``role`` because of ``reason``."""
        self.columns[role] = ColumnChoice(role, column, reason)

    def to_dict(self) -> dict[str, object]:
        out = asdict(self)
        out["rows_loaded"] = self.rows_loaded
        out["columns"] = {role: {"column": c.column, "reason": c.reason} for role, c in self.columns.items()}
        return out


class Rejects:
    """Collects rejected rows by reason while a connector works through a frame.

    Connectors call :meth:`add` with a boolean mask over the rows they hold;
    rows already rejected for an earlier reason are not counted twice.
    """

    def __init__(self, n_rows: int, source_rows: np.ndarray) -> None:
        self.rejected = np.zeros(n_rows, dtype=bool)
        self.source_rows = source_rows
        self.reasons: list[Rejection] = []

    def add(self, reason: str, mask: np.ndarray | pd.Series, values: pd.Series | None = None) -> int:
        """Reject the rows in ``mask`` for ``reason``; return how many were new."""
        mask = np.asarray(mask, dtype=bool) & ~self.rejected
        count = int(mask.sum())
        if count:
            where = np.flatnonzero(mask)[:EXAMPLES_KEPT]
            examples: list[dict[str, object]] = []
            for i in where:
                example: dict[str, object] = {"row": int(self.source_rows[i])}
                if values is not None:
                    value = values.iloc[i]
                    example["value"] = None if pd.isna(value) else str(value)
                examples.append(example)
            self.reasons.append(Rejection(reason, count, examples))
            self.rejected |= mask
        return count

    def extend(self, rejection: Rejection) -> None:
        """Record rows rejected before the frame was built (e.g. ragged CSV rows)."""
        self.reasons.append(rejection)

    @property
    def kept(self) -> np.ndarray:
        return ~self.rejected

    def count(self) -> int:
        return int(self.rejected.sum()) + sum(
            r.count for r in self.reasons if r.examples and r.examples[0].get("before_frame")
        )

    def fill(self, report: LoadReport, rows_read: int) -> None:
        """Copy the rejections into ``report`` and set its row accounting."""
        report.rows_read = rows_read
        report.rejections.extend(self.reasons)
        report.rows_rejected = sum(r.count for r in self.reasons)


def merge_reports(parts: list[LoadReport], first: LoadReport) -> LoadReport:
    """Merge the load reports of disjoint parts of one export (partitions read by Spark).

    Row counts and rejections add up; the columns, flags and notes are those of
    ``first``, the report of the sample that fixed the reading; the derivation
    text adds up the numbers of the parts when they share its wording.
    """
    out = LoadReport(first.path, first.source, first.source_reason)
    out.columns = dict(first.columns)
    out.flags = list(first.flags)
    out.notes = list(first.notes)
    out.rows_read = sum(p.rows_read for p in parts)
    out.rows_rejected = sum(p.rows_rejected for p in parts)
    out.events = sum(p.events for p in parts)
    by_reason: dict[str, Rejection] = {}
    for p in parts:
        for r in p.rejections:
            seen = by_reason.setdefault(r.reason, Rejection(r.reason, 0, []))
            seen.count += r.count
            seen.examples += r.examples
    for r in by_reason.values():
        r.examples = sorted(r.examples, key=lambda e: int(e.get("row", 0)))[:EXAMPLES_KEPT]  # type: ignore[call-overload]
    out.rejections = sorted(by_reason.values(), key=lambda r: min((int(e["row"]) for e in r.examples), default=0))  # type: ignore[call-overload]
    out.derivation = _sum_numbers([p.derivation for p in parts if p.rows_read]) or first.derivation
    return out


_NUMBER = re.compile(r"\d[\d,]*")


def _sum_numbers(texts: list[str]) -> str | None:
    """Return the texts' common wording with each number summed, or None if the wordings differ."""
    if not texts:
        return None
    shapes = {_NUMBER.sub("#", t) for t in texts}
    if len(shapes) != 1:
        return None
    columns = zip(*(_NUMBER.findall(t) for t in texts), strict=True)
    totals = iter(f"{sum(int(n.replace(',', '')) for n in col):,}" for col in columns)
    return _NUMBER.sub(lambda _m: next(totals), texts[0])
