"""The options a user can give a load: which columns mean what, how dates read."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from connectors.dates import DateOptions
from connectors.errors import BadOption

LIFECYCLE_MODES = ("auto", "pair", "events")


# What a shell passes when a user types a tab the only way most can: as '\t' or a name.
_DELIMITER_NAMES = {"\\t": "\t", "tab": "\t", "space": " ", "comma": ",", "semicolon": ";", "pipe": "|"}


def parse_delimiter(text: str) -> str:
    """Return the one-character delimiter ``text`` names ('\\t' and 'tab' are a tab); raise BadOption otherwise."""
    delimiter = _DELIMITER_NAMES.get(text.lower(), text)
    if len(delimiter) != 1 or delimiter in "\r\n\"":
        raise BadOption(f"--delimiter must be one character, such as ',' ';' '|' or '\\t' for a tab, not {text!r}")
    return delimiter


@dataclass(frozen=True)
class LoadOptions:
    """Overrides for what a connector would otherwise detect.

    Column options take the input's own column name. ``activity_col`` may join
    several columns with ``+`` (``status+sub_status``) to make one activity.
    ``names`` are files naming a Zendesk export's group and user ids
    (:mod:`connectors.names`).
    """

    case_col: str | None = None
    activity_col: str | None = None
    timestamp_col: str | None = None
    end_timestamp_col: str | None = None
    resource_col: str | None = None
    group_col: str | None = None
    delimiter: str | None = None
    sheet: str | None = None
    dates: DateOptions = field(default_factory=DateOptions)
    lifecycle: str = "auto"
    keep_duplicates: bool = False
    names: tuple[str, ...] = ()

    @classmethod
    def from_kwargs(cls, **kwargs: object) -> LoadOptions:
        """Build options from the keyword arguments of :func:`connectors.load`."""
        date_keys = {"dayfirst", "monthfirst", "date_format", "timezone"}
        dates = {k: kwargs.pop(k) for k in list(kwargs) if k in date_keys}
        unknown = set(kwargs) - {f for f in cls.__dataclass_fields__ if f != "dates"}
        if unknown:
            raise BadOption(f"unknown load option(s): {', '.join(sorted(unknown))}")
        dayfirst = dates.get("dayfirst")
        if dates.get("monthfirst"):
            if dayfirst:
                raise BadOption("--dayfirst and --monthfirst contradict each other; give one")
            dayfirst = False
        elif dayfirst is False:
            dayfirst = None
        date_options = DateOptions(
            dayfirst=dayfirst if dayfirst is None else bool(dayfirst),
            date_format=dates.get("date_format") or None,  # type: ignore[arg-type]
            timezone=str(dates.get("timezone") or "UTC"),
        )
        if isinstance(kwargs.get("names"), (str, bytes)) or hasattr(kwargs.get("names"), "__fspath__"):
            kwargs["names"] = (kwargs["names"],)  # one file given alone
        if kwargs.get("names") is not None:
            kwargs["names"] = tuple(str(n) for n in kwargs["names"])  # type: ignore[union-attr]
        if kwargs.get("delimiter") is not None:
            kwargs["delimiter"] = parse_delimiter(str(kwargs["delimiter"]))
        options = cls(**{k: v for k, v in kwargs.items() if v is not None}, dates=date_options)  # type: ignore[arg-type]
        if options.end_timestamp_col and options.end_timestamp_col == options.timestamp_col:
            raise BadOption(f"--end-timestamp-col {options.end_timestamp_col!r} is also the --timestamp-col; "
                            "an interval's end needs its own column (or leave --end-timestamp-col out)")
        if options.lifecycle not in LIFECYCLE_MODES:
            raise BadOption(f"--lifecycle must be one of {', '.join(LIFECYCLE_MODES)}, not {options.lifecycle!r}")
        return options

    def given_columns(self) -> dict[str, str]:
        """Return the canonical roles the user fixed, with their input column."""
        pairs = {
            "case_id": self.case_col,
            "activity": self.activity_col,
            "timestamp": self.timestamp_col,
            "end_timestamp": self.end_timestamp_col,
            "resource": self.resource_col,
            "group": self.group_col,
        }
        return {role: col for role, col in pairs.items() if col}

    def with_dates(self, **changes: object) -> LoadOptions:
        return replace(self, dates=replace(self.dates, **changes))
