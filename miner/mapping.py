"""Mapping events to the ITIL value chain with ordered rules (first match wins).

A mapping file is TOML: a list of ``[[rule]]`` tables (see
``miner/defaults/generic.toml`` for the syntax, which the built-in defaults
use too). A user's rules come first, then the built-in rules of the export's
source, then the generic keyword rules, unless the file says
``defaults = "none"``. A ``[labels]`` table names activity codes
(``"17" = "In Progress"``) for logs whose activity column holds codes; the
rules then see the names.

A rule may say ``object = "ticket"`` or ``object = "other"``: it then matches
only names with an object prefix (BPI-style ``A_DECLINED``, ``O_CREATED``: one
or two letters and an underscore) whose object is the ticket's own (the prefix
of the ticket's first event) or another object's (an offer, a work item).

Rules are evaluated once per distinct combination of the columns they look
at, not once per event, and the result is spread back to the events.
"""

from __future__ import annotations

import difflib
import functools
import re
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from connectors.errors import ConfigError
from connectors.report import counted
from connectors.eventlog import ACTIVITY
from miner import segments
from miner.cases import CaseArrays
from miner.valuechain import (
    INHERIT,
    KINDS,
    LABELS,
    STAGES,
    UNMAPPED,
    WAIT_KINDS,
    label,
    stage_key,
    suggest_stage,
)

RULE_KEYS = {"activity", "when", "stage", "kind", "wait", "practice", "note", "reopen", "object"}
TOP_KEYS = {"version", "defaults", "rule", "labels", "source", "generated_from"}
DEFAULT_SETS = ("auto", "servicenow", "jira", "zendesk", "generic", "none")
# The pseudo-column a rule's ``object`` matches: per event, "ticket" when its
# name's object prefix is that of its ticket's first event, "other" when it is
# another, none without a prefix (see object_column).
OBJECT = "\x00object"
OBJECTS = ("ticket", "other")
# "re_opened", "un_resolved": snake case, not an object.
_OBJECT_PREFIX = re.compile(r"(?!(?i:re|un)_)([A-Za-z]{1,2})_(?=[A-Za-z])")
# unknown: time that cannot be told apart (list exports);
# bookkeeping: field edits, comments, links, attachments, watchers: not a state of
# the ticket, so their time belongs to the state around them.
ALL_KINDS = (*KINDS, "unknown", "bookkeeping")


@dataclass(frozen=True)
class Matcher:
    """One condition of a rule: a column's value is exactly, globs or matches."""

    column: str
    mode: str  # "exact", "glob" or "re"
    values: tuple[str, ...]

    def mask(self, values: pd.Series) -> np.ndarray:
        """Return which ``values`` match; evaluated with Python's re on distinct values.

        (Arrow-backed pandas strings would use RE2, which lacks some of Python's
        syntax and rejects what fnmatch produces.)
        """
        codes, uniques = pd.factorize(values, use_na_sentinel=True)
        if len(uniques) < len(values):
            hits = self.mask(pd.Series(uniques))
            return np.where(codes >= 0, hits[np.maximum(codes, 0)], False)
        return self.mask_texts(_texts(values))

    def mask_texts(self, text: np.ndarray) -> np.ndarray:
        """:meth:`mask` of values already as an object array (None: missing), as :func:`_texts` gives them."""
        if self.mode == "exact":
            wanted = set(self.values)
            return np.fromiter((v in wanted for v in text), dtype=bool, count=len(text))
        tests = _tests(self.mode, self.values)
        return np.fromiter((v is not None and any(t(str(v)) for t in tests) for v in text), dtype=bool, count=len(text))

    def describe(self) -> str:
        shown = " | ".join(self.values)
        return f"{self.column} {'=' if self.mode == 'exact' else self.mode + ':'} {shown}"


@dataclass(frozen=True)
class Rule:
    matchers: tuple[Matcher, ...]
    stage: str  # a key of STAGES, or INHERIT
    kind: str  # work, wait, done, unknown
    wait: str | None
    practice: str | None
    origin: str  # where the rule was written, for messages and reports
    line: int | None = None
    reopen: bool = False  # an explicit reopen: the ticket is no longer delivered


