"""The load report: what a connector detected, chose, read, rejected and why."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # pandas is imported where rows are rejected: connectors.textio stays free of it, for reading ahead
    import pandas as pd

EXAMPLES_KEPT = 3

# Report texts mark what adds up over partitions of whole cases, so that the
# partitioned engines can merge the reports of their partitions into the report
# of the whole export (:func:`merge_reports`): a count of rows, tickets or
# values (:func:`tally`), and a set of distinct values (:func:`distinct`,
# :func:`few`). :meth:`LoadReport.finish` writes the marks out as text.
_TALLY = re.compile("\x1e\\d+(?:\\|[^\x1e]*)?\x1e")
_SET = re.compile("\x1f[^\x1f]*\x1f")
_MARK = re.compile("\x1e(\\d+)(?:\\|([^|\x1e]*)\\|([^\x1e]*))?\x1e|\x1f([^\x1f]*)\x1f")


def counted(n: int | np.integer, what: str, plural: str | None = None) -> str:
    """``n`` and ``what`` in the right number, for a text written once: '1 ticket', '1,234 tickets'."""
    n = int(n)
    return f"{n:,} {what if n == 1 else plural or what + 's'}"


def tally(n: int | np.integer, what: str | None = None, plural: str | None = None) -> str:
    """``n`` (and ``what``, plural ``plural`` or what + 's'), written '1,234 rows', as a count that adds up over partitions of cases."""
    if what is None:
        return f"\x1e{int(n)}\x1e"
    return f"\x1e{int(n)}|{what}|{plural or what + 's'}\x1e"


def distinct(values: Iterable[object]) -> str:
    """The number of distinct ``values``, which partitions of cases merge as a union."""
    return _set_mark("count", values)


def few(values: Iterable[object], k: int = 4) -> str:
    """The first ``k`` distinct ``values`` in sorted order, then '… N more'; partitions merge them as a union."""
    return _set_mark(f"few{k}", values)


def _set_mark(kind: str, values: Iterable[object]) -> str:
    # json.dumps escapes control characters, so the payload never holds the mark itself.
    return "\x1f" + json.dumps([kind, sorted({str(v) for v in values})]) + "\x1f"


def render(text: str) -> str:
    """Write the marks of ``text`` out: counts as 1,234, sets as their count or first values."""
    return _MARK.sub(_render_one, text)


def _render_one(match: re.Match[str]) -> str:
    count, what, plural, payload = match.groups()
    if count is not None:
        n = int(count)
        return f"{n:,}" if what is None else f"{n:,} {what if n == 1 else plural}"
    kind, values = json.loads(payload)
    if kind == "count":
        return f"{len(values):,}"
    k = int(kind.removeprefix("few"))
    shown = ", ".join(values[:k])
    return shown + (f" … {len(values) - k} more" if len(values) > k else "")


def shape(text: str) -> str:
    """``text`` with its marks blanked: texts of the same shape merge with :func:`add_up`."""
    return _SET.sub("{}", _TALLY.sub("#", text))


def add_up(texts: list[str]) -> str | None:
    """Merge texts of one shape: counts summed, sets united (marks kept); None if their shapes differ."""
    if not texts:
        return None
    if len({shape(t) for t in texts}) != 1:
        return None
    marks = [list(_MARK.finditer(t)) for t in texts]
    merged = []
    for group in zip(*marks, strict=True):
        count, what, plural, payload = group[0].groups()
        if count is not None:
            merged.append(tally(sum(int(m.group(1)) for m in group), what, plural))
        else:
            kind = json.loads(payload)[0]
            union: set[str] = set()
            for m in group:
                union.update(json.loads(m.group(4))[1])
            merged.append(_set_mark(kind, union))
    pieces = iter(merged)
    return _MARK.sub(lambda _m: next(pieces), texts[0])


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

    def finish(self) -> LoadReport:
        """Write out the marks in the report's texts (see :func:`tally`); return the report."""
        self.source_reason = render(self.source_reason)
        self.notes = [render(n) for n in self.notes]
        self.warnings = [render(w) for w in self.warnings]
        self.derivation = render(self.derivation)
        for choice in self.columns.values():
            choice.reason = render(choice.reason)
        for rejection in self.rejections:
            rejection.reason = render(rejection.reason)
        return self

    def to_dict(self) -> dict[str, object]:
        out = asdict(self)
        out["rows_loaded"] = self.rows_loaded
        out["columns"] = {role: {"column": c.column, "reason": c.reason} for role, c in self.columns.items()}
        return out

    @classmethod
    def from_dict(cls, doc: dict[str, Any]) -> LoadReport:
        """The report :meth:`to_dict` wrote (how the Spark engine sends reports to its driver)."""
        report = cls(doc["path"], doc["source"], doc["source_reason"], doc["rows_read"], doc["rows_rejected"], doc["events"])
        report.columns = {role: ColumnChoice(role, c["column"], c["reason"]) for role, c in doc["columns"].items()}
        report.rejections = [Rejection(r["reason"], r["count"], r["examples"]) for r in doc["rejections"]]
        report.notes, report.warnings = list(doc["notes"]), list(doc["warnings"])
        report.derivation, report.flags = doc["derivation"], list(doc["flags"])
        return report


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
                    import pandas as pd

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


def merge_reports(parts: list[LoadReport], first: LoadReport) -> tuple[LoadReport, list[str]]:
    """Merge the load reports of disjoint partitions of cases of one export.

    Row counts and rejections add up. Texts add up too where the partitions'
    texts differ only in their marked counts and sets (:func:`tally`); the
    result is then the report of the whole export. Return the merged report
    and what the partitions disagree on: column choices, flags, or texts that
    differ otherwise. Where they disagree, the texts are those of ``first``,
    the report of the export's first rows.
    """
    out = LoadReport(first.path, first.source, first.source_reason)
    out.columns = {role: ColumnChoice(c.role, c.column, c.reason) for role, c in first.columns.items()}
    out.flags = list(first.flags)
    out.notes = list(first.notes)
    out.warnings = list(first.warnings)
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

    live = [p for p in parts if p.rows_read]
    disagree: list[str] = []
    derivation = add_up([p.derivation for p in live]) or _sum_numbers([render(p.derivation) for p in live])
    out.derivation = derivation or first.derivation
    if not live:
        return out, disagree
    if len({tuple((r, c.column) for r, c in p.columns.items()) for p in live}) > 1:
        disagree.append("the columns chosen")
    else:
        reasons = {role: add_up([p.columns[role].reason for p in live]) for role in live[0].columns}
        if all(r is not None for r in reasons.values()):
            out.columns = {role: ColumnChoice(role, c.column, reasons[role] or "") for role, c in live[0].columns.items()}
        else:
            disagree.append("why the columns were chosen")
    if len({tuple(p.flags) for p in live}) > 1:
        disagree.append("the options (" + " vs ".join(sorted({" ".join(p.flags) for p in live})) + ")")
    else:
        out.flags = list(live[0].flags)
    merged_reason = add_up([p.source_reason for p in live])
    if merged_reason is None:
        disagree.append("why the source was chosen")
    else:
        out.source_reason = merged_reason
    for name in ("notes", "warnings"):
        lists = [getattr(p, name) for p in live]
        merged = [add_up(list(texts)) for texts in zip(*lists, strict=False)] if len({len(t) for t in lists}) == 1 else [None]
        if any(m is None for m in merged):
            disagree.append(f"the load {name}")
        else:
            setattr(out, name, merged)
    return out, disagree


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
