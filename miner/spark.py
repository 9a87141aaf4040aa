"""The Spark engine: the same analysis, run per partition of cases on a cluster.

1. Spark reads the export (CSV or Parquet) as strings and numbers every record
   in file order with its own operators (``monotonically_increasing_id`` and
   one count per read partition): the ``source_row`` that breaks ties between
   equal times and that messages quote.
2. The driver reads a sample with the connectors to find the source and the
   case column. The records are then repartitioned by case (Spark's hash
   partitioning), so that every partition holds whole cases.
3. Pass one, per partition (``mapInArrow``, Arrow batches): the connector
   turns the rows into the canonical event table (snapshot folding, hand-offs
   and rejections are all per case), and reports row accounting, date
   extremes, activities and the ticket-type profile; the table itself stays
   in Spark's cache as Arrow batches (in local mode, in Arrow files on the
   shared disk), for pass two. The driver merges these
   into the load report and the plan, exactly as the embedded engine decides
   them for a whole log. Where a partition reads otherwise than the whole
   export would (it proves no date order, or holds only rejected rows), the
   driver loads the export itself instead, as the worker engine does, so that
   the notes and warnings are those of one process.
4. Pass two, per partition, where pass one left it: :func:`miner.analysis.analyse`
   on those cases.
   Tickets, additive tables and examples come back to the driver as Arrow
   (in local mode, as Arrow files in a temporary folder on the shared disk);
   measures (one value per event or wait) stay in Spark and are reduced there
   by key: count, exact integer sum, exact percentiles (``percentile``, which
   interpolates linearly like numpy). Tickets per key are counted in each
   partition (whole cases), so they add up with the tables.
5. The driver merges and finalizes with the same code as the embedded engine,
   so the JSON and the HTML are the same.

Exports Spark cannot read as records (XES, JSON, a store of ``vsm pull``) are
loaded by the driver, as the embedded engine loads them; their canonical table
goes to Spark as Arrow batches, one partition of cases each, for pass two.
No Python function runs per row: Python sees Arrow batches only.

The driver holds one row per ticket (not per event); executors hold one
partition of cases at a time; the exact percentiles hold, per key, the values
of that key (one number per event) in an executor. On a cluster the driver
ships its ``connectors`` and ``miner`` to the executors, so that they run the
driver's code whatever vsm their Python has.
"""

from __future__ import annotations

import io
import json
import os
import queue
import tempfile
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from connectors.errors import BadOption, VsmError
from connectors.options import LoadOptions
from connectors.report import LoadReport
from connectors.sources import load_table
from connectors.textio import PLACEHOLDERS, TextTable, csv_layout, sniff, unique_names
from miner.analysis import MEASURES, Partial, Plan, analyse
from miner.design import Design
from miner.filters import FilterNote, Filters, check_left, merge_notes
from miner.parallel import scratch_folder
from miner.partitions import (
    PROFILE_COLUMNS,
    SAMPLE_ROWS,
    Description,
    Disagreement,
    describe_filtered,
    partial_frames,
    partial_from,
    plan_from,
    read_frames,
    to_arrow,
    write_frames,
)
from miner.results import Results, add_ticket_counts, combine, finalize
from miner.stats import grouped_stats, key_codes

STALL_SECONDS = 300  # default of VSM_SPARK_STALL_SECONDS
ROW = "_vsm_row"  # record number in file order, 0 for a CSV's header
QUANTILES = (0.5, 0.9)


def session(master: str | None = None) -> Any:
    """Return a Spark session: the cluster at ``master``, or local mode on every core."""
    try:
        from pyspark.sql import SparkSession
    except ImportError as exc:
        raise BadOption("--engine spark needs pyspark: pip install '.[spark]' (and Java 17)") from exc
    import warnings

    warnings.filterwarnings("ignore", message="PySpark does not yet fully support pandas", category=FutureWarning)
    quiet = _quiet_log4j()
    master = master or os.environ.get("VSM_SPARK_MASTER", "local[*]")
    active = SparkSession.getActiveSession()
    if active is not None and active.sparkContext.master != master:
        active.stop()  # getOrCreate would hand back a session on another master (local mode is not the cluster asked for)
    builder = (
        SparkSession.builder.appName("vsm")
        .master(master)
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .config("spark.driver.memory", os.environ.get("VSM_SPARK_DRIVER_MEMORY", "4g"))
        .config("spark.driver.extraJavaOptions", f"-Dlog4j.configurationFile={quiet}")
        .config("spark.executorEnv.PYTHONWARNINGS", "ignore::FutureWarning")
    )
    if os.environ.get("VSM_SPARK_EXECUTOR_MEMORY"):  # else the cluster's own setting (Spark's default is 1g)
        builder = builder.config("spark.executor.memory", os.environ["VSM_SPARK_EXECUTOR_MEMORY"])
    # The JVM writes its own chatter to stderr; send the JVM's stderr to a log file instead.
    log_path = spark_log()
    saved = os.dup(2)
    target = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        os.dup2(target, 2)
        spark = builder.getOrCreate()
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(target)
    spark.sparkContext.setLogLevel("ERROR")
    if not spark.sparkContext.master.startswith("local"):
        _ship_code(spark.sparkContext)
    return spark


