"""Small builders for hand-made event logs in tests."""

from __future__ import annotations

import pandas as pd

from connectors.eventlog import make_event_table

T0 = pd.Timestamp("2025-01-06 09:00", tz="UTC")


def make_log(rows: list[tuple], columns: tuple[str, ...] = ("case_id", "activity", "minutes")) -> pd.DataFrame:
    """Return a canonical log from tuples; a ``minutes`` column is minutes after T0.

    Extra columns become attributes (``group`` and ``resource`` fill their roles).
    """
    frame = pd.DataFrame(rows, columns=list(columns))
    frame["timestamp"] = T0 + pd.to_timedelta(frame.pop("minutes"), unit="min")
    if "end_minutes" in frame:
        ends = frame.pop("end_minutes")
        frame["end_timestamp"] = (T0 + pd.to_timedelta(ends, unit="min")).where(ends.notna())
    frame["source_row"] = range(2, len(frame) + 2)
    attrs = [c for c in frame.columns if c not in ("case_id", "activity", "timestamp", "end_timestamp", "source_row", "group", "resource")]
    return make_event_table(frame, attributes=attrs)
