"""--fail-on: watch a service by thresholds on headline figures."""

from __future__ import annotations

import operator
import re
from dataclasses import dataclass

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
_TERM = re.compile(r"^\s*([a-z_0-9]+)\s*(<=|>=|<|>)\s*(-?\d+(?:\.\d+)?)\s*(s|min|h|d|w)?\s*$")
# A duration metric may be written without its unit suffix and given a unit: lead_time_p90>2d.
_HOURS = {"s": 1 / 3600, "min": 1 / 60, "h": 1.0, "d": 24.0, "w": 168.0}
DURATIONS = {"lead_time_median": "lead_time_median_h", "lead_time_p90": "lead_time_p90_h"}


@dataclass(frozen=True)
class Threshold:
    metric: str
    op: str
    value: float

    def breached(self, actual: float | None) -> bool:
        return actual is not None and _OPS[self.op](actual, self.value)


def parse_fail_on(text: str) -> list[Threshold]:
    """Parse 'fitness<0.8,rework_rate>0.2' into thresholds; raise BadOption with a hint."""
    out = []
    for term in filter(None, (t.strip() for t in text.split(","))):
        m = _TERM.match(term)
        if not m:
            raise BadOption(f"--fail-on: cannot read {term!r}; write METRIC<VALUE, e.g. fitness<0.8 or lead_time_p90>2d (metrics: {', '.join(METRICS)})")
        metric, op, value, unit = m.group(1), m.group(2), float(m.group(3)), m.group(4)
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
        out.append(Threshold(metric, op, value))
    if not out:
        raise BadOption("--fail-on needs at least one condition, e.g. --fail-on 'fitness<0.8'")
    return out


def breaches(thresholds: list[Threshold], figures: dict[str, float | None]) -> list[str]:
    """Return one line per breached threshold, e.g. 'fitness 0.74 < 0.8'."""
    return [f"{t.metric} {figures[t.metric]:.4g} {t.op} {t.value:g}" for t in thresholds if t.breached(figures.get(t.metric))]
