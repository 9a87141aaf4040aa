"""JSON documents vsm writes. Every document carries ``schema_version``; the
schema is documented in docs/json-schema.md."""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import pandas as pd

from connectors.report import LoadReport
from miner.mapping import bookkeeping_events
from miner.summary import LogSummary

SCHEMA_VERSION = "2.3"


def inspect_document(report: LoadReport, summary: LogSummary) -> dict[str, Any]:
    """Return the ``vsm inspect --json`` document."""
    doc = {"schema_version": SCHEMA_VERSION, "kind": "inspect"}
    doc.update(log_section(report, summary))
    doc["path"] = report.path
    doc["source_reason"] = report.source_reason
    doc["columns"] = {role: {"column": c.column, "reason": c.reason} for role, c in report.columns.items()}
    doc["rows_loaded"] = report.rows_loaded
    doc["derivation"] = report.derivation
    doc["rejections"] = [{"reason": r.reason, "count": r.count, "examples": r.examples} for r in report.rejections]
    doc["notes"] = list(report.notes)
    doc["warnings"] = list(report.warnings)
    doc["flags"] = list(report.flags)
    doc["activity_counts"] = [
        {"activity": a, "events": int(e), "cases": int(c)} for a, e, c in summary.activity_table.itertuples(index=False, name=None)
    ]
    return doc


def log_section(report: LoadReport, summary: LogSummary) -> dict[str, Any]:
    """Return the ``log`` figures shared by every document."""
    return {
        "source": report.source,
        "rows_read": report.rows_read,
        "rows_rejected": report.rows_rejected,
        "events": summary.events,
        "cases": summary.cases,
        "activities": summary.activities,
        "start": iso(summary.start),
        "end": iso(summary.end),
    }


def iso(ts: pd.Timestamp | None) -> str | None:
    return None if ts is None or pd.isna(ts) else ts.isoformat().replace("+00:00", "Z")


def dumps(doc: Any) -> str:
    """Return ``doc`` as deterministic, indented JSON (NaN becomes null)."""
    return json.dumps(_clean(doc), indent=2, ensure_ascii=False, allow_nan=False) + "\n"


def _clean(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating | float):
        f = float(value)
        return None if math.isnan(f) or math.isinf(f) else f
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, pd.Timestamp):
        return iso(value)
    return value