@dataclass
class Mapping:
    rules: list[Rule]
    description: str  # e.g. "mapping.toml (12 rules), then built-in servicenow and generic rules"
    user_rules: int = 0
    path: str | None = None
    warnings: list[str] = field(default_factory=list)
    labels: dict[str, str] = field(default_factory=dict)  # activity code -> name, from the file's [labels]

    def columns(self) -> list[str]:
        seen: dict[str, None] = {ACTIVITY: None}
        for rule in self.rules:
            for m in rule.matchers:
                seen[m.column] = None
        return list(seen)


@dataclass
class EventClasses:
    """What the mapping says about each event."""

    stage: np.ndarray  # int8 index into STAGES, -1 unmapped
    kind: np.ndarray  # int8 index into ALL_KINDS, -1 unmapped
    wait: np.ndarray  # int8 index into WAIT_KINDS, -1 when not a wait
    rule: np.ndarray  # int32 index into mapping.rules, -1 unmapped
    activities: pd.DataFrame  # per activity: events, stage, kind, wait, practice, rule origin, reopen (most frequent)
    coverage: float
    unmapped: dict[str, int]
    inherited: np.ndarray  # bool: the rule said "inherit" (hand-offs, pickups, waits for the next work)
    reopen: np.ndarray | None = None  # bool: the rule marks an explicit reopen


def default_set(source: str) -> str:
    """Return which built-in rule set fits a source name."""
    for prefix in ("servicenow", "jira", "zendesk"):
        if source.startswith(prefix):
            return prefix
    return "generic"


def builtin_mapping(source: str) -> Mapping:
    """Return the built-in rules for a source, followed by the generic keyword rules."""
    name = default_set(source)
    rules: list[Rule] = []
    names = [name, "generic"] if name != "generic" else ["generic"]
    for n in names:
        rules += _builtin_rules(n)
    return Mapping(rules, "built-in " + " and ".join(names) + " rules")


def resolve_mapping(path: str | Path | None, source: str) -> Mapping:
    """Return the mapping to use: the user's file (if any) and the defaults it asks for."""
    if path is None:
        return builtin_mapping(source)
    user, defaults, labels = _parse(_read(Path(path)), str(path))
    if defaults == "none":
        return Mapping(user, f"{Path(path).name} ({len(user)} rules), no built-in rules", len(user), str(path), labels=labels)
    base = builtin_mapping(source if defaults == "auto" else defaults)
    return Mapping(
        user + base.rules,
        f"{Path(path).name} ({len(user)} rules), then {base.description}",
        len(user),
        str(path),
        labels=labels,
    )


def parse_mapping_file(path: Path) -> tuple[list[Rule], str]:
    """Return the rules of a mapping file and its ``defaults`` setting, or raise ConfigError."""
    return parse_mapping_text(_read(path), str(path))


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise ConfigError(f"{path}: no such mapping file; create one with `vsm mapping init EXPORT -o {path}`") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: a mapping file must be UTF-8 text") from exc


def parse_mapping_text(text: str, origin: str) -> tuple[list[Rule], str]:
    """Return the rules of a mapping file's text and its ``defaults`` setting, or raise ConfigError."""
    rules, defaults, _ = _parse(text, origin)
    return rules, defaults


def _parse(text: str, origin: str) -> tuple[list[Rule], str, dict[str, str]]:
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{origin}: not valid TOML: {exc}") from exc
    lines = _rule_lines(text)
    for key in doc:
        if key not in TOP_KEYS:
            raise ConfigError(f"{origin}:{_key_line(text, key, 0)}: unknown setting {key!r}{_did_you_mean(key, TOP_KEYS)}")
    version = doc.get("version", 1)
    if version != 1:
        raise ConfigError(f"{origin}:{_key_line(text, 'version', 0)}: version {version!r} is not supported; use version = 1")
    defaults = doc.get("defaults", "auto")
    if defaults not in DEFAULT_SETS:
        raise ConfigError(
            f"{origin}:{_key_line(text, 'defaults', 0)}: defaults = {defaults!r} is not one of {', '.join(DEFAULT_SETS)}"
        )
    raw_rules = doc.get("rule", [])
    if not isinstance(raw_rules, list):
        raise ConfigError(f"{origin}: 'rule' must be a list of [[rule]] tables")
    rules = [_parse_rule(raw, i, lines[i] if i < len(lines) else None, text, origin) for i, raw in enumerate(raw_rules)]
    return rules, defaults, _parse_labels(doc.get("labels", {}), text, origin)


