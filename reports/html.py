"""The HTML report: one self-contained file (inline CSS, JS and SVG) that makes
the three questions of value-stream mapping obvious, and opens anywhere.

Every string from the input reaches the page through Jinja's autoescaping or
:func:`reports.svg.esc`; the data for the variants explorer is JSON with
``<``, ``>`` and ``&`` escaped; a Content-Security-Policy allows no network
requests and only the report's own script, by its hash.
"""

from __future__ import annotations

import base64
import contextlib
import functools
import hashlib
import json
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime
from importlib import resources
from typing import Any

import numpy as np
import pandas as pd
from markupsafe import Markup

from miner.conformance import align, step_symbols
from miner.valuechain import DESCRIPTIONS, LABELS, STAGES
from reports import charts, processmap, vsmap
from reports.findings import class_name
from reports.terminal import NOT_MEASURED_NAMES
from reports.findings import answers as find
from reports.findings import ci_text, handoff_tests, timed, worst_tickets
from reports.svg import STAGE_COLOURS
from reports.units import day, hours, human, pct

EXPLORER_ROWS = 500
STATIC_ROWS = 25

GLOSSARY = [
    ("Value stream", "The sequence of value-chain activities one kind of ticket goes through, from request to value delivered."),
    ("Lead time", "From a ticket's first event until it was finally delivered (the start of its last run of resolved/closed states); time after delivery, such as waiting to be auto-closed, is not lead time."),
    ("Work time / wait time", "Time in a state runs to the ticket's next event; the value-chain mapping says whether that state is work or waiting (queue, customer, vendor, internal, hand-off)."),
    ("Hand-off wait", "From a change of assignment group until that group's first work."),
    ("Flow efficiency", "Work time ÷ lead time: for the median ticket, and pooled over all tickets."),
    ("%C&A", "Complete and accurate: the share of tickets that leave a step and are never sent back to it."),
    ("Fitness", "How well a ticket's path fits its designed stream: 1 − alignment cost ÷ (path length + required steps), as in pm4py's alignment fitness. 1 means it follows the design exactly."),
    ("Skipped / extra / repeated / out of order", "Deviations in the alignment: a designed step not taken, a step the design does not have, a step done again, a step done elsewhere than designed."),
    ("Self-loop", "An activity directly repeated (A → A)."),
    ("Repetition", "Work done again after other work or a hand-off (A → B → A); resuming after a wait is not counted."),
    ("Backflow", "A return to an earlier value-chain step of the designed order."),
    ("Reopen", "A ticket resolved or closed, then active again."),
    ("Bounce (ping-pong)", "X → Y → X in a ticket's sequence of groups, consecutive repeats removed; X → Y → X → Y is two bounces."),
    ("Moved bottleneck", "A group whose own time per visit is below the groups' median while the receiving groups wait or rework significantly longer after its hand-offs than after other groups' hand-offs to the same group and ticket type (Benjamini–Hochberg adjusted p below 0.05)."),
]


def render(report: Any, found: Any, *, title: str | None = None, answers: Any = None, tz: str = "UTC") -> str:
    """Return the whole report as one HTML document (``answers``: the findings, computed here unless given).

    Dates and times show in the zone ``tz`` (--display-timezone), named once in the header.
    """
    script = _static("report.js")
    digest = base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode("ascii")
    context = build_context(report, found, title=title, answers=answers, tz=tz)
    context["css"] = Markup(_static("report.css"))
    context["script"] = Markup(script)
    context["csp"] = (
        "default-src 'none'; img-src data:; style-src 'unsafe-inline'; "
        f"script-src 'sha256-{digest}'; base-uri 'none'; form-action 'none'"
    )
    return _template().render(**context)


def warm() -> None:
    """Import the layout engine and compile the template, ahead of :func:`render`.

    The CLI runs this on a thread while the export loads or the worker
    processes analyse it, when this process would only wait.
    """
    from reports.layout import import_igraph

    import_igraph()
    _template()


@functools.cache
def _template() -> Any:
    from jinja2 import Environment, PackageLoader, select_autoescape

    env = Environment(loader=PackageLoader("reports", "templates"), autoescape=select_autoescape(default=True),
                      trim_blocks=True, lstrip_blocks=True)
    env.filters["human"] = human
    env.filters["pct"] = pct
    env.filters["hours"] = hours
    env.filters["num"] = lambda v: "–" if v is None or (isinstance(v, float) and np.isnan(v)) else f"{int(v):,}"
    return env.get_template("report.html.j2")


