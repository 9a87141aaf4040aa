"""ServiceNow exports: list exports, audit snapshots, ``sys_audit`` and ``metric_instance``.

Four sources, most specific first:

* ``servicenow-metric``: ``metric_instance`` rows, intervals with a start and
  an end, so time in a state is exact;
* ``servicenow-sys-audit``: ``sys_audit``, one row per changed field;
* ``servicenow-audit``: audit snapshots, a full copy of the ticket per update;
* ``servicenow``: list exports, one wide row per ticket whose ``opened_at``,
  ``resolved_at`` and ``closed_at`` become the events ``Opened``, ``Resolved``
  and ``Closed``.

Headers may be field names (``assignment_group``) or, with the
``column_header_label`` setting, labels ("Assignment group"). Values may be
display values ("In Progress"), which pass through unchanged, or raw codes
(``2``), which are mapped to labels by the ticket's table (``STATE_LABELS``).

The three history sources follow the event conventions of
``docs/architecture.md``: an event when the state's label changes (``On Hold``
carries its reason: ``On Hold (Awaiting Caller)``), ``Reassigned`` when the
assignment group changes (``Assigned to group`` when there was none), and
``Picked up by assignee`` when a person picks up a ticket nobody held. Everything else is
folded: a snapshot row that repeats the previous state is not rework.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from connectors.columns import normalise
from connectors.dates import parse_timestamps
from connectors.errors import EmptyExport, MissingColumn
from connectors.eventlog import (
    ACTIVITY,
    CANONICAL_COLUMNS,
    CASE_ID,
    END_TIMESTAMP,
    GROUP,
    RESOURCE,
    SEQUENCE,
    SOURCE_ROW,
    TIMESTAMP,
    in_lexsort_order,
    known_categorical,
    make_event_table,
)
from connectors.generic import ROLE_FLAGS
from connectors.options import LoadOptions
from connectors.probe import Probe, Source
from connectors.report import LoadReport, Rejects, few, tally

# --- What ServiceNow's codes mean (see ../shared/FORMATS.md) -----------------

INCIDENT_STATES = {"1": "New", "2": "In Progress", "3": "On Hold", "6": "Resolved", "7": "Closed", "8": "Canceled"}
# incident_state before the Helsinki release: no On Hold, but a state per reason.
INCIDENT_STATES_PRE_HELSINKI = {
    "1": "New", "2": "Active", "3": "Awaiting Problem", "4": "Awaiting User Info",
    "5": "Awaiting Evidence", "6": "Resolved", "7": "Closed",
}
CHANGE_STATES = {
    "-5": "New", "-4": "Assess", "-3": "Authorize", "-2": "Scheduled",
    "-1": "Implement", "0": "Review", "3": "Closed", "4": "Canceled",
}
# The task table's states, inherited by requests, requested items and catalog tasks.
TASK_STATES = {
    "-5": "Pending", "1": "Open", "2": "Work in Progress", "3": "Closed Complete",
    "4": "Closed Incomplete", "7": "Closed Skipped",
}
# Problem states since the Orlando release; the older problem_state codes are not mapped.
PROBLEM_STATES = {
    "101": "New", "102": "Assess", "103": "Root Cause Analysis", "104": "Fix in Progress",
    "106": "Resolved", "107": "Closed",
}
STATE_LABELS: dict[str, dict[str, str]] = {
    "incident": INCIDENT_STATES,
    "change_request": CHANGE_STATES,
    "sc_req_item": TASK_STATES,
    "sc_task": TASK_STATES,
    "sc_request": TASK_STATES,
    "task": TASK_STATES,
    "problem": PROBLEM_STATES,
}
HOLD_REASONS = {
    "1": "Awaiting Caller", "2": "Awaiting Evidence", "3": "Awaiting Problem",
    "4": "Awaiting Vendor", "5": "Awaiting Change",
}
NUMBER_PREFIXES = {
    "INC": "incident", "CHG": "change_request", "RITM": "sc_req_item", "SCTASK": "sc_task",
    "TASK": "task", "PRB": "problem", "REQ": "sc_request",
}
# sys_class_name and tablename hold a table's name, or in a display export its label.
TABLE_NAMES = {normalise(name): name for name in STATE_LABELS} | {
    "change request": "change_request", "requested item": "sc_req_item", "catalog task": "sc_task",
    "request": "sc_request",
}
# An incident_state column keyed like this is read with the incident_state codes.
_INCIDENT_STATE = "incident (incident_state)"

# Field name -> its labels (normalised), for exports made with column_header_label.
LABELS: dict[str, tuple[str, ...]] = {
    "opened_at": ("opened",),
    "resolved_at": ("resolved",),
    "closed_at": ("closed",),
    "hold_reason": ("on hold reason",),
    "sys_updated_on": ("updated",),
    "sys_mod_count": ("updates",),
    "sys_class_name": ("task type", "class"),
    "documentkey": ("document key",),
    "tablename": ("table name",),
    "fieldname": ("field name",),
    "oldvalue": ("old value",),
    "newvalue": ("new value",),
    "sys_created_on": ("created",),
}

REASSIGNED = "Reassigned"
ASSIGNED_TO_GROUP = "Assigned to group"
ASSIGNED = "Picked up by assignee"
# Events of one update, in the order the conventions give them.
_GROUP, _PICKUP, _STATE = 0, 1, 2

_CODE = re.compile(r"^-?\d+(?:\.0+)?$")
_REPEAT_SHARE = 0.05  # numbers repeating in this share of rows make a snapshot


# --- Columns ------------------------------------------------------------------


class _Header:
    """The columns of an export, found by ServiceNow field name or label."""

    def __init__(self, names: Sequence[str]) -> None:
        self.names = list(names)
        self.by_name: dict[str, str] = {}
        for name in names:
            self.by_name.setdefault(normalise(name), name)

    def find(self, *fields: str) -> str | None:
        """Return the column of the first of ``fields`` present, by field name before label."""
        for f in fields:
            if (col := self.by_name.get(normalise(f))) is not None:
                return col
        for f in fields:
            for label in LABELS.get(f, ()):
                if (col := self.by_name.get(label)) is not None:
                    return col
        return None

    def field_of(self, column: str, fields: Sequence[str]) -> str:
        """Return which of ``fields`` ``column`` was found as."""
        return next((f for f in fields if normalise(f) == normalise(column)), fields[0])


def _header(probe: Probe) -> _Header | None:
    return _Header(probe.header) if probe.is_table else None


def _all(header: _Header | None, fields: Sequence[str]) -> list[str] | None:
    """Return the columns of all ``fields``, or None if the export lacks one."""
    if header is None:
        return None
    found = [header.find(f) for f in fields]
    return [c for c in found if c is not None] if None not in found else None


def _named(columns: Sequence[str]) -> str:
    return ", ".join(columns)


# --- Detection ----------------------------------------------------------------


def detect_metric(probe: Probe) -> str | None:
    """Recognise a metric_instance export by its definition/start/end columns."""
    h = _header(probe)
    found = _all(h, ("definition", "id", "start", "end"))
    value = h.find("value", "field_value") if h else None
    if found is None or value is None:
        return None
    return f"columns {_named([*found, value])}: metric_instance intervals (a ticket's time in each state, group or assignee)"


def detect_sys_audit(probe: Probe) -> str | None:
    """Recognise a sys_audit export by its documentkey/fieldname/oldvalue/newvalue columns."""
    found = _all(_header(probe), ("documentkey", "fieldname", "oldvalue", "newvalue"))
    if found is None:
        return None
    return f"columns {_named(found)}: sys_audit field history (one row per changed field)"


def detect_audit(probe: Probe) -> str | None:
    """Recognise an audit snapshot: update time and counter, and ticket numbers that repeat."""
    h = _header(probe)
    if h is None:
        return None
    number, updated, count = h.find("number"), h.find("sys_updated_on", "sys_updated_at"), h.find("sys_mod_count")
    if number is None or updated is None or count is None:
        return None
    column = probe.table.table.column(number)
    present = len(column) - column.null_count
    repeats = present - pc.count_distinct(column).as_py()
    if repeats and repeats >= _REPEAT_SHARE * present:
        return f"columns {updated} and {count}, and {tally(repeats)} of {tally(present)} rows repeat a {number}: one row per update (audit snapshot)"
    if h.find("opened_at") is None:
        return f"columns {updated} and {count}: one row per update (audit snapshot)"
    return None


def detect_list(probe: Probe) -> str | None:
    """Recognise a list export: a ticket number, an opened date and a ServiceNow field."""
    h = _header(probe)
    if h is None:
        return None
    number, opened = h.find("number"), h.find("opened_at")
    if number is None or opened is None:
        return None
    others = [c for c in (h.find(f) for f in ("resolved_at", "closed_at", "state", "incident_state", "assignment_group", "sys_id")) if c]
    if not others:
        return None
    return f"columns {number}, {opened} and {others[0]}: list export, one row per ticket (a wide record)"


# --- Reading ------------------------------------------------------------------


@dataclass
class _Labelled:
    """Codes into a list of names; -1 is missing."""

    codes: np.ndarray
    names: list[str]

    def take(self, idx: np.ndarray) -> _Labelled:
        return _Labelled(self.codes[idx], self.names)


def _encode(values: pa.Array | pa.ChunkedArray) -> _Labelled:
    """Return each value's code into the distinct values, trimmed, with blanks missing.

    The trimming works on the distinct values, not on every row.
    """
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    if not (pa.types.is_string(values.type) or pa.types.is_large_string(values.type)):
        values = pc.cast(values, pa.string())
    encoded = pc.dictionary_encode(values)
    trimmed = pc.utf8_trim_whitespace(encoded.dictionary)
    trimmed = pc.if_else(pc.equal(trimmed, ""), pa.scalar(None, pa.string()), trimmed)
    merged = pc.dictionary_encode(trimmed)  # '3' and ' 3' become one value
    lut = np.append(pc.fill_null(merged.indices, -1).to_numpy().astype(np.int64), -1)
    codes = lut[pc.fill_null(encoded.indices, -1).to_numpy().astype(np.int64)]
    return _Labelled(codes, merged.dictionary.to_pylist())


@dataclass
class _Input:
    """One export read as a table of strings, with its load report and rejects."""

    path: str
    table: pa.Table
    source_rows: np.ndarray
    header: _Header
    report: LoadReport
    rejects: Rejects
    rows_read: int
    options: LoadOptions

    @property
    def n(self) -> int:
        return self.table.num_rows

    def codes(self, name: str) -> _Labelled:
        """Return column ``name`` encoded (see :func:`_encode`)."""
        return _encode(self.table.column(name))

    def reject(self, reason: str, mask: np.ndarray, column: str | None = None) -> int:
        """Reject the rows in ``mask`` for ``reason``, showing values of ``column``; return how many were new."""
        if not mask.any():
            return 0
        shown = None
        if column is not None:
            values = self.table.column(column)
            if not (pa.types.is_string(values.type) or pa.types.is_large_string(values.type)):
                values = pc.cast(values, pa.string())
            shown = pd.Series(pd.arrays.ArrowExtensionArray(values))
        return self.rejects.add(reason, mask, shown)

    def column(self, role: str | None, fields: Sequence[str], what: str, *, required: bool = True) -> str | None:
        """Return the column for ``fields`` (or the one the user gave for ``role``), recording why."""
        given = self.options.given_columns().get(role) if role else None
        if role and given:
            if given not in self.table.column_names:
                raise MissingColumn(
                    f"{self.path}: no column {given!r} (given with {ROLE_FLAGS[role]}); columns: {_named(self.header.names)}"
                )
            self.report.choose(role, given, f"given with {ROLE_FLAGS[role]}")
            return given
        col = self.header.find(*fields)
        if col is None:
            if required:
                hint = f"; pass {ROLE_FLAGS[role]} to name it" if role in ROLE_FLAGS else ""
                raise MissingColumn(
                    f"{self.path}: no {fields[0]} column ({what}); columns: {_named(self.header.names)}{hint}"
                )
            return None
        if role:
            field = self.header.field_of(col, fields)
            how = f"field {field}" if normalise(col) == normalise(field) else f"label {col!r} of field {field}"
            self.report.choose(role, col, f"{how}: {what}")
        return col


def _open(probe: Probe, options: LoadOptions, source: str, roles: Sequence[str]) -> _Input:
    """Return the export's table and a fresh report; ``roles`` are those the source lets the user set."""
    text = probe.table
    report = LoadReport(str(probe.path), source, "")
    report.notes.extend(text.notes)
    rejects = Rejects(text.table.num_rows, text.source_rows)
    for rejection in text.rejected:
        rejects.extend(rejection)
    rows_read = text.table.num_rows + sum(r.count for r in text.rejected)
    for role, col in options.given_columns().items():
        if role in roles:
            report.flags.append(f"{ROLE_FLAGS[role]} {shlex.quote(col)}")
        else:
            report.warnings.append(f"{ROLE_FLAGS[role]} is ignored: the {source} source decides the {role} itself")
    header = _Header(text.table.column_names)
    return _Input(str(probe.path), text.table, text.source_rows, header, report, rejects, rows_read, options)