def spark_log() -> Path:
    """Where the JVM's own log goes."""
    return Path(tempfile.gettempdir()) / "vsm-spark.log"


class SparkFailed(VsmError):
    """A Spark job failed (an executor out of memory, a lost worker …)."""


def failure(exc: BaseException) -> SparkFailed:
    """One line for a failure Spark reports with a Java stack trace (which may run to hundreds of lines)."""
    text = str(exc)
    if "OutOfMemoryError" in text:
        return SparkFailed("Spark ran out of memory (java.lang.OutOfMemoryError): set VSM_SPARK_EXECUTOR_MEMORY "
                           "(a cluster's executors; Spark's default is 1g) or VSM_SPARK_DRIVER_MEMORY higher, or cut the "
                           f"tickets into more partitions with --spark-partitions; Spark's log: {spark_log()}")
    lines = [line.strip().removeprefix(": ") for line in text.splitlines()]
    lines = [line for line in lines if line and not line.startswith(("at ", "An error occurred while calling"))]
    first = lines[0] if lines else type(exc).__name__
    return SparkFailed(f"Spark failed ({first[:300]}); Spark's log: {spark_log()}; or run without --engine spark")


def _ship_code(context: Any) -> None:
    """Send this process's ``connectors`` and ``miner`` to the executors (once per Spark context).

    A cluster's Python may hold another vsm, or none: the executors then run
    the very code the driver runs, so that their partitions read and analyse
    as this process would.
    """
    import atexit
    import shutil
    import zipfile

    import connectors
    import miner

    if getattr(context, "_vsm_code", None):
        return
    folder = Path(tempfile.mkdtemp(prefix="vsm-spark-code-"))
    atexit.register(shutil.rmtree, folder, True)
    target = folder / "vsm_code.zip"
    with zipfile.ZipFile(target, "w") as archive:
        for package in (connectors, miner):
            root = Path(package.__file__).parent
            for file in sorted(root.rglob("*")):
                if file.is_file() and "__pycache__" not in file.parts:
                    archive.write(file, f"{root.name}/{file.relative_to(root).as_posix()}")
    context.addPyFile(str(target))
    context._vsm_code = str(target)


def _quiet_log4j() -> str:
    """A log4j2 configuration that lets only errors through (Spark's default chatters on stderr)."""
    path = Path(tempfile.gettempdir()) / "vsm-spark-log4j2.properties"
    path.write_text("rootLogger.level = error\nrootLogger.appenderRef.stderr.ref = console\n"
                    "appender.console.type = Console\nappender.console.name = console\nappender.console.target = SYSTEM_ERR\n"
                    "appender.console.layout.type = PatternLayout\nappender.console.layout.pattern = %m%n\n")
    return str(path)


