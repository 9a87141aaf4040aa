"""Plain-text views of results for the terminal (stdout)."""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from typing import Any

import pandas as pd

from connectors.report import LoadReport, counted
from miner.summary import LogSummary
from reports.units import human as duration, pct


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


def more_rows(total: int, shown: int, where: str = "see --json or --csv-dir", indent: int = 2) -> list[str]:
    """The line under a cut table: how many rows are not shown, and where they are."""
    return [f"{' ' * indent}… and {total - shown:,} more ({where})"] if total > shown else []


def when(ts: pd.Timestamp | None, tz: str = "UTC") -> str:
    """A moment to the minute in the zone ``tz`` (--display-timezone), named after it: '2025-01-06 11:36 Europe/Berlin'."""
    return "-" if ts is None or pd.isna(ts) else f"{ts.tz_convert(tz).strftime('%Y-%m-%d %H:%M')} {tz}"


def load_report_text(report: LoadReport, summary: LogSummary, *, top: int = 25, tz: str = "UTC") -> str:
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
        f"Log         {counted(summary.cases, 'case')}, {counted(summary.events, 'event')}, {counted(summary.activities, 'activity', 'activities')}",
        f"Period      {when(summary.start, tz)} to {when(summary.end, tz)}",
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


def mine_text(report: LoadReport, found: Any, *, top: int = 10, tz: str = "UTC") -> str:
    """Return what ``vsm mine`` prints: streams, variants, edges, rework, mapping coverage."""
    summary = found.summary
    out = [
        f"Log        {counted(summary.cases, 'ticket')}, {counted(summary.events, 'event')}, {counted(summary.activities, 'activity', 'activities')}, "
        f"{when(summary.start, tz)} to {when(summary.end, tz)}  [{report.source}]",
        f"Mapping    {found.coverage:.1%} of events mapped to the value chain ({found.mapping.description})",
    ]
    if found.unmapped:
        listed = ", ".join(f"{a} ({n:,})" for a, n in list(found.unmapped.items())[:6])
        more = f" and {len(found.unmapped) - 6} more" if len(found.unmapped) > 6 else ""
        out.append(f"Unmapped   {listed}{more}; `vsm mapping init` writes a file to fix them")
    lead = found.lead_time_s
    still = int(found.open_tickets["tickets"])
    case_duration = f"(case duration, first to last event: median {duration(found.case_duration_s['median'])})"
    if lead["tickets"]:
        silent = found.open_tickets.get("silent") or {}
        quiet = f", {silent['tickets']:,} of them silent for over {duration(silent['silent_over_s'])}" if silent.get("tickets") else ""
        over = f" over {lead['tickets']:,} delivered tickets; {still:,} open{quiet}" if still else ""
        out.append(f"Lead time  median {duration(lead['median'])}, p90 {duration(lead['p90'])}{over}  {case_duration}")
    else:
        out.append(f"Lead time  n/a: no ticket reaches a done state (Resolved, Closed …); `vsm mapping init` writes a file "
                   f"to name yours  {case_duration}")
    out += ["", f"Value streams, by {found.stream_choice.reason}"]
    # Lead time is over delivered tickets; the open ones are counted apart.
    with_open = bool(len(found.streams)) and int(found.streams["open"].sum()) > 0
    out.append(
        table(
            [(s.stream, int(s.tickets), *((f"{int(s.open):,}",) if with_open else ()), f"{s.share:.0%}",
              duration(s.lead_time_median_s), duration(s.lead_time_p90_s), s.path)
             for s in found.streams.head(top).itertuples(index=False)],
            ["stream", "tickets", *(("open",) if with_open else ()), "share", "lead median", "lead p90", "main value-chain path"],
            align="lrrrrrl" if with_open else "lrrrrl",
        )
    )
    if with_open:
        out.append("  Lead time is over delivered tickets; open tickets (not delivered at the export's end) are counted apart.")
    out += more_rows(len(found.streams), top, "see --json")
    vc = found.vc_variants
    out += ["", f"Value-chain paths ({len(vc):,})"]
    out.append(table([(int(r.cases), f"{r.cases / max(summary.cases, 1):.1%}", " → ".join(r.path) or "(unmapped)") for r in vc.head(top).itertuples(index=False)],
                     ["tickets", "share", "path"], align="rrl"))
    out += more_rows(len(vc), top, "see --json")
    var = found.variants
    out += ["", f"Top variants ({len(var):,} in all)"]
    out.append(table([(int(r.variant), int(r.cases), f"{r.cases / max(summary.cases, 1):.1%}", _short(" → ".join(r.path), 110)) for r in var.head(top).itertuples(index=False)],
                     ["#", "tickets", "share", "activities"], align="rrrl"))
    out += more_rows(len(var), top, "see --json")
    out += ["", "Top hand-overs between activities (directly-follows)"]
    out.append(table([(f"{e.source} → {e.target}", int(e.count), duration(e.median_wait_s), duration(e.p90_wait_s)) for e in found.edges.head(top).itertuples(index=False)],
                     ["edge", "count", "median wait", "p90 wait"], align="lrrr"))
    out += more_rows(len(found.edges), top, "see --json")
    rework = list(found.rework_by_activity.items())[:top]
    if rework:
        out += ["", "Repeated activities: tickets in which an activity occurs twice or more (pm4py's rework count; "
                "`vsm compare` tells rework from escalation and resumed work)"]
        out.append(table([(a, n, f"{n / max(summary.cases, 1):.1%}") for a, n in rework], ["activity", "tickets", "share"], align="lrr"))
        out += more_rows(len(found.rework_by_activity), top, "see --json")
    return "\n".join(out)