def _integers(inp: _Input, name: str | None) -> np.ndarray:
    """Return the whole numbers (``12`` or ``12.0``) in column ``name``; -1 where missing or not a number."""
    if name is None:
        return np.zeros(inp.n, dtype=np.int64)
    values = inp.table.column(name).combine_chunks()
    try:
        return pc.fill_null(pc.cast(values, pa.int64()), -1).to_numpy()
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        pass  # some values are not plain integers: take the ones that are
    values = pc.utf8_trim_whitespace(pc.cast(values, pa.string()))
    whole = pc.fill_null(pc.match_substring_regex(values, r"^-?\d+(?:\.0+)?$"), False)
    digits = pc.replace_substring_regex(pc.if_else(whole, values, pa.scalar(None, pa.string())), r"\.0+$", "")
    return pc.fill_null(pc.cast(digits, pa.int64()), -1).to_numpy()


_NAT = np.datetime64("NaT", "us").astype(np.int64)


@dataclass
class _Times:
    """One parsed timestamp column."""

    micros: np.ndarray  # int64 microseconds since the epoch; _NAT where missing or bad
    bad: np.ndarray  # a value is there but is not a date
    description: str

    @property
    def ok(self) -> np.ndarray:
        return self.micros != _NAT

    @property
    def present(self) -> np.ndarray:
        return self.ok | self.bad