def _parse_labels(raw: object, text: str, origin: str) -> dict[str, str]:
    """Return the ``[labels]`` table (activity code -> name), or raise ConfigError naming the line."""
    at = _table_line(text, "labels")
    if not isinstance(raw, dict):
        raise ConfigError(f'{origin}:{at}: labels must be a table of code = "name", such as [labels] "17" = "In Progress"')
    for code, name in raw.items():
        if not isinstance(name, str) or not name.strip():
            line = _key_line(text, f'"{code}"', at)
            line = _key_line(text, code, at) if line == at else line
            raise ConfigError(f"{origin}:{line}: labels: code {code!r} must name a non-empty string, not {name!r}")
    return {str(code): name for code, name in raw.items()}


def _table_line(text: str, table: str) -> int:
    """Return the line of the header ``[table]`` (1-based), or 1."""
    for i, ln in enumerate(text.splitlines()):
        if re.match(rf"\s*\[\s*{re.escape(table)}\s*\]", ln):
            return i + 1
    return 1


def apply_labels(log: pd.DataFrame, mapping: Mapping) -> pd.DataFrame:
    """Return ``log`` with its activity codes renamed by the mapping's ``[labels]``.

    Codes the table does not name keep their text; codes given the same name
    (or the name of another activity) become one activity. The activity column
    is rebuilt from its categories, not per event.
    """
    if not mapping.labels or len(log) == 0:
        return log
    column = log[ACTIVITY]
    old = column.cat.categories
    names = pd.Index([mapping.labels.get(c, c) for c in old.astype(str)], dtype="str")
    if names.equals(old):
        return log
    new = names.unique()
    codes = column.cat.codes.to_numpy()
    renamed = np.where(codes >= 0, new.get_indexer(names)[codes], -1)
    out = log.copy(deep=False)
    out[ACTIVITY] = pd.Categorical.from_codes(renamed, categories=new)
    return out


def _parse_rule(raw: object, index: int, line: int | None, text: str, origin: str) -> Rule:
    where = f"{origin}:{line}: rule {index + 1}" if line else f"{origin}: rule {index + 1}"
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: a rule must be a table")
    for key in raw:
        if key not in RULE_KEYS:
            at = _key_line(text, key, line or 0)
            raise ConfigError(f"{origin}:{at}: rule {index + 1}: unknown key {key!r}{_did_you_mean(key, RULE_KEYS)}")

    def fail(key: str, message: str) -> ConfigError:
        return ConfigError(f"{origin}:{_key_line(text, key, line or 0)}: rule {index + 1}: {message}")

    matchers: list[Matcher] = []
    if "activity" in raw:
        matchers.append(_matcher(ACTIVITY, raw["activity"], fail))
    when = raw.get("when", {})
    if not isinstance(when, dict):
        raise fail("when", "'when' must be a table such as when = { group = \"L2*\" }")
    for column, value in when.items():
        matchers.append(_matcher(str(column), value, fail))
    if "object" in raw:
        if raw["object"] not in OBJECTS:
            raise fail("object", f"object must be one of {', '.join(OBJECTS)}, not {raw['object']!r}")
        matchers.append(Matcher(OBJECT, "exact", (raw["object"],)))
    if not matchers:
        raise ConfigError(f"{where}: a rule needs 'activity' or 'when' to say which events it matches")
    if "stage" not in raw:
        raise ConfigError(f"{where}: a rule needs a 'stage' (one of {', '.join(LABELS.values())}, or inherit)")
    stage = stage_key(str(raw["stage"]))
    if stage is None or stage == UNMAPPED:
        raise fail("stage", f"unknown stage {raw['stage']!r}{suggest_stage(str(raw['stage']))}")
    kind = str(raw.get("kind", "work"))
    if kind not in ALL_KINDS:
        raise fail("kind", f"kind must be one of {', '.join(ALL_KINDS)}, not {kind!r}{_did_you_mean(kind, ALL_KINDS)}")
    wait = raw.get("wait")
    if wait is not None:
        if kind != "wait":
            raise fail("wait", f"'wait' goes with kind = \"wait\", but this rule's kind is {kind!r}")
        if wait not in WAIT_KINDS:
            raise fail("wait", f"wait must be one of {', '.join(WAIT_KINDS)}, not {wait!r}{_did_you_mean(str(wait), WAIT_KINDS)}")
    elif kind == "wait":
        wait = "queue"
    practice = raw.get("practice")
    reopen = raw.get("reopen", False)
    if not isinstance(reopen, bool):
        raise fail("reopen", "reopen must be true or false")
    return Rule(tuple(matchers), stage, kind, wait, str(practice) if practice else None, f"{origin} rule {index + 1}", line, reopen)