def _short(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


QUESTIONS = (("waits", "Where does work wait?"), ("rework", "Which hand-offs cause rework?"), ("no_value", "Which steps add no value?"))


def findings_text(found: Any, answers: Any, *, width: int = 110) -> list[str]:
    """The findings per question, each a wrapped sentence with its evidence."""
    out = [f"Findings   ranked by impact in ticket-hours; each rests on at least {counted(answers.min_support, 'ticket')} "
           f"(hand-offs for a pair of groups); rates with 95% intervals"]
    for key, question in QUESTIONS:
        out.append(f"  {question}")
        for f in getattr(answers, key):
            lines = textwrap.wrap(f.sentence, width=width - 6, break_on_hyphens=False)
            out += [f"    - {lines[0]}", *(f"      {line}" for line in lines[1:])]
            if f.examples:
                out.append(f"      e.g. {', '.join(f.examples[:3])}")
    return out


def compare_text(report: LoadReport, found: Any, *, top: int = 5, min_support: int | None = None, answers: Any = None,
                 tz: str = "UTC") -> str:
    """Return what ``vsm compare`` prints: the findings, per stream fitness and deviations, rework, waits, groups."""
    from reports.findings import MIN_SUPPORT, ci_text, handoff_tests, timed
    from reports.findings import answers as find

    c = found.comparison
    summary = found.summary
    tickets = found.tickets
    n = max(summary.cases, 1)
    support = MIN_SUPPORT if min_support is None else min_support
    answers = answers or find(found, min_support=support)
    out = [
        f"Log        {counted(summary.cases, 'ticket')}, {counted(summary.events, 'event')}, {when(summary.start, tz)} to {when(summary.end, tz)}  [{report.source}]",
        f"Mapping    {found.coverage:.1%} of events mapped ({found.mapping.description})",
        f"Design     {c.design.origin}: " + ", ".join(f"{r.name} ({counted(r.tickets, 'ticket')})" for r in c.streams.itertuples(index=False)),
        *not_measured_lines(c.not_measured),
        "",
        *findings_text(found, answers),
    ]
    devs = c.deviations
    for r in c.streams.itertuples(index=False):
        design = next(s for s in c.design.streams if s.name == r.name)
        steps = " → ".join(f"[{s.label}]" if s.optional else s.label for s in design.steps)
        still_open = f"; {int(r.open):,} still open, judged on the steps so far" if r.open else ""
        fit = ("fitness n/a, conformance n/a" if "conformance" in c.not_measured
               else f"fitness {r.fitness:.2f}, {r.conforming_share:.0%} follow the design exactly")
        out += ["", f"Stream {r.name!r}: {counted(r.tickets, 'ticket')}, {fit}{still_open}",
                f"  designed   {steps}"]
        all_mine = devs[devs["stream"] == r.name]
        mine = all_mine.head(top)
        if len(mine):
            out.append(table(
                [(f"{d.type} {d.step}", int(d.tickets), f"{d.share:.0%}", _signed(d.median_extra_lead_s), ", ".join(d.examples[:2]))
                 for d in mine.itertuples(index=False)],
                ["deviation", "tickets", "share", "lead time vs conforming", "e.g."], align="lrrrl", indent=4))
            out += more_rows(len(all_mine), len(mine), indent=4)
    rw = int(tickets["any_rework"].sum())
    out += ["", f"Rework     {rw:,} of {counted(n, 'ticket')} ({pct(rw / n)}); in all {counted(tickets['self_loops'].sum(), 'self-loop')}, "
            f"{counted(tickets['repetitions'].sum(), 'repetition')}, {counted(tickets['backflows'].sum(), 'backflow')}, "
            f"{counted(tickets['reopens'].sum(), 'reopen')}, {counted(tickets['bounces'].sum(), 'bounce')}"]
    if len(c.loops):
        out.append("Loops      " + ", ".join(f"{r.from_activity} → {r.to_activity} ({int(r.loops):,})" for r in c.loops.head(top).itertuples(index=False))
                   + (f" and {len(c.loops) - top:,} more" if len(c.loops) > top else ""))
    bounced = int((tickets["bounces"] > 0).sum())
    pairs = c.pairs
    top_pair = f"; most between {pairs.iloc[0]['pair']} ({int(pairs.iloc[0]['bounces']):,})" if len(pairs) else ""
    out.append(f"Ping-pong  {counted(tickets['bounces'].sum(), 'bounce')} in {counted(bounced, 'ticket')} ({pct(bounced / n)}), "
               f"{counted(tickets['reassignments'].sum(), 'reassignment')}{top_pair}" if found.has_groups
               else "Ping-pong  n/a: the export has no group or team column")
    all_risky = handoff_tests(c.handoffs, support)
    all_risky = all_risky[all_risky["followed_by_rework"] > 0] if len(all_risky) else all_risky
    risky = all_risky.head(top)
    if len(risky):
        out.append(f"Hand-offs followed by rework, most beyond the other hand-offs' rate first (p: one-sided Fisher test, "
                   f"BH-adjusted; pairs under {counted(support, 'hand-off')} untested; sent back: returned straight to the sender, "
                   f"a bounce, which the rework rate counts but 'then rework' does not)")
        out.append(table([(f"{h.from_group} → {h.to_group}", int(h.handoffs), int(h.followed_by_rework),
                           ci_text(h.followed_by_rework, h.handoffs), f"{h.excess:+,.1f}", int(h.bounced_back),
                           "-" if h.p_adjusted != h.p_adjusted else ("<0.001" if h.p_adjusted < 0.001 else f"{h.p_adjusted:.3f}"))
                          for h in risky.itertuples(index=False)],
                         ["hand-off", "count", "then rework", "share (95% CI)", "beyond others' rate", "sent back", "adj. p"],
                         align="lrrrrrr", indent=4))
        out += more_rows(len(all_risky), len(risky), indent=4)
    fe = c.flow_efficiency
    from reports.findings import class_name

    kinds = ", ".join(f"{class_name(k, found.has_groups)} {duration(v)}" for k, v in c.by_class.items() if k not in ("work", "unclassified") and v > 0)
    flow = (f"flow efficiency n/a: {c.not_measured['flow_efficiency']}" if "flow_efficiency" in c.not_measured
            else f"flow efficiency {_pct(fe['pooled'])} pooled, {_pct(fe['median'])} median per ticket")
    unclassified = c.by_class.get("unclassified", 0.0)
    waiting = "not measured" if "wait_share" in c.not_measured else kinds or "none"
    neither = f"; neither work nor waiting (unclassified): {duration(unclassified)}" if unclassified > 0 and "wait_share" not in c.not_measured else ""
    out += ["", f"Waits      {flow}; waiting: {waiting}{neither}"]
    delivered = timed(found)
    bs = c.bottleneck_steps if delivered else c.bottleneck_steps.iloc[0:0]
    if len(bs):
        out.append("Waiting at designed steps, before or between their work (share of the waiting at designed steps; median among tickets that waited)")
        out.append(table([(f"{b.stream}: {b.label}", duration(b.total_wait_s), pct(b.share_of_step_waiting),
                           f"{int(b.tickets_waited):,} of {int(b.tickets):,}" + (f" ({int(b.open_tickets_waited):,} open)" if b.open_tickets_waited else ""),
                           duration(b.median_wait_s)) for b in bs.head(top).itertuples(index=False)],
                         ["step", "total", "share", "tickets waited", "median"], align="lrrrr", indent=4))
        out += more_rows(len(bs), top, indent=4)
    bt = c.bottleneck_transitions if delivered else c.bottleneck_transitions.iloc[0:0]
    if len(bt):
        out.append("Waiting between activities (share of all waiting; median per wait)")
        out.append(table([(_short(b.label, 80), duration(b.total_wait_s), pct(b.share_of_waiting), int(b.tickets), int(b.waits),
                           duration(b.median_wait_s)) for b in bt.head(top).itertuples(index=False)],
                         ["where", "total", "share", "tickets", "waits", "median"], align="lrrrrr", indent=4))
        out += more_rows(len(bt), top, indent=4)
    over = c.steps[c.steps["over_target"] > 0] if len(c.steps) and delivered else c.steps.iloc[0:0]
    if len(over):
        out.append("Steps over target")
        out.append(table([(f"{s.stream}: {s.label}", duration(s.target_s), int(s.over_target), f"{s.over_target_share:.0%}", duration(s.median_excess_s))
                          for s in over.head(top).itertuples(index=False)],
                         ["step", "target", "tickets over", "share", "median excess"], align="lrrrr", indent=4))
        out += more_rows(len(over), top, indent=4)
    flagged = c.groups[c.groups["moved_bottleneck"]] if len(c.groups) else c.groups
    for g in flagged.head(top).itertuples(index=False):
        out.append(f"Moved bottleneck: {g.group} looks {g.reason}")
    out += more_rows(len(flagged), top, indent=0)
    return "\n".join(out)


NOT_MEASURED_NAMES = {"conformance": "Conformance", "flow_efficiency": "Flow efficiency", "wait_share": "Wait share"}


def not_measured_lines(gone: dict[str, str]) -> list[str]:
    """Loud lines for the figures this log cannot support: 'n/a' and why."""
    return [f"N/A        {NOT_MEASURED_NAMES.get(k, k)} n/a: {why}." for k, why in gone.items()]


def _pct(x: float | None) -> str:
    return "-" if x is None else pct(x)


def _signed(seconds: float | None) -> str:
    if seconds is None or pd.isna(seconds):
        return "-"
    return ("+" if seconds >= 0 else "−") + duration(abs(seconds))
