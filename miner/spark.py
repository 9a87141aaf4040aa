"""The Spark engine: the same analysis, run per partition of cases on a cluster.

1. Spark reads the export (CSV or Parquet) as strings, numbering every record
   in file order (the ``source_row`` that breaks ties between equal times).
2. The driver reads a sample with the connectors to find the source and the
   case column. The records are then repartitioned by case, so that every
   partition holds whole cases.
3. Pass one, per partition: the connector turns the rows into the canonical
   event table (snapshot folding, hand-offs and rejections are all per case),
   and reports row accounting, date extremes, activities and the ticket-type
   profile. The driver merges these into the plan (mapping check, ticket-type
   attribute), exactly as the embedded engine decides it for a whole log.
4. Pass two, per partition: :func:`miner.analysis.analyse` on those cases.
   Tickets, additive tables and examples come back to the driver as Arrow;
   measures (one value per event or wait) stay in Spark and are reduced there
   by key: count, exact integer sum, exact percentiles (``percentile``, which
   interpolates linearly like numpy). Tickets per key are counted in each
   partition (whole cases), so they add up with the tables.
5. The driver merges and finalizes with the same code as the embedded engine,
   so the JSON and the HTML are the same.

The driver holds one row per ticket (not per event); executors hold one
partition of cases at a time; the exact percentiles hold, per key, the values
of that key (one number per event) in an executor.
"""

from __future__ import annotations