def run_spark(
    path: str,
    *,
    source: str = "auto",
    options: LoadOptions | None = None,
    mapping: str | None = None,
    design: Design | str | bool | None = True,
    stream_by: str | None = None,
    master: str | None = None,
    partitions: int | None = None,
    as_of: str | None = None,
    filters: Filters | None = None,
) -> tuple[Results, LoadReport]:
    """Load and analyse ``path`` with Spark; return the same results as the embedded engine.

    ``filters`` (whole tickets) are applied where each partition is loaded.

    A CSV or Parquet export is read by Spark and loaded per partition of
    cases; any other export (XES, JSON, a store) cannot be cut before it is
    read, so this process loads it, as the embedded engine does, and Spark
    analyses its partitions of cases.
    """
    import shutil

    stall = stall_seconds()  # a bad setting fails before Spark starts
    try:
        spark = session(master)
    except VsmError:  # pyspark missing, say
        raise
    except Exception as exc:  # noqa: BLE001 - py4j's and pyspark's: the JVM would not start (too little memory, say)
        raise failure(exc) from exc
    from py4j.protocol import Py4JError
    from pyspark.errors import PySparkException

    options = options or LoadOptions()
    n_parts = partitions or max(2, spark.sparkContext.defaultParallelism * 2)
    # In local mode the executors share this machine's disk: the analysed partials come back as Arrow
    # files, not through Spark's result path (a gigabyte at 10M events, which took it 11-14 s).
    folder = _shared_folder(spark)
    args = (spark, path, source, options, mapping, design, stream_by, n_parts, as_of, filters or Filters(), folder)
    try:
        if _read_here(path):
            out, plan, report = _load_here(*args)
        else:
            try:
                out, plan, report = _load_in_spark(*args, whole=Path(path).is_file())
            except ReadWhole:
                # As the worker engine does: the whole export read in one process gives the same results, or the right error.
                out, plan, report = _load_here(*args)
        try:
            return _reduce(out, plan, folder, stall), report
        finally:
            out.unpersist()
    except (Py4JError, PySparkException, ConnectionError) as exc:  # a job failed in Java, or the JVM is gone
        raise failure(exc) from exc
    finally:
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)


class ReadWhole(Exception):
    """The partitions of cases do not read as the whole export would (another date order, a partition of rejected rows)."""


def _shared_folder(spark: Any) -> str | None:
    """A new folder the executors can write the partials to: in local mode only (on a cluster, None)."""
    return str(scratch_folder()) if str(spark.sparkContext.master).startswith("local") else None


def _read_here(path: str) -> bool:
    """Whether this process loads ``path`` whole (an export Spark cannot read as records: XES, JSON, gzip, a store)."""
    import connectors.store as store

    if store.is_store(path):
        return True
    if not Path(path).is_file() or _is_parquet(path):
        return False
    sniffed = sniff(path, trust_head=True)
    return sniffed.kind != "text" or sniffed.compressed  # Spark unpacks gzip only by its file name


def _load_here(spark: Any, path: str, source: str, options: LoadOptions, mapping: str | None, design: Any,
               stream_by: str | None, n_parts: int, as_of: str | None, filters: Filters, folder: str | None) -> tuple[Any, Plan, LoadReport]:
    """Load ``path`` whole in this process; cut its canonical table into partitions of cases, analysed on Spark."""
    from connectors.sources import load
    from miner.discovery import make_plan

    log, report = load(path, source=source, _options=options)
    if filters:
        log, removed = filters.apply(log)
        report.notes.extend(n.text() for n in removed)
        report.flags.extend(filters.flags())
    plan = make_plan(log, mapping, stream_by=stream_by, source=report.source, design=design, as_of=as_of)
    codes = pd.factorize(log["case_id"])[0] if len(log) else np.zeros(0, np.int64)
    which = codes % n_parts
    pids, payloads = [], []
    for pid in range(n_parts):  # a loop over partitions; each is taken whole by a mask
        part = log[which == pid]
        if part.empty:
            continue
        part = part.reset_index(drop=True)
        for name in part.columns:
            if isinstance(part[name].dtype, pd.CategoricalDtype):
                part[name] = part[name].cat.remove_unused_categories()
        table = to_arrow(part)
        for batch in table.to_batches(max_chunksize=CHUNK_ROWS):
            pids.append(pid)
            payloads.append(_batch_ipc(batch))
    chunks = spark.createDataFrame(pd.DataFrame({"pid": np.array(pids, dtype=np.int32), "payload": payloads}),
                                   schema="pid int, payload binary")
    out = chunks.repartition(n_parts, "pid").mapInPandas(_analyse_chunks(plan, folder), schema=OUT_SCHEMA).cache()
    return out, plan, report


CHUNK_ROWS = 1 << 16  # events per Arrow record batch sent to Spark


def _batch_ipc(batch: pa.RecordBatch) -> bytes:
    sink = io.BytesIO()
    with pa.ipc.new_stream(sink, batch.schema) as writer:
        writer.write_batch(batch)
    return sink.getvalue()