def _parse(inp: _Input, names: Sequence[str], cases: np.ndarray | None = None) -> list[_Times]:
    """Parse timestamp columns, the text ones together so that they share one format decision.

    ``cases`` (each row's ticket) lets times in a repeated autumn hour be read from the ticket's order.
    """
    out: dict[str, _Times] = {}
    text_names: list[str] = []
    for name in names:
        column = inp.table.column(name)
        if pa.types.is_timestamp(column.type) or pa.types.is_date(column.type):
            parsed = parse_timestamps(column.to_pandas(), options=inp.options.dates, name=name, path=inp.path, cases=cases)
            out[name] = _Times(_micros(parsed.values), parsed.bad, parsed.description)
            inp.report.notes.append(f"timestamps in {name!r}: {parsed.description}")
            inp.report.notes.extend(parsed.notes)
            inp.report.warnings.extend(parsed.warnings)
            _add_flags(inp.report, parsed.flags)
        else:
            text_names.append(name)
    if text_names:
        k, n = len(text_names), inp.n
        columns = [inp.table.column(name).combine_chunks() for name in text_names]
        joined = columns[0]
        if k > 1:
            # Interleave the columns row by row (opened, resolved, closed, opened …),
            # so that the day/month tie-break "rows run forward in time" sees each
            # ticket's dates in their natural order.
            order = (np.arange(k) * n + np.arange(n)[:, None]).ravel()
            joined = pa.concat_arrays([pc.cast(c, pa.string()) for c in columns]).take(pa.array(order))
        parsed = parse_timestamps(
            joined, options=inp.options.dates, name=_named(text_names), path=inp.path,
            rows=np.repeat(inp.source_rows, k), cases=None if cases is None else np.repeat(cases, k),
        )
        micros = _micros(parsed.values).reshape(n, k)
        bad = parsed.bad.reshape(n, k)
        for j, name in enumerate(text_names):
            out[name] = _Times(np.ascontiguousarray(micros[:, j]), np.ascontiguousarray(bad[:, j]), parsed.description)
        inp.report.notes.append(f"timestamps in {_named([repr(t) for t in text_names])}: {parsed.description}")
        inp.report.notes.extend(parsed.notes)
        inp.report.warnings.extend(parsed.warnings)
        _add_flags(inp.report, parsed.flags)
    return [out[name] for name in names]


def _micros(values: pd.Series) -> np.ndarray:
    return values.to_numpy(dtype="datetime64[us]").view(np.int64)


def _add_flags(report: LoadReport, flags: list[str]) -> None:
    report.flags.extend(f for f in flags if f not in report.flags)


def _reject_times(inp: _Input, name: str, times: _Times, what: str) -> None:
    inp.reject(f"no date in {name!r} ({what})", ~times.present)
    inp.reject(f"{name!r} is not a date read as {_format_of(times)}", times.bad, name)


def _format_of(times: _Times) -> str:
    """Return the format part of a timestamp description, without why it was chosen."""
    return times.description.split(" (")[0]


# --- State labels -------------------------------------------------------------


def _raw_code(value: str) -> str | None:
    """Return the raw choice code a value holds (``'-5'``, ``'3'``), or None for a display value."""
    return value.split(".")[0] if _CODE.match(value) else None


def _compact(values: _Labelled) -> _Labelled:
    """Return ``values`` without the names no row uses."""
    used = np.bincount(values.codes[values.codes >= 0], minlength=len(values.names)) > 0
    if used.all():
        return values
    lut = np.append(np.cumsum(used) - 1, -1)
    return _Labelled(lut[values.codes], [name for name, u in zip(values.names, used, strict=True) if u])


def _state_labels(
    inp: _Input,
    values: _Labelled,
    *,
    where: str,
    tables: _Labelled | None = None,
    numbers: _Labelled | None = None,
    incident_state: np.ndarray | None = None,
) -> _Labelled:
    """Return the state label of each value.

    Display values pass through; raw codes are mapped by the table of each
    row (``tables``, else the prefix of ``numbers``, else the codes seen).
    ``incident_state`` marks values of the incident_state field.
    """
    values = _compact(values)
    codes, distinct = values.codes, values.names
    raw = [_raw_code(v) for v in distinct]
    if not any(raw):
        if distinct:
            inp.report.notes.append(f"{where}: display values ({few(distinct)}), used as they are")
        return values
    coded = [v for v, r in zip(distinct, raw, strict=True) if r is not None]
    display = [v for v, r in zip(distinct, raw, strict=True) if r is None]
    table, names, how = _row_tables(len(codes), tables, numbers, codes, raw)
    if incident_state is not None and "incident" in names:
        names.append(_INCIDENT_STATE)
        table = np.where(incident_state & (table == names.index("incident")), len(names) - 1, table)
    maps = {name: STATE_LABELS.get(name, {}) for name in names}
    if _INCIDENT_STATE in names:
        maps[_INCIDENT_STATE] = _incident_state_map(inp, codes, raw, table == names.index(_INCIDENT_STATE))

    width = len(distinct)
    key = np.where(codes >= 0, table * width + codes, -1)
    counts = np.bincount(key[key >= 0], minlength=len(names) * width)
    labels: list[str] = []
    unknown: list[str] = []
    for t, name in enumerate(names):
        for v, value in enumerate(distinct):
            code = raw[v]
            if code is None:
                labels.append(value)
            elif code in maps[name]:
                labels.append(maps[name][code])
            else:
                labels.append(f"state {code}")
                if counts[t * width + v]:
                    unknown.append(f"{code} for {name.split(' ')[0]} ({_tally(counts[t * width + v], 'value')})")
    if unknown:
        inp.report.warnings.append(f"{where}: state codes vsm does not know, kept as 'state <code>': {', '.join(unknown)}")
    inp.report.notes.append(
        f"{where}: raw state codes ({few(coded)}) mapped to labels {how}"
        + (f"; display values ({few(display)}) used as they are" if display else "")
    )
    return _dedupe(_Labelled(key, labels))


def _row_tables(
    n: int, tables: _Labelled | None, numbers: _Labelled | None, codes: np.ndarray, raw: list[str | None]
) -> tuple[np.ndarray, list[str], str]:
    """Return each row's table (an index into the names returned) and how it was decided."""
    table = np.full(n, -1, dtype=np.int64)
    names: list[str] = []
    how: list[str] = []

    def index(name: str) -> int:
        if name not in names:
            names.append(name)
        return names.index(name)

    if tables is not None:
        lut = np.array([index(TABLE_NAMES.get(normalise(t), t)) for t in tables.names] + [-1], dtype=np.int64)
        table = lut[tables.codes]
        if (table >= 0).any():
            how.append(f"by the table in each row ({few(names)})")
    if numbers is not None and (table < 0).any():
        prefixes = [m.group(1).upper() if (m := re.match(r"([A-Za-z]+)", v)) else "" for v in numbers.names]
        lut = np.array([index(NUMBER_PREFIXES[p]) if p in NUMBER_PREFIXES else -1 for p in prefixes] + [-1], dtype=np.int64)
        by_prefix = (table < 0) & (lut[numbers.codes] >= 0)
        table = np.where(by_prefix, lut[numbers.codes], table)
        if by_prefix.any():
            seen = sorted({p for p in np.asarray(prefixes + [""], dtype=object)[numbers.codes[by_prefix]]})
            how.append(f"by the number prefix ({', '.join(f'{p}: {NUMBER_PREFIXES[p]}' for p in seen)})")
    rest = table < 0
    if rest.any():
        seen_codes = {raw[c] for c in np.unique(codes[rest & (codes >= 0)])} - {None}
        guess, why = _guess_table(seen_codes)  # type: ignore[arg-type]
        table[rest] = index(guess)
        how.append(f"as {guess} states: {why}")
    return table, names, "; ".join(how)


