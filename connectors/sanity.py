"""Checks on a loaded log: one that gives no event is an error; data that is suspect but usable gets warnings."""

from __future__ import annotations

import pandas as pd

from connectors.errors import EmptyExport
from connectors.eventlog import TIMESTAMP
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
        return {"future": 0, "early": 0, "latest": None, "earliest": None}
    ts = table[TIMESTAMP]
    now = pd.Timestamp.now(tz="UTC")
    return {"future": int((ts > now + pd.Timedelta(days=1)).sum()), "early": int((ts < EARLIEST_PLAUSIBLE).sum()),
            "latest": ts.max(), "earliest": ts.min()}


def merge_date_stats(parts: list[dict[str, object]]) -> dict[str, object]:
    latest = [p["latest"] for p in parts if p["latest"] is not None]
    earliest = [p["earliest"] for p in parts if p["earliest"] is not None]
    return {"future": sum(int(p["future"]) for p in parts), "early": sum(int(p["early"]) for p in parts),  # type: ignore[call-overload]
            "latest": max(latest) if latest else None, "earliest": min(earliest) if earliest else None}


def add_warnings(report: LoadReport, stats: dict[str, object]) -> None:
    """Add the warnings for rejected rows and for implausible dates described by ``stats``."""
    if report.rows_rejected:
        report.warnings.append(
            f"{report.rows_rejected:,} of {report.rows_read:,} rows rejected: "
            + "; ".join(f"{r.reason} ({r.count:,})" for r in report.rejections)
        )
    if stats["future"]:
        report.warnings.append(f"{counted(stats['future'], 'event')} {'is' if stats['future'] == 1 else 'are'} dated in the future (latest {_minute(stats['latest'])}); check the date format or time zone")  # type: ignore[arg-type]
    if stats["early"]:
        report.warnings.append(f"{counted(stats['early'], 'event')} {'is' if stats['early'] == 1 else 'are'} dated before 1990 (earliest {_minute(stats['earliest'])}); check the date format")  # type: ignore[arg-type]


def _minute(ts: pd.Timestamp) -> str:
    """Return ``ts`` as 'yyyy-mm-dd HH:MM', also for years strftime cannot write (before 1 or after 9999)."""
    return f"{ts.year:04d}-{ts.month:02d}-{ts.day:02d} {ts.hour:02d}:{ts.minute:02d}"
