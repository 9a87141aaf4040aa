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
