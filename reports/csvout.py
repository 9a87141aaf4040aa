"""CSV tables of the results, safe to open in a spreadsheet.

A text cell that starts with =, +, -, @, a tab or a carriage return would be
read as a formula by Excel and LibreOffice; such cells get a leading
apostrophe (OWASP's advice). Numbers are written as numbers.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from reports.output import write_text

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: object) -> object:
    """Return ``value`` with a leading apostrophe if a spreadsheet would run it as a formula."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    if isinstance(value, list | tuple):
        return neutralise("; ".join(str(v) for v in value))
    return value


def safe_frame(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    for col in out.columns:
        if not pd.api.types.is_numeric_dtype(out[col].dtype) and not pd.api.types.is_datetime64_any_dtype(out[col].dtype):
            out[col] = out[col].astype(object).map(neutralise)
    out.columns = [str(neutralise(str(c))) for c in out.columns]
    return out


def write_tables(folder: str | Path, tables: dict[str, pd.DataFrame], *, protect: tuple[str, ...] = ()) -> list[Path]:
    """Write each table as ``folder/<name>.csv``; return the paths."""
    target = Path(folder)
    target.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, frame in tables.items():
        path = target / f"{name}.csv"
        write_text(path, safe_frame(frame).to_csv(index=False, lineterminator="\n"), protect=protect)
        paths.append(path)
    return paths


def result_tables(found: Any, comparison: Any, report: Any) -> dict[str, pd.DataFrame]:
    """Return the tables vsm writes with --csv-dir."""
    tickets = found.tickets.copy()
    tickets["designed_stream"] = comparison.stream_of_case()
    conf = comparison.conformance.per_ticket.set_index("case")
    tickets["fitness"] = conf["fitness"].reindex(range(len(tickets))).to_numpy()
    tickets["deviations"] = [
        "; ".join(f"{t} {s}" for t, s in d) if isinstance(d, list) else ""
        for d in conf["deviations"].reindex(range(len(tickets))).to_numpy()
    ]
    per = comparison.rework.per_ticket.drop(columns=["case"])
    tickets = pd.concat([tickets.reset_index(drop=True), per.reset_index(drop=True)], axis=1)
    variants = found.activity_variants.table.copy()
    variants["path"] = [" → ".join(p) for p in variants["path"]]
    rejections = pd.DataFrame(
        [{"reason": r.reason, "count": r.count, "examples": [str(e.get("row")) for e in r.examples]} for r in report.rejections],
        columns=["reason", "count", "examples"],
    )
    return {
        "tickets": tickets,
        "edges": found.edges,
        "variants": variants,
        "deviations": comparison.conformance.deviations,
        "steps": comparison.steps,
        "waits_by_state": comparison.waits.by_state,
        "bottlenecks": comparison.bottlenecks,
        "rework_pairs": comparison.rework.top_pairs,
        "handoffs": comparison.rework.handoffs,
        "groups": comparison.groups,
        "rejected_rows": rejections,
    }