def _analyse_chunks(plan: Plan, folder: str | None, logs_in_files: bool = False):  # type: ignore[no-untyped-def]
    """Analyse the partitions of cases whose Arrow chunks a Spark partition holds (one partial per partition).

    With a ``folder`` (local mode), each partial's frames are written there and only their place comes back;
    with ``logs_in_files``, each partition's one payload is the folder pass one wrote its table to, not the table.
    """
    piece = PIECE  # read here, in the driver, and shipped with the function

    def run(batches):  # type: ignore[no-untyped-def]
        frame = _frame(batches)
        if frame.empty:
            return
        for pid in np.unique(frame["pid"].to_numpy()):  # a loop over partitions of cases
            payloads = frame.loc[frame["pid"] == pid, "payload"]
            if logs_in_files:
                log = read_frames(Path(bytes(payloads.iloc[0]).decode()))["log"]
            else:
                log = pa.concat_tables([pa.ipc.open_stream(io.BytesIO(bytes(p))).read_all() for p in payloads]).to_pandas()
            try:
                part = analyse(log, plan)
            except VsmError as exc:
                yield _rows(kind="error", pid=pid, name=str(exc))
                return
            yield from _partial_rows(part, int(pid), piece, folder)

    return run


def _load_in_spark(spark: Any, path: str, source: str, options: LoadOptions, mapping: str | None, design: Any,
                   stream_by: str | None, n_parts: int, as_of: str | None, filters: Filters, folder: str | None, *,
                   whole: bool) -> tuple[Any, Plan, LoadReport]:
    """Read ``path`` (CSV or Parquet) in Spark, load each partition of cases there; return the analysed partitions.

    Raise :class:`ReadWhole` when a partition reads otherwise than the whole
    export would and ``whole`` (this process can read the export) is true;
    otherwise keep the first rows' texts, with a warning.
    """
    from pyspark.sql import functions as F

    rows, header, notes = _read(spark, path, options)
    kind = "parquet" if _is_parquet(path) else "text"
    # The first rows (Parquet's from 0, a CSV's from 1 after its header). A limit lets Spark stop reading
    # once it has them (collect takes from the first partitions only), instead of reading the whole export.
    wanted = SAMPLE_ROWS + (1 if kind == "parquet" else 0)
    sample = pd.DataFrame.from_records(rows.filter(F.col(ROW) <= SAMPLE_ROWS).limit(wanted).collect(), columns=rows.columns)
    if sample.empty:
        from connectors.errors import EmptyExport

        raise EmptyExport(f"{path}: the file has a header but no data rows")
    try:
        _, first = load_table(path, _text_table(pa.Table.from_pandas(sample, preserve_index=False), header, notes), source, options,
                              check=False, kind=kind)
    except VsmError as exc:  # the first rows alone may be all rejected, say
        if whole:
            raise ReadWhole(str(exc)) from exc
        raise
    case_col = first.columns["case_id"].column
    if case_col not in header:
        raise BadOption(f"--engine spark needs the case id in one column of the export; {first.source} builds it from {case_col!r}")
    by_case = rows.repartition(n_parts, F.col(_safe(case_col, header)))

    # Pass one: load every partition (kept, as Arrow, for pass two), report what the plan needs.
    src = first.source
    # Arrow batches in and out (mapInArrow): the partition's strings never become Python objects.
    loaded = by_case.mapInArrow(_load_partition_rows(path, kind, header, notes, source, src, options, filters, folder),
                                schema=LOADED_SCHEMA).cache()
    descriptions, filtered = [], []
    for row in loaded.filter(F.col("kind") == "about").select("payload").collect():
        doc = json.loads(bytes(row.payload))
        if "error" in doc:  # a partition of rejected rows, say, which the whole export holds among others
            loaded.unpersist()
            if whole:
                raise ReadWhole(doc["error"])
            raise VsmError(doc["error"])
        stats = {**doc["stats"], "latest": _ts(doc["stats"]["latest"]), "earliest": _ts(doc["stats"]["earliest"])}
        descriptions.append(Description(LoadReport.from_dict(doc["report"]), stats, doc["activities"],
                                        pd.DataFrame(doc["profile"], columns=PROFILE_COLUMNS), doc["columns"], doc.get("latest_us")))
        filtered.append([FilterNote(*n) for n in doc.get("filtered", [])])
    removed = merge_notes(filtered)
    if filters:
        check_left(removed)  # before the plan, which needs tickets
    try:
        plan, report = plan_from(descriptions, first, mapping, design, stream_by, strict=whole, as_of=as_of)
    except Disagreement as exc:
        loaded.unpersist()
        raise ReadWhole(str(exc)) from exc
    if filters:
        report.notes.extend(n.text() for n in removed)
        report.flags.extend(filters.flags())

    # Pass two: analyse every partition's canonical table, where it was loaded (filter and map keep the partitions).
    analyse_logs = _analyse_chunks(plan, folder, logs_in_files=folder is not None)
    out = loaded.filter(F.col("kind") == "log").select("pid", "payload").mapInPandas(analyse_logs, schema=OUT_SCHEMA).cache()
    out.count()  # analysed while the loaded tables are cached
    loaded.unpersist()
    return out, plan, report


