"""Value streams: tickets grouped by kind of work.

Tickets are grouped by a ticket-type attribute when the log has one
(type, issue type, category, priority …; ``--stream-by`` chooses), and always
also by their value-chain path. A ticket's attribute value is its last
non-missing value in the log: the classification it ended with.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from connectors.errors import BadOption
from connectors.eventlog import CANONICAL_COLUMNS, attribute_columns
from miner.cases import US, CaseArrays
from miner.stats import grouped_quantiles

# Normalised attribute names that say "kind of ticket", best first.
TYPE_NAMES = [
    "ticket type", "type", "issue type", "issuetype", "request type", "case type", "incident type",
    "sys class name", "service", "category", "case category", "service type", "priority",
]
MAX_STREAMS = 40
# "contact type" says how a ticket arrived, not what kind of work it is.
NOT_TYPES = ("contact", "channel", "via", "source", "origin")
PATH_STREAM = "path"
STREAM_COLUMNS = ["stream", "tickets", "open", "share", "lead_time_median_s", "lead_time_p90_s", "path", "path_share", "top_variants"]


@dataclass
class StreamChoice:
    column: str | None  # the attribute, or None for grouping by value-chain path
    reason: str


def candidate_columns(columns: list[str]) -> list[tuple[str, bool, int]]:
    """Return the attribute columns whose names say 'kind of ticket', as (column, exact, rank), best first."""
    normal = {c: re.sub(r"[^a-z]+", " ", c.lower().removeprefix("case:")).strip() for c in columns}
    out = []
    # Exact names first, best first; then names that end in one ("incident type").
    for exact in (True, False):
        for rank, wanted in enumerate(TYPE_NAMES):
            for col, name in normal.items():
                hit = name == wanted if exact else (name.endswith(" " + wanted) and not name.startswith(NOT_TYPES))
                if hit and col not in [c for c, _, _ in out]:
                    out.append((col, exact, rank))
    return out


def attribute_profile(log: pd.DataFrame, arrays: CaseArrays) -> pd.DataFrame:
    """Count tickets per (candidate attribute, last value); merges across partitions by summing.

    A row with value None counts the tickets that have no value.
    """
    rows = []
    for col, _, _ in candidate_columns(attribute_columns(log)):
        values = case_values(log[col], arrays)
        counts = values.astype(object).where(values.notna(), None).value_counts(dropna=False)
        for value, n in counts.items():
            rows.append({"attribute": col, "value": None if pd.isna(value) else str(value), "tickets": int(n)})
    return pd.DataFrame(rows, columns=["attribute", "value", "tickets"])


def choose_stream_attribute(columns: list[str], profile: pd.DataFrame, stream_by: str | None) -> StreamChoice:
    """Return the attribute to group tickets by, and why, from the log's columns and attribute profile."""
    attrs = [c for c in columns if c not in CANONICAL_COLUMNS]
    if stream_by == PATH_STREAM:
        return StreamChoice(None, "value-chain path (given)")
    if stream_by:
        if stream_by not in columns:
            import difflib

            close = difflib.get_close_matches(stream_by, attrs, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else f" (attributes: {', '.join(attrs[:10]) or 'none'})"
            raise BadOption(f"--stream-by {stream_by!r} is not a column of the log{hint}; or pass --stream-by path")
        return StreamChoice(stream_by, f"attribute {stream_by!r} (given with --stream-by)")
    for col, _, _ in candidate_columns(attrs):
        mine = profile[profile["attribute"] == col]
        total = int(mine["tickets"].sum())
        known = mine[mine["value"].notna()]
        distinct = len(known)
        covered = known["tickets"].sum() / total if total else 0
        if 2 <= distinct <= MAX_STREAMS and covered >= 0.5:
            return StreamChoice(col, f"attribute {col!r}: {distinct} ticket types covering {covered:.0%} of tickets")
    return StreamChoice(None, "value-chain path (no ticket-type attribute with 2 to 40 values)")


def case_values(column: pd.Series, arrays: CaseArrays) -> pd.Series:
    """Return each case's last non-missing value of ``column``."""
    if arrays.n_cases == 0:
        return pd.Series([], dtype=object)
    last = column.groupby(arrays.case, sort=True).last()
    return last.reindex(range(arrays.n_cases)).astype(object).where(lambda s: s.notna(), None)


def stream_table(
    tickets: pd.DataFrame, group: pd.Series, variants_table: pd.DataFrame, *, top_variants: int = 3
) -> pd.DataFrame:
    """Return one row per stream: tickets, open tickets, share, lead time, dominant path, top variants.

    Lead time is over the stream's delivered tickets, as the log's is: an open
    ticket's age is not a lead time (NaN where none is delivered).
    """
    n = len(tickets)
    if n == 0:
        return pd.DataFrame(columns=STREAM_COLUMNS)
    codes, uniq = _text_codes(group)
    codes = codes.astype(np.int64)
    keys, counts = np.unique(codes, return_counts=True)
    frame = pd.DataFrame({"stream": uniq[keys], "tickets": counts})
    done = tickets["delivered"].to_numpy(dtype=bool)
    lead = tickets["lead_time_s"].to_numpy()[done] * US
    done_keys, done_counts, (med, p90) = grouped_quantiles(codes[done], lead, (0.5, 0.9))
    at = np.searchsorted(keys, done_keys)
    frame["open"] = counts.copy()
    frame.loc[at, "open"] = counts[at] - done_counts
    for name, values in (("lead_time_median_s", med), ("lead_time_p90_s", p90)):
        column = np.full(len(keys), np.nan)
        column[at] = values / US
        frame[name] = column
    frame["share"] = frame["tickets"] / n
    # Dominant path and top variants per stream, grouped by codes: names only
    # for the (few) groups.
    path_codes, path_names = pd.factorize(tickets["path"])
    per = pd.DataFrame({"stream": codes, "path": path_codes, "variant": tickets["variant"].to_numpy()})
    paths = per[path_codes >= 0].groupby(["stream", "path"], sort=False).size().reset_index(name="n")
    paths["path"] = np.asarray(path_names, dtype=object)[paths["path"].to_numpy()]
    paths = paths.sort_values(["stream", "n", "path"], ascending=[True, False, True]).drop_duplicates("stream")
    paths["stream"] = uniq[paths["stream"].to_numpy()]
    frame = frame.merge(paths.rename(columns={"n": "path_tickets"}), on="stream", how="left")
    frame["path_share"] = frame["path_tickets"] / frame["tickets"]
    var = per.groupby(["stream", "variant"], sort=False).size().reset_index(name="n")
    var = var.sort_values(["stream", "n", "variant"], ascending=[True, False, True])
    var = var.groupby("stream", sort=False).head(top_variants)
    var["stream"] = uniq[var["stream"].to_numpy()]
    path_of = dict(zip(variants_table["variant"], variants_table["path"], strict=True))
    tops = {
        s: [{"variant": int(v), "cases": int(c), "path": list(path_of[v])} for v, c in zip(g["variant"], g["n"], strict=True)]
        for s, g in var.groupby("stream", sort=False)
    }
    frame["top_variants"] = frame["stream"].map(tops)
    frame = frame.sort_values(["tickets", "stream"], ascending=[False, True], ignore_index=True)
    return frame[STREAM_COLUMNS]


def _text_codes(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Codes of ``values`` as text, into their sorted distinct texts; missing is '(none)'.

    The same as factorizing ``values.fillna("(none)").astype(str)`` sorted,
    without building a string per ticket.
    """
    codes, uniques = pd.factorize(values)  # -1 where missing
    texts = np.append(np.asarray(uniques, dtype=object).astype(str), "(none)")
    text_codes, names = pd.factorize(texts, sort=True)
    return text_codes[codes], np.asarray(names, dtype=object)  # code -1 takes the last text, '(none)'
