"""The ``vsm`` command line: thin commands over connectors, miner and reports.

This is the only module that knows all three packages, and the only place
where errors become messages and exit codes. Heavy imports (pandas, pm4py)
happen inside the commands, so that ``vsm --help`` stays fast.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import os
import sys
import threading
import warnings
from collections.abc import Callable
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])


def counted(n: int, what: str, plural: str | None = None) -> str:
    """'1 stream', '3 streams' (connectors.report.counted, imported when used so that --help stays fast)."""
    from connectors.report import counted as count

    return count(n, what, plural)

EXIT_USAGE = 2
EXIT_THRESHOLD = 1

SOURCE_CHOICES = [
    "auto", "csv", "xes",
    "servicenow", "servicenow-audit", "servicenow-sys-audit", "servicenow-metric",
    "jira", "jira-changelog",
    "zendesk-events", "zendesk-audits", "zendesk-history",
]


def load_options(func: F) -> F:
    """Add the options that say how to read an export."""
    options = [
        click.option("--source", default="auto", show_default=True, metavar="NAME",
                     help=f"Kind of export: {', '.join(SOURCE_CHOICES)}."),
        click.option("--case-col", metavar="COL", help="Column holding the case (ticket) id."),
        click.option("--activity-col", metavar="COL", help="Column holding the activity or state; join columns with '+'."),
        click.option("--timestamp-col", metavar="COL", help="Column holding the event time (or interval start)."),
        click.option("--end-timestamp-col", metavar="COL", help="Column holding the interval end, if any."),
        click.option("--resource-col", metavar="COL", help="Column holding the person or agent."),
        click.option("--group-col", metavar="COL", help="Column holding the assignment group or team."),
        click.option("--delimiter", metavar="CHAR", help="Field delimiter of a text export (default: detected)."),
        click.option("--sheet", metavar="NAME", help="Sheet of an Excel workbook (default: the largest)."),
        click.option("--dayfirst", is_flag=True, default=None, help="Read 01/02/2024 as 1 February."),
        click.option("--monthfirst", is_flag=True, default=None, help="Read 01/02/2024 as 2 January."),
        click.option("--date-format", metavar="FMT", help="strptime format of the timestamps, e.g. '%d.%m.%Y %H:%M'."),
        click.option("--timezone", default="UTC", show_default=True, metavar="TZ",
                     help="Time zone of timestamps that carry none, e.g. Europe/Berlin."),
        click.option("--lifecycle", type=click.Choice(["auto", "pair", "events"]), default="auto", show_default=True,
                     help="XES lifecycle: join start/complete into intervals (pair) or keep every event (events)."),
        click.option("--keep-duplicates", is_flag=True, default=None, help="Keep rows that exactly repeat an earlier row."),
        click.option("--names", multiple=True, metavar="FILE",
                     help="Names for a Zendesk export's group and user ids: CSV with kind,id,name (kind: group or user), "
                          "or JSON {groups: [{id, name}], users: [...]} (repeatable)."),
        # Filters (miner/filters.py): whole tickets only, applied where the log is loaded.
        click.option("--from", "date_from", metavar="DATE", help="Keep tickets whose first event (see --window-by) is on or after DATE."),
        click.option("--to", "date_to", metavar="DATE", help="Keep tickets whose first event is before DATE (a bare date: through that day)."),
        click.option("--window-by", type=click.Choice(["opened", "resolved"]), default="opened", show_default=True,
                     help="Anchor of --from/--to: a ticket's first event, or its last (its resolution)."),
        click.option("--where", "where", multiple=True, metavar="EXPR",
                     help="Keep tickets with an event where attr=value, attr=a,b, attr=glob:PAT or attr=re:PAT (repeatable)."),
    ]

    @functools.wraps(func)
    def reading_ahead(*args: Any, **kwargs: Any) -> Any:
        if getattr(func, "reports_findings", False):
            _statistics_ahead()  # first: the helper process forks before any thread starts
        exports = kwargs.get("exports") or [kwargs.get("export")]
        if exports[0]:
            _read_ahead(exports[0], kwargs)
        with _collector_paused():
            return func(*args, **kwargs)

    for option in reversed(options):
        reading_ahead = option(reading_ahead)
    return reading_ahead  # type: ignore[return-value]


def engine_options(func: F) -> F:
    """Add the options that choose where the analysis runs."""
    options = [
        click.option("--engine", type=click.Choice(["embedded", "spark"]), default="embedded", show_default=True,
                     help="Run here, or on Spark (pip install '.[spark]') for logs beyond one machine."),
        click.option("--workers", type=click.IntRange(1, 64), metavar="N",
                     help="Processes that read and analyse partitions of cases side by side (default: every core "
                          "for an export of 256 MB or more; 1: one process)."),
        click.option("--spark-master", metavar="URL", help="Spark master, e.g. spark://host:7077; implies --engine spark (default: local mode on every core)."),
        click.option("--spark-partitions", type=click.IntRange(1, 100_000), metavar="N", help="Partitions of cases (default: twice the cores)."),
        click.option("--as-of", metavar="DATE", help="The export's end: open tickets wait in their current state until then "
                     "(default: the latest time in the export)."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


LOAD_NAMES = ["source", "case_col", "activity_col", "timestamp_col", "end_timestamp_col", "resource_col",
              "group_col", "delimiter", "sheet", "dayfirst", "monthfirst", "date_format", "timezone",
              "lifecycle", "keep_duplicates", "names"]


def _load_options(kwargs: dict[str, Any]) -> tuple[str, Any]:
    """The source and the LoadOptions given in ``kwargs`` (left in it)."""
    import connectors

    given = {n: kwargs[n] for n in LOAD_NAMES if n in kwargs}
    source = given.pop("source", "auto")
    return source, connectors.LoadOptions.from_kwargs(**given)


def _where(export: str, kwargs: dict[str, Any]) -> str:
    """Where the analysis will run, for the progress line: '' for this process alone."""
    if kwargs.get("engine") == "spark" or kwargs.get("spark_master"):
        return " on Spark"
    from miner.workers import workers_for

    n = workers_for(export, kwargs.get("workers"))
    return f" in {n} processes" if n > 1 else ""


# From this size, one process loading an export imports the renderer's libraries on a thread meanwhile.
WARM_BYTES = 32 << 20


def _size(path: str) -> int:
    try:
        return os.stat(path).st_size
    except OSError:
        return 0


def _warm_renderer() -> None:
    try:
        from reports.html import warm

        warm()
    except Exception:  # noqa: BLE001 - rendering itself reports whatever is wrong
        pass


def _analyse(export: str, kwargs: dict[str, Any], *, mapping_path: str | None, stream_by: str | None, design: Any) -> tuple[Any, Any]:
    """Load and analyse ``export`` on the engine chosen in ``kwargs``; return (results, load report)."""
    engine = kwargs.pop("engine", "embedded")
    workers, master, partitions = kwargs.pop("workers", None), kwargs.pop("spark_master", None), kwargs.pop("spark_partitions", None)
    as_of = kwargs.pop("as_of", None)
    results = report = None
    filters = _filters(kwargs)
    if master:
        engine = "spark"  # a Spark master says where to run
    if engine == "spark":
        from miner.spark import run_spark

        source, options = _load_options(kwargs)
        results, report = run_spark(export, source=source, options=options, mapping=mapping_path, design=design,
                                    stream_by=stream_by, master=master, partitions=partitions, as_of=as_of,
                                    filters=filters)
    else:
        from miner.parallel import NotSplittable, run_parallel
        from miner.workers import workers_for

        n = workers_for(export, workers)
        if n > 1:
            source, options = _load_options(kwargs)
            # NotSplittable: read it whole, in this process: the same results, or the right error message.
            with contextlib.suppress(NotSplittable):
                results, report = run_parallel(export, source=source, options=options, mapping=mapping_path, design=design,
                                               stream_by=stream_by, workers=n, as_of=as_of, filters=filters)
    if results is None:
        from miner.discovery import make_plan, run

        log, report = _load(export, kwargs)
        return run(log, make_plan(log, mapping_path, stream_by=stream_by, source=report.source, design=design, as_of=as_of)), report
    for warning in report.warnings:
        _warn(warning)
    return results, report


def display_tz_option(func: F) -> F:
    """Add --display-timezone: the zone of the times printed and written (the terminal, HTML and CSV; JSON stays UTC)."""
    def check(ctx: click.Context, param: click.Parameter, value: str) -> str:
        from reports.units import display_zone

        return display_zone(value)

    return click.option("--display-timezone", "display_tz", default="UTC", show_default=True, metavar="TZ", callback=check,
                        is_eager=True,
                        help="Show times in this zone (e.g. Europe/Berlin) in the terminal, the HTML and the CSV files; "
                             "JSON stays UTC.")(func)


def json_option(func: F) -> F:
    return click.option("--json", "json_path", metavar="PATH|-", help=f"Also write the results as JSON. {OUTPUT_RULE}")(func)


def _read_ahead(export: str, kwargs: dict[str, Any]) -> None:
    """Start reading ``export`` on a thread when this process will read it whole, while it imports the rest."""
    if not os.path.isfile(export) or not _size(export) or _where(export, kwargs):
        return  # a folder (vsm pull's), a pipe or a device is read once, by the loader; Spark and workers read their own
    from connectors.textio import read_ahead

    read_ahead(export, kwargs.get("delimiter"))


@contextlib.contextmanager
def _collector_paused() -> Any:
    """Pause Python's cycle collector while a command loads and analyses an export.

    The tables of an analysis are arrays and frames, not reference cycles, but the
    collector walks every container the command creates, holding the interpreter
    while the analysis threads wait: about 0.1 s of CPU in a million-event report,
    a 2-3% shorter wall time without it (benchmarks/results.md, stop 25). Memory is
    unchanged. The collector runs again after the command: tests call commands in
    one process.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def reports_findings(func: F) -> F:
    """Mark a command whose findings need scipy.stats, imported ahead as it begins (:func:`_statistics_ahead`)."""
    func.reports_findings = True  # type: ignore[attr-defined]
    return func