LOADED_SCHEMA = "kind string, pid int, payload binary"
PIECE = 8 << 20  # the largest payload in one row of the analysed partials


def _reduce(out: Any, plan: Plan, folder: str | None, stall: float = STALL_SECONDS) -> Results:
    """Merge the partitions' partials here; reduce their measures in Spark (count, exact sum, exact percentiles by key)."""
    from pyspark.sql import functions as F

    for err in out.filter(F.col("kind") == "error").select("name").collect():
        raise VsmError(err.name)
    if folder is not None:
        written = out.filter(F.col("kind") == "file").select("pid", "name").collect()
        parts = [partial_from(read_frames(Path(row.name))) for row in sorted(written, key=lambda row: row.pid)]
    else:
        # One Spark partition at a time: collected at once, the partials of 10M events (a gigabyte of Arrow) overran the driver.
        rows = out.filter(F.col("kind") == "part").select("pid", "name", "payload", "v").toLocalIterator()
        parts = _collect_parts(watched(rows, SparkJobs(out.sparkSession), stall))
    if not parts:  # every loaded partition holds tickets: none back means Spark lost them
        raise VsmError("Spark returned no analysed partitions (its driver may have run out of memory): "
                       "set VSM_SPARK_DRIVER_MEMORY higher (default 4g), or run without --engine spark")
    # Count, exact sum and exact quantiles per key: each partition's values of a key travel packed, are
    # shuffled to the key's reducer and reduced there by the embedded engine's own code (miner.stats).
    measures = out.filter(F.col("kind") == "m").select("name", "k1", "k2", "payload").groupBy("name", "k1", "k2") \
        .applyInPandas(_reduce_measure, schema=REDUCED_SCHEMA).collect()
    merged = combine(parts)
    # Tickets per key were counted per partition of whole cases: they add up in the merged tables.
    return finalize(merged, add_ticket_counts(_aggregates(measures), merged.tables), plan)


OUT_SCHEMA = "kind string, pid int, name string, payload binary, k1 string, k2 string, v long"
REDUCED_SCHEMA = "name string, k1 string, k2 string, count long, sum long, q array<double>"
VALUES_PER_ROW = 1 << 20  # a key's values per row of packed int64 (8 MB), as PIECE bounds the partials' rows


def _reduce_measure(rows: pd.DataFrame) -> pd.DataFrame:
    """One measure key's values, packed by every partition: their count, exact sum and quantiles (QUANTILES)."""
    values = np.concatenate([np.frombuffer(bytes(p), dtype=np.int64) for p in rows["payload"]])
    _, counts, qs, sums = grouped_stats(np.zeros(len(values), dtype=np.int64), values, QUANTILES)
    key = {k: pd.Series([rows[k].iat[0]], dtype=object) for k in ("name", "k1", "k2")}  # not Arrow-backed text: Spark takes plain arrays
    return pd.DataFrame({**key, "count": counts.astype(np.int64), "sum": sums.astype(np.int64), "q": [[float(q[0]) for q in qs]]})


def _read(spark: Any, path: str, options: LoadOptions) -> tuple[Any, list[str], list[str]]:
    """Read the export as string columns plus its record number; return the rows (header excluded), the header and notes."""
    from pyspark.sql import functions as F

    if _is_parquet(path):
        df = spark.read.parquet(path)
        header = unique_names([str(c) for c in df.columns])
        df = df.toDF(*(f"c{i}" for i in range(len(header))))
        df = df.select([F.col(f"c{i}").cast("string").alias(f"c{i}") for i in range(len(header))])
        # Parquet rows are numbered from 1 (no header); _text_table adds 1 for a CSV's header row.
        return _number(df), header, []
    encoding, delimiter, notes = "utf-8", options.delimiter, [f"delimiter {options.delimiter!r} (given)"] if options.delimiter else []
    layout = None
    if Path(path).exists():
        sniffed = sniff(path)
        layout = csv_layout(sniffed, options.delimiter)  # as the embedded engine reads it
        encoding, delimiter, notes = layout.encoding, layout.delimiter, layout.notes
    raw = (spark.read.option("header", "false").option("sep", delimiter or ",").option("encoding", encoding)
           .option("multiLine", "true").option("quote", '"').option("escape", '"').option("mode", "PERMISSIVE").csv(path))
    width = len(raw.columns)
    frame = _number(raw.toDF(*(f"c{i}" for i in range(width))))
    if layout is not None and len(layout.names) == width:
        header = layout.names
    else:  # the file is not where this process can read it: the cluster's first record is the header
        first = frame.filter(F.col(ROW) == 0).first()
        header = unique_names([(first[f"c{i}"] or "").strip().lstrip("\ufeff") for i in range(width)])
    return frame.filter(F.col(ROW) > 0), header, notes