import io
import json
import os
import tempfile
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
from miner.partitions import (
    PROFILE_COLUMNS,
    SAMPLE_ROWS,
    Description,
    describe_filtered,
    partial_frames,
    partial_from,
    plan_from,
    to_arrow,
)
from miner.results import Results, add_ticket_counts, combine, finalize

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
    builder = (
        SparkSession.builder.appName("vsm")
        .master(master or os.environ.get("VSM_SPARK_MASTER", "local[*]"))
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .config("spark.driver.memory", os.environ.get("VSM_SPARK_DRIVER_MEMORY", "4g"))
        .config("spark.driver.extraJavaOptions", f"-Dlog4j.configurationFile={quiet}")
        .config("spark.executorEnv.PYTHONWARNINGS", "ignore::FutureWarning")
    )
    # The JVM writes its own chatter to stderr; send the JVM's stderr to a log file instead.
    log_path = Path(tempfile.gettempdir()) / "vsm-spark.log"
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
    return spark


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

    ``filters`` (whole tickets) are applied in each partition right after loading, in both passes.
    """
    filters = filters or Filters()
    from pyspark.sql import functions as F

    spark = session(master)
    options = options or LoadOptions()
    rows, header, notes = _read(spark, path, options)
    sample_rows = rows.filter(F.col(ROW) <= SAMPLE_ROWS).orderBy(ROW).collect()
    sample = pd.DataFrame([tuple(r) for r in sample_rows], columns=rows.columns)
    if sample.empty:
        from connectors.errors import EmptyExport

        raise EmptyExport(f"{path}: the file has a header but no data rows")
    kind = "parquet" if _is_parquet(path) else "text"
    _, first = load_table(path, _text_table(sample, header, notes), source, options, check=False, kind=kind)
    case_col = first.columns["case_id"].column
    if case_col not in header:
        raise BadOption(f"--engine spark needs the case id in one column of the export; {first.source} builds it from {case_col!r}")
    n_parts = partitions or max(2, spark.sparkContext.defaultParallelism * 2)
    by_case = rows.repartition(n_parts, F.col(_safe(case_col, header))).cache()

    # Pass one: read every partition, report what the plan needs.
    src = first.source
    first_pass = by_case.mapInPandas(_profile_partition(path, kind, header, notes, source, src, options, filters), schema="payload string")
    descriptions, filtered = [], []
    for row in first_pass.collect():
        doc = json.loads(row.payload)
        if "error" in doc:
            raise VsmError(doc["error"])
        stats = {**doc["stats"], "latest": _ts(doc["stats"]["latest"]), "earliest": _ts(doc["stats"]["earliest"])}
        descriptions.append(Description(LoadReport.from_dict(doc["report"]), stats, doc["activities"],
                                        pd.DataFrame(doc["profile"], columns=PROFILE_COLUMNS), doc["columns"], doc.get("latest_us")))
        filtered.append([FilterNote(*n) for n in doc.get("filtered", [])])
    removed = merge_notes(filtered)
    check_left(removed)  # before the plan, which needs tickets
    plan, report = plan_from(descriptions, first, mapping, design, stream_by, strict=False, as_of=as_of)
    if filters:
        report.notes.extend(n.text() for n in removed)
        report.flags.extend(filters.flags())

    # Pass two: analyse every partition; measures are reduced where they are.
    out = by_case.mapInPandas(_analyse_partition(path, kind, header, notes, source, src, options, plan, filters), schema=OUT_SCHEMA).cache()
    parts = _collect_parts(out.filter(F.col("kind") == "part").select("pid", "name", "payload").collect())
    measures = out.filter(F.col("kind") == "m").groupBy("name", "k1", "k2").agg(
        F.count(F.lit(1)).alias("count"),
        F.sum("v").alias("sum"),
        F.expr(f"percentile(v, array({', '.join(str(q) for q in QUANTILES)}))").alias("q"),
    ).collect()
    for err in out.filter(F.col("kind") == "error").select("name").collect():
        raise VsmError(err.name)
    merged = combine(parts) if parts else Partial(pd.DataFrame())
    # Tickets per key were counted per partition of whole cases: they add up in the merged tables.
    results = finalize(merged, add_ticket_counts(_aggregates(measures), merged.tables), plan)
    by_case.unpersist()
    out.unpersist()
    return results, report


OUT_SCHEMA = "kind string, pid int, name string, payload binary, k1 string, k2 string, v long"


def _read(spark: Any, path: str, options: LoadOptions) -> tuple[Any, list[str], list[str]]:
    """Read the export as string columns plus its record number; return the rows (header excluded), the header and notes."""
    from pyspark.sql import functions as F

    if _is_parquet(path):
        df = spark.read.parquet(path)
        header = unique_names([str(c) for c in df.columns])
        df = df.toDF(*(f"c{i}" for i in range(len(header))))
        df = df.select([F.col(f"c{i}").cast("string").alias(f"c{i}") for i in range(len(header))])
        # Parquet rows are numbered from 1 (no header); _text_table adds 1 for a CSV's header row.
        numbered = df.rdd.zipWithIndex().map(lambda pair: (*pair[0], pair[1]))
        return spark.createDataFrame(numbered, schema=", ".join(f"c{i} string" for i in range(len(header))) + f", {ROW} long"), header, []
    encoding, delimiter, notes = "utf-8", options.delimiter, [f"delimiter {options.delimiter!r} (given)"] if options.delimiter else []
    if Path(path).exists():
        sniffed = sniff(path)
        if sniffed.kind != "text":
            raise BadOption(f"{path}: --engine spark reads CSV or Parquet exports; this is {sniffed.kind}")
        layout = csv_layout(sniffed, options.delimiter)  # as the embedded engine reads it
        encoding, delimiter, notes = layout.encoding, layout.delimiter, layout.notes
    raw = (spark.read.option("header", "false").option("sep", delimiter or ",").option("encoding", encoding)
           .option("multiLine", "true").option("quote", '"').option("escape", '"').option("mode", "PERMISSIVE").csv(path))
    width = len(raw.columns)
    numbered = raw.rdd.zipWithIndex().map(lambda pair: (*pair[0], pair[1]))
    frame = spark.createDataFrame(numbered, schema=", ".join(f"c{i} string" for i in range(width)) + f", {ROW} long")
    first = frame.filter(F.col(ROW) == 0).first()
    header = unique_names([(first[f"c{i}"] or "").strip().lstrip("\ufeff") for i in range(width)])
    frame = frame.filter(F.col(ROW) > 0).toDF(*[_safe(c, header) for c in header], ROW)
    return frame, header, notes


def _safe(column: str, header: list[str]) -> str:
    """Spark column names for the export's columns (positions, which any name survives)."""
    return f"c{header.index(column)}"


def _is_parquet(path: str) -> bool:
    return str(path).lower().endswith((".parquet", ".pq")) or (Path(path).is_file() and Path(path).read_bytes()[:4] == b"PAR1")