_OWN_PROCESS = False  # set by main(): this process runs one command (not click's test runner inside another program)


def _statistics_ahead() -> None:
    """Have scipy.stats imported while the command imports and loads: in the helper process
    (miner.significance), which runs the findings' tests under its own interpreter lock, else on a thread."""
    from miner.significance import start_helper

    if not (_OWN_PROCESS and start_helper()):
        _warm_statistics()


@functools.cache
def _warm_statistics() -> None:
    """Import scipy.stats (about half a second) on a thread, once, from the start of a command that needs it
    (the findings, the groups' tests, vsm diff), while this one imports and loads the export."""
    def run() -> None:
        from miner.significance import import_scipy_stats

        with contextlib.suppress(Exception):
            import_scipy_stats()

    threading.Thread(target=run, daemon=True).start()


def _load(export: str, kwargs: dict[str, Any]) -> tuple[Any, Any]:
    """Load ``export`` whole with the load options in ``kwargs``."""
    import connectors

    filters = _filters(kwargs)  # a bad date or pattern fails before the export is read
    source, options = _load_options(kwargs)
    try:
        log, report = connectors.load(export, source=source, _options=options)
    finally:
        from connectors.textio import read_ahead_done

        read_ahead_done()  # what no reader took (another export's, a JSON file's sniff)
    for warning in report.warnings:
        _warn(warning)
    if filters:
        log, notes = filters.apply(log)
        report.notes.extend(n.text() for n in notes)
        report.flags.extend(filters.flags())
    return log, report


def _filters(kwargs: dict[str, Any]) -> Any:
    """The ticket filters given in ``kwargs`` (miner.filters.Filters, checked), applied by every engine."""
    from miner.filters import Filters

    filters = Filters(kwargs.get("date_from"), kwargs.get("date_to"), kwargs.get("window_by") or "opened",
                      tuple(kwargs.get("where") or ()))
    filters.check()
    return filters


def _check_mapping(path: str | None) -> None:
    """Read a mapping file before the export, so that a mistake in it fails at once, not after a long load."""
    if path:
        from pathlib import Path

        from miner.mapping import parse_mapping_file

        parse_mapping_file(Path(path))


def _warn(message: str) -> None:
    """Print a warning on stderr as one line, whatever the data it quotes."""
    from connectors.errors import one_line

    if Progress.open is not None:  # a progress line waits for its time: end it, so the warning has its own line
        click.echo("", err=True)
        Progress.open.interrupted = True
        Progress.open = None
    click.echo(f"Warning: {one_line(message)}", err=True)


def _write_json(doc: Any, path: str | None, export: str) -> None:
    from reports.jsonout import dumps

    if path:
        _write_output(dumps(doc), path, export)


