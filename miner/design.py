"""Designed value streams: the intended sequence of value-chain steps per kind of ticket.

A design file is TOML with a list of ``[[stream]]`` tables, each with
``name``, ``applies_to`` and ordered ``[[stream.step]]`` tables (see
``miner/defaults/streams.toml``, the built-in design, for the syntax).
"""

from __future__ import annotations

import difflib
import re
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from connectors.errors import ConfigError
from connectors.report import counted
from miner.mapping import Matcher, _matcher
from miner.valuechain import LABELS, STAGES, label, stage_key, suggest_stage

STREAM_KEYS = {"name", "applies_to", "step", "description"}
BUILTIN_ORIGIN = "built-in design"
STEP_KEYS = {"stage", "activities", "practices", "target", "optional", "repeat", "note"}
TYPE_KEY = "stream"  # in applies_to: the ticket's type, i.e. the discovered stream name
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|sec|m|min|h|hr|d|day|days|w|wk|weeks?)\s*$", re.IGNORECASE)
_UNIT_SECONDS = {"s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "hr": 3600, "d": 86400, "day": 86400, "days": 86400,
                 "w": 604800, "wk": 604800, "week": 604800, "weeks": 604800}

# The 34 ITIL 4 management practices, for validating and suggesting names.
PRACTICES = (
    "architecture management", "continual improvement", "information security management", "knowledge management",
    "measurement and reporting", "organizational change management", "portfolio management", "project management",
    "relationship management", "risk management", "service financial management", "strategy management",
    "supplier management", "workforce and talent management",
    "availability management", "business analysis", "capacity and performance management", "change enablement",
    "incident management", "it asset management", "monitoring and event management", "problem management",
    "release management", "service catalogue management", "service configuration management", "service continuity management",
    "service design", "service desk", "service level management", "service request management",
    "service validation and testing",
    "deployment management", "infrastructure and platform management", "software development and management",
)


@dataclass(frozen=True)
class Step:
    stage: str  # a key of STAGES
    activities: tuple[str, ...] = ()  # narrows the step to these activities (exact names)
    practices: tuple[str, ...] = ()
    target_s: float | None = None
    optional: bool = False
    repeat: bool = False
    line: int | None = None

    @property
    def label(self) -> str:
        base = label(self.stage)
        return f"{base} ({', '.join(self.activities)})" if self.activities else base


@dataclass(frozen=True)
class DesignedStream:
    name: str
    applies_to: tuple[Matcher, ...] | None  # None: the default stream
    steps: tuple[Step, ...]
    line: int | None = None

    @property
    def is_default(self) -> bool:
        return self.applies_to is None

    def stage_rank(self) -> dict[str, int]:
        """Return each stage's position in the designed order (first occurrence)."""
        ranks: dict[str, int] = {}
        for i, step in enumerate(self.steps):
            ranks.setdefault(step.stage, i)
        return ranks


@dataclass
class Design:
    streams: list[DesignedStream]
    origin: str
    warnings: list[str] = field(default_factory=list)


def builtin_design() -> Design:
    text = resources.files("miner").joinpath("defaults", "streams.toml").read_text(encoding="utf-8")
    return parse_design_text(text, BUILTIN_ORIGIN)


def load_design(path: str | Path | None) -> Design:
    """Return the design in ``path``, or the built-in one when ``path`` is None."""
    if path is None:
        return builtin_design()
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise ConfigError(f"{p}: no such design file; create one with `vsm design EXPORT -o {p}`") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{p}: a design file must be UTF-8 text") from exc
    return parse_design_text(text, str(p))


def parse_duration(text: object) -> float | None:
    """Return seconds for '30m', '4h', '2d', '1w' (or a number of seconds); None if unreadable."""
    if isinstance(text, int | float) and not isinstance(text, bool):
        return float(text)
    if not isinstance(text, str):
        return None
    m = _DURATION.match(text)
    if not m:
        return None
    return float(m.group(1)) * _UNIT_SECONDS[m.group(2).lower()]