def _text_table(frame: pd.DataFrame, header: list[str], notes: list[str]) -> TextTable:
    """The connectors' view of some records: string columns named as in the file, placeholders null."""
    import pyarrow.compute as pc

    frame = frame.sort_values(ROW, kind="stable")
    nulls = pa.array(PLACEHOLDERS, pa.string())
    columns = {}
    for i, name in enumerate(header):
        arr = pa.array(frame[f"c{i}"].astype(object).where(frame[f"c{i}"].notna(), None).to_numpy(dtype=object), pa.string())
        columns[name] = pc.if_else(pc.is_in(arr, value_set=nulls), pa.scalar(None, pa.string()), arr)
    # A CSV's header is record 0, which a spreadsheet shows as row 1; Parquet rows count from 1.
    rows = frame[ROW].to_numpy(dtype=np.int64) + 1
    return TextTable(pa.table(columns), rows, list(header), [], list(notes))


def _profile_partition(path: str, kind: str, header: list[str], notes: list[str], source: str, expected: str, options: LoadOptions,  # type: ignore[no-untyped-def]
                       filters: Filters):
    def run(batches):  # type: ignore[no-untyped-def]
        frame = pd.concat(list(batches), ignore_index=True)
        if frame.empty:
            return
        try:
            log, report = _load_partition(path, kind, _text_table(frame, header, notes), source, expected, options)
            log, described, removed = describe_filtered(log, report, filters)
        except VsmError as exc:
            yield pd.DataFrame({"payload": [json.dumps({"error": str(exc)})]})
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
        yield pd.DataFrame({"payload": [json.dumps(doc, default=str)]})

    return run


def _load_partition(path: str, kind: str, text: TextTable, source: str, expected: str, options: LoadOptions) -> tuple[pd.DataFrame, LoadReport]:
    """Load one partition as the whole export is loaded (the source detected again, so that its reasons add up)."""
    log, report = load_table(path, text, source, options, check=False, kind=kind)
    if report.source != expected:
        raise BadOption(f"{path}: a partition of the export reads as {report.source}, its first rows as {expected}; pass --source")
    return log, report


def _analyse_partition(path: str, kind: str, header: list[str], notes: list[str], source: str, expected: str, options: LoadOptions, plan: Plan,  # type: ignore[no-untyped-def]
                       filters: Filters):
    def run(batches):  # type: ignore[no-untyped-def]
        from pyspark import TaskContext

        frame = pd.concat(list(batches), ignore_index=True)
        if frame.empty:
            return
        pid = TaskContext.get().partitionId()
        try:
            log, _ = _load_partition(path, kind, _text_table(frame, header, notes), source, expected, options)
            if filters:
                log, _ = filters.apply(log, allow_empty=True)
                if not len(log):
                    return
            part = analyse(log, plan)
        except VsmError as exc:
            yield _rows(kind="error", pid=pid, name=str(exc))
            return
        payloads = [(name, frame) for name, frame in partial_frames(part).items() if not name.startswith("measure:")]
        yield pd.DataFrame({"kind": "part", "pid": pid, "name": [n for n, _ in payloads], "payload": [_to_ipc(t) for _, t in payloads],
                            "k1": None, "k2": None, "v": None})
        for name, measure in part.measures.items():
            spec = MEASURES[name]
            if measure.empty:
                continue
            keys = [measure[k].astype(str).to_numpy(dtype=object) for k in spec.keys]
            yield pd.DataFrame({
                "kind": "m", "pid": pid, "name": name, "payload": None,
                "k1": keys[0], "k2": keys[1] if len(keys) > 1 else None,
                "v": measure[spec.value].to_numpy(dtype=np.int64),
            })

    return run


def _rows(**values: Any) -> pd.DataFrame:
    base = {"kind": None, "pid": None, "name": None, "payload": None, "k1": None, "k2": None, "v": None}
    base.update(values)
    return pd.DataFrame({k: [v] for k, v in base.items()})


def _collect_parts(rows: list[Any]) -> list[Partial]:
    """Rebuild each partition's Partial (without its measures, reduced in Spark) from its Arrow payloads."""
    by_pid: dict[int, dict[str, pd.DataFrame]] = {}
    for row in rows:
        by_pid.setdefault(int(row.pid), {})[row.name] = _from_ipc(row.payload)
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