def _number(df: Any) -> Any:
    """Add each record's number in file order (from 0) as ``ROW``, with Spark's own operators.

    ``monotonically_increasing_id`` holds the read partition in its upper
    bits and the record's place in that partition in its lower 33; the
    partitions of one file come in file order, so each partition's offset is
    the count of the records before it (one small aggregate, skipped when the
    file is read as one partition: a CSV with quoted line breaks is).
    """
    from pyspark.sql import functions as F

    ids = df.select("*", F.monotonically_increasing_id().alias("_vsm_id"))
    part, place = F.shiftright(F.col("_vsm_id"), 33), F.col("_vsm_id").bitwiseAND((1 << 33) - 1)
    if df.rdd.getNumPartitions() <= 1:
        return ids.select(*df.columns, place.alias(ROW))
    counts = dict(ids.groupBy(part.alias("p")).count().collect())
    offsets, total = [], 0
    for p in range(max(counts, default=-1) + 1):
        offsets.append(total)
        total += counts.get(p, 0)
    offset = F.element_at(F.array(*(F.lit(o).cast("long") for o in offsets)), (part + 1).cast("int"))
    return ids.select(*df.columns, (offset + place).alias(ROW))


def _safe(column: str, header: list[str]) -> str:
    """Spark column names for the export's columns (positions, which any name survives)."""
    return f"c{header.index(column)}"


def _is_parquet(path: str) -> bool:
    return str(path).lower().endswith((".parquet", ".pq")) or (Path(path).is_file() and Path(path).read_bytes()[:4] == b"PAR1")


def _text_table(table: pa.Table, header: list[str], notes: list[str]) -> TextTable:
    """The connectors' view of some records (Arrow, as Spark hands them): string columns named as in the file, placeholders null."""
    import pyarrow.compute as pc

    table = table.take(pc.sort_indices(table[ROW]))
    nulls = pa.array(PLACEHOLDERS, pa.string())
    columns = {}
    for i, name in enumerate(header):
        arr = table[f"c{i}"].combine_chunks().cast(pa.string())
        columns[name] = pc.if_else(pc.is_in(arr, value_set=nulls), pa.scalar(None, pa.string()), arr)
    # A CSV's header is record 0, which a spreadsheet shows as row 1; Parquet rows count from 1.
    rows = table[ROW].to_numpy().astype(np.int64) + 1
    return TextTable(pa.table(columns), rows, list(header), [], list(notes))


def _load_partition_rows(path: str, kind: str, header: list[str], notes: list[str], source: str, expected: str, options: LoadOptions,  # type: ignore[no-untyped-def]
                         filters: Filters, folder: str | None):
    """Load one partition of cases: Arrow batches of LOADED_SCHEMA, its description ("about", JSON) and its canonical table ("log", Arrow)."""
    def loaded(kind: str, pid: int, payloads: list[bytes]) -> pa.RecordBatch:
        return pa.RecordBatch.from_arrays([pa.array([kind] * len(payloads), pa.string()), pa.array([pid] * len(payloads), pa.int32()),
                                           pa.array(payloads, pa.binary())], names=["kind", "pid", "payload"])

    def run(batches):  # type: ignore[no-untyped-def]
        from pyspark import TaskContext

        batches = [b for b in batches if b.num_rows]
        if not batches:
            return
        pid = TaskContext.get().partitionId()
        try:
            text = _text_table(pa.Table.from_batches(batches), header, notes)
            del batches
            log, report = _load_partition(path, kind, text, source, expected, options)
            log, described, removed = describe_filtered(log, report, filters)
        except VsmError as exc:
            yield loaded("about", pid, [json.dumps({"error": str(exc)}).encode()])
            return
        stats = described.stats
        doc = {
            "report": report.to_dict(),
            "stats": {**stats, "latest": _iso(stats["latest"]), "earliest": _iso(stats["earliest"])},
            "activities": described.activities,
            "profile": described.profile.to_dict("records"),
            "columns": described.columns,
            "latest_us": described.latest_us,
            "filtered": [[n.filter, n.tickets_before, n.removed] for n in removed],
        }
        yield loaded("about", pid, [json.dumps(doc, default=str).encode()])
        if len(log) and folder is not None:  # local mode: the table waits for pass two on the shared disk, not in Spark's cache
            yield loaded("log", pid, [str(write_frames({"log": log}, Path(folder) / f"log-{pid:05d}")).encode()])
        elif len(log):  # filters may leave a partition no ticket
            yield loaded("log", pid, [_batch_ipc(b) for b in to_arrow(log).to_batches(max_chunksize=CHUNK_ROWS)])

    return run