def build_context(report: Any, found: Any, *, title: str | None = None, answers: Any = None, tz: str = "UTC") -> dict[str, Any]:
    """The template's context. ``answers``: the findings, or a future of them (:func:`findings_aside`) that is waited
    for last, or None to compute them here."""
    if answers is None:
        answers = find(found)
    min_support = answers.min_support
    tickets = found.tickets
    summary = found.summary
    comparison = found.comparison
    stream_of_case = tickets["designed_stream"].to_numpy()
    streams = [_stream_context(found, comparison, r, stream_of_case) for r in comparison.streams.itertuples(index=False)]
    activity_counts = {str(a): int(n) for a, n in zip(summary.activity_table["activity"], summary.activity_table["events"], strict=True)}
    pmap, hidden = processmap.draw(found.edges, activity_counts, found.start_activities, found.end_activities)
    variants = _variants(found, stream_of_case)
    # Lead time is over delivered tickets, as everywhere: an open ticket's age is no lead time.
    done = tickets["delivered"].to_numpy(dtype=bool)
    lead = tickets["lead_time_s"][done]
    percentiles = []
    for name in [s["name"] for s in streams]:
        v = lead[stream_of_case[done] == name]
        if len(v):
            q = np.quantile(v, [0.1, 0.25, 0.5, 0.75, 0.9])
            percentiles.append({"stream": name, "tickets": len(v), "q": [human(x) for x in q]})
    groups = comparison.groups
    open_only = not timed(found)
    bsteps = comparison.bottleneck_steps.iloc[0:0] if open_only else comparison.bottleneck_steps
    btrans = comparison.bottleneck_transitions.iloc[0:0] if open_only else comparison.bottleneck_transitions
    context = {
        "title": title or f"Value streams of {report.path.rsplit('/', 1)[-1]}",
        "generated_at": pd.Timestamp(datetime.now(UTC)).tz_convert(tz).strftime("%Y-%m-%d %H:%M"),
        "display_tz": tz,
        "report": report,
        "summary": summary,
        "period": f"{day(summary.start, tz)} to {day(summary.end, tz)}",
        "coverage": found.coverage,
        "mapping": found.mapping.description,
        "unmapped": list(found.unmapped.items())[:12],
        "streams": streams,
        "stream_grouping": found.stream_choice.reason,
        **_stream_values(found),
        "process_map": pmap,
        "hidden_edges": hidden,
        "rework": _rework_context(found, comparison, min_support),
        "by_class": comparison.by_class,
        "class_chart": charts.time_by_class({class_name(k, found.has_groups): v for k, v in comparison.by_class.items()}),
        "open_only": open_only,
        "bottleneck_steps": bsteps.to_dict("records"),
        "bottleneck_transitions": btrans.to_dict("records"),
        "step_chart": charts.bottleneck_bars(
            [f"{r.stream}: {r.label}" for r in bsteps.itertuples(index=False)],
            bsteps["total_wait_s"], "waiting at designed steps") if len(bsteps) else None,
        "transition_chart": charts.bottleneck_bars(
            list(btrans["label"]), btrans["total_wait_s"], "waiting between activities") if len(btrans) else None,
        "lead_chart": charts.lead_time_histogram(lead.to_numpy(), pd.Series(stream_of_case[done])),
        "percentiles": percentiles,
        "steps": comparison.steps.to_dict("records") if len(comparison.steps) else [],
        "untimed": _untimed(found),
        "flow": comparison.flow_efficiency,
        "not_measured": [(NOT_MEASURED_NAMES.get(k, k), why) for k, why in comparison.not_measured.items()],
        "flow_na": comparison.not_measured.get("flow_efficiency"),
        "conformance_na": comparison.not_measured.get("conformance"),
        "by_state": comparison.by_state.to_dict("records"),
        "groups": groups.to_dict("records"),
        "group_chart": charts.group_scatter(groups) if len(groups) and (groups["comparable_handoffs"] > 0).any() else None,
        "variants_static": variants[:STATIC_ROWS],
        "variants_total": len(found.variants),
        "variants_json": Markup(_script_json(variants)),
        "explorer_rows": EXPLORER_ROWS,
        "glossary_stages": [(LABELS[s], DESCRIPTIONS[s], STAGE_COLOURS[s]) for s in STAGES],
        "glossary": GLOSSARY,
        "rejections": report.rejections,
        "design_origin": comparison.design.origin,
        "design_warnings": [*found.mapping.warnings, *comparison.design.warnings],  # the mapping's and the design's
    }
    context["answers"] = answers.result() if isinstance(answers, PendingAnswers) else answers
    return context


