"""JSON documents vsm writes. Every document carries ``schema_version``; the
schema is documented in docs/json-schema.md."""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import pandas as pd

from connectors.report import LoadReport
from miner.summary import LogSummary

SCHEMA_VERSION = "1.0"


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


def mine_document(report: LoadReport, summary: LogSummary, found: Any, *, top: int = 20, models: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """Return the ``vsm mine --json`` document (schema in docs/json-schema.md)."""
    doc: dict[str, Any] = {"schema_version": SCHEMA_VERSION, "kind": "mine", **header(report)}
    doc["log"] = log_section(report, summary)
    doc["load"] = load_section(report)
    edges = found.edges
    doc["activity_dfg"] = [
        {
            "source": r.source, "target": r.target, "count": int(r.count),
            "median_wait_s": r.median_wait_s, "p90_wait_s": r.p90_wait_s,
            "mean_wait_s": r.mean_wait_s, "total_wait_s": r.total_wait_s,
        }
        for r in edges.itertuples(index=False)
    ]
    doc["start_activities"] = found.dfg.start_activities
    doc["end_activities"] = found.dfg.end_activities
    doc["variants"] = variants_section(found.activity_variants.table, summary.cases, top)
    classes = found.classes
    doc["value_chain"] = {
        "coverage": classes.coverage,
        "mapping": found.mapping.description,
        "unmapped": classes.unmapped,
        "activities": [
            {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in row.items() if k != "rule_stage"}
            for row in classes.activities.to_dict("records")
        ],
        "variants": variants_section(found.vc_variants.table, summary.cases, top),
        "warnings": list(found.mapping.warnings),
    }
    doc["rework"] = {"by_activity": found.rework_by_activity}
    doc["case_duration_s"] = found.case_duration_s
    lead = found.tickets["lead_time_s"].to_numpy()
    doc["lead_time_s"] = _stats(lead)
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
