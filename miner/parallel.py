"""The embedded engine on every core: a large export is cut into partitions of
whole cases, which worker processes load and analyse side by side.

It follows the protocol of :mod:`miner.partitions`, as the Spark engine does:

1. Arrow reads the first rows; the connectors load them to find the source
   and the case column.
2. Every worker reads one byte range of the export (whole lines) and cuts its
   rows by a hash of the case id into partition files (Arrow IPC, in a
   temporary folder). Where a quoted value holds a line break, byte ranges do
   not split into records, and this process streams the export instead.
3. Each worker loads its partitions into canonical event tables, with the
   same connector code as a whole export, and describes them; this process
   merges the descriptions into the load report and the plan. Partitions that
   read differently (another date order, say) send the export back to be read
   whole, in one process.
4. Each worker analyses its partitions and writes one merged partial; this
   process merges the partials and finalizes: the results, and the load
   report, of one process reading the whole export.

Memory holds a batch of the export at a time while it is cut, then about one
partition's strings per worker plus the canonical tables, instead of the
whole export's strings.
"""

from __future__ import annotations

import contextlib
import glob
import math
import multiprocessing
import multiprocessing.connection
import os
import platform
import shutil
import tempfile
import threading
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from connectors.errors import VsmError
from connectors.generic import iter_parquet
from connectors.limits import available_memory, check_memory, data_size
from connectors.options import LoadOptions
from connectors.report import LoadReport
from connectors.sources import load_table
from connectors.textio import (
    CsvLayout,
    RaggedRecords,
    Sniff,
    TextTable,
    csv_layout,
    iter_delimited,
    iter_range,
    line_ranges,
    sniff,
)
from miner.analysis import Partial, analyse
from miner.design import Design
from miner.filters import FilterNote, Filters, check_left, merge_notes
from miner.mapping import Mapping
from miner.partitions import (
    SAMPLE_ROWS,
    Description,
    Disagreement,
    describe_filtered,
    partial_frames,
    partial_from,
    plan_from,
    read_frames,
    write_frames,
)
from miner.results import Results, aggregate_measures, combine, finalize

# About this much of the export per partition. Peak memory is the partition
# files (about the export's size) plus what each worker needs to load one
# partition; 128 MB partitions save 0.3 GB at 10M events but cut slower.
PART_BYTES = 192 << 20
# And at most about this many events: a narrow export (a list view's four
# columns, 63 bytes a row) would otherwise put 3M events in a partition, and a
# worker's memory follows the events it analyses at once. At 10M events of
# that shape, 1M-event partitions took the peak from 4.4 to 3.4-3.7 GB, and
# no longer.
PART_EVENTS = 1_000_000
# Peak memory of all processes together per byte of export: 1.3x measured for
# 10M events of ServiceNow audit snapshots (benchmarks/results.md), rounded up.
WORKERS_FACTOR = 2
ROW = "_vsm_row"
SHM = Path("/dev/shm")
PARTS_PREFIX = "vsm-parts-"


class NotSplittable(Exception):
    """The export cannot be cut into partitions of cases; load it whole."""


@dataclass
class _Input:
    """An export read batch by batch: its column names and where its rows are numbered from."""

    names: list[str]
    notes: list[str]
    first_row: int  # a CSV's first record is row 2 (after the header); Parquet's is row 1
    batches: Any  # callable: (newlines: bool, block_size: int) -> iterator of record batches
    retry: bool  # whether a ragged read is worth a second, quote-aware try
    kind: str = "text"  # the sniffed kind: text or parquet
    layout: CsvLayout | None = None
    ranges: Any = None  # callable: n -> n byte ranges of whole lines (CSV only)