def _write_output(text: str, path: str, export: str) -> None:
    """Write ``text`` to the file ``path``, or to stdout when ``path`` is '-'."""
    from reports.output import write_text

    if path == "-":
        click.echo(text, nl=False)
    else:
        write_text(path, text, protect=(export,))


OUTPUT_RULE = "'-' is stdout; the folder it goes into must exist."


def _check_outputs(export: str, files: dict[str, str | None], folders: dict[str, str | None] | None = None, *,
                   csv_names: list[str] | None = None) -> None:
    """Refuse, before any work, an output vsm could not write, or would write over the export or another output.

    One rule for every output (OUTPUT_RULE): '-' is stdout, and the folder a
    file or a --csv-dir goes into must exist; vsm creates the output itself, never its parents.
    """
    from pathlib import Path

    from connectors.errors import BadOption
    from reports.output import check_not_input, check_writable

    seen: dict[str, str] = {}

    def claim(option: str, target: str) -> None:
        key = "-" if target == "-" else os.path.realpath(target)
        if key in seen:
            where = "stdout" if target == "-" else target
            raise BadOption(f"{option} and {seen[key]} both write {where}; give each output its own path")
        seen[key] = option

    for option, target in files.items():
        if not target:
            continue
        if target != "-":
            check_not_input(Path(target), (export,))
            check_writable(Path(target))
        claim(option, target)
    for option, folder in (folders or {}).items():
        if not folder:
            continue
        if folder == "-":
            raise BadOption(f"{option} needs a folder to write files into, not '-'")
        check_writable(Path(folder), folder=True)
        for name in (csv_names if csv_names is not None and option == "--csv-dir" else _folder_files(option)):
            path = Path(folder) / name
            check_not_input(path, (export,))
            if path.parent.is_dir():
                check_writable(path)
            claim(f"{option} ({name})", str(path))


def _folder_files(option: str) -> list[str]:
    """The files an output folder option may write, as far as they are known before the analysis."""
    if option != "--csv-dir":
        return []
    from reports.csvout import TABLE_NAMES

    return [f"{name}.csv" for name in TABLE_NAMES]


class VsmGroup(click.Group):
    """A click group that turns vsm's errors into one line and an exit code.

    Doing it here, not only in :func:`main`, lets click's test runner see
    exactly what a user sees.
    """

    def invoke(self, ctx: click.Context) -> Any:
        from connectors.errors import VsmError

        try:
            return super().invoke(ctx)
        except VsmError as exc:
            click.echo(f"Error: {exc}", err=True)
            ctx.exit(EXIT_USAGE)
        except MemoryError:
            click.echo(
                "Error: out of memory while processing the export; try a smaller export, "
                "or run with --engine spark to spread the work",
                err=True,
            )
            ctx.exit(EXIT_USAGE)
        finally:
            if "connectors.textio" in sys.modules:  # a command that stopped before its load drops what was read ahead
                sys.modules["connectors.textio"].read_ahead_done()


@click.group(cls=VsmGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="vsm", prog_name="vsm")
def cli() -> None:
    """Value-stream mapping for ticket logs.

    Load a ServiceNow, Jira, Zendesk or generic export, map its events to the
    ITIL value chain, and find where work waits, which hand-offs cause rework
    and which steps add no value.

    Example: vsm report sample_logs/servicenow_audit.csv -o report.html
    """


@cli.command()
@click.argument("export", type=click.Path(dir_okay=False))
@load_options
@json_option
@display_tz_option
def inspect(export: str, json_path: str | None, display_tz: str, **kwargs: Any) -> None:
    """Show how an export is read: source, columns, rows, activities.

    Example: vsm inspect sample_logs/jira_changelog.json --json -
    """
    from miner.summary import summarize
    from reports.jsonout import inspect_document
    from reports.terminal import load_report_text

    _check_outputs(export, {"--json": json_path})
    log, report = _load(export, kwargs)
    summary = summarize(log)
    if json_path != "-":
        click.echo(load_report_text(report, summary, tz=display_tz))
    if json_path:
        _write_json(inspect_document(report, summary), json_path, export)


def min_support_option(func: F) -> F:
    return click.option(
        "--min-support", default=20, show_default=True, type=click.IntRange(1, None), metavar="N",
        help="Findings resting on fewer tickets (hand-offs, for a pair of groups) are left out of the summary.",
    )(func)


def csv_dir_option(func: F) -> F:
    return click.option("--csv-dir", metavar="DIR", type=click.Path(file_okay=False),
                        help="Also write the result tables as CSV files into DIR (created; the folder it is in must exist).")(func)


def mapping_option(func: F) -> F:
    return click.option(
        "--mapping", "mapping_path", type=click.Path(dir_okay=False), metavar="FILE",
        help="Value-chain mapping (TOML); default: built-in rules for the source.",
    )(func)


@cli.command()
@click.argument("export", type=click.Path(dir_okay=False))
@load_options
@mapping_option
@click.option("--stream-by", metavar="COL", help="Attribute that names the value stream (or 'path'); default: detected.")
@click.option("--bpmn", "bpmn_dir", type=click.Path(file_okay=False), metavar="DIR",
              help="Write a BPMN model (pm4py inductive miner) per main stream into DIR (created; the folder it is in must exist).")
@json_option
@click.option("--top", default=10, show_default=True, type=click.IntRange(1, 1000), help="Rows shown per table.")
@display_tz_option
@engine_options
def mine(export: str, mapping_path: str | None, stream_by: str | None, bpmn_dir: str | None,
         json_path: str | None, top: int, display_tz: str, **kwargs: Any) -> None:
    """Discover the value streams an export actually followed.

    Prints the streams, top variants, top directly-follows edges, rework and
    mapping coverage; --json writes the same in vsm's versioned schema.

    Example: vsm mine sample_logs/service_desk_events.csv --json mined.json
    """
    from reports.jsonout import mine_document
    from reports.terminal import mine_text

    _check_outputs(export, {"--json": json_path}, {"--bpmn": bpmn_dir})
    _check_mapping(mapping_path)
    found, report = _analyse(export, kwargs, mapping_path=mapping_path, stream_by=stream_by, design=False)
    for warning in found.mapping.warnings:
        _warn(warning)
    models = None
    if bpmn_dir:
        from miner.models import stream_models
        from reports.bpmn import write_models

        built = stream_models(found)
        paths = write_models(built, bpmn_dir)
        models = [{"stream": m.stream, "tickets": m.tickets, "process_tree": m.model.text, "bpmn": str(p)}
                  for m, p in zip(built, paths, strict=True)]
        click.echo(f"Wrote {counted(len(paths), 'BPMN model')} to {bpmn_dir}", err=True)
    if json_path != "-":
        click.echo(mine_text(report, found, top=top, tz=display_tz))
    if json_path:
        _write_json(mine_document(report, found, models=models), json_path, export)