def _glob(pattern: str) -> str:
    """Translate a shell glob (* ? [abc]) into a regular expression."""
    out = []
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "*":
            out.append(".*")
        elif ch == "?":
            out.append(".")
        elif ch == "[" and "]" in pattern[i + 1:]:
            end = pattern.index("]", i + 1)
            body = pattern[i + 1:end]
            out.append("[" + ("^" + body[1:] if body.startswith("!") else body).replace("\\", "\\\\") + "]")
            i = end
        else:
            out.append(re.escape(ch))
        i += 1
    return "".join(out)


def _matcher(column: str, value: object, fail) -> Matcher:  # type: ignore[no-untyped-def]
    key = "activity" if column == ACTIVITY else "when"
    values = value if isinstance(value, list) else [value]
    if not values or not all(isinstance(v, str) for v in values):
        raise fail(key, f"{column} must be a string or a list of strings")
    modes = {v.split(":", 1)[0] if v.startswith(("glob:", "re:")) else "exact" for v in values}
    if len(modes) > 1:
        raise fail(key, f"{column}: do not mix exact, glob: and re: values in one list")
    mode = modes.pop()
    stripped = tuple(v.split(":", 1)[1] if mode != "exact" else v for v in values)
    if mode == "re":
        for v in stripped:
            try:
                re.compile(v)
            except re.error as exc:
                raise fail(key, f"{column}: bad regular expression {v!r} ({exc})") from exc
    return Matcher(column, mode, stripped)


def apply_mapping(log: pd.DataFrame, arrays: CaseArrays, mapping: Mapping) -> EventClasses:
    """Return the stage, kind and wait of every event of ``log``."""
    objects = object_column(arrays) if OBJECT in mapping.columns() else None
    if objects is not None:  # without object prefixes in the log, the rules that ask for one match nothing
        log = log.assign(**{OBJECT: objects})
    columns = [c for c in mapping.columns() if c in log.columns]
    combo, uniques = _combinations(log, columns)
    texts = {c: _texts(uniques[c]) for c in uniques.columns}  # once per column, not per rule
    n_u = len(uniques)
    rule_of = np.full(n_u, -1, dtype=np.int32)
    open_ = np.ones(n_u, dtype=bool)
    for r, rule in enumerate(mapping.rules):
        if not open_.any():
            break
        if any(m.column not in uniques.columns for m in rule.matchers):
            continue
        mask = open_.copy()
        for m in rule.matchers:
            mask &= m.mask_texts(texts[m.column])
        rule_of[mask] = r
        open_ &= ~mask

    stage_of = np.array([_stage_code(rule.stage) for rule in mapping.rules] + [-1], dtype=np.int8)
    kind_of = np.array([ALL_KINDS.index(rule.kind) for rule in mapping.rules] + [-1], dtype=np.int8)
    wait_of = np.array([WAIT_KINDS.index(rule.wait) if rule.wait else -1 for rule in mapping.rules] + [-1], dtype=np.int8)
    reopen_of = np.array([rule.reopen for rule in mapping.rules] + [False], dtype=bool)
    rule = rule_of[combo]
    stage = stage_of[rule]
    kind = kind_of[rule]
    wait = wait_of[rule]
    inherited = stage == INHERIT_CODE
    stage = _inherit_stages(stage, arrays)

    n = len(log)
    mapped = rule >= 0
    coverage = float(mapped.mean()) if n else 1.0
    acts = arrays.activity
    names = arrays.activity_names
    unmapped_counts = np.bincount(acts[~mapped], minlength=len(names))
    unmapped = {str(names[i]): int(c) for i, c in sorted(enumerate(unmapped_counts), key=lambda x: (-x[1], str(names[x[0]]))) if c}
    table = _activity_table(arrays, rule, stage, mapping)
    return EventClasses(stage, kind, wait, rule, table, coverage, unmapped, inherited, reopen_of[rule])


