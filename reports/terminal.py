"""Plain-text views of results for the terminal (stdout)."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from connectors.report import LoadReport
from miner.summary import LogSummary


def table(rows: Sequence[Sequence[object]], headers: Sequence[str], *, align: str | None = None, indent: int = 2) -> str:
    """Return ``rows`` as an aligned text table; ``align`` has one 'l' or 'r' per column."""
    cells = [[_fmt(v) for v in row] for row in rows]
    widths = [max([len(h)] + [len(r[i]) for r in cells]) for i, h in enumerate(headers)]
    align = align or "l" + "r" * (len(headers) - 1)
    pad = " " * indent

    def line(values: Sequence[str]) -> str:
        return pad + "  ".join(v.ljust(w) if a == "l" else v.rjust(w) for v, w, a in zip(values, widths, align, strict=True)).rstrip()

    return "\n".join([line(list(headers)), line(["-" * w for w in widths]), *(line(r) for r in cells)])


def _fmt(value: object) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.2f}"
    return "" if value is None else str(value)


def when(ts: pd.Timestamp | None) -> str:
    return "-" if ts is None or pd.isna(ts) else ts.strftime("%Y-%m-%d %H:%M UTC")


def duration(seconds: float | None) -> str:
    """Return a duration the way people say it: 45 s, 12 min, 3.5 h, 4.2 d."""
    if seconds is None or pd.isna(seconds):
        return "-"
    s = float(seconds)
    if abs(s) < 90:
        return f"{s:.0f} s"
    if abs(s) < 90 * 60:
        return f"{s / 60:.0f} min"
    if abs(s) < 36 * 3600:
        return f"{s / 3600:.1f} h"
    return f"{s / 86400:.1f} d"


def load_report_text(report: LoadReport, summary: LogSummary, *, top: int = 25) -> str:
    """Return what ``vsm inspect`` prints about one load."""
    out = [f"Source      {report.source}  ({report.source_reason})", f"File        {report.path}", "", "Columns"]
    out.append(table([(role, c.column, c.reason) for role, c in report.columns.items()], ["role", "column", "why"], align="lll"))
    if report.notes:
        out += ["", "Detected"] + [f"  {n}" for n in report.notes]
    out += [
        "",
        f"Rows        {report.rows_read:,} read = {report.rows_loaded:,} loaded + {report.rows_rejected:,} rejected",
        f"Events      {report.events:,} ({report.derivation})",
    ]
    for r in report.rejections:
        examples = ", ".join(
            f"row {e['row']}" + (f" {e['value']!r}" if e.get("value") is not None else "") for e in r.examples
        )
        out.append(f"Rejected    {r.count:,}  {r.reason}" + (f"  (first: {examples})" if examples else ""))
    out += [
        f"Log         {summary.cases:,} cases, {summary.events:,} events, {summary.activities:,} activities",
        f"Period      {when(summary.start)} to {when(summary.end)}",
        "",
        "Activities",
    ]
    acts = summary.activity_table
    shown = acts.head(top)
    out.append(table(list(shown.itertuples(index=False, name=None)), ["activity", "events", "cases"]))
    if len(acts) > top:
        out.append(f"  … and {len(acts) - top:,} more activities (see --json)")
    out += ["", "Reproduce this reading with:", f"  vsm inspect {_quote(report.path)} " + " ".join(report.flags)]
    return "\n".join(out)


def _quote(text: str) -> str:
    return text if all(ch.isalnum() or ch in "._/-+:" for ch in text) else f"'{text}'"


def mine_text(report: LoadReport, summary: LogSummary, found: object, *, top: int = 10) -> str:
    """Return what ``vsm mine`` prints: streams, variants, edges, rework, mapping coverage."""
    f = found  # a miner.discovery.Discovery
    classes = f.classes  # type: ignore[attr-defined]
    out = [
        f"Log        {summary.cases:,} tickets, {summary.events:,} events, {summary.activities:,} activities, "
        f"{when(summary.start)} to {when(summary.end)}  [{report.source}]",
        f"Mapping    {classes.coverage:.1%} of events mapped to the value chain ({f.mapping.description})",  # type: ignore[attr-defined]
    ]
    if classes.unmapped:
        listed = ", ".join(f"{a} ({n:,})" for a, n in list(classes.unmapped.items())[:6])
        more = f" and {len(classes.unmapped) - 6} more" if len(classes.unmapped) > 6 else ""
        out.append(f"Unmapped   {listed}{more}; `vsm mapping init` writes a file to fix them")
    dur = f.case_duration_s  # type: ignore[attr-defined]
    lead = f.tickets["lead_time_s"]  # type: ignore[attr-defined]
    out.append(
        f"Lead time  median {duration(lead.median() if len(lead) else None)}, p90 {duration(lead.quantile(0.9) if len(lead) else None)}"
        f"  (case duration, first to last event: median {duration(dur['median'])})"
    )
    choice = f.stream_choice  # type: ignore[attr-defined]
    out += ["", f"Value streams, by {choice.reason}"]
    streams = f.streams.head(top)  # type: ignore[attr-defined]
    out.append(
        table(
            [(s.stream, int(s.tickets), f"{s.share:.0%}", duration(s.lead_time_median_s), duration(s.lead_time_p90_s), s.path)
             for s in streams.itertuples(index=False)],
            ["stream", "tickets", "share", "lead median", "lead p90", "main value-chain path"],
            align="lrrrrl",
        )
    )
    if len(f.streams) > top:  # type: ignore[attr-defined]
        out.append(f"  … {len(f.streams) - top} more streams in --json")  # type: ignore[attr-defined]
    vc = f.vc_variants.table  # type: ignore[attr-defined]
    out += ["", f"Value-chain paths ({len(vc):,})"]
    out.append(table([(int(r.cases), f"{r.cases / max(summary.cases, 1):.1%}", " → ".join(r.path) or "(unmapped)") for r in vc.head(top).itertuples(index=False)],
                     ["tickets", "share", "path"], align="rrl"))
    var = f.activity_variants.table  # type: ignore[attr-defined]
    out += ["", f"Top variants ({len(var):,} in all)"]
    out.append(table([(int(r.variant), int(r.cases), f"{r.cases / max(summary.cases, 1):.1%}", _short(" → ".join(r.path), 110)) for r in var.head(top).itertuples(index=False)],
                     ["#", "tickets", "share", "activities"], align="rrrl"))
    edges = f.edges.head(top)  # type: ignore[attr-defined]
    out += ["", "Top hand-overs between activities (directly-follows)"]
    out.append(table([(f"{e.source} → {e.target}", int(e.count), duration(e.median_wait_s), duration(e.p90_wait_s)) for e in edges.itertuples(index=False)],
                     ["edge", "count", "median wait", "p90 wait"], align="lrrr"))
    rework = list(f.rework_by_activity.items())[:top]  # type: ignore[attr-defined]
    if rework:
        out += ["", "Rework: tickets in which an activity occurs twice or more"]
        out.append(table([(a, n, f"{n / max(summary.cases, 1):.1%}") for a, n in rework], ["activity", "tickets", "share"], align="lrr"))
    return "\n".join(out)


def _short(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"
