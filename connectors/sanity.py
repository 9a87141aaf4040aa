"""Checks on a loaded log that warn about data that is suspect but usable."""

from __future__ import annotations

import pandas as pd

from connectors.eventlog import TIMESTAMP
from connectors.report import LoadReport

EARLIEST_PLAUSIBLE = pd.Timestamp("1990-01-01", tz="UTC")


def check_loaded(table: pd.DataFrame, report: LoadReport) -> None:
    """Add warnings to ``report`` for rejected rows and implausible dates."""
    if report.rows_rejected:
        report.warnings.append(
            f"{report.rows_rejected:,} of {report.rows_read:,} rows rejected: "
            + "; ".join(f"{r.reason} ({r.count:,})" for r in report.rejections)
        )
    if table.empty:
        return
    ts = table[TIMESTAMP]
    now = pd.Timestamp.now(tz="UTC")
    future = int((ts > now + pd.Timedelta(days=1)).sum())
    if future:
        report.warnings.append(f"{future:,} events are dated in the future (latest {ts.max():%Y-%m-%d %H:%M}); check the date format or time zone")
    early = int((ts < EARLIEST_PLAUSIBLE).sum())
    if early:
        report.warnings.append(f"{early:,} events are dated before 1990 (earliest {ts.min():%Y-%m-%d %H:%M}); check the date format")
