"""Checks on a loaded log: one that gives no event is an error; data that is suspect but usable gets warnings."""

from __future__ import annotations

import numpy as np
import pandas as pd

from connectors.errors import EmptyExport
from connectors.eventlog import CASE_ID, TIMESTAMP
from connectors.report import LoadReport, counted

EARLIEST_PLAUSIBLE = pd.Timestamp("1990-01-01", tz="UTC")


def check_loaded(table: pd.DataFrame, report: LoadReport) -> None:
    """Refuse a log without events (every connector's last word); add warnings for rejected rows and implausible dates."""
    if table.empty:
        if not report.rows_loaded:
            reasons = "; ".join(f"{r.reason} ({r.count:,})" for r in report.rejections) or "no data rows"
            raise EmptyExport(f"{report.path}: every row was rejected: {reasons}")
        raise EmptyExport(f"{report.path}: no events: {report.rows_loaded:,} rows loaded, but none gives an event ({report.derivation})")
    add_warnings(report, date_stats(table))


def date_stats(table: pd.DataFrame) -> dict[str, object]:
    """Counts and extremes of implausible dates; stats of disjoint parts merge with :func:`merge_date_stats`."""
    if table.empty:
        return {"future": 0, "early": 0, "latest": None, "earliest": None, "cases": 0, "events": 0}
    ts = table[TIMESTAMP]
    now = pd.Timestamp.now(tz="UTC")
    return {"future": int((ts > now + pd.Timedelta(days=1)).sum()), "early": int((ts < EARLIEST_PLAUSIBLE).sum()),
            "latest": ts.max(), "earliest": ts.min(), "cases": _cases(table[CASE_ID]), "events": len(table)}


def _cases(case: pd.Series) -> int:
    """Distinct tickets among these events (parts of a log hold disjoint tickets, so the counts add up)."""
    if isinstance(case.dtype, pd.CategoricalDtype):
        codes = case.cat.codes.to_numpy()
        return int(np.count_nonzero(np.bincount(codes[codes >= 0], minlength=len(case.cat.categories))))
    return int(case.nunique())


def merge_date_stats(parts: list[dict[str, object]]) -> dict[str, object]:
    latest = [p["latest"] for p in parts if p["latest"] is not None]
    earliest = [p["earliest"] for p in parts if p["earliest"] is not None]
    return {"future": sum(int(p["future"]) for p in parts), "early": sum(int(p["early"]) for p in parts),  # type: ignore[call-overload]
            "latest": max(latest) if latest else None, "earliest": min(earliest) if earliest else None,
            "cases": sum(int(p.get("cases", 0)) for p in parts), "events": sum(int(p.get("events", 0)) for p in parts)}  # type: ignore[call-overload]


FEW_CASES = 10  # this few tickets ...
EVENTS_PER_CASE = 50  # ... each with this many events on average: the ticket-id column is probably a state or a team


def add_warnings(report: LoadReport, stats: dict[str, object]) -> None:
    """Add the warnings for rejected rows and for implausible dates described by ``stats``."""
    if report.rows_rejected:
        report.warnings.append(
            f"{report.rows_rejected:,} of {report.rows_read:,} rows rejected: "
            + "; ".join(f"{r.reason} ({r.count:,})" for r in report.rejections)
        )
    if stats["future"]:
        report.warnings.append(f"{counted(stats['future'], 'event')} {'is' if stats['future'] == 1 else 'are'} dated in the future (latest {_minute(stats['latest'])}); check the date format or time zone")  # type: ignore[arg-type]
    cases, events = int(stats.get("cases", 0)), int(stats.get("events", 0))  # type: ignore[call-overload]
    if 0 < cases <= FEW_CASES and events >= EVENTS_PER_CASE * cases:
        choice = report.columns.get("case_id")
        named = f"column {choice.column!r}" if choice else "the ticket-id column"
        report.warnings.append(
            f"only {counted(cases, 'ticket')} for {counted(events, 'event')} (about {events // cases:,} events each): {named} looks like a "
            f"status or a team rather than the ticket id; name the ticket-id column with --case-col")
    if stats["early"]:
        report.warnings.append(f"{counted(stats['early'], 'event')} {'is' if stats['early'] == 1 else 'are'} dated before 1990 (earliest {_minute(stats['earliest'])}); check the date format")  # type: ignore[arg-type]


def _minute(ts: pd.Timestamp) -> str:
    """Return ``ts`` as 'yyyy-mm-dd HH:MM', also for years strftime cannot write (before 1 or after 9999)."""
    return f"{ts.year:04d}-{ts.month:02d}-{ts.day:02d} {ts.hour:02d}:{ts.minute:02d}"
