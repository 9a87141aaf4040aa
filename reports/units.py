"""How numbers read in vsm's output."""

from __future__ import annotations

import functools
import math
from typing import Any

UTC_NAME = "UTC"


@functools.cache
def display_zone(name: str) -> str:
    """Return ``name`` if it is a time zone times can be shown in (--display-timezone); raise BadOption with a hint.

    IANA names (Europe/Berlin, America/New_York) and UTC; a near miss is named.
    """
    import difflib
    import zoneinfo

    from connectors.errors import BadOption

    if name == UTC_NAME:
        return name
    zones = zoneinfo.available_timezones()
    if name in zones:
        return name
    by_lower = {z.lower(): z for z in zones}
    close = [by_lower[name.lower()]] if name.lower() in by_lower else difflib.get_close_matches(name, sorted(zones), n=1)
    hint = f"did you mean {close[0]!r}?" if close else "use an IANA name such as 'Europe/Berlin', 'America/New_York' or 'UTC'"
    raise BadOption(f"--display-timezone: unknown time zone {name!r}; {hint}")


def human(seconds: float | None) -> str:
    """Return a duration the way people say it: 45 s, 12 min, 3.5 h, 4.2 d."""
    if seconds is None or (isinstance(seconds, float) and math.isnan(seconds)):
        return "–"
    s = float(seconds)
    if abs(s) < 90:
        return f"{s:.0f} s"
    if abs(s) < 90 * 60:
        return f"{s / 60:.0f} min"
    if abs(s) < 36 * 3600:
        return f"{s / 3600:.1f} h"
    return f"{s / 86400:,.1f} d"


def pct(share: float | None, digits: int = 0) -> str:
    """Return a share as a percentage, or a dash; a share that rounds to 0% or 100% but is neither says '<1%' or '>99%'."""
    if share is None or (isinstance(share, float) and math.isnan(share)):
        return "–"
    text = f"{share * 100:.{digits}f}%"
    if 0 < share < 1 and float(text[:-1]) in (0.0, 100.0):
        step = 10.0 ** -digits
        return f"<{step:g}%" if share < 0.5 else f">{100 - step:g}%"
    return text


def pct_bound(share: float | None, digits: int = 0) -> str:
    """An interval's bound as a percentage: plain digits, one or two more where the bound would round to 0% or 100% but is neither."""
    if share is None or (isinstance(share, float) and math.isnan(share)):
        return "–"
    while 0 < share < 1 and digits < 4 and float(f"{share * 100:.{digits}f}") in (0.0, 100.0):
        digits += 1
    return f"{share * 100:.{digits}f}%"


def hours(value: float | None) -> str:
    """Return hours for an impact: 0.4, 7.5, 1,234."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{value:.1f}" if abs(value) < 10 else f"{value:,.0f}"


def day(ts: Any, tz: str = UTC_NAME) -> str:
    """The date of a moment (a pandas Timestamp with a zone) in the zone ``tz``; '–' when there is none."""
    if ts is None or ts != ts:  # None or NaT
        return "–"
    return ts.tz_convert(tz).strftime("%Y-%m-%d")