@cli.command()
@click.argument("export", type=click.Path(dir_okay=False))
@load_options
@mapping_option
@click.option("--design", "design_path", type=click.Path(dir_okay=False), metavar="FILE",
              help="Designed value streams (TOML); default: the built-in ITIL streams.")
@click.option("--stream-by", metavar="COL", help="Attribute that names the ticket type (or 'path'); default: detected.")
@json_option
@click.option("--fail-on", "fail_on", metavar="EXPR",
              help="Exit 1 when a threshold is breached, e.g. 'fitness<0.8,rework_rate>0.2'; of one designed stream: "
                   "'Incident.fitness<0.9' (the stream is all before the metric's dot; quote one with a comma: '\"A, B\".fitness<0.9').")
@click.option("--top", default=5, show_default=True, type=click.IntRange(1, 1000), help="Rows shown per table.")
@min_support_option
@csv_dir_option
@display_tz_option
@engine_options
@reports_findings
def compare(export: str, mapping_path: str | None, design_path: str | None, stream_by: str | None,
            json_path: str | None, fail_on: str | None, top: int, min_support: int, csv_dir: str | None, display_tz: str,
            **kwargs: Any) -> None:
    """Compare the actual flow with the designed value streams.

    Per stream: fitness and the top deviations with their cost in lead time;
    then rework, ping-pong between groups, where work waits, and groups that
    look fast by pushing delay downstream.

    Example: vsm compare sample_logs/servicenow_audit.csv --fail-on 'fitness<0.8,rework_rate>0.2'
    """
    from miner.design import load_design
    from miner.thresholds import parse_fail_on
    from reports.findings import answers
    from reports.jsonout import compare_document
    from reports.terminal import compare_text

    _check_outputs(export, {"--json": json_path}, {"--csv-dir": csv_dir})
    _check_mapping(mapping_path)
    design = load_design(design_path)
    thresholds = parse_fail_on(fail_on, [s.name for s in design.streams]) if fail_on else []
    found, report = _analyse(export, kwargs, mapping_path=mapping_path, stream_by=stream_by, design=design)
    for warning in [*found.mapping.warnings, *design.warnings]:
        _warn(warning)
    found_answers = answers(found, min_support=min_support)
    if json_path != "-":
        click.echo(compare_text(report, found, top=top, min_support=min_support, answers=found_answers, tz=display_tz))
    if json_path:
        _write_json(compare_document(report, found, min_support=min_support, answers=found_answers), json_path, export)
    if csv_dir:
        from reports.csvout import result_tables, write_tables

        write_tables(csv_dir, result_tables(found, report, display_tz), protect=(export,))
    breached = _breaches(thresholds, found)
    if breached:
        click.echo("Threshold breached: " + "; ".join(breached), err=True)
        sys.exit(EXIT_THRESHOLD)


@cli.command()
@click.argument("export", type=click.Path(dir_okay=False))
@load_options
@mapping_option
@click.option("--stream-by", metavar="COL", help="Attribute that names the ticket type (or 'path'); default: detected.")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False), help=f"Design file to write. {OUTPUT_RULE}")
def design(export: str, mapping_path: str | None, stream_by: str | None, output: str, **kwargs: Any) -> None:
    """Bootstrap a designed-streams file from the paths tickets actually follow.

    One stream per ticket type (the most common value-chain path of its
    tickets, with today's median time per step as target), for you to edit.

    Example: vsm design sample_logs/service_desk_events.csv -o streams.toml
    """
    import miner
    from miner.design import bootstrap_design

    _check_outputs(export, {"-o": output})
    _check_mapping(mapping_path)
    log, report = _load(export, kwargs)
    found = miner.discover(log, mapping_path, stream_by=stream_by, source=report.source)
    if found.coverage < 0.5:
        _warn(f"only {found.coverage:.1%} of events are mapped to the value chain, so the streams written rest on "
              f"{'no events' if found.coverage == 0 else 'a few of them'}; write a mapping first (vsm mapping init) and pass --mapping")
    text, n = bootstrap_design(found, export)
    _write_output(text, output, export)
    file = "FILE" if output == "-" else output
    click.echo(f"Wrote {_shown(output)}: {counted(n, 'stream')}; edit them into the flow you intend, then run vsm compare --design {file}", err=True)


def _breaches(thresholds: list[Any], found: Any) -> list[str]:
    """The --fail-on thresholds breached, by the log's headline or a designed stream's."""
    from functools import partial

    from miner.thresholds import breaches, stream_figures

    figures = partial(stream_figures, found.tickets, found.comparison)
    for name in dict.fromkeys(t.stream for t in thresholds if t.stream is not None):
        if not figures(name):
            _warn(f"--fail-on: designed stream {name!r} has no tickets, so its thresholds are not tested")
    return breaches(thresholds, found.comparison.headline, figures)


def _shown(path: str) -> str:
    """How a message names an output: its path, or 'stdout' for '-'."""
    return "stdout" if path == "-" else path


class Progress:
    """Step-by-step progress on stderr: what is running and how long it took.

    A warning printed while a step runs ends the step's line first (see
    :func:`_warn`); the step then writes its line again with its time.
    """

    open: Progress | None = None  # the progress whose line is waiting for its time

    def __init__(self, quiet: bool, steps: int) -> None:
        self.quiet = quiet
        self.steps = steps
        self.done = 0
        self.interrupted = False

    def __call__(self, label: str) -> Any:
        import contextlib
        import time

        @contextlib.contextmanager
        def step() -> Any:
            self.done += 1
            start = time.perf_counter()
            head = f"[{self.done}/{self.steps}] {label} …"
            if not self.quiet:
                click.echo(head, err=True, nl=False)
                self.interrupted = False
                Progress.open = self
            try:
                yield
            except BaseException:
                if not self.quiet:
                    Progress.open = None
                    click.echo(f"{head} stopped" if self.interrupted else " stopped", err=True)  # the error gets its own line
                raise
            if not self.quiet:
                Progress.open = None
                took = f" {time.perf_counter() - start:.1f} s"
                click.echo(head + took if self.interrupted else took, err=True)

        return step()


