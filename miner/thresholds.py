"""--fail-on: watch a service by thresholds on headline figures, of the whole log or of one designed stream.

A term is ``METRIC OP VALUE`` or ``STREAM.METRIC OP VALUE``. The stream is
everything before the last dot that precedes the metric (metric names hold no
dot), spaces around it trimmed, so ``Svc.v2 desk.fitness<0.9`` tests the
stream 'Svc.v2 desk'. A stream whose name holds a comma or a double quote is
written in double quotes: ``"Incident, major".fitness<0.9``.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from connectors.errors import BadOption

METRICS = {
    "fitness": "mean alignment fitness of tickets to their designed stream (0..1)",
    "conforming_share": "share of tickets that follow their designed stream exactly",
    "rework_rate": "share of tickets with any reopen, bounce, backflow, repetition or self-loop",
    "reopen_rate": "share of tickets reopened at least once",
    "pingpong_rate": "share of tickets bounced between groups (X→Y→X) at least once",
    "flow_efficiency": "pooled work time ÷ lead time of delivered tickets",
    "lead_time_median_h": "median lead time of delivered tickets in hours",
    "lead_time_p90_h": "90th-percentile lead time of delivered tickets in hours",
    "wait_share": "share of delivered tickets' lead time spent waiting",
    "unclassified_share": "share of delivered tickets' lead time the mapping cannot classify",
    "open_share": "share of tickets not delivered at the export's end",
}
_OPS = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}
_TERM = re.compile(r"^\s*(?:(?P<stream>.+)\.\s*)?([a-z_0-9]+)\s*(<=|>=|<|>)\s*(-?\d+(?:\.\d+)?)\s*(s|min|h|d|w)?\s*$", re.S)
# Terms are separated by commas outside double quotes.
_TERMS = re.compile(r'(?:"[^"]*"|[^,"])+|"[^"]*$')
# A duration metric may be written without its unit suffix and given a unit: lead_time_p90>2d.
_HOURS = {"s": 1 / 3600, "min": 1 / 60, "h": 1.0, "d": 24.0, "w": 168.0}
DURATIONS = {"lead_time_median": "lead_time_median_h", "lead_time_p90": "lead_time_p90_h"}


@dataclass(frozen=True)
class Threshold:
    metric: str
    op: str
    value: float
    stream: str | None = None  # None: the whole log

    def breached(self, actual: float | None) -> bool:
        return actual is not None and _OPS[self.op](actual, self.value)


def parse_fail_on(text: str, streams: list[str] | None = None) -> list[Threshold]:
    """Parse 'fitness<0.8,Incident.rework_rate>0.2' into thresholds; raise BadOption with a hint.

    ``streams``: the designed streams' names a term may name (see the module's docstring).
    """
    out = []
    for term in filter(None, (t.strip() for t in _TERMS.findall(text))):
        m = _TERM.match(term)
        if not m:
            if not re.search("[<>=]", term):  # a piece of a stream name cut at its comma
                raise BadOption(f"--fail-on: cannot read {term!r}; a stream whose name holds a comma goes in double quotes: "
                                '"A, B".fitness<0.9')
            raise BadOption(f"--fail-on: cannot read {term!r}; write METRIC<VALUE or STREAM.METRIC<VALUE, e.g. fitness<0.8, "
                            f"Incident.fitness<0.9 or lead_time_p90>2d (metrics: {', '.join(METRICS)})")
        stream, metric, op, value, unit = _stream(m.group("stream"), term, streams), m.group(2), m.group(3), float(m.group(4)), m.group(5)
        if unit:
            hours_metric = DURATIONS.get(metric, metric if metric in DURATIONS.values() else None)
            if hours_metric is None:
                raise BadOption(f"--fail-on: {metric!r} is not a duration, so {term!r} cannot take the unit {unit!r}; "
                                f"durations: {', '.join(DURATIONS)}")
            metric, value = hours_metric, value * _HOURS[unit]
        elif metric in DURATIONS:
            raise BadOption(f"--fail-on: {term!r} needs a unit (s, min, h, d, w), e.g. {metric}>2d")
        if metric not in METRICS:
            import difflib

            close = difflib.get_close_matches(metric, list(METRICS), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else f" (metrics: {', '.join(METRICS)})"
            raise BadOption(f"--fail-on: unknown metric {metric!r}{hint}")
        out.append(Threshold(metric, op, value, stream))
    if not out:
        raise BadOption("--fail-on needs at least one condition, e.g. --fail-on 'fitness<0.8'")
    return out


def _stream(given: str | None, term: str, streams: list[str] | None) -> str | None:
    """The designed stream a term names (quotes removed), or None for the whole log; raise on an unknown one."""
    if given is None:
        return None
    name = given.strip()
    if len(name) >= 2 and name[0] == name[-1] == '"':
        name = name[1:-1]
    if streams is not None and name not in streams:
        listed = ", ".join(repr(s) for s in streams)
        raise BadOption(f"--fail-on: no designed stream {name!r} in {term!r}; streams: {listed}")
    return name


def breaches(thresholds: list[Threshold], figures: dict[str, float | None],
             stream_figures: Callable[[str], dict[str, float | None]] | None = None) -> list[str]:
    """Return one line per breached threshold, e.g. 'fitness 0.74 < 0.8' or "stream 'Incident': fitness 0.74 < 0.9".

    ``stream_figures(name)`` gives the figures of one designed stream's tickets; a stream without
    tickets, like a figure the log cannot support, breaches nothing.
    """
    out = []
    for t in thresholds:
        values = figures if t.stream is None else (stream_figures(t.stream) if stream_figures else {})
        if t.breached(values.get(t.metric)):
            where = "" if t.stream is None else f"stream {t.stream!r}: "
            out.append(f"{where}{t.metric} {values[t.metric]:.4g} {t.op} {t.value:g}")
    return out


def stream_figures(tickets: Any, comparison: Any, stream: str) -> dict[str, float | None]:
    """The headline figures of one designed stream's tickets ({} when it has none), computed as the log's are."""
    from miner.results import headline
    from miner.waits import flow_efficiency

    mine = tickets[tickets["designed_stream"] == stream]
    if not len(mine):
        return {}
    figures = headline(mine, comparison)
    if "flow_efficiency" not in comparison.not_measured:
        done = mine["delivered"].to_numpy(dtype=bool)
        figures["flow_efficiency"] = flow_efficiency(mine["work_s"].to_numpy()[done], mine["lead_time_s"].to_numpy()[done])["pooled"]
    return figures
