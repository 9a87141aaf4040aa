"""CSV tables of the results, safe to open in a spreadsheet.

A text cell that starts with =, +, -, @, a tab or a carriage return would be
read as a formula by Excel and LibreOffice; such cells get a leading
apostrophe (OWASP's advice). Numbers are written as numbers.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pandas as pd

from reports.output import check_writable, write_text

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: object) -> object:
    """Return ``value`` with a leading apostrophe if a spreadsheet would run it as a formula."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    if isinstance(value, list | tuple):
        return neutralise("; ".join(_cell(v) for v in value))
    return value


def _cell(item: object) -> str:
    """One item of a list cell; a record ({state, share}) as its values: 'Assigned 0.6776'."""
    if isinstance(item, dict):
        return " ".join(f"{v:.4g}" if isinstance(v, float) else str(v) for v in item.values())
    return str(item)


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
    check_writable(target, folder=True)
    target.mkdir(exist_ok=True)
    paths = []
    for name, frame in tables.items():
        path = target / f"{name}.csv"
        write_text(path, safe_frame(frame).to_csv(index=False, lineterminator="\n"), protect=protect)
        paths.append(path)
    return paths


# The comparison's tables, by file name: the attribute of the comparison each is.
COMPARISON_TABLES = {"deviations": "deviations", "steps": "steps", "waits_by_state": "by_state", "bottlenecks": "bottlenecks",
                     "bottleneck_steps": "bottleneck_steps", "bottleneck_transitions": "bottleneck_transitions",
                     "rework_pairs": "pairs", "rework_loops": "loops", "handoffs": "handoffs", "groups": "groups"}
# Every table --csv-dir may write, so that the command can check the paths before any work.
TABLE_NAMES = ("tickets", "edges", "variants", "rejected_rows", *COMPARISON_TABLES)


def result_tables(found: Any, report: Any, tz: str = "UTC") -> dict[str, pd.DataFrame]:
    """Return the tables vsm writes with --csv-dir.

    Times are in the zone ``tz`` (--display-timezone) with their UTC offset; another zone than UTC is named in
    the columns' names ('start (Europe/Berlin)').
    """
    tickets = found.tickets.drop(columns=["activity_path"]).copy()
    for column in ("start", "end"):
        tickets[column] = tickets[column].dt.tz_convert(tz)
    if tz != "UTC":
        tickets = tickets.rename(columns={"start": f"start ({tz})", "end": f"end ({tz})"})
    tickets.insert(3, "activities", found.tickets["activity_path"].str.replace("\x1f", " → ", regex=False))
    if "deviations" in tickets:
        tickets["deviations"] = ["; ".join(x.replace("\x1f", " ") for x in d) for d in tickets["deviations"]]
    # Steps are numbered from 1 in every table a user reads, as in steps.csv (step0_work_s is step 1's).
    tickets = tickets.rename(columns=lambda c: re.sub(r"^step(\d+)_", lambda m: f"step{int(m.group(1)) + 1}_", c))
    variants = found.variants.copy()
    variants["path"] = [" → ".join(p) for p in variants["path"]]
    rejections = pd.DataFrame(
        [{"reason": r.reason, "count": r.count, "examples": [str(e.get("row")) for e in r.examples]} for r in report.rejections],
        columns=["reason", "count", "examples"],
    )
    tables = {"tickets": tickets, "edges": found.edges, "variants": variants, "rejected_rows": rejections}
    c = found.comparison
    if c is not None:
        tables.update({name: getattr(c, attribute) for name, attribute in COMPARISON_TABLES.items()})
    return tables