@cli.command()
@click.argument("export", type=click.Path(dir_okay=False))
@load_options
@mapping_option
@click.option("--design", "design_path", type=click.Path(dir_okay=False), metavar="FILE",
              help="Designed value streams (TOML); default: the built-in ITIL streams.")
@click.option("--stream-by", metavar="COL", help="Attribute that names the ticket type (or 'path'); default: detected.")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False), help=f"HTML file to write. {OUTPUT_RULE}")
@json_option
@csv_dir_option
@click.option("--fail-on", "fail_on", metavar="EXPR",
              help="Exit 1 after writing the report when a threshold is breached, e.g. 'fitness<0.8,rework_rate>0.2' "
                   "or 'Incident.fitness<0.9' (as for vsm compare).")
@click.option("--title", metavar="TEXT", help="Title of the report (default: from the file name).")
@min_support_option
@click.option("--quiet", is_flag=True, help="No progress on stderr.")
@display_tz_option
@engine_options
@reports_findings
def report(export: str, mapping_path: str | None, design_path: str | None, stream_by: str | None, output: str,
           json_path: str | None, csv_dir: str | None, fail_on: str | None, title: str | None, min_support: int, quiet: bool,
           display_tz: str, **kwargs: Any) -> None:
    """Write the value-stream report: one offline HTML file.

    It answers where work waits, which hand-offs cause rework and which steps
    add no value, with a value-stream map per designed stream, the process
    map, rework, waits, groups and a variants explorer.

    Example: vsm report sample_logs/servicenow_audit.csv -o report.html
    """
    from miner.design import load_design
    from miner.thresholds import parse_fail_on

    _check_outputs(export, {"-o": output, "--json": json_path}, {"--csv-dir": csv_dir})
    _check_mapping(mapping_path)
    design = load_design(design_path)
    thresholds = parse_fail_on(fail_on, [s.name for s in design.streams]) if fail_on else []
    where = _where(export, kwargs)
    progress = Progress(quiet, 2 if where else 3)
    # Meanwhile, import what rendering needs (about a second): while this
    # process waits for the workers (or Spark), or while Arrow reads a large
    # export on its own threads.
    warming = threading.Thread(target=_warm_renderer, daemon=True)
    if where or _size(export) >= WARM_BYTES:
        warming.start()
    if where:
        with progress(f"Loading and analysing {export}{where}"):
            found, report_ = _analyse(export, kwargs, mapping_path=mapping_path, stream_by=stream_by, design=design)
    else:
        from miner.discovery import make_plan, run

        with progress(f"Loading {export}"):
            log, report_ = _load(export, kwargs)
        with progress(f"Mining and comparing {len(log):,} events"):
            found = run(log, make_plan(log, mapping_path, stream_by=stream_by, source=report_.source, design=design,
                                       as_of=kwargs.pop("as_of", None)))
    for warning in [*found.mapping.warnings, *design.warnings]:
        _warn(warning)
    with progress("Rendering"):
        from reports.html import render

        if warming.is_alive():
            warming.join()

        from reports.html import findings_aside

        with findings_aside(found, min_support) as pending:
            html = render(report_, found, title=title, answers=pending, tz=display_tz)
            found_answers = pending.result()
        tables: dict[str, Any] = {}
        if csv_dir:
            from reports.csvout import result_tables, write_tables

            tables = result_tables(found, report_, display_tz)
        _write_output(html, output, export)
        if json_path:
            from reports.jsonout import compare_document

            _write_json(compare_document(report_, found, min_support=min_support, answers=found_answers), json_path, export)
        if csv_dir:
            write_tables(csv_dir, tables, protect=(export,))
    if not quiet:
        click.echo(f"Wrote {_shown(output)} ({len(html.encode('utf-8')) / 1e6:.1f} MB)", err=True)
    breached = _breaches(thresholds, found)
    if breached:
        click.echo("Threshold breached: " + "; ".join(breached), err=True)
        sys.exit(EXIT_THRESHOLD)


@cli.group()
def mapping() -> None:
    """Work with value-chain mapping files."""


@mapping.command("init")
@click.argument("export", type=click.Path(dir_okay=False))
@load_options
@mapping_option
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False), help=f"Mapping file to write. {OUTPUT_RULE}")
def mapping_init(export: str, mapping_path: str | None, output: str, **kwargs: Any) -> None:
    """Write a mapping file listing every activity with vsm's guess, for you to edit.

    Example: vsm mapping init sample_logs/servicenow_audit.csv -o mapping.toml
    """
    from miner.cases import case_arrays
    from miner.mapping import apply_labels, apply_mapping, check_user_rules, render_mapping_file, resolve_mapping

    _check_outputs(export, {"-o": output})
    _check_mapping(mapping_path)
    log, report = _load(export, kwargs)
    rules = resolve_mapping(mapping_path, report.source)
    check_user_rules(rules, set(map(str, log["activity"].cat.categories)), [str(c) for c in log.columns])
    log = apply_labels(log, rules)
    classes = apply_mapping(log, case_arrays(log), rules)
    _write_output(render_mapping_file(classes, report.source, export, rules.labels), output, export)
    unmapped = len(classes.unmapped)
    click.echo(
        f"Wrote {_shown(output)}: {counted(len(classes.activities), 'activity', 'activities')}, {classes.coverage:.1%} of events mapped"
        + (f"; {counted(unmapped, 'unmapped activity', 'unmapped activities')} {'is' if unmapped == 1 else 'are'} marked UNMAPPED" if unmapped else ""),
        err=True,
    )


@cli.command()
@click.option("--source", "sample_source", required=True,
              type=click.Choice(["servicenow", "servicenow-audit", "jira", "zendesk", "csv", "multi-team"]),
              help="Which vendor's export shape to write.")
@click.option("--tickets", default=200, show_default=True, type=click.IntRange(1, 50_000_000), help="Number of tickets.")
@click.option("--seed", default=1, show_default=True, type=int, help="Random seed; the same seed gives the same file.")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False),
              help="File to write; its folder must exist. Table shapes (servicenow, servicenow-audit, csv, multi-team) "
                   "write CSV, or Parquet or Excel when the name ends .parquet or .xlsx; jira and zendesk write JSON.")