INHERIT_CODE = -2


def object_column(arrays: CaseArrays) -> pd.Categorical | None:
    """Per event: "ticket" when its activity's object prefix (``A_`` of ``A_DECLINED``) is that of its
    ticket's first event, "other" when it is another (or the first event has none), missing without a
    prefix; None when no activity has one."""
    names = arrays.activity_names.astype(str)
    prefix = np.array([m.group(1).upper() if (m := _OBJECT_PREFIX.match(n)) else "" for n in names], dtype=object)
    if not len(arrays.activity) or not (prefix != "").any():
        return None
    of_event = prefix[arrays.activity]
    own = of_event[arrays.case_start[:-1]][arrays.case]
    codes = np.where(of_event == "", -1, np.where(of_event == own, 0, 1))
    return pd.Categorical.from_codes(codes, categories=list(OBJECTS))


def _stage_code(stage: str) -> int:
    return INHERIT_CODE if stage == INHERIT else STAGES.index(stage)


def _inherit_stages(stage: np.ndarray, arrays: CaseArrays) -> np.ndarray:
    """Give events whose rule says 'inherit' the stage of the next mapped event of their case.

    Failing that, the previous one's; failing that, deliver and support.
    """
    inherit = stage == INHERIT_CODE
    if not inherit.any():
        return stage
    concrete = stage >= 0
    nxt = segments.bfill(stage, concrete, arrays.end_index, fill=-1)
    prev = segments.ffill(stage, concrete, arrays.first_index, fill=-1)
    filled = np.where(nxt >= 0, nxt, np.where(prev >= 0, prev, STAGES.index("deliver_support")))
    out = stage.copy()
    out[inherit] = filled[inherit].astype(np.int8)
    return out


@functools.lru_cache(maxsize=1024)
def _tests(mode: str, values: tuple[str, ...]) -> tuple[Any, ...]:
    """The match functions of a glob or re matcher's values, compiled once per process."""
    # Each value compiles on its own: a user's pattern may carry inline flags like (?i).
    if mode == "glob":
        return tuple(re.compile(_glob(v), re.DOTALL).fullmatch for v in values)
    return tuple(re.compile(v).search for v in values)


def _texts(values: pd.Series) -> np.ndarray:
    """``values`` as an object array of their own values, None where missing."""
    return values.astype(object).where(values.notna(), None).to_numpy()


def _combinations(log: pd.DataFrame, columns: list[str]) -> tuple[np.ndarray, pd.DataFrame]:
    """Return each event's combination index and the distinct combinations of ``columns``."""
    codes = []
    for c in columns:
        col = log[c]
        if not isinstance(col.dtype, pd.CategoricalDtype):
            col = col.astype("category")
        codes.append(col.cat.codes.to_numpy().astype(np.int64) + 1)
    if len(codes) == 1:
        key = codes[0]
    else:
        key = np.zeros(len(log), dtype=np.int64)
        for c, col_codes in zip(columns, codes, strict=True):
            width = len(log[c].cat.categories) + 1 if isinstance(log[c].dtype, pd.CategoricalDtype) else int(col_codes.max()) + 1
            key = key * width + col_codes
    combo, uniq = pd.factorize(key)  # hashing, not sorting: the order of the combinations does not matter
    first = np.zeros(len(uniq), dtype=np.int64)
    first[combo[::-1]] = np.arange(len(key))[::-1]
    uniques = pd.DataFrame({c: log[c].iloc[first].astype("str").where(log[c].iloc[first].notna(), None).reset_index(drop=True) for c in columns})
    return combo, uniques