def _load_partition(path: str, kind: str, text: TextTable, source: str, expected: str, options: LoadOptions) -> tuple[pd.DataFrame, LoadReport]:
    """Load one partition as the whole export is loaded (the source detected again, so that its reasons add up)."""
    log, report = load_table(path, text, source, options, check=False, kind=kind)
    if report.source != expected:
        raise BadOption(f"{path}: a partition of the export reads as {report.source}, its first rows as {expected}; pass --source")
    return log, report


def _partial_rows(part: Partial, pid: int, piece: int, folder: str | None):  # type: ignore[no-untyped-def]
    """One partition's partial as rows of OUT_SCHEMA: its frames as Arrow payloads (or, with a ``folder``, the
    place they were written to), its measures' values packed per key."""
    frames = {name: frame for name, frame in partial_frames(part).items() if not name.startswith("measure:")}
    if folder is not None:
        written = write_frames(frames, Path(folder) / f"part-{pid:05d}")
        yield _rows(kind="file", pid=pid, name=str(written))
    else:
        # Each frame's Arrow stream in pieces of at most ``piece`` bytes, numbered in ``v``: the driver pickles
        # every row it hands to Python whole, and a 250 MB row overran its heap at 10M events.
        names, pieces, numbers = [], [], []
        for name, frame in frames.items():
            data = _to_ipc(frame)
            for i, at in enumerate(range(0, max(len(data), 1), piece)):
                names.append(name)
                pieces.append(data[at:at + piece])
                numbers.append(i)
        yield pd.DataFrame({"kind": "part", "pid": pid, "name": names, "payload": pieces, "k1": None, "k2": None,
                            "v": np.array(numbers, dtype=np.int64)})
    for name, measure in part.measures.items():
        spec = MEASURES[name]
        if measure.empty:
            continue
        # Per key, its values packed as int64 (a loop over keys, not events).
        codes, uniques = key_codes(measure, list(spec.keys))
        order = np.argsort(codes, kind="stable")
        values = measure[spec.value].to_numpy(dtype=np.int64)[order]
        sorted_codes = codes[order]
        starts = np.flatnonzero(np.r_[True, sorted_codes[1:] != sorted_codes[:-1]])
        bounds = [(a, min(a + VALUES_PER_ROW, b)) for a, b in zip(starts, np.r_[starts[1:], len(values)], strict=True)
                  for a in range(a, b, VALUES_PER_ROW)]
        key = sorted_codes[[a for a, _ in bounds]]
        keys = [uniques[k].to_numpy(dtype=object)[key] for k in spec.keys]
        yield pd.DataFrame({
            "kind": "m", "pid": pid, "name": name, "payload": [values[a:b].tobytes() for a, b in bounds],
            "k1": keys[0], "k2": keys[1] if len(keys) > 1 else None, "v": None,
        })


def _frame(batches: Any) -> pd.DataFrame:
    """A Spark partition's record batches as one frame (a partition may hold none)."""
    batches = list(batches)
    return pd.concat(batches, ignore_index=True) if batches else pd.DataFrame()


def _rows(**values: Any) -> pd.DataFrame:
    base = {"kind": None, "pid": None, "name": None, "payload": None, "k1": None, "k2": None, "v": None}
    base.update(values)
    return pd.DataFrame({k: [v] for k, v in base.items()})


def stall_seconds() -> float:
    """How long the driver waits for the next result while Spark runs no job: VSM_SPARK_STALL_SECONDS, else 300."""
    text = os.environ.get("VSM_SPARK_STALL_SECONDS", "").strip()
    try:
        value = float(text) if text else STALL_SECONDS
    except ValueError:
        raise BadOption(f"VSM_SPARK_STALL_SECONDS={text!r} is not a number of seconds; set it like 300, or unset it") from None
    if not value > 0:
        raise BadOption(f"VSM_SPARK_STALL_SECONDS={text!r} must be above 0; set it like 300, or unset it")
    return value