def _guess_table(codes: set[str]) -> tuple[str, str]:
    """Return the table whose state codes best explain ``codes``, and why."""
    candidates = ("incident", "change_request", "sc_req_item", "problem")
    shown = ", ".join(sorted(codes, key=int)) or "none"
    fits = [name for name in candidates if codes <= set(STATE_LABELS[name])]
    if len(fits) == 1:
        return fits[0], f"the codes seen ({shown}) fit no other table"
    if fits:
        return fits[0], f"the codes seen ({shown}) fit {', '.join(fits)}; no table column or number prefix says which"
    best = max(candidates, key=lambda t: len(codes & set(STATE_LABELS[t])))
    return best, f"the closest fit for the codes seen ({shown})"


def _incident_state_map(inp: _Input, codes: np.ndarray, raw: list[str | None], rows: np.ndarray) -> dict[str, str]:
    """Return the meaning of incident_state codes: pre-Helsinki names when codes 4 or 5 occur."""
    seen = {raw[c] for c in np.unique(codes[rows & (codes >= 0)])}
    if seen & {"4", "5"}:
        inp.report.notes.append(
            "incident_state codes 4 and 5 exist only before the Helsinki release: read with the pre-Helsinki "
            "names (1 New, 2 Active, 3 Awaiting Problem, 4 Awaiting User Info, 5 Awaiting Evidence, 6 Resolved, 7 Closed)"
        )
        return INCIDENT_STATES_PRE_HELSINKI
    if "3" in seen:
        inp.report.notes.append(
            "incident_state code 3 read as On Hold (Helsinki and later); before Helsinki it meant Awaiting Problem"
        )
    return INCIDENT_STATES


def _hold_labels(inp: _Input, values: _Labelled, where: str) -> _Labelled:
    """Return the hold reason label of each value: codes mapped, display values as they are."""
    values = _compact(values)
    labels = []
    for value in values.names:
        code = _raw_code(value)
        labels.append(value if code is None else HOLD_REASONS.get(code, f"hold reason {code}"))
    unknown = [v for v, label in zip(values.names, labels, strict=True) if label.startswith("hold reason ")]
    if unknown:
        inp.report.warnings.append(f"{where}: hold reason codes vsm does not know, kept as 'hold reason <code>': {few(unknown)}")
    return _dedupe(_Labelled(values.codes, labels))


def _with_hold(state: _Labelled, hold: _Labelled) -> _Labelled:
    """Return state labels where On Hold carries its reason: ``On Hold (Awaiting Caller)``."""
    on_hold = [i for i, name in enumerate(state.names) if name.strip().lower() == "on hold"]
    if not on_hold or not hold.names:
        return state
    mask = np.isin(state.codes, on_hold) & (hold.codes >= 0)
    spelled = state.names[on_hold[0]]
    return _dedupe(_Labelled(
        np.where(mask, len(state.names) + hold.codes, state.codes),
        state.names + [f"{spelled} ({h})" for h in hold.names],
    ))


def _dedupe(values: _Labelled) -> _Labelled:
    """Return ``values`` with repeated names merged into one code."""
    inverse, unique = pd.factorize(pd.Series(values.names, dtype=object))
    if len(unique) == len(values.names):
        return values
    lut = np.append(np.asarray(inverse, dtype=np.int64), -1)
    return _Labelled(lut[values.codes], [str(u) for u in unique])


def _few(values: Sequence[str], k: int = 4) -> str:
    shown = ", ".join(str(v) for v in list(values)[:k])
    return shown + (f" … {len(values) - k} more" if len(values) > k else "")


# --- Changes between consecutive snapshots -------------------------------------


@dataclass
class _Changes:
    """What each snapshot row changes, compared with the previous row of its ticket."""

    label: np.ndarray  # the state label, carried forward over rows without one
    state: np.ndarray  # the state label differs (or is the ticket's first)
    initial: np.ndarray  # ... and it is the ticket's first state
    group: np.ndarray  # the group changed to a non-empty group
    from_empty: np.ndarray  # ... from none
    pickup: np.ndarray  # a person holds the ticket, and nobody did before

    @property
    def any(self) -> np.ndarray:
        return self.state | self.group | self.pickup


def _changes(first: np.ndarray, label: np.ndarray, group: np.ndarray, person: np.ndarray) -> _Changes:
    """Compare each row with the previous row of its ticket; rows are sorted by ticket, then time.

    ``first`` marks each ticket's first row; codes are -1 where empty. A row
    without a state keeps the previous one. The first row gives only its
    state: its group and person were set before the export saw the ticket, so
    they are no hand-off or pickup.
    """
    label = _carry_forward(label, first)
    prev_label = _previous(label, first)
    prev_group = _previous(group, first)
    state = (label >= 0) & (label != prev_label)
    moved = ~first & (group >= 0) & (group != prev_group)
    pickup = ~first & (person >= 0) & (_previous(person, first) < 0)
    return _Changes(label, state, state & (prev_label < 0), moved, moved & (prev_group < 0), pickup)


def _previous(codes: np.ndarray, first: np.ndarray) -> np.ndarray:
    out = np.empty_like(codes)
    out[:1] = -1
    out[1:] = codes[:-1]
    out[first] = -1
    return out


def _carry_forward(codes: np.ndarray, first: np.ndarray) -> np.ndarray:
    """Return ``codes`` with missing values (-1) filled from the previous row of the same ticket."""
    idx = np.where((codes >= 0) | first, np.arange(len(codes)), 0)
    np.maximum.accumulate(idx, out=idx)
    return codes[idx]


def _last_at_or_before(mask: np.ndarray, start: np.ndarray) -> np.ndarray:
    """Return, for each position, the last position at or before it in its ticket where ``mask``; -1 if none.

    ``start`` is the first position of each position's ticket.
    """
    idx = np.where(mask, np.arange(len(mask)), -1)
    np.maximum.accumulate(idx, out=idx)
    return np.where(idx >= start, idx, -1)


def _last_before(mask: np.ndarray, start: np.ndarray) -> np.ndarray:
    """Return, for each position, the last position strictly before it in its ticket where ``mask``; -1 if none."""
    last = _last_at_or_before(mask, start)
    prev = np.full_like(last, -1)
    prev[1:] = last[:-1]
    return np.where(prev >= start, prev, -1)


def _first_at_or_after(mask: np.ndarray, end: np.ndarray) -> np.ndarray:
    """Return, for each position, the first position at or after it in its ticket where ``mask``; -1 if none.

    ``end`` is one past the last position of each position's ticket.
    """
    n = len(mask)
    idx = np.where(mask, np.arange(n), n)
    idx = np.minimum.accumulate(idx[::-1])[::-1]
    return np.where(idx < end, idx, -1)