def mine_document(report: LoadReport, found: Any, *, top: int = 20, models: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """Return the ``vsm mine --json`` document (schema in docs/json-schema.md)."""
    summary = found.summary
    doc: dict[str, Any] = {"schema_version": SCHEMA_VERSION, "kind": "mine", **header(report)}
    doc["log"] = log_section(report, summary)
    doc["load"] = load_section(report)
    doc["activity_dfg"] = records(found.edges)
    doc["start_activities"] = found.start_activities
    doc["end_activities"] = found.end_activities
    doc["variants"] = variants_section(found.variants, summary.cases, top)
    doc["value_chain"] = {
        "coverage": found.coverage,
        "bookkeeping_events": bookkeeping_events(found.tables.get("mapping"), found.mapping),
        "mapping": found.mapping.description,
        "unmapped": found.unmapped,
        "activities": records(found.mapping_table.drop(columns=["rule_stage"])),
        "variants": variants_section(found.vc_variants, summary.cases, top),
        "warnings": list(found.mapping.warnings),
    }
    doc["rework"] = {"by_activity": found.rework_by_activity}
    doc["case_duration_s"] = found.case_duration_s
    doc["lead_time_s"] = found.lead_time_s
    doc["open_tickets"] = found.open_tickets
    doc["time_in_state_s"] = found.time_in_state_s
    doc["stream_grouping"] = {
        "by": "attribute" if found.stream_choice.column else "path",
        "attribute": found.stream_choice.column,
        "reason": found.stream_choice.reason,
    }
    doc["streams"] = streams_section(found.streams)
    doc["streams_by_path"] = streams_section(found.streams_by_path)
    if models is not None:
        doc["models"] = models
    return doc


def header(report: LoadReport) -> dict[str, Any]:
    from datetime import UTC, datetime

    return {
        "generated_at": datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z"),
        "input": {"path": report.path, "flags": list(report.flags)},
    }


def load_section(report: LoadReport) -> dict[str, Any]:
    return {
        "source_reason": report.source_reason,
        "columns": {role: {"column": c.column, "reason": c.reason} for role, c in report.columns.items()},
        "rows_loaded": report.rows_loaded,
        "derivation": report.derivation,
        "rejections": [{"reason": r.reason, "count": r.count, "examples": r.examples} for r in report.rejections],
        "notes": list(report.notes),
        "warnings": list(report.warnings),
    }


def variants_section(table: pd.DataFrame, cases: int, top: int) -> dict[str, Any]:
    head = table.head(top)
    return {
        "count": int(len(table)),
        "top": [
            {"path": list(r.path), "cases": int(r.cases), "share": (r.cases / cases) if cases else None}
            for r in head.itertuples(index=False)
        ],
    }


def streams_section(streams: pd.DataFrame) -> list[dict[str, Any]]:
    return [
        {
            "name": r.stream,
            "tickets": int(r.tickets),
            "open": int(r.open),
            "share": r.share,
            "lead_time_s": {"median": r.lead_time_median_s, "p90": r.lead_time_p90_s},
            "path": r.path.split(" → ") if r.path else [],
            "path_share": r.path_share,
            "top_variants": r.top_variants,
        }
        for r in streams.itertuples(index=False)
    ]


def _stats(values: np.ndarray) -> dict[str, float | None]:
    if len(values) == 0:
        return {"median": None, "p90": None, "mean": None}
    q = np.quantile(values.astype(np.float64), (0.5, 0.9))
    return {"median": float(q[0]), "p90": float(q[1]), "mean": float(values.mean())}


def compare_document(report: LoadReport, found: Any, *, top: int = 20, models: list[dict[str, Any]] | None = None,
                     min_support: int | None = None, answers: Any = None) -> dict[str, Any]:
    """Return the ``vsm compare --json`` document: issue 3's keys plus the comparison and the findings.

    ``answers`` (from :func:`reports.findings.answers`) is computed here unless given.
    """
    from reports.findings import MIN_SUPPORT
    from reports.findings import answers as find

    doc = mine_document(report, found, top=top, models=models)
    doc["kind"] = "compare"
    c = found.comparison
    doc["conformance"] = conformance_section(c)
    doc["rework"].update(rework_section(found))
    doc["waits"] = waits_section(c)
    doc["groups"] = records(c.groups)
    doc["headline"] = c.headline
    doc["not_measured"] = dict(c.not_measured)
    doc["findings"] = (answers or find(found, min_support=MIN_SUPPORT if min_support is None else min_support)).record()
    return doc


def conformance_section(c: Any) -> dict[str, Any]:
    streams = []
    for r in c.streams.itertuples(index=False):
        design = next(s for s in c.design.streams if s.name == r.name)
        mine = c.deviations[c.deviations["stream"] == r.name]
        streams.append({
            "name": r.name,
            "applies_to": "default" if design.is_default else [m.describe() for m in design.applies_to],
            "steps": [{"stage": s.stage, "label": s.label, "practices": list(s.practices), "target_s": s.target_s,
                       "optional": s.optional, "repeat": s.repeat} for s in design.steps],
            "tickets": int(r.tickets),
            "open": int(r.open),
            "fitness": r.fitness,
            "conforming_share": r.conforming_share,
            "deviations": records(mine.drop(columns=["stream"])),
        })
    return {"design": c.design.origin, "streams": streams, "warnings": list(c.design.warnings)}


def rework_section(found: Any) -> dict[str, Any]:
    per = found.tickets
    c = found.comparison
    out: dict[str, Any] = {"cases_with_rework": int(per["any_rework"].sum()), "cases": len(per)}
    for name in ("self_loops", "repetitions", "backflows", "reopens"):
        out[name] = {"count": int(per[name].sum()), "cases": int((per[name] > 0).sum()), "time_s": float(per[f"{name}_s"].sum())}
    bounced = per["bounces"] > 0
    out["ping_pong"] = {
        "cases": int(bounced.sum()),
        "bounces": int(per["bounces"].sum()),
        "bounces_per_ticket": float(per.loc[bounced, "bounces"].mean()) if bounced.any() else 0.0,
        "reassignments": int(per["reassignments"].sum()),
        "cases_reassigned": int((per["reassignments"] > 0).sum()),
        "time_s": float(per["bounce_s"].sum()),
        "top_pairs": records(c.pairs.head(10)),
    }
    out["loops"] = records(c.loops.head(20))
    out["repeated_activities"] = records(c.repeated.head(20))
    out["handoffs"] = records(c.handoffs.head(20))
    return out


def waits_section(c: Any) -> dict[str, Any]:
    from miner.waits import __doc__ as semantics

    return {
        "by_class": c.by_class,
        "by_state": records(c.by_state),
        "by_step": records(c.steps.drop(columns=["examples_over_target"], errors="ignore")),
        "bottlenecks": records(c.bottlenecks),
        "bottleneck_steps": records(c.bottleneck_steps),
        "bottleneck_transitions": records(c.bottleneck_transitions),
        "transitions": records(c.transitions.head(20)),
        "flow_efficiency": c.flow_efficiency,
        "semantics": " ".join((semantics or "").split()),
    }


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Return a DataFrame as a list of plain dicts (NaN as None)."""
    out = []
    for row in frame.to_dict("records"):
        out.append({str(k): _plain(v) for k, v in row.items()})
    return out


def _plain(v: Any) -> Any:
    if isinstance(v, float) and math.isnan(v):
        return None
    if isinstance(v, np.generic):
        return _plain(v.item())
    if isinstance(v, np.ndarray):
        return [_plain(x) for x in v.tolist()]
    if v is pd.NA or v is pd.NaT:
        return None
    return v