class PendingAnswers:
    """The findings of :func:`reports.findings.answers`, computed on a thread (:func:`findings_aside`)."""

    def __init__(self, future: Future[Any], min_support: int) -> None:
        self.future = future
        self.min_support = min_support

    def result(self) -> Any:
        return self.future.result()


@contextlib.contextmanager
def findings_aside(found: Any, min_support: int) -> Iterator[PendingAnswers]:
    """Compute the findings on a second thread while the report's context is built here (both spend about
    half their time in numpy and pandas outside the GIL); the findings are the same, and so is the page."""
    with ThreadPoolExecutor(max_workers=1) as side:
        yield PendingAnswers(side.submit(find, found, min_support=min_support), min_support)


STREAM_VALUES = 12


def _stream_values(found: Any) -> dict[str, Any]:
    """The detected ticket types (the stream attribute's values), how many tickets each, and the designed stream they follow."""
    if found.stream_choice.column is None or "designed_stream" not in found.tickets:
        return {"stream_values": [], "stream_values_more": 0}
    pairs = found.tickets.groupby(["stream", "designed_stream"], observed=True, sort=False).size().reset_index(name="tickets")
    pairs = pairs.sort_values(["tickets", "stream"], ascending=[False, True], ignore_index=True)
    rows = [{"value": str(r.stream), "tickets": int(r.tickets), "designed": str(r.designed_stream)} for r in pairs.head(STREAM_VALUES).itertuples(index=False)]
    return {"stream_values": rows, "stream_values_more": max(len(pairs) - STREAM_VALUES, 0)}


def _stream_context(found: Any, comparison: Any, row: Any, stream_of_case: np.ndarray) -> dict[str, Any]:
    design = next(s for s in comparison.design.streams if s.name == row.name)
    steps = comparison.steps[comparison.steps["stream"] == row.name]
    waited = comparison.bottleneck_steps
    if len(steps) and len(waited):
        # The map's wait before each step: the median among tickets that waited, and how many did.
        waited = waited.loc[waited["stream"] == row.name, ["step", "tickets_waited", "median_wait_s"]]
        steps = steps.merge(waited.rename(columns={"median_wait_s": "waited_median_s"}), on="step", how="left")
    mine = stream_of_case == row.name
    tickets = found.tickets.loc[mine, ["path", "lead_time_s", "work_s", "open", "delivered"]]  # not a copy of every ticket column
    arcs = vsmap.rework_arcs(tickets["path"], [s.stage for s in design.steps])
    done = tickets["delivered"].to_numpy(dtype=bool)
    lead = tickets["lead_time_s"][done]  # delivered tickets: the headline's lead time and flow efficiency
    work = tickets["work_s"][done]
    figures = vsmap.StreamFigures(
        row.name, int(row.tickets),
        float(lead.median()) if len(lead) else None,
        float(work.median()) if len(work) else None,
        float(work.sum() / lead.sum()) if lead.sum() > 0 and "flow_efficiency" not in comparison.not_measured else None,
    )
    by_label = {v: k for k, v in LABELS.items()}
    symbols = step_symbols(design)
    discovered = []
    # Open tickets are judged on the steps so far, as conformance judges them: a path of open tickets is its own row.
    paths = tickets.groupby(["path", "open"], observed=True, sort=False).size().reset_index(name="n")
    paths = paths.sort_values(["n", "open", "path"], ascending=[False, True, True], ignore_index=True).head(5)
    for path, still_open, n in paths.itertuples(index=False, name=None):
        stages = [by_label[p] for p in str(path).split(" → ") if p in by_label]
        alignment = align(stages, design, symbols, complete=not still_open)
        moves = []
        for kind, symbol in alignment.moves:
            stage = symbol.partition("|")[0]
            moves.append({"kind": kind, "label": LABELS.get(stage, stage), "colour": STAGE_COLOURS.get(stage, "#6b7280")})
        discovered.append({"tickets": int(n), "share": n / max(len(tickets), 1), "moves": moves, "fitness": alignment.fitness,
                           "open": bool(still_open)})
    devs = comparison.deviations
    return {
        "name": row.name,
        "tickets": int(row.tickets),
        "share": row.tickets / max(len(found.tickets), 1),
        "fitness": None if pd.isna(row.fitness) else row.fitness,
        "conforming": None if pd.isna(row.conforming_share) else row.conforming_share,
        "applies_to": "tickets no other stream takes" if design.is_default else ", ".join(m.describe() for m in design.applies_to),
        "map": vsmap.draw(steps, arcs, figures, timed=not _untimed(found)) if len(steps) else None,
        "designed": [{"label": s.label, "optional": s.optional, "repeat": s.repeat, "colour": STAGE_COLOURS.get(s.stage, "#6b7280"),
                      "practices": ", ".join(s.practices), "target": human(s.target_s) if s.target_s else None} for s in design.steps],
        "discovered": discovered,
        "deviations": devs[devs["stream"] == row.name].to_dict("records"),
        "figures": figures,
    }