def _ticket_bounds(first: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return the first position, and one past the last, of each position's ticket."""
    starts = np.flatnonzero(first)
    number = np.cumsum(first) - 1
    return starts[number], np.append(starts[1:], len(first))[number]


def _first_flags(case: np.ndarray) -> np.ndarray:
    first = np.ones(len(case), dtype=bool)
    first[1:] = case[1:] != case[:-1]
    return first


def _in_order(keys: list[np.ndarray]) -> np.ndarray:
    """Return the stable permutation that sorts by ``keys``, the first key most significant."""
    if in_lexsort_order(keys[::-1]):
        return np.arange(len(keys[0]))  # exports are often in order already
    return np.lexsort(keys[::-1])


def _event_positions(group: np.ndarray, pickup: np.ndarray, state: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return the row position and kind of every event, in order: by row, then hand-off, pickup, state."""
    # The row-major order of a (rows × kinds) grid is exactly the event order.
    flat = np.flatnonzero(np.stack([group, pickup, state], axis=1).ravel())
    return flat // 3, flat % 3


def _activities(kinds: np.ndarray, state: np.ndarray, from_empty: np.ndarray, names: list[str]) -> _Labelled:
    """Return each event's activity: its state label, Reassigned, Assigned to group or 'Picked up by assignee'."""
    base = len(names)
    codes = np.select(
        [kinds == _STATE, kinds == _PICKUP, from_empty],
        [state, base + 2, base + 1],
        default=base,
    )
    return _Labelled(codes, [*names, REASSIGNED, ASSIGNED_TO_GROUP, ASSIGNED])


def _count(mask: np.ndarray | int, what: str, plural: str | None = None) -> str:
    """Return ``'1 row'`` or ``'3 rows'``: how many ``mask`` holds (or the number given), and what."""
    n = int(mask.sum()) if isinstance(mask, np.ndarray) else int(mask)
    return f"{n:,} {what if n == 1 else plural or what + 's'}"


def _tally(mask: np.ndarray | int, what: str, plural: str | None = None) -> str:
    """:func:`_count` for the load report's texts, marked to add up over partitions (:func:`tally`)."""
    n = int(mask.sum()) if isinstance(mask, np.ndarray) else int(mask)
    return tally(n, what, plural)


_HANDOFFS = f"({REASSIGNED}, {ASSIGNED_TO_GROUP})"
_PICKUPS = f"({ASSIGNED})"


# --- Building the event table ----------------------------------------------------


def _categorical(values: _Labelled) -> pd.Categorical:
    values = _dedupe(values)
    return known_categorical(values.codes, pd.Index(values.names, dtype="str"))


def _event_table(
    inp: _Input,
    *,
    rows: np.ndarray,
    case: _Labelled,
    activity: _Labelled,
    micros: np.ndarray,
    end: np.ndarray | None = None,
    group: _Labelled | None = None,
    resource: _Labelled | None = None,
    attributes: Sequence[str] = (),
    none: str = "",
) -> pd.DataFrame:
    """Return the canonical table of events given in their final order, and fill the report's accounting.

    ``rows`` are the input rows the events come from (for ``source_row`` and
    the attributes); the other arrays hold one value per event. ``none`` says
    why loaded rows might give no event, and what to export instead.
    """
    inp.rejects.fill(inp.report, inp.rows_read)
    if not len(rows):
        if not inp.report.rows_loaded:
            reasons = "; ".join(f"{r.reason} ({r.count:,})" for r in inp.report.rejections)
            raise EmptyExport(f"{inp.path}: every row was rejected: {reasons}")
        raise EmptyExport(f"{inp.path}: no events: {_count(inp.report.rows_loaded, 'row')} loaded, but {none}")
    frame: dict[str, object] = {
        CASE_ID: _categorical(case),
        ACTIVITY: _categorical(activity),
        TIMESTAMP: _utc(micros),
    }
    if end is not None:
        frame[END_TIMESTAMP] = _utc(end)
    if resource is not None:
        frame[RESOURCE] = _categorical(resource)
    if group is not None:
        frame[GROUP] = _categorical(group)
    frame[SOURCE_ROW] = inp.source_rows[rows]
    frame[SEQUENCE] = np.arange(len(rows))
    names = []
    take = pa.array(rows, pa.int64())
    for column in attributes:
        name = f"src_{column}" if column in CANONICAL_COLUMNS or column in frame else column
        values = inp.table.column(column).take(take).combine_chunks()
        if pa.types.is_string(values.type) or pa.types.is_large_string(values.type):
            encoded = pc.dictionary_encode(values)  # distinct strings, in order of first appearance
            frame[name] = known_categorical(pc.fill_null(encoded.indices, -1).to_numpy(), pd.Index(encoded.dictionary.to_pandas()))
        else:
            frame[name] = values.to_pandas()
        names.append(name)
    table = make_event_table(pd.DataFrame(frame), attributes=names)
    inp.report.events = len(table)
    return table


def _utc(micros: np.ndarray) -> pd.Series:
    return pd.Series(micros.view("datetime64[us]")).dt.tz_localize("UTC")


def _attributes(inp: _Input, used: Sequence[str | None]) -> list[str]:
    taken = {c for c in used if c}
    return [c for c in inp.table.column_names if c not in taken]


def _none(n: int) -> _Labelled:
    return _Labelled(np.full(n, -1, dtype=np.int64), [])


# --- List export ------------------------------------------------------------------

_EVENTS = ("Opened", "Resolved", "Closed")


def load_list(probe: Probe, options: LoadOptions) -> tuple[pd.DataFrame, LoadReport]:
    """Load a list export: each ticket row gives Opened, Resolved and Closed events."""
    inp = _open(probe, options, "servicenow", ("case_id", "timestamp", "group", "resource"))
    case_col = inp.column("case_id", ("number",), "the ticket number")
    opened_col = inp.column("timestamp", ("opened_at",), "the Opened event; resolved_at and closed_at give Resolved and Closed")
    date_cols = [opened_col, inp.header.find("resolved_at"), inp.header.find("closed_at")]
    group_col = inp.column("group", ("assignment_group",), "the group that holds the ticket", required=False)
    given_resource = "resource" in options.given_columns()
    person_col = inp.column("resource", ("assigned_to",), "the person who holds the ticket", required=False)
    # The person who resolved (closed) a ticket, where the export says, is the
    # resource of its Resolved (Closed) event.
    by_cols = [None, inp.header.find("resolved_by"), inp.header.find("closed_by")] if not given_resource else [None] * 3
    if any(by_cols):
        by = " and ".join(f"{c} for {e}" for c, e in zip(by_cols, _EVENTS, strict=True) if c)
        if person_col:
            inp.report.columns["resource"].reason += f"; {by}, where filled"
        else:
            inp.report.choose("resource", _named([c for c in by_cols if c]), f"{by}: who resolved or closed the ticket")
    assert case_col is not None and opened_col is not None  # required columns

    case = inp.codes(case_col)
    inp.reject(f"no ticket number in {case_col!r}", case.codes < 0)
    present = [c for c in date_cols if c]
    times = dict(zip(present, _parse(inp, present, case.codes), strict=True))
    _reject_times(inp, opened_col, times[opened_col], "the Opened event")
    kept = inp.rejects.kept

    masks = []
    for kind, col in enumerate(date_cols):
        if col is None:
            masks.append(np.zeros(inp.n, dtype=bool))
            continue
        t = times[col]
        if kind and (bad := kept & t.bad).any():
            first = ", ".join(f"row {r}" for r in inp.source_rows[np.flatnonzero(bad)[:3]])
            inp.report.warnings.append(
                f"{_count(bad, 'value is', 'values are')} not a date in {col!r} read as {_format_of(t)} (first: {first}); "
                f"those tickets have no {_EVENTS[kind]} event"
            )
        masks.append(kept & t.ok)
    rows, kinds = _event_positions(*masks)
    micros = np.select([kinds == k for k in range(3)], [times[c].micros[rows] if c else 0 for c in date_cols])
    _warn_backwards(inp, kept, times, date_cols)

    resource = None
    if person_col or any(by_cols):
        resource = inp.codes(person_col).take(rows) if person_col else _none(len(rows))
        for kind, by_col in enumerate(by_cols):
            if by_col:
                who = inp.codes(by_col).take(rows)
                filled = (kinds == kind) & (who.codes >= 0)
                resource = _Labelled(np.where(filled, who.codes + len(resource.names), resource.codes), resource.names + who.names)
    table = _event_table(
        inp, rows=rows, case=case.take(rows), activity=_Labelled(kinds, list(_EVENTS)), micros=micros,
        group=inp.codes(group_col).take(rows) if group_col else None, resource=resource,
        attributes=_attributes(inp, (case_col, *date_cols, group_col, person_col)),
    )
    counts = [int(m.sum()) for m in masks]
    inp.report.derivation = (
        f"{tally(inp.report.rows_loaded, 'ticket row')} give {tally(inp.report.events, 'event')} "
        f"({tally(counts[0])} opened, {tally(counts[1])} resolved, {tally(counts[2])} closed)"
    )
    return table, inp.report


def _warn_backwards(inp: _Input, kept: np.ndarray, times: dict[str, _Times], columns: list[str | None]) -> None:
    """Warn about tickets resolved before they were opened, or closed before resolved."""
    present = [c for c in columns if c]
    for a, b in zip(present, present[1:], strict=False):
        ta, tb = times[a], times[b]
        backwards = kept & ta.ok & tb.ok & (tb.micros < ta.micros)
        if backwards.any():
            first = ", ".join(f"row {r}" for r in inp.source_rows[np.flatnonzero(backwards)[:3]])
            inp.report.warnings.append(f"{_tally(backwards, 'ticket')} with {b!r} before {a!r} (first: {first})")


# --- Audit snapshots --------------------------------------------------------------


def load_audit(probe: Probe, options: LoadOptions) -> tuple[pd.DataFrame, LoadReport]:
    """Load an audit snapshot: an event only where the state, the group or the pickup changes."""
    inp = _open(probe, options, "servicenow-audit", ("case_id", "timestamp", "activity", "group", "resource"))
    case_col = inp.column("case_id", ("number",), "the ticket number")
    when_col = inp.column("timestamp", ("sys_updated_on", "sys_updated_at"), "the time of each update")
    count_col = inp.header.find("sys_mod_count")
    state_col = inp.column("activity", ("state", "incident_state"), "the ticket's state: an event where it changes")
    hold_col = inp.header.find("hold_reason") if "activity" not in options.given_columns() else None
    group_col = inp.column("group", ("assignment_group",), "a hand-off where it changes", required=False)
    person_col = inp.column("resource", ("assigned_to",), "a pickup where it is first filled", required=False)
    class_col = inp.header.find("sys_class_name")
    if hold_col:
        inp.report.columns["activity"].reason += f"; {hold_col} names the reason while On Hold"
    assert case_col is not None and when_col is not None and state_col is not None  # required columns

    case = inp.codes(case_col)
    inp.reject(f"no ticket number in {case_col!r}", case.codes < 0)
    (when,) = _parse(inp, [when_col], case.codes)
    _reject_times(inp, when_col, when, "the time of the update")
    counter = _integers(inp, count_col)

    rows = np.flatnonzero(inp.rejects.kept)
    # Within a ticket: by update time, then by the modification counter (updates
    # often share a minute), then by file row (the sort is stable).
    rows = rows[_in_order([case.codes[rows], when.micros[rows], counter[rows]])]

    state = _state_labels(
        inp, inp.codes(state_col).take(rows), where=repr(state_col),
        tables=inp.codes(class_col).take(rows) if class_col else None, numbers=case.take(rows),
        incident_state=np.full(len(rows), normalise(state_col) == "incident state"),
    )
    if hold_col:
        state = _with_hold(state, _hold_labels(inp, inp.codes(hold_col).take(rows), repr(hold_col)))
    group = inp.codes(group_col).take(rows) if group_col else _none(len(rows))
    person = inp.codes(person_col).take(rows) if person_col else _none(len(rows))
    first = _first_flags(case.codes[rows])
    changes = _changes(first, state.codes, group.codes, person.codes)

    at, kinds = _event_positions(changes.group, changes.pickup, changes.state)
    table = _event_table(
        inp, rows=rows[at], case=case.take(rows[at]),
        activity=_activities(kinds, changes.label[at], changes.from_empty[at], state.names),
        micros=when.micros[rows[at]], group=group.take(at) if group_col else None,
        resource=person.take(at) if person_col else None,
        attributes=_attributes(inp, (case_col, when_col, state_col, hold_col, group_col, person_col)),
        none=f"none has a state in {state_col!r}, and none changes the group or assignee; pass --activity-col "
        "with the column that holds the state",
    )
    inp.report.notes.append(
        f"{_tally(first, 'ticket')}; a ticket's first row gives its first state, dated at that row's update "
        "(the snapshot holds no earlier time), and no hand-off or pickup"
    )
    folded = ~changes.any
    inp.report.derivation = (
        f"{_tally(len(rows), 'snapshot row')} give {_tally(inp.report.events, 'event')}: "
        f"{_tally(changes.state, 'state change')} ({tally(changes.initial.sum())} of them a ticket's first state), "
        f"{_tally(changes.group, 'hand-off')} {_HANDOFFS}, {_tally(changes.pickup, 'pickup')} {_PICKUPS}; "
        f"{_tally(folded, 'row changes', 'rows change')} none of state, group or assignee, so add no event"
    )
    return table, inp.report


# --- sys_audit --------------------------------------------------------------------

# Tracked fields; their numbers order the events of one update.
_AUDIT_FIELDS = {"assignment_group": 0, "assigned_to": 1, "hold_reason": 2, "state": 3, "incident_state": 3}
_HOLD, _STATE_FIELD, _OTHER, _MIRRORED = 2, 3, 4, 5


def load_sys_audit(probe: Probe, options: LoadOptions) -> tuple[pd.DataFrame, LoadReport]:
    """Load sys_audit field history: the rows of one update become one snapshot, compared as snapshots are."""
    inp = _open(probe, options, "servicenow-sys-audit", ("case_id", "timestamp"))
    doc_col = inp.column("case_id", ("documentkey",), "the ticket's sys_id")
    field_col = inp.column(None, ("fieldname",), "which field changed")
    old_col = inp.column(None, ("oldvalue",), "the value before")
    new_col = inp.column(None, ("newvalue",), "the value after")
    when_col = inp.column("timestamp", ("sys_created_on",), "when the field changed")
    table_col = inp.header.find("tablename")
    checkpoint_col = inp.header.find("record_checkpoint")
    assert doc_col and field_col and old_col and new_col and when_col  # required columns
    inp.report.choose(
        "activity", f"{field_col}, {new_col}",
        "state (or incident_state) rows give state events, assignment_group rows hand-offs, assigned_to rows pickups",
    )

    doc = inp.codes(doc_col)
    inp.reject(f"no documentkey in {doc_col!r}", doc.codes < 0)
    fieldname = inp.codes(field_col)
    inp.reject(f"no field name in {field_col!r}", fieldname.codes < 0)
    (when,) = _parse(inp, [when_col], doc.codes)
    _reject_times(inp, when_col, when, "the time of the change")
    kept = inp.rejects.kept

    lowered = [f.lower() for f in fieldname.names]
    # Explicit dtypes: with no field names at all, np.append would make floats.
    kind = np.append(np.array([_AUDIT_FIELDS.get(f, _OTHER) for f in lowered], dtype=np.int64), _OTHER)[fieldname.codes]
    is_incident_state = np.append(np.array([f == "incident_state" for f in lowered], dtype=bool), False)[fieldname.codes]
    # Where a ticket's state is audited, its incident_state rows repeat the same
    # change (instances since Helsinki keep both fields in step): use state only.
    has_state = np.zeros(len(doc.names) + 1, dtype=bool)
    has_state[doc.codes[kept & (kind == _STATE_FIELD) & ~is_incident_state]] = True
    kind[kept & is_incident_state & has_state[doc.codes]] = _MIRRORED
    checkpoint = _integers(inp, checkpoint_col)

    rows = np.flatnonzero(kept)
    rows = rows[_in_order([doc.codes[rows], when.micros[rows], checkpoint[rows], kind[rows]])]
    m = len(rows)
    k, t, d = kind[rows], when.micros[rows], doc.codes[rows]
    first_row = _first_flags(d)
    ticket_start, ticket_end = _ticket_bounds(first_row)
    # An update: the rows of one ticket with the same time and record checkpoint.
    new_update = first_row.copy()
    new_update[1:] |= (t[1:] != t[:-1]) | (checkpoint[rows][1:] != checkpoint[rows][:-1])
    starts = np.flatnonzero(new_update)
    ends = np.append(starts[1:], m) - 1
    tracked = np.add.reduceat((k < _OTHER).astype(np.int64), starts) > 0 if m else np.zeros(0, dtype=bool)

    # Each tracked field's value after each row: the newest new value so far in
    # the ticket, or, before the field's first change, that change's old value.
    tables = inp.codes(table_col) if table_col else None
    before: dict[int, np.ndarray] = {}
    after: dict[int, np.ndarray] = {}
    last: dict[int, np.ndarray] = {}
    names: dict[int, list[str]] = {}
    for field in range(4):
        at_field = k == field
        old, new, names[field] = _field_values(inp, field, rows, at_field, old_col, new_col, tables, is_incident_state)
        last[field] = _last_at_or_before(at_field, ticket_start)
        upcoming = _first_at_or_after(at_field, ticket_end)
        before[field] = np.where(upcoming >= 0, old[np.maximum(upcoming, 0)], -1)
        after[field] = np.where(last[field] >= 0, new[np.maximum(last[field], 0)], before[field])

    # Snapshots: one after each update that touches a tracked field, and, for a
    # ticket whose first changes have old values, one before them, at its first
    # audit row, holding those old values (its initial state).
    first_positions = np.flatnonzero(first_row)
    known = np.zeros(len(first_positions), dtype=bool)
    for field in range(4):
        known |= before[field][first_positions] >= 0
    initial_at = first_positions[known]
    update_start, update_end = starts[tracked], ends[tracked]
    is_initial = np.concatenate([np.ones(len(initial_at), dtype=bool), np.zeros(len(update_start), dtype=bool)])
    snap_start = np.concatenate([initial_at, update_start])
    snap_end = np.concatenate([initial_at, update_end])
    order = _in_order([snap_start, ~is_initial])
    is_initial, snap_start, snap_end = is_initial[order], snap_start[order], snap_end[order]

    def value(field: int) -> np.ndarray:
        return np.where(is_initial, before[field][snap_start], after[field][snap_end])

    state = _with_hold(_Labelled(value(_STATE_FIELD), names[_STATE_FIELD]), _Labelled(value(_HOLD), names[_HOLD]))
    group, person = value(0), value(1)
    snap_doc = d[snap_start]
    changes = _changes(_first_flags(snap_doc), state.codes, group, person)

    # The row each event comes from: the field's row in the update (for a state
    # event the state row, else the hold_reason row); for an initial snapshot,
    # the ticket's first state row, whose old value it shows.
    def row_of(field: int) -> np.ndarray:
        found = last[field][snap_end]
        return np.where(~is_initial & (found >= snap_start), found, -1)

    first_state = _first_at_or_after(k == _STATE_FIELD, ticket_end)[snap_start]
    state_row = np.where(is_initial, first_state, np.where(row_of(3) >= 0, row_of(3), row_of(2)))
    state_row = np.where(state_row >= 0, state_row, snap_end)
    at, kinds = _event_positions(changes.group, changes.pickup, changes.state)
    source = np.choose(kinds, [row_of(0)[at], row_of(1)[at], state_row[at]])
    table = _event_table(
        inp, rows=rows[source], case=_Labelled(snap_doc[at], doc.names),
        activity=_activities(kinds, changes.label[at], changes.from_empty[at], state.names),
        micros=t[snap_start[at]], group=_Labelled(group[at], names[0]), resource=_Labelled(person[at], names[1]),
        attributes=_attributes(inp, (doc_col, when_col)),
        none="none changes state, incident_state, assignment_group or assigned_to; export the sys_audit rows "
        "of those fields",
    )

    inp.report.notes.append(
        f"case ids are the tickets' sys_ids from {doc_col!r} ({_tally(first_row, 'ticket')}); "
        "groups and people are sys_ids too, as sys_audit stores them"
    )
    from_old = int((changes.state & is_initial).sum())
    if from_old:
        inp.report.notes.append(
            f"{_tally(from_old, 'ticket')} whose history starts after creation: the first state is the old value "
            "of the first audited change, dated at the ticket's first audit row (sys_audit does not say how long "
            "it was in that state before)"
        )
    inp.report.derivation = _sys_audit_derivation(inp, k, fieldname.codes[rows], lowered, changes, from_old)
    return table, inp.report


def _field_values(
    inp: _Input, field: int, rows: np.ndarray, at_field: np.ndarray, old_col: str, new_col: str,
    tables: _Labelled | None, is_incident_state: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Return the old and new value codes of one tracked field (-1 on other rows), and their names."""
    positions = np.flatnonzero(at_field)
    source = rows[positions]
    take = pa.array(source, pa.int64())
    both = _encode(pa.concat_arrays([
        pc.cast(inp.table.column(c).take(take).combine_chunks(), pa.string()) for c in (old_col, new_col)
    ]))
    if field == _STATE_FIELD:
        twice = np.tile(source, 2)
        both = _state_labels(
            inp, both, where="state rows", tables=tables.take(twice) if tables else None,
            incident_state=is_incident_state[twice],
        )
    elif field == _HOLD:
        both = _hold_labels(inp, both, "hold_reason rows")
    old = np.full(len(rows), -1, dtype=np.int64)
    new = np.full(len(rows), -1, dtype=np.int64)
    old[positions] = both.codes[: len(source)]
    new[positions] = both.codes[len(source):]
    return old, new, both.names


def _sys_audit_derivation(inp: _Input, kinds: np.ndarray, fields: np.ndarray, names: list[str], changes: _Changes, from_old: int) -> str:
    counts = np.bincount(kinds, minlength=6)
    other = np.bincount(fields[kinds == _OTHER], minlength=len(names))
    top = np.argsort(-other, kind="stable")[:4]
    shown = ", ".join(f"{names[i]} {other[i]:,}" for i in top if other[i])
    more = (other > 0).sum() - len([i for i in top if other[i]])
    return (
        f"{_tally(len(kinds), 'audit row')} give {_tally(inp.report.events, 'event')}: "
        f"{_tally(changes.state, 'state change')} ({tally(from_old)} of them a first state taken from an old value), "
        f"{_tally(changes.group, 'hand-off')} {_HANDOFFS} and {_tally(changes.pickup, 'pickup')} {_PICKUPS}, "
        f"from {tally(counts[_STATE_FIELD])} state, {tally(counts[0])} assignment_group, {tally(counts[1])} assigned_to and "
        f"{tally(counts[_HOLD])} hold_reason rows; no event from {_tally(counts[_OTHER], 'row')} of other fields"
        + (f" ({shown}{f' and {more} more' if more else ''})" if shown else "")
        + (f", {_tally(counts[_MIRRORED], 'incident_state row')} that repeat state" if counts[_MIRRORED] else "")
        + ", or changes that repeat a value or pass a ticket from one person to another"
    )


# --- metric_instance --------------------------------------------------------------


def _metric_kind(definition: str) -> int:
    """Return what a metric definition measures: the group, the assignee, the state, or other (-1)."""
    name = normalise(definition)
    if "assignment group" in name:
        return _GROUP
    if "assigned to" in name:
        return _PICKUP
    if re.search(r"\b(state|status)\b", name):
        return _STATE
    return -1


def load_metric(probe: Probe, options: LoadOptions) -> tuple[pd.DataFrame, LoadReport]:
    """Load metric_instance: state, group and assignee intervals with their start and end."""
    inp = _open(probe, options, "servicenow-metric", ("case_id", "timestamp", "end_timestamp"))
    definition_col = inp.column(None, ("definition",), "what the metric measures")
    case_col = inp.column("case_id", ("id",), "the ticket's sys_id")
    start_col = inp.column("timestamp", ("start",), "when the ticket took the value")
    end_col = inp.column("end_timestamp", ("end",), "when it left it (empty while it holds it still)")
    value_cols = [c for c in (inp.header.find("value"), inp.header.find("field_value")) if c]
    table_col = inp.header.find("table")
    assert definition_col and case_col and start_col and end_col  # required columns
    if not value_cols:
        raise MissingColumn(
            f"{inp.path}: no value or field_value column (the state, group or person of each interval); "
            f"columns: {_named(inp.header.names)}"
        )
    inp.report.choose(
        "activity", f"{definition_col}, {value_cols[0]}",
        "state definitions give state intervals, Assignment Group hand-offs, Assigned to Duration pickups",
    )

    case = inp.codes(case_col)
    inp.reject(f"no ticket sys_id in {case_col!r}", case.codes < 0)
    definition = inp.codes(definition_col)
    kind = np.append(np.array([_metric_kind(name) for name in definition.names], dtype=np.int64), -1)[definition.codes]
    start, end = _parse(inp, [start_col, end_col], case.codes)
    _reject_times(inp, start_col, start, "the start of the interval")
    inp.reject(f"{end_col!r} is not a date read as {_format_of(end)}", end.bad, end_col)
    inp.reject(f"{end_col!r} is before {start_col!r}", end.ok & start.ok & (end.micros < start.micros), end_col)

    # value holds the display value; field_value the raw one, used where value is empty.
    value = inp.codes(value_cols[0])
    for col in value_cols[1:]:
        raw = inp.codes(col)
        value = _Labelled(np.where(value.codes >= 0, value.codes, np.where(raw.codes >= 0, raw.codes + len(value.names), -1)),
                          value.names + raw.names)
    is_state = kind == _STATE
    labels = _state_labels(
        inp, _Labelled(np.where(is_state, value.codes, -1), value.names), where="state intervals",
        tables=inp.codes(table_col) if table_col else None,
    )
    inp.reject("a state interval without a value", is_state & (labels.codes < 0))
    kept = inp.rejects.kept

    rows = np.flatnonzero(kept & (kind >= 0))
    rows = rows[_in_order([case.codes[rows], start.micros[rows], kind[rows]])]
    k, s, e = kind[rows], start.micros[rows], end.micros[rows]
    holder = _compact(_Labelled(np.where(k != _STATE, value.codes[rows], -1), value.names))
    first = _first_flags(case.codes[rows])
    ticket_start, _ = _ticket_bounds(first)
    position = np.arange(len(rows))

    def held_at(field: int) -> np.ndarray:
        """Return who (which group) holds the ticket at each interval's start."""
        last = _last_at_or_before(k == field, ticket_start)
        until = e[np.maximum(last, 0)]
        ongoing = (last >= 0) & ((last == position) | (until == _NAT) | (until > s))
        return np.where(ongoing, holder.codes[np.maximum(last, 0)], -1)

    def continues(field: int) -> np.ndarray:
        """Whether the field's previous interval held a value and ran up to this one's start."""
        prev = _last_before(k == field, ticket_start)
        p = np.maximum(prev, 0)
        return (prev >= 0) & (holder.codes[p] >= 0) & ((e[p] == _NAT) | (e[p] >= s))

    handoff = (k == _GROUP) & (holder.codes >= 0)
    from_empty = handoff & ~continues(_GROUP)
    pickup = (k == _PICKUP) & (holder.codes >= 0) & ~continues(_PICKUP)
    state_rows = k == _STATE
    events = np.flatnonzero(handoff | pickup | state_rows)
    kinds = k[events]
    table = _event_table(
        inp, rows=rows[events], case=case.take(rows[events]),
        activity=_activities(kinds, labels.codes[rows[events]], from_empty[events], labels.names),
        micros=s[events], end=e[events], group=_Labelled(held_at(_GROUP)[events], holder.names),
        resource=_Labelled(held_at(_PICKUP)[events], holder.names),
        attributes=_attributes(inp, (case_col, start_col, end_col, value_cols[0])),
        none=f"no definition measures a state, an assignment group or an assignee ({_few(definition.names)}); "
        "export instances of 'Incident State Duration', 'Assignment Group' or 'Assigned to Duration'",
    )

    inp.report.notes.append(
        f"case ids are the tickets' sys_ids from {case_col!r} ({_tally(first, 'ticket')}); each event's "
        "group and resource are those whose intervals cover its start"
    )
    other = kept & (kind < 0)
    counts = np.bincount(definition.codes[other & (definition.codes >= 0)], minlength=len(definition.names))
    top = [i for i in np.argsort(-counts, kind="stable")[:4] if counts[i]]
    shown = ", ".join(f"{definition.names[i]} {counts[i]:,}" for i in top)
    still_open = int((e[events] == _NAT).sum())
    inp.report.derivation = (
        f"{_tally(kept, 'metric row')} give {_tally(inp.report.events, 'event')}: "
        f"{_tally(state_rows, 'state interval')}, {_tally(handoff, 'hand-off')} {_HANDOFFS} from "
        f"{_tally(k == _GROUP, 'assignment group interval')}, {_tally(pickup, 'pickup')} {_PICKUPS} from "
        f"{_tally(k == _PICKUP, 'assigned-to interval')} (a change of person only sets the resource); "
        f"no event from {_tally(other, 'row')} of other definitions" + (f" ({shown})" if shown else "")
        + (f"; {_tally(still_open, 'event is an interval', 'events are intervals')} still open (no end)" if still_open else "")
    )
    return table, inp.report


SOURCES = [
    Source("servicenow-metric", "ServiceNow metric_instance: state, group and assignee intervals", detect_metric, load_metric),
    Source("servicenow-sys-audit", "ServiceNow sys_audit: field-level history", detect_sys_audit, load_sys_audit),
    Source("servicenow-audit", "ServiceNow audit snapshot: one row per update", detect_audit, load_audit),
    Source("servicenow", "ServiceNow list export (CSV, XLSX): one row per ticket", detect_list, load_list),
]