def parse_design_text(text: str, origin: str) -> Design:
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{origin}: not valid TOML: {exc}") from exc
    for key in doc:
        if key not in ("version", "stream"):
            raise ConfigError(f"{origin}:{_line_of(text, key + ' ', 1)}: unknown setting {key!r}{_hint(key, ('version', 'stream'))}")
    if doc.get("version", 1) != 1:
        raise ConfigError(f"{origin}: version {doc['version']!r} is not supported; use version = 1")
    raw_streams = doc.get("stream", [])
    if not isinstance(raw_streams, list) or not raw_streams:
        raise ConfigError(f"{origin}: a design needs at least one [[stream]] with [[stream.step]] tables")
    stream_lines = [i + 1 for i, ln in enumerate(text.splitlines()) if re.match(r"\s*\[\[\s*stream\s*\]\]", ln)]
    step_lines = [i + 1 for i, ln in enumerate(text.splitlines()) if re.match(r"\s*\[\[\s*stream\.step\s*\]\]", ln)]
    streams: list[DesignedStream] = []
    step_cursor = 0
    for index, raw in enumerate(raw_streams):
        line = stream_lines[index] if index < len(stream_lines) else None
        where = f"{origin}:{line}" if line else origin
        if not isinstance(raw, dict):
            raise ConfigError(f"{where}: a stream must be a table")
        for key in raw:
            if key not in STREAM_KEYS:
                raise ConfigError(f"{origin}:{_line_of(text, key, line or 1)}: stream {index + 1}: unknown key {key!r}{_hint(key, STREAM_KEYS)}")
        name = raw.get("name")
        if not isinstance(name, str) or not name.strip():
            raise ConfigError(f"{where}: stream {index + 1} needs a name")
        applies = raw.get("applies_to", "default")
        if applies == "default":
            matchers = None
        elif isinstance(applies, dict) and applies:
            def fail(key: str, message: str, _line=line, _name=name) -> ConfigError:  # noqa: ANN001
                return ConfigError(f"{origin}:{_line_of(text, 'applies_to', _line or 1)}: stream {_name!r}: applies_to: {message}")

            matchers = tuple(_matcher(str(col), value, fail) for col, value in applies.items())
        else:
            raise ConfigError(
                f"{origin}:{_line_of(text, 'applies_to', line or 1)}: stream {name!r}: applies_to must be \"default\" "
                "or a table such as { stream = \"re:(?i)request\" }"
            )
        raw_steps = raw.get("step", [])
        if not isinstance(raw_steps, list) or not raw_steps:
            raise ConfigError(f"{where}: stream {name!r} has no [[stream.step]] tables")
        steps = []
        for s_index, s_raw in enumerate(raw_steps):
            s_line = step_lines[step_cursor] if step_cursor < len(step_lines) else None
            step_cursor += 1
            steps.append(_parse_step(s_raw, s_index, s_line, name, text, origin))
        if all(s.optional for s in steps):
            raise ConfigError(f"{where}: stream {name!r}: every step is optional; make at least one step required")
        streams.append(DesignedStream(name.strip(), matchers, tuple(steps), line))
    _check_overlaps(streams, origin)
    return Design(streams, origin)


def _parse_step(raw: object, index: int, line: int | None, stream: str, text: str, origin: str) -> Step:
    where = f"{origin}:{line}" if line else origin
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: stream {stream!r} step {index + 1} must be a table")

    def at(key: str) -> str:
        return f"{origin}:{_line_of(text, key, line or 1)}: stream {stream!r} step {index + 1}"

    for key in raw:
        if key not in STEP_KEYS:
            raise ConfigError(f"{at(key)}: unknown key {key!r}{_hint(key, STEP_KEYS)}")
    if "stage" not in raw:
        raise ConfigError(f"{where}: stream {stream!r} step {index + 1} needs a stage (one of {', '.join(LABELS.values())})")
    stage = stage_key(str(raw["stage"]))
    if stage is None or stage not in STAGES:
        raise ConfigError(f"{at('stage')}: unknown stage {raw['stage']!r}{suggest_stage(str(raw['stage']))}")
    target = None
    if "target" in raw:
        if isinstance(raw["target"], int | float) and not isinstance(raw["target"], bool):
            n = raw["target"]
            raise ConfigError(f"{at('target')}: target = {n!r} has no unit; write \"{n}h\" for hours (or \"{n}m\", \"{n}d\", \"{n}w\")")
        target = parse_duration(raw["target"])
        if target is None or target <= 0:
            raise ConfigError(f"{at('target')}: bad duration {raw['target']!r}; write a number and a unit, such as \"30m\", \"4h\", \"2d\" or \"1w\"")
    practices = raw.get("practices", [])
    if isinstance(practices, str):
        practices = [practices]
    for p in practices:
        if str(p).lower() not in PRACTICES:
            close = difflib.get_close_matches(str(p).lower(), PRACTICES, n=1, cutoff=0.6)
            hint = f"; did you mean {close[0]!r}?" if close else "; use a name from ITIL 4's 34 practices, e.g. 'incident management'"
            raise ConfigError(f"{at('practices')}: unknown practice {p!r}{hint}")
    activities = raw.get("activities", [])
    if isinstance(activities, str):
        activities = [activities]
    for flag in ("optional", "repeat"):
        if flag in raw and not isinstance(raw[flag], bool):
            raise ConfigError(f"{at(flag)}: {flag} must be true or false")
    return Step(stage, tuple(str(a) for a in activities), tuple(str(p).lower() for p in practices), target,
                bool(raw.get("optional", False)), bool(raw.get("repeat", False)), line)


