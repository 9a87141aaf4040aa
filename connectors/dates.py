"""Timestamp parsing for exports whose date format is not known in advance.

The format is decided once per column from a sample of its values, then the
whole column is parsed in one vectorised pass:

* ISO 8601, with or without a zone (``2017-02-28T09:24:59.366-0600``);
* numeric day/month dates in either order (``31/01/2016 9:05``,
  ``01-31-2016 09:05:00 PM``, ``31.01.2016``), with the order decided from the
  data and said in the description;
* month names (Jira's ``25/Feb/26 10:17 PM``, ``25-Feb-2026 22:17``);
* epoch seconds or milliseconds.

Naive times are taken to be in the ``timezone`` given (UTC by default);
values that carry an offset are converted to UTC. Where the zone's clocks go
back, a time in the repeated hour is read from the order of its case's events
in the file (:func:`_resolve_folds`); a time in the skipped hour moves forward
to the end of the gap. The load report counts both.

Arrow's ``strptime`` is fast but quietly rolls 31 February over to 2 March;
rows that may have rolled over are parsed again strictly, so an impossible
date is reported as bad, never shifted.
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from connectors.errors import BadOption, BadTimestamps
from connectors.eventlog import TIMESTAMP_DTYPE
from connectors.report import tally

SAMPLE_SIZE = 4000
# More than this share of bad values fails the load instead of rejecting rows.
MAX_BAD_SHARE = 0.5

_ISO = re.compile(
    r"^\d{4}-\d{1,2}-\d{1,2}(?:[T ]\d{1,2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?)?\s*(?:Z|[+-]\d{2}(?::?\d{2})?)?$"
)
_OFFSET = r"(?:Z|[+-]\d{2}:?\d{2})$"
_EPOCH = re.compile(r"^-?\d{9,13}(?:\.\d+)?$")


@dataclass(frozen=True)
class _Format:
    label: str  # what users read, e.g. "d/m/yyyy H:MM"
    strptime: str
    order: str = ""  # "dayfirst" or "monthfirst" for numeric d/m formats

    @property
    def has_day(self) -> bool:
        return "%d" in self.strptime


def _numeric_formats() -> list[_Format]:
    out: list[_Format] = []
    times = [
        (" %H:%M:%S", " H:MM:SS"),
        (" %H:%M", " H:MM"),
        (" %I:%M:%S %p", " h:MM:SS AM"),
        (" %I:%M %p", " h:MM AM"),
        ("", ""),
    ]
    for sep in "/-.":
        for time_fmt, time_label in times:
            out.append(_Format(f"d{sep}m{sep}yyyy{time_label}", f"%d{sep}%m{sep}%Y{time_fmt}", "dayfirst"))
            out.append(_Format(f"m{sep}d{sep}yyyy{time_label}", f"%m{sep}%d{sep}%Y{time_fmt}", "monthfirst"))
            out.append(_Format(f"d{sep}m{sep}yy{time_label}", f"%d{sep}%m{sep}%y{time_fmt}", "dayfirst"))
            out.append(_Format(f"m{sep}d{sep}yy{time_label}", f"%m{sep}%d{sep}%y{time_fmt}", "monthfirst"))
        for time_fmt, time_label in times:
            out.append(_Format(f"d{sep}Mon{sep}yy{time_label}", f"%d{sep}%b{sep}%y{time_fmt}"))
            out.append(_Format(f"d{sep}Mon{sep}yyyy{time_label}", f"%d{sep}%b{sep}%Y{time_fmt}"))
    for time_fmt, time_label in times:
        out.append(_Format(f"yyyy/mm/dd{time_label}", f"%Y/%m/%d{time_fmt}"))
        out.append(_Format(f"d Mon yyyy{time_label}", f"%d %b %Y{time_fmt}"))
        out.append(_Format(f"Mon d, yyyy{time_label}", f"%b %d, %Y{time_fmt}"))
    return out


_FORMATS = _numeric_formats()


@dataclass
class ParsedTimes:
    """A parsed timestamp column."""

    values: pd.Series  # datetime64[us, UTC]; NaT where missing or bad
    bad: np.ndarray  # True where a value was present but is not a date
    description: str  # e.g. "d/m/yyyy H:MM (day-first: 31 values have a day above 12)"
    flags: list[str]  # options that reproduce the choice, e.g. ["--dayfirst"]
    notes: list[str] = field(default_factory=list)  # how clock changes were read
    warnings: list[str] = field(default_factory=list)  # clock-change readings that are a guess


@dataclass(frozen=True)
class DateOptions:
    """How the user asked dates to be read; ``None`` means decide from the data."""

    dayfirst: bool | None = None
    date_format: str | None = None
    timezone: str = "UTC"

    def flags(self) -> list[str]:
        out: list[str] = []
        if self.date_format:
            out.append(f"--date-format '{self.date_format}'")
        elif self.dayfirst is True:
            out.append("--dayfirst")
        elif self.dayfirst is False:
            out.append("--monthfirst")
        if self.timezone != "UTC":
            out.append(f"--timezone {self.timezone}")
        return out


def parse_timestamps(
    column: pd.Series | pa.Array | pa.ChunkedArray,
    *,
    options: DateOptions = DateOptions(),
    name: str = "timestamp",
    path: str = "",
    rows: np.ndarray | None = None,
    tolerate_bad: bool = True,
    cases: pd.Series | np.ndarray | None = None,
) -> ParsedTimes:
    """Parse ``column`` into UTC timestamps, deciding the format from its values.

    ``rows`` gives the source row of each value, for messages. If more than
    half of the present values are not dates, or any is bad and
    ``tolerate_bad`` is false, :class:`BadTimestamps` is raised with examples.
    ``cases`` (the case of each value, in file order) lets times in the hour a
    zone repeats be read from their case's order; without it they are read as
    summer time, with a warning.
    """
    _check_timezone(options.timezone)
    zone = _Zone(options.timezone, len(column))
    if isinstance(column, pd.Series) and isinstance(column.dtype, pd.DatetimeTZDtype):
        values, bad = _in_calendar(column.dt.tz_convert("UTC").astype(TIMESTAMP_DTYPE))
        return ParsedTimes(values, bad, "typed timestamps with a zone", [])
    if isinstance(column, pd.Series) and pd.api.types.is_datetime64_dtype(column.dtype):
        values = zone.localize(column.astype("datetime64[us]"))
        values, notes, warnings = _resolve_folds(values, zone, cases, name)
        values, bad = _in_calendar(values)
        return ParsedTimes(values, bad, f"typed timestamps, taken as {options.timezone}", options.flags(), notes, warnings)
    if isinstance(column, pd.Series) and pd.api.types.is_numeric_dtype(column.dtype):
        column = column.astype("str").where(column.notna(), None)

    text = _to_arrow_strings(column)
    # Most exports write every time in one naive ISO 8601 form that Arrow reads
    # in one pass; as Arrow refuses blanks and surrounding spaces, such a
    # column needs no cleaning either.
    iso = None if options.date_format else _cast_naive(text)
    if iso is None:
        text = pc.utf8_trim_whitespace(text)
        text = pc.if_else(pc.equal(text, ""), pa.scalar(None, pa.string()), text)
    present = pc.is_valid(text).to_numpy(zero_copy_only=False)
    n_present = int(present.sum())
    if n_present == 0:
        empty = pd.Series(pd.NaT, index=range(len(text)), dtype=TIMESTAMP_DTYPE)
        return ParsedTimes(empty, np.zeros(len(text), bool), "no values", [])

    if options.date_format:
        fmt = _Format(f"'{options.date_format}'", options.date_format)
        values = _parse_strptime(text, fmt, zone)
        description = f"format {options.date_format} (given)"
        flags = options.flags()
    else:
        values, description, flags = _parse_detected(text, present, options, zone, iso)

    values, notes, warnings = _resolve_folds(values, zone, cases, name)
    values, _ = _in_calendar(values)
    bad = present & values.isna().to_numpy()
    n_bad = int(bad.sum())
    if n_bad and (not tolerate_bad or n_bad > MAX_BAD_SHARE * n_present):
        if options.date_format and n_bad == n_present:
            raise BadTimestamps(format_matched_none(options.date_format, name, path, text[int(np.flatnonzero(bad)[0])].as_py()))
        raise BadTimestamps(_bad_message(text, bad, n_bad, n_present, name, path, rows, description))
    return ParsedTimes(values, bad, description, flags, notes, warnings)


def _in_calendar(values: pd.Series) -> tuple[pd.Series, np.ndarray]:
    """Blank the times outside years 1 to 9999 (no export has them; no date library can print them).

    Return the values and where they were blanked.
    """
    micros = values.to_numpy(dtype="datetime64[us]").view("int64")
    outside = (micros < _FIRST_US) | (micros > _LAST_US)
    outside &= values.notna().to_numpy()
    if outside.any():
        values = values.copy()
        values.iloc[np.flatnonzero(outside)] = pd.NaT
    return values, outside


_FIRST_US = int(np.datetime64("0001-01-01T00:00:00", "us").view("int64"))
_LAST_US = int(np.datetime64("9999-12-31T23:59:59.999999", "us").view("int64"))


CAST_PROBE = 1000  # values tried before a whole column is cast


def _cast_naive(text: pa.Array) -> pa.Array | None:
    """``text`` read as naive ISO 8601 by Arrow, or None if any value is not (a blank, a space, a zone, 2024-02-31, 2024-2-1).

    The first values are tried alone first: a cast that fails costs Arrow about
    as long as one that succeeds, and a column with zones fails on every value.
    """
    try:
        if len(text) > CAST_PROBE:
            pc.cast(text.slice(0, CAST_PROBE), pa.timestamp("us"))
        return pc.cast(text, pa.timestamp("us"))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None


def _parse_detected(
    text: pa.Array, present: np.ndarray, options: DateOptions, zone: _Zone, iso: pa.Array | None = None
) -> tuple[pd.Series, str, list[str]]:
    """Parse ``text`` in the format its sample shows; ``iso``: the values already read as naive ISO 8601 (:func:`_cast_naive`)."""
    sample = _sample(text, present)
    if all(_EPOCH.match(v) for v in sample):
        return _parse_epoch(text, sample)
    iso_count = sum(bool(_ISO.match(v)) for v in sample)
    chosen = None if iso_count >= 0.5 * len(sample) else _choose_format(sample, options.dayfirst)
    if chosen is None or chosen[2] <= iso_count:
        if iso_count == 0:
            empty = pd.Series(pd.NaT, index=range(len(text)), dtype=TIMESTAMP_DTYPE)
            return empty, "no known date format", options.flags()
        values, with_offset = _parse_iso(text, zone, iso)
        return values, _iso_description(text, options.timezone, with_offset), options.flags()
    fmt, why, _ = chosen
    values = _parse_strptime(text, fmt, zone)
    flags = options.flags()
    if fmt.order and options.dayfirst is None:
        flags = [*flags, "--dayfirst" if fmt.order == "dayfirst" else "--monthfirst"]
    return values, f"{fmt.label}{' (' + why + ')' if why else ''}", flags


def _choose_format(sample: list[str], dayfirst: bool | None) -> tuple[_Format, str, int] | None:
    """Return the format that reads most of ``sample``, why (for day/month order), and how many it reads."""
    arr = pa.array(sample, pa.string())
    scores: list[tuple[int, int, _Format]] = []
    for i, fmt in enumerate(_FORMATS):
        if dayfirst is True and fmt.order == "monthfirst":
            continue
        if dayfirst is False and fmt.order == "dayfirst":
            continue
        parsed = pc.strptime(arr, format=fmt.strptime, unit="us", error_is_null=True)
        # Count only plausible years, so that '%Y' reading '16' as year 16
        # loses to '%y' reading it as 2016.
        years = pc.year(parsed).to_numpy(zero_copy_only=False)
        ok = int(np.sum((years >= 1900) & (years < 2200)))
        if ok:
            scores.append((ok, -i, fmt))
    if not scores:
        return None
    scores.sort(key=lambda s: (s[0], s[1]), reverse=True)
    best_ok, _, best = scores[0]
    if not best.order:
        return best, "", best_ok
    if dayfirst is not None:
        return best, ("day-first, as given" if dayfirst else "month-first, as given"), best_ok
    twin = next((f for ok, _, f in scores if f.label == _swap(best.label)), None)
    twin_ok = next((ok for ok, _, f in scores if f is twin), 0)
    if twin is None or twin_ok < best_ok:
        return best, (
            f"{best.order.replace('first', '-first')}: some values are dates only when read "
            f"{best.order.replace('first', '-first')}"
        ), best_ok
    # Both orders read every value: every day is 12 or less. Prefer the order
    # under which the file's rows run forward in time more often.
    forward_best = _forward_steps(arr, best)
    forward_twin = _forward_steps(arr, twin)
    pick = twin if forward_twin > forward_best else best
    return pick, (
        f"ambiguous, no day above 12; {pick.order.replace('first', '-first')} chosen because rows then run "
        f"forward in time more often ({max(forward_best, forward_twin)} vs {min(forward_best, forward_twin)} steps)"
    ), best_ok


def _swap(label: str) -> str:
    return label.replace("d", "\0").replace("m", "d").replace("\0", "m")


def _forward_steps(arr: pa.Array, fmt: _Format) -> int:
    parsed = pc.strptime(arr, format=fmt.strptime, unit="us", error_is_null=True)
    values = parsed.to_numpy(zero_copy_only=False).astype("datetime64[us]").astype("int64")
    return int((np.diff(values) >= 0).sum())


def _parse_strptime(text: pa.Array, fmt: _Format, zone: _Zone) -> pd.Series:
    has_zone = "%z" in fmt.strptime
    parsed = pc.strptime(text, format=fmt.strptime, unit="us", error_is_null=True)
    values = pd.Series(parsed.to_pandas(), copy=False)
    if fmt.has_day:
        values = _recheck_rollover(text, values, fmt)
    if has_zone:
        return pd.to_datetime(values, utc=True).astype(TIMESTAMP_DTYPE)
    return zone.localize(values.astype("datetime64[us]"))


def _recheck_rollover(text: pa.Array, values: pd.Series, fmt: _Format) -> pd.Series:
    """Blank the rows whose day rolled over (31/02 read as 02/03).

    Arrow's strptime normalises an impossible day into the next month, so a
    rolled-over value always lands on day 1 to 3; for those rows only, the day
    as written is read back and compared with the parsed day.
    """
    day = values.dt.day.to_numpy(dtype="float64", na_value=np.nan)
    suspects = np.flatnonzero(day <= 3)
    if len(suspects) == 0:
        return values
    # struct_field, not .field(): a value the pattern does not match (a year '00' read by %Y)
    # is null, so it counts as rolled over, instead of an empty string that cannot be cast.
    written = pc.struct_field(pc.extract_regex(text.take(pa.array(suspects)), _day_pattern(fmt.strptime)), "d")
    written_day = pc.cast(written, pa.int64(), safe=False).to_numpy(zero_copy_only=False)
    rolled = suspects[written_day != day[suspects]]
    if len(rolled):
        values = values.copy()
        values.iloc[rolled] = pd.NaT
    return values


_DIRECTIVES = {
    "d": r"(?P<d>\d{1,2})", "m": r"\d{1,2}", "Y": r"\d{4}", "y": r"\d{2}", "H": r"\d{1,2}", "I": r"\d{1,2}",
    "M": r"\d{1,2}", "S": r"\d{1,2}", "p": r"[AaPp]\.?[Mm]\.?", "b": r"[A-Za-z]+", "B": r"[A-Za-z]+",
    "z": r"(?:Z|[+-]\d{2}:?\d{2})", "f": r"\d+", "%": "%",
}


def _day_pattern(strptime: str) -> str:
    """Return a regular expression for values written in ``strptime`` that captures the day as 'd'."""
    out = []
    i = 0
    while i < len(strptime):
        ch = strptime[i]
        if ch == "%" and i + 1 < len(strptime):
            out.append(_DIRECTIVES.get(strptime[i + 1], ".*?"))
            i += 2
            continue
        out.append(r"\s+" if ch == " " else re.escape(ch))
        i += 1
    return "^\\s*" + "".join(out)


def _parse_iso(text: pa.Array, zone: _Zone, iso: pa.Array | None = None) -> tuple[pd.Series, int]:
    """Return the ISO 8601 values of ``text`` as UTC, and how many carry a zone offset."""
    if iso is None:
        iso = _cast_naive(text)
    if iso is not None:
        # Arrow refuses a zone offset for a naive type: none of these values has one.
        return zone.localize(pd.Series(iso.to_pandas(), copy=False).astype("datetime64[us]")), 0
    if text.null_count == 0 and len(text) and pc.all(pc.ends_with(text, "Z")).as_py():
        # Every value in UTC ('…Z'), the common form of APIs and exports: Arrow reads them in one pass, or refuses.
        with contextlib.suppress(pa.ArrowInvalid, pa.ArrowNotImplementedError):
            aware = pc.cast(text, pa.timestamp("us", "UTC"))
            return pd.Series(aware.to_pandas(), copy=False).astype(TIMESTAMP_DTYPE), len(text)
    with_offset = pc.match_substring_regex(text, _OFFSET).to_numpy(zero_copy_only=False)
    with_offset = np.asarray(with_offset, dtype=bool)
    strings = pd.Series(text.to_pandas(), copy=False)
    out = pd.Series(pd.NaT, index=strings.index, dtype=TIMESTAMP_DTYPE)
    if with_offset.any():
        try:
            # As below: Arrow reads well-formed ISO 8601 with an offset many times
            # faster than pandas (whose cache of repeated values is slow) and raises on the rest.
            aware = pd.Series(pc.cast(text.filter(pa.array(with_offset)), pa.timestamp("us", "UTC")).to_pandas(), copy=False)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            aware = pd.to_datetime(strings[with_offset], format="ISO8601", errors="coerce", utc=True)
        # .array, not .to_numpy(): that builds one Timestamp object per value.
        out[with_offset] = aware.astype(TIMESTAMP_DTYPE).array
    naive_mask = ~with_offset & strings.notna().to_numpy()
    if naive_mask.any():
        try:
            # Arrow reads well-formed ISO 8601 many times faster and raises on
            # anything else (2024-02-31, 2024-2-1), which pandas then reads.
            naive = pd.Series(pc.cast(text.filter(pa.array(naive_mask)), pa.timestamp("us")).to_pandas(), copy=False)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            naive = pd.to_datetime(strings[naive_mask], format="ISO8601", errors="coerce")
        # Positional: the Arrow path's index does not follow the mask's positions.
        out[naive_mask] = zone.localize(naive.astype("datetime64[us]"), naive_mask).array
    return out, int(with_offset.sum())


def _iso_description(text: pa.Array, timezone: str, with_offset: int | None = None) -> str:
    if with_offset is None:
        with_offset = int(pc.sum(pc.match_substring_regex(text, _OFFSET)).as_py() or 0)
    total = len(text) - text.null_count
    if with_offset == total:
        return "ISO 8601 with zone offsets"
    if with_offset == 0:
        return f"ISO 8601 without a zone, taken as {timezone}"
    return f"ISO 8601, {with_offset:,} {'value' if with_offset == 1 else 'values'} with an offset and {total - with_offset:,} without (taken as {timezone})"


def _parse_epoch(text: pa.Array, sample: list[str]) -> tuple[pd.Series, str, list[str]]:
    numbers = pc.cast(text, pa.float64(), safe=False).to_numpy(zero_copy_only=False)
    digits = max(len(v.split(".")[0].lstrip("-")) for v in sample)
    unit, scale = ("milliseconds", 1_000) if digits >= 12 else ("seconds", 1_000_000)
    micros = np.round(numbers * scale)
    ok = np.isfinite(micros) & (np.abs(micros) < 2**62)
    stamps = pd.Series(pd.NaT, index=range(len(numbers)), dtype=TIMESTAMP_DTYPE)
    stamps[ok] = pd.to_datetime(micros[ok].astype("int64"), unit="us", utc=True)
    return stamps, f"epoch {unit}", []


class _Zone:
    """Localizes naive times in one zone and remembers which fell in a repeated or a skipped hour."""

    def __init__(self, name: str, n: int) -> None:
        self.name = name
        self.n = n
        self.skipped = np.zeros(n, dtype=bool)  # in the hour clocks skip: moved forward
        self.repeated = np.zeros(n, dtype=bool)  # in the hour clocks repeat: read as summer time so far
        self.wall = np.zeros(0, dtype=np.int64)  # for repeated times: the wall-clock time, as microseconds
        self.winter = np.zeros(0, dtype=np.int64)  # for repeated times: the second (winter time) reading, UTC

    def localize(self, values: pd.Series, where: np.ndarray | None = None) -> pd.Series:
        """Return the naive ``values`` (at the positions ``where`` of the column) as UTC, in summer time where repeated."""
        if self.name == "UTC":
            return values.dt.tz_localize("UTC").astype(TIMESTAMP_DTYPE)
        m = len(values)
        summer = values.dt.tz_localize(self.name, ambiguous=np.ones(m, bool), nonexistent="NaT")
        winter = values.dt.tz_localize(self.name, ambiguous=np.zeros(m, bool), nonexistent="NaT")
        present = values.notna().to_numpy()
        skipped = present & summer.isna().to_numpy()
        repeated = present & ~skipped & (summer != winter).to_numpy()
        out = summer.dt.tz_convert("UTC").astype(TIMESTAMP_DTYPE)
        if skipped.any():
            moved = values[skipped].dt.tz_localize(self.name, ambiguous=np.ones(int(skipped.sum()), bool), nonexistent="shift_forward")
            out[skipped] = moved.dt.tz_convert("UTC").astype(TIMESTAMP_DTYPE).array
        at = np.arange(self.n) if where is None else np.flatnonzero(where)
        self.skipped[at[skipped]] = True
        if repeated.any():
            if not len(self.wall):
                self.wall = np.zeros(self.n, dtype=np.int64)
                self.winter = np.zeros(self.n, dtype=np.int64)
            self.repeated[at[repeated]] = True
            self.wall[at[repeated]] = values[repeated].to_numpy(dtype="datetime64[us]").view("int64")
            self.winter[at[repeated]] = winter[repeated].dt.tz_convert("UTC").to_numpy(dtype="datetime64[us]").view("int64")
        return out


_DAY_US = 86_400_000_000


def _resolve_folds(
    values: pd.Series, zone: _Zone, cases: pd.Series | np.ndarray | None, name: str
) -> tuple[pd.Series, list[str], list[str]]:
    """Read the times in a repeated hour by their case's file order; return the values, notes and warnings.

    A case's times in one repeated hour, in file order, that go down exactly
    once crossed the change: those before the drop are summer time, those from
    it on winter time (02:15, 02:45, 02:10, 02:40 is summer, summer, winter,
    winter). Times that never go down, or go down more than once, cannot be
    placed: they stay summer time and are counted in a warning.
    """
    notes: list[str] = []
    warnings: list[str] = []
    if zone.skipped.any():
        warnings.append(
            f"{tally(int(zone.skipped.sum()), 'time')} in {name!r} within the hour {zone.name} skips when summer time "
            "starts (a time no clock shows): moved forward by the gap"
        )
    at = np.flatnonzero(zone.repeated & values.notna().to_numpy())
    if not len(at):
        return values, notes, warnings
    winter = np.zeros(len(at), dtype=bool)
    placed = np.zeros(len(at), dtype=bool)
    if cases is not None:
        case_codes = pd.factorize(pd.Series(np.asarray(cases, dtype=object)[at]))[0]
        wall = zone.wall[at]
        night = wall // _DAY_US  # one repeated hour per night
        order = np.lexsort((at, night, case_codes))  # file order within a case's night
        same = np.r_[False, (case_codes[order][1:] == case_codes[order][:-1]) & (night[order][1:] == night[order][:-1])]
        group = np.cumsum(~same) - 1
        w = wall[order]
        drop = same & (w < np.r_[w[:1], w[:-1]])
        drops = np.bincount(group, weights=drop, minlength=group[-1] + 1).astype(np.int64)
        after = np.cumsum(drop) - np.r_[0, np.cumsum(drop)][np.flatnonzero(~same)][group]
        ok = drops[group] == 1
        placed[order] = ok
        winter[order] = ok & (after > 0)
    if winter.any():
        values = values.copy()
        values.iloc[at[winter]] = pd.to_datetime(zone.winter[at[winter]], unit="us", utc=True)
    if placed.any():
        notes.append(
            f"{tally(int(placed.sum()), 'time')} in {name!r} within the hour {zone.name} repeats when summer time ends, "
            f"placed by the order of their case's events in the file ({tally(int(winter.sum()))} read as winter time)"
        )
    guessed = int((~placed).sum())
    if guessed:
        warnings.append(
            f"{tally(guessed, 'time')} in {name!r} within the hour {zone.name} repeats when summer time ends, with no "
            "order of their case's events in the file to place them by: read as summer time (the first of the two hours)"
        )
    return values, notes, warnings


def _check_timezone(timezone: str) -> None:
    try:
        pd.Timestamp("2020-01-01").tz_localize(timezone)
    except Exception as exc:  # pandas raises several kinds for an unknown zone
        raise BadOption(f"unknown time zone {timezone!r}; use a name such as 'Europe/Berlin' or 'UTC'") from exc


def _to_arrow_strings(column: pd.Series | pa.Array | pa.ChunkedArray) -> pa.Array:
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    if isinstance(column, pa.Array):
        arr = column
    elif isinstance(column.dtype, pd.StringDtype) and column.dtype.storage == "pyarrow":
        # Arrow-backed strings hand over their buffers without a copy.
        chunked = pa.chunked_array(column.array._pa_array) if hasattr(column.array, "_pa_array") else pa.array(column.array)
        arr = chunked.combine_chunks() if isinstance(chunked, pa.ChunkedArray) else chunked
    else:
        # from_pandas: pandas 3 string columns hold NaN, not None, for missing values.
        arr = pa.array(column.astype("str").where(column.notna(), None).to_numpy(dtype=object), pa.string(), from_pandas=True)
    if pa.types.is_dictionary(arr.type):
        arr = arr.dictionary_decode()
    if not pa.types.is_string(arr.type) and not pa.types.is_large_string(arr.type):
        arr = pc.cast(arr, pa.string())
    return arr


def _sample(text: pa.Array, present: np.ndarray) -> list[str]:
    idx = np.flatnonzero(present)
    if len(idx) > SAMPLE_SIZE:
        # Spread the sample over the whole file; keep file order for the
        # forward-in-time tie-break.
        idx = idx[np.linspace(0, len(idx) - 1, SAMPLE_SIZE).astype(int)]
    return text.take(pa.array(idx)).to_pylist()


def format_matched_none(date_format: str, name: str, path: str, example: str) -> str:
    """The message for a --date-format that reads none of a column's values."""
    place = f"{path}: " if path else ""
    return (f"{place}--date-format {date_format!r} matched none of the values of column {name!r} "
            f"(such as {example!r}); fix the format, or leave --date-format out to detect it")


def _bad_message(
    text: pa.Array, bad: np.ndarray, n_bad: int, n_present: int, name: str, path: str, rows: np.ndarray | None, description: str
) -> str:
    where = np.flatnonzero(bad)[:3]
    examples = ", ".join(
        f"row {int(rows[i]) if rows is not None else int(i) + 1}: {text[int(i)].as_py()!r}" for i in where
    )
    place = f"{path}: " if path else ""
    return (
        f"{place}timestamp column {name!r} has {n_bad:,} of {n_present:,} values that are not dates "
        f"read as {description} (first: {examples}); pass --date-format, --dayfirst or --monthfirst"
    )