def _activity_table(arrays: CaseArrays, rule: np.ndarray, stage: np.ndarray, mapping: Mapping) -> pd.DataFrame:
    """Per activity: event count and the stage/kind/wait most of its events got."""
    totals = np.bincount(arrays.activity, minlength=len(arrays.activity_names))
    rows = []
    for a, r, s in zip(*_most_common_rule(arrays.activity, rule, stage, len(arrays.activity_names), len(mapping.rules)), strict=True):
        rl = mapping.rules[r] if r >= 0 else None
        rows.append(
            {
                "activity": str(arrays.activity_names[a]),
                "events": int(totals[a]),
                "stage": label(STAGES[s]) if s >= 0 else UNMAPPED,
                "rule_stage": (INHERIT if rl.stage == INHERIT else label(rl.stage)) if rl else UNMAPPED,
                "kind": rl.kind if rl else UNMAPPED,
                "wait": rl.wait if rl else None,
                "practice": rl.practice if rl else None,
                "rule": rl.origin if rl else None,
                "reopen": bool(rl and rl.reopen),
            }
        )
    out = pd.DataFrame(rows, columns=["activity", "events", "stage", "rule_stage", "kind", "wait", "practice", "rule", "reopen"])
    return out.sort_values(["events", "activity"], ascending=[False, True], ignore_index=True)