@click.option("--quiet", is_flag=True, help="Print nothing but errors.")
def sample(sample_source: str, tickets: int, seed: int, output: str, quiet: bool) -> None:
    """Write a realistic synthetic export with known injected behaviour.

    Beside the export it writes OUTPUT.truth.json: the rework loops, reopens,
    ping-pong bounces and waits that were injected, which vsm must find.

    Example: vsm sample --source servicenow-audit --tickets 500 --seed 7 -o incidents.csv
    """
    from connectors.samples import generate

    form = _sample_format(sample_source, output)
    result = generate(sample_source, tickets=tickets, seed=seed, path=output)
    if form != "text":
        _convert_sample(output, form)
    if not quiet:
        click.echo(
            f"Wrote {result.path} ({counted(result.rows, 'row')}, {counted(result.events, 'event')}, {counted(tickets, 'ticket')}) "
            f"and {result.truth_path}",
            err=True,
        )


TABLE_SAMPLES = ("servicenow", "servicenow-audit", "csv", "multi-team")
TABLE_SUFFIXES = {".csv": "text", ".tsv": "text", ".txt": "text", ".parquet": "parquet", ".xlsx": "xlsx"}
OTHER_SUFFIXES = (".json", ".xes", ".xls", ".xml", ".gz", ".zip")


def _sample_format(source: str, output: str) -> str:
    """The format the name of ``output`` asks for ('text', 'parquet', 'xlsx'); refuse one that does not fit the source."""
    from pathlib import Path

    from connectors.errors import BadOption
    from reports.output import check_writable

    if output == "-":
        raise BadOption("vsm sample -o needs a file name, not '-': it writes OUTPUT.truth.json beside the export")
    path = Path(output)
    check_writable(path)
    suffix = path.suffix.lower()
    if source in TABLE_SAMPLES:
        if suffix in OTHER_SUFFIXES:
            raise BadOption(f"--source {source} writes a table: name the output .csv, .parquet or .xlsx, not {suffix}")
        return TABLE_SUFFIXES.get(suffix, "text")
    if suffix in TABLE_SUFFIXES or suffix in OTHER_SUFFIXES[1:]:
        raise BadOption(f"--source {source} writes the vendor's JSON: name the output .json, not {suffix}")
    return "text"