def _check_overlaps(streams: list[DesignedStream], origin: str) -> None:
    defaults = [s for s in streams if s.is_default]
    if len(defaults) > 1:
        raise ConfigError(f"{origin}:{defaults[1].line}: streams {defaults[0].name!r} and {defaults[1].name!r} both apply by default; give one of them applies_to")
    names = [s.name for s in streams]
    for i, s in enumerate(streams):
        if s.name in names[:i]:
            raise ConfigError(f"{origin}:{s.line}: two streams are named {s.name!r}")
    for i, a in enumerate(streams):
        for b in streams[i + 1:]:
            if a.applies_to is None or b.applies_to is None:
                continue
            shared = _exact_overlap(a.applies_to, b.applies_to)
            if shared:
                raise ConfigError(
                    f"{origin}:{b.line}: applies_to of {b.name!r} overlaps {a.name!r} (line {a.line}) on {shared}; "
                    "tickets there would always go to the first stream: narrow one of them"
                )


def _exact_overlap(a: tuple[Matcher, ...], b: tuple[Matcher, ...]) -> str | None:
    """Return a description of values both exact matchers accept on the same columns, if any."""
    if {m.column for m in a} != {m.column for m in b}:
        return None
    parts = []
    for ma in a:
        mb = next(m for m in b if m.column == ma.column)
        if ma.mode == mb.mode and ma.mode != "exact" and set(ma.values) == set(mb.values):
            parts.append(f"{ma.column} {ma.mode}:{ma.values[0]}")
            continue
        if ma.mode != "exact" or mb.mode != "exact":
            return None
        common = sorted(set(ma.values) & set(mb.values))
        if not common:
            return None
        parts.append(f"{ma.column} = {common[0]!r}")
    return ", ".join(parts) if parts else None


def assign_streams(design: Design, ticket_types: pd.Series, attributes: pd.DataFrame) -> np.ndarray:
    """Return the index of the designed stream each ticket follows (-1: none applies).

    ``ticket_types`` holds each ticket's type (its discovered stream name);
    ``attributes`` each ticket's last value of every column a rule names.
    """
    n = len(ticket_types)
    out = np.full(n, -1, dtype=np.int64)
    open_ = np.ones(n, dtype=bool)
    matched_twice = np.zeros(n, dtype=bool)
    for i, stream in enumerate(design.streams):
        if stream.applies_to is None:
            continue
        mask = np.ones(n, dtype=bool)
        for m in stream.applies_to:
            values = ticket_types if m.column == TYPE_KEY else attributes.get(m.column)
            if values is None:
                design.warnings.append(f"{design.origin}:{stream.line}: stream {stream.name!r}: column {m.column!r} is not in the log")
                mask[:] = False
                break
            mask &= m.mask(values.reset_index(drop=True))
        matched_twice |= mask & ~open_
        out[mask & open_] = i
        open_ &= ~mask
    default = next((i for i, s in enumerate(design.streams) if s.is_default), None)
    if default is not None:
        out[open_] = default
    if matched_twice.any():
        design.warnings.append(
            f"{counted(int(matched_twice.sum()), 'ticket')} {'matches' if int(matched_twice.sum()) == 1 else 'match'} the applies_to of more than one stream; each follows the first"
        )
    return out