class SparkJobs:
    """Whether Spark is running a job now, and a way to cancel them all, for :func:`watched`."""

    def __init__(self, spark: Any) -> None:
        self.context = spark.sparkContext

    def running(self) -> bool:
        return bool(self.context.statusTracker().getActiveJobsIds())

    def cancel(self) -> None:
        self.context.cancelAllJobs()


def watched(rows: Iterable[Any], jobs: Any, stall: float, poll: float = 1.0) -> Iterable[Any]:
    """Yield ``rows`` (Spark's ``toLocalIterator``), but fail instead of waiting for ever.

    The iterator is read on a thread. While Spark runs a job, the driver
    waits as long as it takes; once no job has run and no row has come for
    ``stall`` seconds, the result stream has stalled (seen once at 10M
    events: every task done, the driver still waiting on its socket), and
    the jobs are cancelled with a one-line error.
    """
    box: queue.Queue[Any] = queue.Queue(maxsize=4)
    end = object()
    stop = threading.Event()

    def pump() -> None:
        try:
            for row in rows:
                while not stop.is_set():
                    try:
                        box.put(row, timeout=poll)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            box.put(end)
        except BaseException as exc:  # noqa: BLE001 - handed to the reader, which raises it
            box.put(exc)

    threading.Thread(target=pump, name="vsm-spark-results", daemon=True).start()
    quiet_since = time.monotonic()
    try:
        while True:
            try:
                item = box.get(timeout=poll)
            except queue.Empty:
                if jobs.running():
                    quiet_since = time.monotonic()
                elif time.monotonic() - quiet_since >= stall:
                    jobs.cancel()
                    raise SparkFailed(f"Spark sent no result for {stall:g} s and runs no job: its result stream stalled; run again, "
                                      f"set VSM_SPARK_STALL_SECONDS to wait longer, or run without --engine spark") from None
                continue
            if item is end:
                return
            if isinstance(item, BaseException):
                raise item
            quiet_since = time.monotonic()
            yield item
    finally:
        stop.set()


def _collect_parts(rows: Iterable[Any]) -> list[Partial]:
    """Rebuild each partition's Partial (without its measures, reduced in Spark) from its Arrow payloads, sent in numbered pieces."""
    pieces: dict[tuple[int, str], dict[int, bytes]] = {}
    for row in rows:
        pieces.setdefault((int(row.pid), row.name), {})[int(row.v)] = bytes(row.payload)
    by_pid: dict[int, dict[str, pd.DataFrame]] = {}
    for (pid, name), numbered in pieces.items():
        by_pid.setdefault(pid, {})[name] = _from_ipc(b"".join(numbered[i] for i in sorted(numbered)))
    return [partial_from(by_pid[pid]) for pid in sorted(by_pid)]


def _aggregates(rows: list[Any]) -> dict[str, pd.DataFrame]:
    """Turn Spark's per-key reductions into the frames :func:`miner.results.finalize` expects."""
    out: dict[str, pd.DataFrame] = {}
    for name, spec in MEASURES.items():
        mine = [r for r in rows if r.name == name]
        frame = pd.DataFrame({spec.keys[0]: [r.k1 for r in mine]})
        if len(spec.keys) > 1:
            frame[spec.keys[1]] = [r.k2 for r in mine]
        frame["count"] = np.array([r["count"] for r in mine], dtype=np.int64)
        frame["sum"] = np.array([r["sum"] for r in mine], dtype=np.int64)
        for i, q in enumerate(QUANTILES):
            if q in spec.quantiles:
                frame[f"q{int(q * 100)}"] = np.array([r.q[i] for r in mine], dtype=np.float64)
        out[name] = frame
    return out


def _to_ipc(frame: pd.DataFrame) -> bytes:
    table = to_arrow(frame)
    sink = io.BytesIO()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue()


def _from_ipc(data: bytes) -> pd.DataFrame:
    with pa.ipc.open_stream(io.BytesIO(bytes(data))) as reader:
        return reader.read_all().to_pandas()


def _iso(ts: Any) -> str | None:
    return None if ts is None else pd.Timestamp(ts).isoformat()


def _ts(text: str | None) -> pd.Timestamp | None:
    return None if text is None else pd.Timestamp(text)