def _untimed(found: Any) -> bool:
    """No ticket has any work time (a list export: opened and resolved only), so step times and targets cannot be judged."""
    return len(found.tickets) > 0 and not (found.tickets["work_s"] > 0).any()


def _handoffs(handoffs: pd.DataFrame, min_support: int) -> list[dict[str, Any]]:
    """Hand-off rows with their share's interval and the adjusted p-value of the excess test, as text."""
    rows = handoff_tests(handoffs, min_support).to_dict("records")
    for h in rows:
        h["ci"] = ci_text(h["followed_by_rework"], h["handoffs"]) if h["handoffs"] else "–"
        p = h["p_adjusted"]
        h["p"] = "–" if p != p else ("<0.001" if p < 0.001 else f"{p:.3f}")
    return rows


def _rework_context(found: Any, comparison: Any, min_support: int) -> dict[str, Any]:
    per = found.tickets
    n = max(len(per), 1)
    hours_known = timed(found)
    kinds = []
    for name, label in (("self_loops", "Self-loops"), ("repetitions", "Repetitions"), ("backflows", "Backflows"), ("reopens", "Reopens")):
        hit = per.loc[per[name] > 0, ["case_id", f"{name}_s"]]  # not a copy of every ticket column
        kinds.append({"label": label, "count": int(per[name].sum()), "tickets": len(hit), "share": len(hit) / n,
                      "time_s": float(per[f"{name}_s"].sum()) if hours_known else None, "examples": worst_tickets(hit, f"{name}_s")})
    bounced = per["bounces"] > 0
    return {
        "kinds": kinds,
        "with_rework": int(per["any_rework"].sum()),
        "share": float(per["any_rework"].sum() / n),
        "bounced": int(bounced.sum()),
        "bounce_share": float(bounced.sum() / n),
        "bounces": int(per["bounces"].sum()),
        "reassignments": int(per["reassignments"].sum()),
        "has_groups": found.has_groups,
        "pairs": _hours_or_none(comparison.pairs, hours_known),
        "handoffs": _handoffs(comparison.handoffs, min_support),
        "activities": _hours_or_none(comparison.repeated, hours_known),
        "loops": comparison.loops.to_dict("records"),
    }


def _hours_or_none(table: pd.DataFrame, hours_known: bool) -> list[dict[str, Any]]:
    """A table's rows, their ``time_s`` blanked when no ticket is delivered (an age, not a duration)."""
    rows = table.to_dict("records")
    return rows if hours_known else [r | {"time_s": None} for r in rows]


def _variants(found: Any, stream_of_case: np.ndarray) -> list[dict[str, Any]]:
    table = found.variants.head(EXPLORER_ROWS)
    tickets = found.tickets
    lead = tickets["lead_time_s"].where(tickets["delivered"].to_numpy(dtype=bool)).to_numpy()  # open tickets' ages are no lead time
    frame = pd.DataFrame({"v": tickets["variant"].to_numpy(), "lead": lead, "stream": stream_of_case})
    frame = frame[frame["v"] <= len(table)]
    med = frame.groupby("v")["lead"].median().dropna()
    # Each variant's main stream: the most tickets, ties by name.
    counts = frame.groupby(["v", "stream"], sort=False).size().reset_index(name="n")
    counts = counts.sort_values(["v", "n", "stream"], ascending=[True, False, True]).drop_duplicates("v")
    main = pd.Series(counts["stream"].to_numpy(), index=counts["v"].to_numpy())
    total = max(len(tickets), 1)
    out = []
    for r in table.itertuples(index=False):
        out.append({"rank": int(r.variant), "tickets": int(r.cases), "share": round(r.cases / total, 6),
                    "steps": int(r.length), "lead": human(med.get(r.variant)), "lead_s": float(med.get(r.variant, -1.0)),
                    "stream": str(main.get(r.variant, "")), "path": " → ".join(r.path)})
    return out


def _script_json(data: object) -> str:
    """JSON safe inside a <script> element: no '<', '>' or '&' survive as such."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026").replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


def _static(name: str) -> str:
    return resources.files("reports").joinpath("static", name).read_text(encoding="utf-8")