def _convert_sample(path: str, form: str) -> None:
    """Rewrite the CSV sample at ``path`` as Parquet or Excel, every column as text as the CSV holds it."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    from connectors.errors import BadOption
    from reports.output import write_bytes

    import csv

    with open(path, encoding="utf-8", newline="") as fh:
        header = next(csv.reader(fh))
    table = pacsv.read_csv(path, convert_options=pacsv.ConvertOptions(
        column_types={name: pa.string() for name in header}, strings_can_be_null=True))
    sink = pa.BufferOutputStream()
    if form == "parquet":
        import pyarrow.parquet as pq

        pq.write_table(table, sink)
    else:
        if table.num_rows >= 1_048_576:
            os.unlink(path)
            raise BadOption(f"{table.num_rows:,} rows do not fit in one Excel sheet; write .csv or .parquet, or fewer --tickets")
        import io

        buffer = io.BytesIO()
        table.to_pandas().to_excel(buffer, index=False, sheet_name="export")
        sink.write(buffer.getvalue())
    write_bytes(path, sink.getvalue().to_pybytes())


# --- vsm diff (issue 15): before/after, --split, --by; miner/diff.py and reports/diffout.py ---------------------


@cli.command("diff")
@click.argument("exports", nargs=-1, required=True, type=click.Path(dir_okay=False))
@load_options
@mapping_option
@click.option("--design", "design_path", type=click.Path(dir_okay=False), metavar="FILE",
              help="Designed value streams (TOML); default: the built-in ITIL streams.")
@click.option("--stream-by", metavar="COL", help="Attribute that names the ticket type (or 'path'); default: detected.")
@click.option("--split", "split_date", metavar="DATE", help="One export: tickets opened before DATE against those opened on or after it.")
@click.option("--by", "by", type=click.Choice(["month", "quarter", "week"]), help="One export: each period against the one before.")
@click.option("--alpha", default=0.05, show_default=True, type=click.FloatRange(0, 1, min_open=True, max_open=True),
              help="False discovery rate: a change is called a change when its BH-adjusted p-value is below it.")
@click.option("--as-of", metavar="DATE", help="The exports' end: open tickets are censored at their age then (default: each export's latest time).")
@json_option
@click.option("--fail-on", "fail_on", metavar="EXPR",
              help="Exit 1 when a metric got significantly worse, e.g. 'lead_time_median_h:+10%,reopen_rate:worse' (--by: the latest period).")
@click.option("--top", default=10, show_default=True, type=click.IntRange(1, 1000), help="Rows shown per table.")
@click.option("--csv-dir", metavar="DIR", type=click.Path(file_okay=False), help="Also write the diff's tables as CSV files into DIR.")
@click.option("-o", "--output", type=click.Path(dir_okay=False), metavar="PATH|-",
              help=f"Also write the diff as one offline HTML file. {OUTPUT_RULE}")
@click.option("--title", metavar="TEXT", help="Title of the HTML page (default: what is compared).")
@display_tz_option
def diff(exports: tuple[str, ...], mapping_path: str | None, design_path: str | None, stream_by: str | None, split_date: str | None,
         by: str | None, alpha: float, as_of: str | None, json_path: str | None, fail_on: str | None, top: int,
         csv_dir: str | None, output: str | None, title: str | None, display_tz: str, **kwargs: Any) -> None:
    """Did the change work? Compare two exports, or one export before and after a date or period by period.

    Lead time, rework, reopen and ping-pong rates, flow efficiency, conformance, steps, states, variants and
    groups, overall and per stream, each called a change only when significant (Benjamini–Hochberg); names a
    group that got faster by pushing its waiting downstream. Filters apply to both sides. --by's calendar periods
    and --split's date are in --display-timezone.

    Example: vsm diff before.csv after.csv -o diff.html  |  vsm diff incidents.csv --split 2025-03-01 --json diff.json
    """
    _warm_statistics()
    from connectors.errors import BadOption
    from miner.design import load_design
    from miner.diff import analyse_side, check_overlap, compare_sides, parse_fail_on, periods, regressions, split_log
    from miner.discovery import make_plan
    from reports.diffout import DIFF_TABLES, diff_document, diff_tables, diff_text, trend_text

    rules = parse_fail_on(fail_on) if fail_on else []
    if len(exports) > 2:
        raise BadOption("vsm diff takes two exports (BEFORE AFTER), or one with --split DATE or --by PERIOD")
    if len(exports) == 2 and (split_date or by):
        raise BadOption("--split and --by cut one export; with two exports, each is one side")
    if len(exports) == 1 and bool(split_date) == bool(by):
        raise BadOption("with one export, give --split DATE or --by month|quarter|week (not both)")
    for export in exports:
        _check_outputs(export, {"-o": output, "--json": json_path}, {"--csv-dir": csv_dir},
                       csv_names=[f"{name}.csv" for name in DIFF_TABLES])
    _check_mapping(mapping_path)
    design = load_design(design_path)
    if len(exports) == 2:
        loaded = [_load(e, dict(kwargs)) for e in exports]
        (lb, rb), (la, ra) = loaded
        for export, (_, rep) in zip(exports, loaded, strict=True):
            for note in (n for n in rep.notes if n.startswith("Filter ")):
                click.echo(f"{export}: {note}", err=True)
        check_overlap(lb, la, exports)
        plan = make_plan(lb, mapping_path, stream_by=stream_by, source=rb.source, design=design, as_of=as_of)
        plan_after = make_plan(la, mapping_path, stream_by=plan.stream_column or stream_by, source=ra.source, design=design, as_of=as_of)
        sides = [(analyse_side(lb, plan, exports[0], rb.source, rb.flags), analyse_side(la, plan_after, exports[1], ra.source, ra.flags))]
    else:
        log, report_ = _load(exports[0], kwargs)
        for note in (n for n in report_.notes if n.startswith("Filter ")):
            click.echo(f"{exports[0]}: {note}", err=True)
        plan = make_plan(log, mapping_path, stream_by=stream_by, source=report_.source, design=design, as_of=as_of)
        if split_date:
            early, late = split_log(log, split_date, display_tz)
            sides = [(analyse_side(early, plan, f"opened before {split_date}", report_.source, report_.flags),
                      analyse_side(late, plan, f"opened on or after {split_date}", report_.source, report_.flags))]
        else:
            cut = [analyse_side(part, plan, label, report_.source, report_.flags) for label, part in periods(log, by, display_tz)]
            sides = list(zip(cut, cut[1:], strict=False))
    for warning in [*plan.mapping.warnings, *design.warnings]:
        _warn(warning)
    diffs = [compare_sides(b, a, alpha) for b, a in sides]
    if "-" not in (json_path, output):
        click.echo(diff_text(diffs[0], top=top, tz=display_tz) if len(diffs) == 1 else trend_text(diffs, top=top, tz=display_tz), nl=False)
    if output:
        from reports.diffout import diff_html

        _write_output(diff_html(diffs, title=title, top=top, tz=display_tz), output, exports[0])
    if json_path:
        _write_json(diff_document(diffs), json_path, exports[0])
    if csv_dir:
        from reports.csvout import write_tables

        write_tables(csv_dir, diff_tables(diffs), protect=exports)
    broken = regressions(diffs[-1], rules)
    if broken:
        click.echo("Threshold breached: " + "; ".join(broken), err=True)
        sys.exit(EXIT_THRESHOLD)


# --- Data in and out: vsm convert (issue 17) ---------------------------------


@cli.command()
@click.argument("export", type=click.Path())
@load_options
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False),
              help="File to write: .xes, .xes.gz, .csv or .parquet.")
@click.option("--quiet", is_flag=True, help="Print nothing but errors.")
def convert(export: str, output: str, quiet: bool, **kwargs: Any) -> None:
    """Write the event table vsm read from an export, for pm4py, Disco, ProM or Celonis.

    XES follows IEEE 1849; CSV and Parquet use pm4py's column names.

    Example: vsm convert sample_logs/servicenow_audit.csv -o events.xes.gz
    """
    from connectors.export import output_format, write

    output_format(output)
    _check_outputs(export, {"-o": output})
    log, report = _load(export, kwargs)
    n = write(log, output)
    if not quiet:
        rejected = f", {report.rows_rejected:,} rows left out (vsm inspect says why)" if report.rows_rejected else ""
        click.echo(f"Wrote {output} ({n:,} events, {log['case_id'].nunique():,} cases{rejected})", err=True)


@cli.group()
def pull() -> None:
    """Fetch tickets and their history from a ticketing system's API into a store.

    A store is a folder that inspect, mine, compare, report and design read like
    an export. Pulling again into it fetches only what changed since.
    """


def _say_resumed(result: Any) -> None:
    """One line when a pull went on from where an interrupted one stopped."""
    if result.resumed is not None:
        click.echo(f"Resumed the interrupted pull into {result.store} ({result.resumed:,} pages it had kept).", err=True)


@pull.command("servicenow")
@click.option("--instance", required=True, metavar="URL", help="The instance: https://NAME.service-now.com (or NAME).")
@click.option("--table", default="incident", show_default=True, metavar="NAME", help="Table to pull.")
@click.option("--query", metavar="ENCODED_QUERY", help="ServiceNow encoded query, e.g. 'assignment_group.name=Service Desk'.")
@click.option("--since", metavar="DATE", help="First pull only: tickets updated since this date (UTC).")
@click.option("--history", type=click.Choice(["sys_audit", "metric"]), default="sys_audit", show_default=True,
              help="Where the history comes from: sys_audit, or metric_instance's state, group and assignee intervals.")
@click.option("--page-size", default=1000, show_default=True, type=click.IntRange(1, 10_000), help="Records per request.")
@click.option("-o", "--output", required=True, type=click.Path(file_okay=False), help="Store folder to write or update.")
@click.option("--quiet", is_flag=True, help="Print nothing but errors.")
def pull_servicenow(instance: str, table: str, query: str | None, since: str | None, history: str, page_size: int,
                    output: str, quiet: bool) -> None:
    """Pull records from the Table API and their history from sys_audit (or metric_instance).

    Credentials come from the environment: VSM_SERVICENOW_USER and
    VSM_SERVICENOW_PASSWORD, or VSM_SERVICENOW_TOKEN. An interrupted pull
    resumes when the same command runs again.

    Example: vsm pull servicenow --instance https://acme.service-now.com --since 2025-01-01 -o incidents.store
    """
    from connectors.pull import pull_servicenow as run

    live = not quiet and sys.stderr.isatty()

    def progress(what: str, done: int, total: int | None) -> None:
        if live:
            of = f" of {total:,}" if total is not None else ""
            click.echo(f"\r{what}: {done:,}{of}   ", err=True, nl=False)

    result = run(instance, output, table=table, query=query, since=since, history=history, page_size=page_size,
                 progress=progress)
    if live:
        click.echo("", err=True)
    if not quiet:
        kind = "updated" if result.incremental else "wrote"
        _say_resumed(result)
        rows = "audit rows" if history == "sys_audit" else "metric_instance rows"
        click.echo(
            f"{kind.capitalize()} {result.store}: {result.records:,} records and {result.audit_rows:,} {rows} fetched "
            f"in {result.pages:,} requests; {result.tickets:,} tickets in the store, watermark {result.watermark} UTC",
            err=True,
        )


@pull.command("zendesk")
@click.option("--subdomain", metavar="NAME", help="The account: NAME.zendesk.com.")
@click.option("--url", metavar="URL", help="Or the account's full base URL.")
@click.option("--since", metavar="DATE", help="First pull only: events since this date (UTC; default: all).")
@click.option("-o", "--output", required=True, type=click.Path(file_okay=False), help="Store folder to write or update.")
@click.option("--quiet", is_flag=True, help="Print nothing but errors.")
def pull_zendesk(subdomain: str | None, url: str | None, since: str | None, output: str, quiet: bool) -> None:
    """Pull the incremental ticket events export (one request every 6 seconds, its rate limit).

    Credentials come from the environment: VSM_ZENDESK_EMAIL and
    VSM_ZENDESK_TOKEN, or VSM_ZENDESK_OAUTH_TOKEN.

    Example: vsm pull zendesk --subdomain acme --since 2025-01-01 -o tickets.store
    """
    from connectors import pull as pullers

    live = not quiet and sys.stderr.isatty()

    def progress(what: str, done: int, total: int | None) -> None:
        if live:
            click.echo(f"\r{what}: {done:,}   ", err=True, nl=False)

    result = pullers.pull_zendesk(output, subdomain=subdomain, url=url, since=since,
                                  min_interval=pullers.ZENDESK_INTERVAL_S, progress=progress)
    if live:
        click.echo("", err=True)
    if not quiet:
        _say_resumed(result)
        click.echo(
            f"{'Updated' if result.incremental else 'Wrote'} {result.store}: {result.records:,} ticket events fetched in "
            f"{result.pages:,} requests; {result.tickets:,} tickets in the store, up to end_time {result.watermark}",
            err=True,
        )


@pull.command("jira")
@click.option("--site", required=True, metavar="URL", help="The site: https://NAME.atlassian.net, or a Data Center URL.")
@click.option("--jql", required=True, metavar="QUERY", help="The issues to pull, e.g. 'project = OPS'.")
@click.option("--deployment", type=click.Choice(["auto", "cloud", "datacenter"]), default="auto", show_default=True,
              help="Cloud or Data Center API (auto: Cloud for *.atlassian.net).")
@click.option("-o", "--output", required=True, type=click.Path(file_okay=False), help="Store folder to write or update.")
@click.option("--quiet", is_flag=True, help="Print nothing but errors.")
def pull_jira(site: str, jql: str, deployment: str, output: str, quiet: bool) -> None:
    """Pull the issues a JQL query finds, with their whole changelogs.

    Credentials come from the environment: VSM_JIRA_EMAIL and VSM_JIRA_TOKEN
    (Cloud), or VSM_JIRA_PAT (Data Center).

    Example: vsm pull jira --site https://acme.atlassian.net --jql "project = OPS" -o ops.store
    """
    from connectors import pull as pullers

    live = not quiet and sys.stderr.isatty()

    def progress(what: str, done: int, total: int | None) -> None:
        if live:
            click.echo(f"\r{what}: {done:,}   ", err=True, nl=False)

    result = pullers.pull_jira(site, jql, output, deployment=deployment, progress=progress)
    if live:
        click.echo("", err=True)
    if not quiet:
        _say_resumed(result)
        click.echo(
            f"{'Updated' if result.incremental else 'Wrote'} {result.store}: {result.records:,} issues new or changed, "
            f"{result.pages:,} requests; {result.tickets:,} issues in the store, updated up to {result.watermark}",
            err=True,
        )


# A store is a folder: the commands that read an export read a store too.
def _export_takes_folders(group: click.Group) -> None:
    for command in group.commands.values():
        if isinstance(command, click.Group):
            _export_takes_folders(command)
        for param in command.params:
            if param.name == "export" and isinstance(param.type, click.Path):
                param.type = click.Path()


_export_takes_folders(cli)


def main(argv: list[str] | None = None) -> None:
    """Run the command line; anything unexpected still ends in one line."""
    global _OWN_PROCESS
    _OWN_PROCESS = True
    # Before any thread starts: a thread's warnings.catch_warnings (scipy's import, on a warm-up thread) restores
    # the filters it found when it ends, dropping a filter set meanwhile (miner.spark.session sets this one too).
    warnings.filterwarnings("ignore", message="PySpark does not yet fully support pandas", category=FutureWarning)
    try:
        cli.main(args=argv, prog_name="vsm")
    except BrokenPipeError:
        # The reader of our output went away (e.g. `vsm ... | head`).
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        sys.exit(0)
    except KeyboardInterrupt:
        click.echo("Interrupted.", err=True)
        sys.exit(130)
    except Exception as exc:  # a bug in vsm: one line for the user, the traceback on demand
        if os.environ.get("VSM_DEBUG"):
            raise
        from connectors.errors import one_line

        text = one_line(str(exc))
        text = text if len(text) <= 300 else f"{text[:300]}…"
        click.echo(
            f"Error: internal error ({type(exc).__name__}: {text}); please report it, and set VSM_DEBUG=1 to see the traceback",
            err=True,
        )
        sys.exit(70)


def run() -> None:
    """The ``vsm`` command: :func:`main`, then the end of the process without tearing down the interpreter.

    Freeing the tables of a million-event analysis one object at a time took
    0.2–0.4 s at interpreter exit, after the last line was written. The
    output is flushed and the exit handlers run first (worker processes,
    Spark's temporary folder, logging), then the process ends with the
    command's exit code.
    """
    code: object = 0
    try:
        main()
    except SystemExit as exc:
        code = exc.code
    _end(code)


def _end(code: object) -> None:
    import atexit

    if code is None:
        code = 0
    elif not isinstance(code, int):  # as SystemExit does with a message
        click.echo(str(code), err=True)
        code = 1
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except BrokenPipeError:  # the reader went away: nothing more to say
            pass
        except OSError:  # e.g. a full disk under a redirected stdout: Python's own exit says 120
            code = code or 120
    if "miner.significance" in sys.modules:  # the statistics helper ends with the command, and is waited for
        sys.modules["miner.significance"].stop_helper()
    atexit._run_exitfuncs()
    os._exit(code)