def _input(sniffed: Sniff, options: LoadOptions) -> _Input:
    # Sniffed trusting the head: Arrow checks that every value is UTF-8; if
    # one is not, the export is read whole (and its encoding found).
    if sniffed.kind == "text":
        layout = csv_layout(sniffed, options.delimiter)
        # A gzip file has no byte ranges to read apart: the parent streams it, unpacking as it reads.
        splittable = not sniffed.encoding.startswith("utf-16") and not sniffed.compressed
        return _Input(layout.names, layout.notes, 2, lambda newlines, block: iter_delimited(layout, newlines, block), len(layout.names) > 1,
                      layout=layout, ranges=(lambda n: line_ranges(layout, n)) if splittable else None)
    if sniffed.kind == "parquet":
        names, _ = iter_parquet(sniffed)
        return _Input(names, [], 1, lambda newlines, block: iter_parquet(sniffed, max(1, block // 256))[1], False, "parquet")
    raise NotSplittable(f"a {sniffed.kind} export is read whole")


def run_parallel(
    path: str,
    *,
    source: str = "auto",
    options: LoadOptions | None = None,
    mapping: Mapping | str | Path | None = None,
    design: Design | str | Path | bool | None = True,
    stream_by: str | None = None,
    workers: int = 2,
    partitions: int | None = None,
    as_of: str | None = None,
    filters: Filters | None = None,
) -> tuple[Results, LoadReport]:
    """Load and analyse ``path`` in ``workers`` processes; the same results as one process.

    ``filters`` keep or drop whole tickets, so each worker applies them to its
    partitions right after loading; their counts add up to the whole's.

    Raises :class:`NotSplittable` when the export cannot be cut into partitions
    of cases (not CSV or Parquet, a case id built from several columns, records
    of the wrong width, or partitions the connector reads differently): the
    caller then loads it whole, which also gives the right error message.
    """
    options = options or LoadOptions()
    try:
        sniffed = sniff(path, trust_head=True)
        source_in = _input(sniffed, options)
    except VsmError as exc:
        raise NotSplittable(str(exc)) from exc
    check_memory(sniffed, WORKERS_FACTOR, " in worker processes")
    context = multiprocessing.get_context("spawn")  # not fork: Arrow's thread pools do not survive a fork
    pool: list[_Worker] = []
    folder = _parts_folder(data_size(sniffed)[0])
    try:
        # Start the workers first: they import while this process reads the first rows.
        for _ in range(workers):
            parent, child = context.Pipe()
            lifeline, held = context.Pipe(duplex=False)  # this process holds the sending end until it ends
            proc = context.Process(target=_serve, args=(child, lifeline, str(folder)), daemon=True)
            proc.start()
            child.close()
            lifeline.close()
            pool.append(_Worker(proc, parent, held))
        try:
            first, case_col, newlines = _sample(path, source_in, source, options)
        except VsmError as exc:
            raise NotSplittable(str(exc)) from exc
        size = data_size(sniffed)[0] if sniffed.compressed else Path(path).stat().st_size
        n_parts = partitions or max(workers, math.ceil(size / _part_bytes(sniffed)))
        case_index = source_in.names.index(case_col)
        pieces = _split_in_workers(pool, source_in, case_index, n_parts, folder) if source_in.ranges and not newlines else None
        if pieces is None:
            try:
                pieces = [[f] for f in _split(source_in, case_index, n_parts, folder, newlines)]
            except VsmError as exc:
                raise NotSplittable(str(exc)) from exc
        load = (path, source_in.kind, source_in.names, source, first.source, options, source_in.notes, filters or Filters())
        loaded = _load_in_workers(pool, load, pieces)
        descriptions = [d for d, _ in loaded]
        notes = merge_notes([n for _, n in loaded])
        check_left(notes)  # before the plan, which needs tickets
        try:
            plan, report = plan_from(descriptions, first, mapping, design, stream_by, as_of=as_of)
        except Disagreement as exc:
            raise NotSplittable(f"partitions read differently: {exc}") from exc
        if filters:
            report.notes.extend(n.text() for n in notes)
            report.flags.extend(filters.flags())
        for w, worker in enumerate(pool):
            worker.send("analyse", (plan, str(folder / f"partial-{w}")))
        files = [worker.receive() for worker in pool]
        for worker in pool:
            worker.join()  # each exits once it has written its partial: its memory is back before they are read
        parts: list[Partial] = [partial_from(read_frames(f)) for written in files for f in written]
    finally:
        for worker in pool:
            worker.stop()
        for worker in pool:
            worker.join()
        shutil.rmtree(folder, ignore_errors=True)
    merged = combine(parts)
    del parts  # the merged copy is all that is needed: at 10M events the partials are a gigabyte
    return finalize(merged, aggregate_measures(merged.measures, merged.tables), plan), report


def _part_bytes(sniffed: Sniff) -> int:
    """Bytes of export per partition: :data:`PART_BYTES`, or fewer when rows are so narrow that it would hold over :data:`PART_EVENTS` events."""
    lines = sniffed.text_head.count("\n")
    if lines < 10:  # Parquet, or too little text to tell
        return PART_BYTES
    per_row = len(sniffed.text_head.encode("utf-8")) / lines
    return int(min(PART_BYTES, max(PART_EVENTS * per_row, 16 << 20)))


def _parts_folder(size: int) -> Path:
    """A new folder for the partition files: in memory (/dev/shm) when there is room to spare, else in $TMPDIR.

    Written to disk, a few GB of partitions meet the kernel's write-back
    throttling: at 10M events that was a fifth of the run (15 s of 70). In
    memory, the files (about the export's size, each deleted once loaded)
    come on top of the workers' own memory, so /dev/shm is used only when
    the memory available holds both with room to spare, and never when
    TMPDIR names a folder. Folders that runs killed outright left behind
    are removed first (see :func:`_sweep`).
    """
    if "TMPDIR" not in os.environ and SHM.is_dir():
        available = available_memory()
        try:
            room = shutil.disk_usage(SHM).free
        except OSError:
            room = 0
        if available is not None and room > 1.5 * size and available[0] > (WORKERS_FACTOR + 1.5) * size:
            return scratch_folder(SHM)
    return scratch_folder()


def scratch_folder(parent: Path | None = None) -> Path:
    """A new folder for one run's files in ``parent`` ($TMPDIR by default), named after this host and
    process, so that a later run removes it if this one is killed outright (:func:`_sweep` runs first)."""
    parent = parent or Path(tempfile.gettempdir())
    _sweep(parent)
    return Path(tempfile.mkdtemp(prefix=f"{PARTS_PREFIX}{platform.node()}-{os.getpid()}-", dir=parent))


def _sweep(parent: Path) -> None:
    """Remove the partition folders in ``parent`` of runs on this host whose process is gone (killed outright).

    A normal end, an error or Ctrl-C removes a run's folder itself; a run
    killed by SIGKILL or the out-of-memory killer cannot, and in /dev/shm its
    files would hold memory until the next boot.
    """
    host = platform.node()
    try:
        folders = list(parent.glob(f"{PARTS_PREFIX}{glob.escape(host)}-*-*"))
    except OSError:
        return
    for folder in folders:
        pid = folder.name[len(PARTS_PREFIX) + len(host) + 1:].split("-", 1)[0]
        if pid.isdigit() and int(pid) != os.getpid() and not _alive(int(pid)):
            shutil.rmtree(folder, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # another user's process: alive
        return True
    return True


@dataclass
class _Worker:
    proc: Any
    pipe: Any
    lifeline: Any  # the sending end of the worker's lifeline, never written to: see _watch_parent

    def send(self, command: str, payload: Any) -> None:
        self.pipe.send((command, payload))

    def receive(self) -> Any:
        try:
            kind, payload = self.pipe.recv()
        except (EOFError, OSError) as exc:
            raise VsmError("a worker process stopped without a word (out of memory?); run again with --workers 1") from exc
        if kind == "refused":
            raise NotSplittable(payload)
        if kind == "crash":
            raise RuntimeError(f"a worker process failed:\n{payload}")
        return payload

    def stop(self) -> None:
        """Ask the worker to stop (it frees its memory as it exits, while the others are asked)."""
        if self.proc.is_alive():
            with contextlib.suppress(OSError):  # the worker may be gone already
                self.pipe.send(("stop", None))

    def join(self) -> None:
        """Wait for the worker to exit, ending it if it does not in 5 seconds."""
        self.proc.join(timeout=5)
        if self.proc.is_alive():
            self.proc.terminate()
            self.proc.join()
        self.lifeline.close()


def _sample(path: str, source_in: _Input, source: str, options: LoadOptions) -> tuple[LoadReport, str, bool]:
    """Load the first rows to find the source and the case column; return also how lines split into records."""
    for newlines in ((False, True) if source_in.retry else (True,)):
        try:
            batches, rows = [], 0
            for batch in source_in.batches(newlines, 1 << 20):
                batches.append(batch.slice(0, SAMPLE_ROWS - rows))
                rows += len(batches[-1])
                if rows >= SAMPLE_ROWS:
                    break
            break
        except RaggedRecords:
            continue
    else:
        raise NotSplittable("records of the wrong width")
    if not rows:
        raise NotSplittable("no data rows")
    table = pa.Table.from_batches(batches)
    text = TextTable(table, np.arange(source_in.first_row, source_in.first_row + rows, dtype=np.int64), source_in.names, [], source_in.notes)
    try:
        _, first = load_table(path, text, source, options, check=False, kind=source_in.kind)
    except VsmError as exc:
        raise NotSplittable(str(exc)) from exc
    choice = first.columns.get("case_id")
    if choice is None or choice.column not in source_in.names:
        raise NotSplittable("the case id is not one column")
    return first, choice.column, newlines


def _load_in_workers(pool: list[_Worker], load: tuple[Any, ...], pieces: list[list[tuple[Path, int]]]) -> list[tuple[Description, list[FilterNote]]]:
    """Let the workers load the partitions, the next one going to whichever worker is free.

    Return each partition's description and what the filters removed from it, in partition order.

    A worker keeps what it loads for the analysis. Handing out partitions one
    at a time evens out the work when one process runs slower than another.
    """
    waiting = list(range(len(pieces)))[::-1]
    busy: dict[Any, tuple[_Worker, int]] = {}
    described: dict[int, list[tuple[Description, list[FilterNote]]]] = {}

    def give(worker: _Worker) -> None:
        if waiting:
            part = waiting.pop()
            worker.send("load", (*load, [pieces[part]]))
            busy[worker.pipe] = (worker, part)

    for worker in pool:
        give(worker)
    while busy:
        for pipe in multiprocessing.connection.wait(list(busy)):
            worker, part = busy.pop(pipe)
            described[part] = worker.receive()
            give(worker)
    return [d for part in sorted(described) for d in described[part]]


def _split_in_workers(pool: list[_Worker], source_in: _Input, case_index: int, n_parts: int, folder: Path) -> list[list[Path]] | None:
    """Let every worker read one byte range of a CSV and cut it into partitions.

    Return, per partition, its pieces in file order; None if a range held a
    record of the wrong width (a line break inside quotes, say).
    """
    ranges = source_in.ranges(len(pool))
    for w, (worker, (start, end)) in enumerate(zip(pool, ranges, strict=True)):
        worker.send("split", (source_in.layout, start, end, case_index, n_parts, str(folder), w))
    results = [worker.receive() for worker in pool]
    if any(r is None for r in results):
        return None
    counts = [n for n, _ in results]
    offsets = np.concatenate([[0], np.cumsum(counts)])[:-1] + source_in.first_row
    pieces: list[list[tuple[Path, int]]] = [[] for _ in range(n_parts)]
    for (_, written), offset in zip(results, offsets, strict=True):
        for part, file in written:
            pieces[part].append((Path(file), int(offset)))
    return [p for p in pieces if p]  # type: ignore[misc]


def _split(source_in: _Input, case_index: int, n_parts: int, folder: Path, newlines: bool) -> list[tuple[Path, int]]:
    """Stream the export here and cut it into ``n_parts`` files by a hash of the case id; return the non-empty ones."""
    for attempt in ((newlines, True) if not newlines else (True,)):
        try:
            written, rows = _cut(source_in.batches(attempt, 16 << 20), case_index, n_parts, folder, "s")
        except RaggedRecords:
            continue
        return [(Path(file), source_in.first_row) for _, file in written]
    raise NotSplittable("records of the wrong width")


def _cut(batches: Any, case_index: int, n_parts: int, folder: Path, tag: str) -> tuple[list[tuple[int, str]], int]:
    """Write ``batches`` into one Arrow file per partition, each row with its number (from 0) in ``batches``."""
    writers: list[Any] = [None] * n_parts
    paths = [str(folder / f"part-{i:04d}-{tag}.arrow") for i in range(n_parts)]
    row = 0
    try:
        for batch in batches:
            n = len(batch)
            part = _partition_of(batch.column(case_index), n_parts)
            order = np.argsort(part, kind="stable")
            bounds = np.searchsorted(part[order], np.arange(n_parts + 1))
            numbered = batch.append_column(ROW, pa.array(np.arange(row, row + n, dtype=np.int64)))
            ordered = numbered.take(pa.array(order))
            for i in np.flatnonzero(np.diff(bounds)):
                if writers[i] is None:
                    writers[i] = pa.ipc.new_file(paths[i], numbered.schema)
                writers[i].write_batch(ordered.slice(bounds[i], bounds[i + 1] - bounds[i]))
            row += n
    finally:
        for w in writers:
            if w is not None:
                w.close()
    return [(i, paths[i]) for i in range(n_parts) if writers[i] is not None], row


def _partition_of(cases: pa.Array, n_parts: int) -> np.ndarray:
    """A partition number per row from a stable hash of its case id (rows with none go to partition 0)."""
    encoded = pc.dictionary_encode(cases)
    values = encoded.dictionary.to_numpy(zero_copy_only=False).astype(object)
    hashed = (pd.util.hash_array(values, categorize=False) % np.uint64(n_parts)).astype(np.int64) if len(values) else np.zeros(1, np.int64)
    indices = pc.fill_null(encoded.indices, 0).to_numpy()
    part = hashed[indices]
    if cases.null_count:
        part[~np.asarray(cases.is_valid())] = 0
    return part


# --- In a worker process ---------------------------------------------------------


def _watch_parent(lifeline: Any, folder: str) -> None:
    """End this worker the moment its parent is gone, removing the run's partition folder.

    The parent holds the sending end of ``lifeline`` and never writes to it;
    when the parent ends in any way (SIGKILL and the out-of-memory killer
    included) the kernel closes it, and the read here ends. A worker busy
    loading or analysing would otherwise run on for its whole task, holding
    its memory and the folder's files in /dev/shm.
    """
    def watch() -> None:
        with contextlib.suppress(EOFError, OSError):
            lifeline.recv()
        shutil.rmtree(folder, ignore_errors=True)
        os._exit(1)  # at once, from this thread, whatever the main thread is doing

    threading.Thread(target=watch, name="vsm-parent-watch", daemon=True).start()


def _serve(pipe: Any, lifeline: Any, folder: str) -> None:
    """A worker process: split a byte range, load partitions, analyse them, as the parent asks."""
    _watch_parent(lifeline, folder)
    logs: list[pd.DataFrame] = []
    while True:
        try:
            command, payload = pipe.recv()
        except (EOFError, OSError):
            return  # the parent is gone
        try:
            if command == "stop":
                return
            if command == "split":
                pipe.send(("split", _split_range(*payload)))
            elif command == "load":
                described = _load_partitions(*payload, logs=logs)
                pipe.send(("refused", described) if isinstance(described, str) else ("loaded", described))
            elif command == "analyse":
                parts = []
                while logs:
                    parts.append(analyse(logs.pop(0), payload[0]))
                # One merged partial per worker, written as Arrow files: faster than a pipe for hundreds of MB.
                merged = [combine(parts)] if parts else []
                pipe.send(("analysed", [write_frames(partial_frames(p), Path(payload[1])) for p in merged]))
                return  # the last task: its memory goes back before the parent reads and merges the partials
        except VsmError as exc:
            pipe.send(("refused", str(exc)))  # the parent reads the export whole, and says what is wrong with it
            return
        except BaseException:  # noqa: BLE001 - the parent reports it
            pipe.send(("crash", traceback.format_exc()))
            return


def _split_range(layout: CsvLayout, start: int, end: int, case_index: int, n_parts: int, folder: str, tag: int) -> tuple[int, list[tuple[int, str]]] | None:
    """Read bytes ``start`` to ``end`` of a CSV (whole records) and cut them into partitions."""
    try:
        written, rows = _cut(iter_range(layout, start, end), case_index, n_parts, Path(folder), str(tag))
    except RaggedRecords:
        return None
    return rows, written


def _load_partitions(path: str, kind: str, names: list[str], given: str, expected: str, options: LoadOptions, notes: list[str],
                     filters: Filters, pieces: list[list[tuple[Path, int]]], *,
                     logs: list[pd.DataFrame]) -> list[tuple[Description, list[FilterNote]]] | str:
    """Load each partition (its pieces in file order) into the canonical table and filter it; describe it, or say why not.

    The description's date figures are of the loaded rows (the load report's
    checks, as one process makes them before filtering); the rest is of the
    tickets the filters keep, as one process plans the filtered log.
    """
    described = []
    for files in pieces:
        tables, rows = [], []
        for file, offset in files:
            with pa.memory_map(str(file)) as source:  # no copy: the pages the split just wrote
                table = pa.ipc.open_file(source).read_all()
            rows.append(table.column(ROW).to_numpy() + offset)
            tables.append(table.drop_columns([ROW]))
        text = TextTable(pa.concat_tables(tables), np.concatenate(rows), names, [], notes)
        del tables
        try:
            log, report = load_table(path, text, given, options, check=False, kind=kind)
        except VsmError as exc:
            return str(exc)
        if report.source != expected:
            return f"a partition reads as {report.source}, the first rows as {expected}"
        del text
        for file, _ in files:  # here, in parallel, rather than all at the end in the parent
            Path(file).unlink(missing_ok=True)
        try:
            log, description, removed = describe_filtered(log, report, filters)
        except VsmError as exc:
            return str(exc)
        if len(log):  # a partition the filters emptied has nothing to analyse
            logs.append(log)
        described.append((description, removed))
    return described