def _most_common_rule(activity: np.ndarray, rule: np.ndarray, stage: np.ndarray, n_activities: int,
                      n_rules: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per activity that occurs (in code order): the rule and stage most of its events got (-1: none).

    A tie goes to the pair that occurs first in the log. Counted over one
    integer key per event, without a group-by.
    """
    width = (n_rules + 1) * (len(STAGES) + 1)
    pair = (rule.astype(np.int64) + 1) * (len(STAGES) + 1) + (stage.astype(np.int64) + 1)
    key = activity.astype(np.int64) * width + pair
    counts = np.bincount(key, minlength=n_activities * width).reshape(n_activities, width)
    best = counts.max(axis=1, initial=0)
    present = np.flatnonzero(best > 0)
    leading = counts == best[:, None]
    choice = leading.argmax(axis=1)
    tied = present[leading[present].sum(axis=1) > 1]
    if len(tied):
        # Of the tied pairs, the one whose first event comes first.
        candidate = np.zeros(n_activities * width, dtype=bool)
        candidate[(tied[:, None] * width + np.arange(width))[leading[tied]]] = True
        at = np.flatnonzero(candidate[key])
        keys, first = np.unique(key[at], return_index=True)
        order = np.argsort(at[first], kind="stable")
        act_of = keys[order] // width
        _, winner = np.unique(act_of, return_index=True)
        choice[act_of[winner]] = keys[order][winner] % width
    chosen = choice[present]
    return present, chosen // (len(STAGES) + 1) - 1, chosen % (len(STAGES) + 1) - 1


def bookkeeping_events(counts: pd.DataFrame, mapping: Mapping) -> int:
    """Return how many events a bookkeeping rule took, from the events per (activity, rule, stage) of an analysis."""
    if counts is None or counts.empty:
        return 0
    kinds = np.array([rule.kind == "bookkeeping" for rule in mapping.rules] + [False])
    return int(counts["events"].to_numpy()[kinds[counts["rule"].to_numpy(dtype=np.int64)]].sum())


def check_user_rules(mapping: Mapping, activities: set[str], columns: list[str]) -> None:
    """Raise for likely typos in a user's rules; warn about rules that match nothing.

    ``activities`` and ``columns`` are those of the whole log.
    """
    activities = {mapping.labels.get(a, a) for a in activities}  # rules see the labelled names
    attribute_columns = [str(c) for c in columns]
    missing_columns = [c for c in mapping.columns() if c not in columns and c != OBJECT]
    for rule in mapping.rules[: mapping.user_rules]:
        where = f"{mapping.path}:{rule.line}" if rule.line else str(mapping.path)
        for m in rule.matchers:
            if m.column in missing_columns:
                close = difflib.get_close_matches(m.column, attribute_columns, n=1, cutoff=0.75)
                if close:
                    raise ConfigError(f"{where}: column {m.column!r} is not in the log; did you mean {close[0]!r}?")
                mapping.warnings.append(f"{where}: column {m.column!r} is not in the log, so the rule matches nothing")
                continue
            if m.column != ACTIVITY or m.mode != "exact":
                continue
            for value in m.values:
                if value in activities:
                    continue
                if value in mapping.labels:
                    raise ConfigError(f"{where}: activity {value!r} is a code that [labels] names {mapping.labels[value]!r}; "
                                      f"rules see the names: write activity = {mapping.labels[value]!r}")
                close = difflib.get_close_matches(value, sorted(activities), n=1, cutoff=0.75)
                if close:
                    raise ConfigError(f"{where}: activity {value!r} does not occur in the log; did you mean {close[0]!r}?")
                mapping.warnings.append(f"{where}: activity {value!r} does not occur in the log")


def _builtin_rules(name: str) -> list[Rule]:
    text = resources.files("miner").joinpath("defaults", f"{name}.toml").read_text(encoding="utf-8")
    rules, _ = parse_mapping_text(text, f"built-in {name}")
    return rules


def _rule_lines(text: str) -> list[int]:
    return [i + 1 for i, ln in enumerate(text.splitlines()) if re.match(r"\s*\[\[\s*rule\s*\]\]", ln)]


def _key_line(text: str, key: str, after: int) -> int:
    """Return the line of the first ``key =`` at or after line ``after`` (1-based)."""
    lines = text.splitlines()
    for i in range(max(after - 1, 0), len(lines)):
        if re.match(rf"\s*{re.escape(key)}\s*=", lines[i]):
            return i + 1
    return after or 1


def _did_you_mean(word: str, options: object) -> str:
    close = difflib.get_close_matches(word, sorted(options), n=1)  # type: ignore[call-overload]
    return f"; did you mean {close[0]!r}?" if close else ""


def render_mapping_file(classes: EventClasses, source: str, export: str, labels: dict[str, str] | None = None) -> str:
    """Return a mapping file listing every activity with the stage vsm guessed, for the user to edit.

    ``labels`` (the ``[labels]`` of the mapping the guess was made with) is
    written back, so that the rules' names still reach the codes.
    """
    out = [
        f"# vsm value-chain mapping for {export} (source {source})",
        "# Written by `vsm mapping init`: one rule per activity, with the stage, kind and wait",
        "# vsm's built-in rules chose. Edit any of them, then pass --mapping FILE.",
        "#",
        "# stage: plan, engage, design and transition, obtain/build, deliver and support, improve,",
        "#        or inherit (the stage of the next mapped event: for hand-offs and waits)",
        "# kind:  work, wait, done (delivered: resolved, closed), unknown, or bookkeeping",
        "#        (field edits, comments, links: not a state; their time belongs to the state around them)",
        "# wait:  queue, customer, vendor, internal, handoff (with kind = \"wait\")",
        "# reopen = true marks an explicit reopen: the ticket is no longer delivered.",
        "# A rule may also match attributes: when = { group = \"L2*\", category = \"re:(?i)network\" }",
        "# Rules are tried in order; the first match wins. Activities you delete from this file",
        "# fall back to the built-in rules (set defaults = \"none\" to turn them off).",
        "",
        "version = 1",
        'defaults = "auto"',
        "",
    ]
    if labels:
        out.append("[labels]  # activity code = name; the rules below use the names")
        out += [f"{_toml_string(code)} = {_toml_string(name)}" for code, name in labels.items()]
        out.append("")
    for row in classes.activities.itertuples(index=False):
        out.append("[[rule]]")
        out.append(f"activity = {_toml_string(row.activity)}  # {counted(row.events, 'event')}")
        if row.kind == UNMAPPED:
            out.append('stage = "deliver and support"  # UNMAPPED: no built-in rule matched; choose a stage')
            out.append('kind = "work"')
        else:
            out.append(f"stage = {_toml_string(row.rule_stage)}")
            out.append(f"kind = {_toml_string(row.kind)}")
            if isinstance(row.wait, str):
                out.append(f"wait = {_toml_string(row.wait)}")
            if isinstance(row.practice, str):
                out.append(f"practice = {_toml_string(row.practice)}")
            if row.reopen:
                out.append("reopen = true")
        out.append("")
    return "\n".join(out)


def _toml_string(value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\t", "\\t")
    escaped = "".join(ch if ord(ch) >= 32 else f"\\u{ord(ch):04x}" for ch in escaped)
    return f'"{escaped}"'