MAX_BOOTSTRAP = 8


def bootstrap_design(found: object, export: str) -> tuple[str, int]:
    """Return a design file with one stream per main ticket type, and the number of streams."""
    from miner.valuechain import LABELS

    tickets = found.tickets  # type: ignore[attr-defined]
    by_label = {v: k for k, v in LABELS.items()}
    column = found.stream_choice.column  # type: ignore[attr-defined]
    entries = []
    streams = found.streams if column else found.streams.head(0)  # type: ignore[attr-defined]
    for r in streams.head(MAX_BOOTSTRAP).itertuples(index=False):
        if r.share < 0.02 and entries:
            break
        mine = tickets[tickets["stream"] == r.stream]
        entries.append((str(r.stream), str(r.stream), _steps_of(r.path, by_label), _medians(mine)))
    overall = tickets["path"].value_counts()
    main_path = overall.index[0] if len(overall) else "engage → deliver and support"
    entries.append(("Other tickets" if entries else "All tickets", "", _steps_of(main_path, by_label), _medians(tickets)))
    return render_design(entries, export, column), len(entries)


def _steps_of(path: str, by_label: dict[str, str]) -> list[str]:
    stages = [by_label[p] for p in path.split(" → ") if p in by_label] if path else []
    seen: list[str] = []
    for st in stages:
        if st != "plan" and st not in seen:
            seen.append(st)
    return seen or ["engage", "deliver_support"]


def _medians(tickets: pd.DataFrame) -> dict[str, float | None]:
    out: dict[str, float | None] = {}
    for stage in STAGES:
        col = tickets[f"{stage}_s"]
        spent = col[col > 0]
        out[stage] = float(spent.median()) if len(spent) else None
    return out


def render_design(streams: list[tuple[str, str, list[str], dict[str, float | None]]], export: str, column: str | None) -> str:
    """Return a design file for streams given as (name, type value, stages, median time per stage)."""
    out = [
        f"# vsm designed value streams, bootstrapped from {export}",
        "# by `vsm design`: one stream per ticket type, with the value-chain path most of",
        "# its tickets followed. Edit it into the flow you intend, then pass --design FILE.",
        "#",
        "# applies_to = { stream = \"…\" } matches the ticket type"
        + (f" (column {column!r})" if column else " (the value-chain path, as no type column was found)") + ";",
        "# \"default\" takes the tickets no other stream matched. Steps: stage (engage, design and",
        "# transition, obtain/build, deliver and support, improve), practices (ITIL 4 practice",
        "# names), target (\"30m\", \"4h\", \"2d\"), optional = true, repeat = true.",
        "",
        "version = 1",
        "",
    ]
    for i, (name, value, stages, medians) in enumerate(streams):
        out.append("[[stream]]")
        out.append(f"name = {_q(name)}")
        out.append('applies_to = "default"' if i == len(streams) - 1 else f"applies_to = {{ stream = {_q(value)} }}")
        out.append("")
        for stage in stages:
            out.append("  [[stream.step]]")
            out.append(f"  stage = {_q(label(stage))}")
            median = medians.get(stage)
            if median:
                out.append(f"  target = {_q(_round_duration(median))}  # the median today")
            out.append("")
    return "\n".join(out)


def _round_duration(seconds: float) -> str:
    if seconds < 3600:
        return f"{max(1, round(seconds / 60))}m"
    if seconds < 86400 * 2:
        return f"{max(1, round(seconds / 3600))}h"
    return f"{max(1, round(seconds / 86400))}d"


def _q(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _line_of(text: str, key: str, after: int) -> int:
    lines = text.splitlines()
    for i in range(max(after - 1, 0), len(lines)):
        if re.match(rf"\s*{re.escape(key.strip())}\s*=", lines[i]):
            return i + 1
    return after


def _hint(word: str, options: object) -> str:
    close = difflib.get_close_matches(word, sorted(options), n=1)  # type: ignore[call-overload]
    return f"; did you mean {close[0]!r}?" if close else ""
