"""Reading the bytes of an export: sniffing its kind, its encoding and its
delimiter, and reading delimited text into an Arrow table of strings.

A gzip file is known by its magic bytes, whatever its name, and sniffed by
what it holds; every reader unpacks it as it reads (:meth:`Sniff.open`).
"""

from __future__ import annotations

import codecs
import csv
import gzip
import io
import json
import os
import threading
import zlib
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from connectors.errors import EmptyExport, UnreadableExport
from connectors.report import Rejection

# Cells holding one of these mean "no value": ServiceNow writes '(empty)' or
# '?', databases 'NULL', spreadsheets '#N/A'.
PLACEHOLDERS = ["", "?", "(empty)", "(none)", "NULL", "null", "Null", "None", "none", "NaN", "nan", "N/A", "n/a", "#N/A", "-"]
DELIMITERS = [",", ";", "\t", "|"]
HEAD_BYTES = 256 * 1024
# Bytes per block when Arrow reads a whole delimited file (read_delimited).
READ_BLOCK = 4 << 20
# The five bytes cp1252 leaves undefined.
_NOT_CP1252 = (b"\x81", b"\x8d", b"\x8f", b"\x90", b"\x9d")
GZIP_MAGIC = b"\x1f\x8b"
# What reading a damaged or truncated gzip stream raises (gzip.BadGzipFile is an OSError).
GZIP_ERRORS = (OSError, EOFError, zlib.error)


@dataclass
class Sniff:
    """What the first bytes of a file say about it.

    ``compressed``: the file is gzip (known by its magic bytes, whatever its
    name); ``kind`` and everything else describe the content inside, which
    every reader streams through :meth:`open`, never unpacked whole.
    """

    path: Path
    kind: str  # "text", "json", "xes", "gzip-xes", "xlsx", "parquet"
    encoding: str = "utf-8"
    text_head: str = ""
    notes: list[str] = field(default_factory=list)
    compressed: bool = False

    def open(self) -> IO[bytes]:
        """The file's content as a binary stream: unpacked as it is read when it is gzip."""
        return open_content(self.path, self.compressed)


def open_content(path: Path, compressed: bool) -> IO[bytes]:
    """Open ``path`` for reading bytes, unpacking gzip on the fly when ``compressed``."""
    return gzip.open(path, "rb") if compressed else path.open("rb")


def gzip_error(path: Path, exc: BaseException) -> str:
    """The one-line message for a gzip file that cannot be unpacked."""
    why = str(exc).strip() or type(exc).__name__
    return f"{path}: the gzip file is damaged or truncated ({why}); download or export it again"


def sniff(path: str | os.PathLike[str], *, trust_head: bool = False) -> Sniff:
    """Return what kind of file ``path`` is, reading all of it only to check its encoding.

    With ``trust_head``, a head that is UTF-8 is taken to mean the file is:
    for a reader that checks every value's UTF-8 itself (Arrow does) and
    starts again with :func:`sniff` when one fails.
    """
    if not trust_head:
        ahead = _ahead_for(path)
        if ahead is not None and ahead.sniffed is not None and not ahead.handed_out:
            ahead.handed_out = True
            return ahead.sniffed
    return _sniff(path, trust_head)


def _sniff(path: str | os.PathLike[str], trust_head: bool = False) -> Sniff:
    p = Path(path)
    if not p.exists():
        raise UnreadableExport(f"{p}: no such file")
    if p.is_dir():
        raise UnreadableExport(f"{p}: is a folder, not an export file")
    try:
        with p.open("rb") as fh:
            head = fh.read(HEAD_BYTES)
    except OSError as exc:
        raise UnreadableExport(f"{p}: cannot be read ({exc.strerror or exc})") from exc
    if not head:
        raise EmptyExport(f"{p}: the file is empty")
    if head[:4] == b"PAR1":
        return Sniff(p, "parquet")
    if head[:2] == b"PK":
        return Sniff(p, "xlsx")
    if head[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        raise UnreadableExport(
            f"{p}: an Excel 97-2003 (.xls) or password-protected workbook, which vsm cannot read; "
            "save it as .xlsx (without a password) or CSV"
        )
    if p.suffix.lower() in (".xlsx", ".xlsm"):
        raise UnreadableExport(
            f"{p}: named {p.suffix} but not an Excel workbook (an .xlsx file is a zip archive); "
            "export it again, or give it the right extension if it is CSV or JSON"
        )
    if head[:2] == GZIP_MAGIC:
        return _sniff_gzip(p, trust_head)
    encoding, note = _utf8_head(head) if trust_head else None, ""
    if encoding is None:
        encoding, note = detect_encoding(p, head)
    text = _decode_head(head, encoding)
    if _looks_binary(head, text, encoding):
        raise UnreadableExport(
            f"{p}: the file is binary, not a text export; export it as CSV, XLSX, JSON, XES or Parquet"
        )
    stripped = text.lstrip()
    if stripped.startswith("<"):
        return Sniff(p, "xes", encoding, text, [note] if note else [])
    if stripped.startswith(("{", "[")):
        return Sniff(p, "json", encoding, text, [note] if note else [])
    return Sniff(p, "text", encoding, text, [note] if note else [])


def _sniff_gzip(p: Path, trust_head: bool) -> Sniff:
    """Sniff what a gzip file holds: text, JSON and XES are read through it; anything else is refused."""
    try:
        with gzip.open(p, "rb") as fh:
            head = fh.read(HEAD_BYTES)
    except GZIP_ERRORS as exc:
        raise UnreadableExport(gzip_error(p, exc)) from exc
    if not head:
        raise EmptyExport(f"{p}: the gzip file holds an empty file; export it again")
    unpack = f"unpack it (gunzip -k {p.name}) and give vsm the file inside"
    if head[:4] == b"PAR1" or head[:2] == b"PK":
        what = "a Parquet file" if head[:4] == b"PAR1" else "a zip archive (an .xlsx workbook?)"
        raise UnreadableExport(f"{p}: a gzip file holding {what}, which vsm reads only unpacked; {unpack}")
    if head[:2] == GZIP_MAGIC:
        raise UnreadableExport(f"{p}: a gzip file holding another gzip file; {unpack}")
    encoding, note = _utf8_head(head) if trust_head else None, ""
    if encoding is None:
        encoding, note = detect_encoding(p, head, compressed=True)
    text = _decode_head(head, encoding)
    if _looks_binary(head, text, encoding):
        raise UnreadableExport(
            f"{p}: a gzip file holding binary data, not a text export; vsm reads gzipped CSV, TSV, JSON and XES: "
            f"unpack it (gunzip -k {p.name}) to see what it holds"
        )
    stripped = text.lstrip()
    notes = [note] if note else []
    if stripped.startswith("<"):
        if "<log" in text[:4096] or "xes" in text[:4096].lower():
            return Sniff(p, "gzip-xes", encoding, text, notes, compressed=True)
        return Sniff(p, "xes", encoding, text, notes, compressed=True)
    if stripped.startswith(("{", "[")):
        return Sniff(p, "json", encoding, text, notes, compressed=True)
    return Sniff(p, "text", encoding, text, notes, compressed=True)


def detect_encoding(path: Path, head: bytes, *, compressed: bool = False) -> tuple[str, str]:
    """Return the encoding of a text file and a note saying how it was decided.

    Reads the whole file (unpacking it when ``compressed``), so a damaged gzip
    file is found here, before any reader starts.
    """
    try:
        encoding, note = _detect_encoding(path, head, compressed)
        if compressed and encoding.startswith("utf-16"):
            with gzip.open(path, "rb") as fh:  # known from the head: read through only to check the gzip
                while fh.read(8 * 1024 * 1024):
                    pass
        return encoding, note
    except GZIP_ERRORS as exc:
        if not compressed:
            raise
        raise UnreadableExport(gzip_error(path, exc)) from exc


def _detect_encoding(path: Path, head: bytes, compressed: bool) -> tuple[str, str]:
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-16", "encoding UTF-16 (byte-order mark)"
    bom = head.startswith(b"\xef\xbb\xbf")
    sample = head[:8192]
    if not bom and len(sample) >= 8 and b"\x00" in sample:
        # Latin text in UTF-16 without a byte-order mark: every other byte is zero.
        even, odd = sample[0::2], sample[1::2]
        if odd.count(0) >= 0.9 * len(odd) and even.count(0) == 0:
            return "utf-16-le", "encoding UTF-16 little-endian (no byte-order mark)"
        if even.count(0) >= 0.9 * len(even) and odd.count(0) == 0:
            return "utf-16-be", "encoding UTF-16 big-endian (no byte-order mark)"
    utf8 = codecs.getincrementaldecoder("utf-8")()
    ascii_only = True
    offset = 0
    try:
        with open_content(path, compressed) as fh:
            # Decode in chunks so that a large file is never held in memory twice.
            while chunk := fh.read(8 * 1024 * 1024):
                # Plain ASCII (most exports, most of the time) is UTF-8: checking it is three times faster than decoding it.
                if not (chunk.isascii() and not utf8.getstate()[0]):
                    ascii_only = utf8.decode(chunk).isascii() and ascii_only
                offset += len(chunk)
        utf8.decode(b"", final=True)
        if bom:
            return "utf-8-sig", "encoding UTF-8 with a byte-order mark"
        return "utf-8", ""
    except UnicodeDecodeError as exc:
        if exc.reason == "unexpected end of data" and (bom or not ascii_only):
            # Valid UTF-8 text up to a character cut off by the end of the file.
            raise UnreadableExport(
                f"{path}: the file ends in the middle of a UTF-8 character; it is truncated: export it again"
            ) from exc
        if bom:
            at = offset + exc.start
            raise UnreadableExport(
                f"{path}: starts with a UTF-8 byte-order mark but is not UTF-8 (byte {exc.object[exc.start]:#04x} "
                f"near byte {at:,}); it mixes encodings: save it again as UTF-8"
            ) from exc
    with open_content(path, compressed) as fh:
        while chunk := fh.read(8 * 1024 * 1024):
            if any(b in chunk for b in _NOT_CP1252):
                # Every byte is a character in Latin-1, so the file reads; it may be garbled.
                return "latin-1", "encoding ISO-8859-1 (Latin-1): the file is neither valid UTF-8 nor cp1252; check its text"
    return "cp1252", "encoding cp1252 (Windows Western): the file is not valid UTF-8"


def _utf8_head(head: bytes) -> str | None:
    """'utf-8' (or 'utf-8-sig') if the head is UTF-8 but for a character its end may cut; else None."""
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.reason != "unexpected end of data" or len(head) < HEAD_BYTES:
            return None
    if head.startswith((b"\xff\xfe", b"\xfe\xff")) or b"\x00" in head[:8192]:
        return None
    return "utf-8-sig" if head.startswith(b"\xef\xbb\xbf") else "utf-8"


def _decode_head(head: bytes, encoding: str) -> str:
    return head.decode(encoding.replace("utf-8-sig", "utf-8"), errors="replace").lstrip("\ufeff")


def _looks_binary(head: bytes, text: str, encoding: str) -> bool:
    if b"\x00" in head[:8192] and not encoding.startswith("utf-16"):
        return True
    sample = text[:8192]
    if not sample:
        return False
    control = sum(1 for ch in sample if ord(ch) < 32 and ch not in "\r\n\t\f")
    replaced = sample.count("\ufffd")
    return (control + replaced) / len(sample) > 0.05


def detect_delimiter(text_head: str, path: Path) -> tuple[str, str]:
    """Return the delimiter of a delimited text file and why it was chosen."""
    lines = text_head.splitlines()
    if len(text_head) >= HEAD_BYTES - 16 and lines:
        lines = lines[:-1]  # the last line of the head may be cut short
    lines = [ln for ln in lines if ln.strip()][:200]
    if not lines:
        raise EmptyExport(f"{path}: the file has no lines of data")
    best: tuple[float, str, int] | None = None
    for delim in DELIMITERS:
        try:
            rows = list(csv.reader(io.StringIO("\n".join(lines)), delimiter=delim))
        except csv.Error:
            continue
        widths = Counter(len(r) for r in rows)
        width, agree = widths.most_common(1)[0]
        if width < 2:
            continue
        score = agree / len(rows) + width / 1000
        if best is None or score > best[0]:
            best = (score, delim, width)
    if best is None:
        return ",", "one column only: no comma, semicolon, tab or bar separates fields"
    name = {",": "comma", ";": "semicolon", "\t": "tab", "|": "bar"}[best[1]]
    return best[1], f"delimiter {name} ({best[2]} columns)"


@dataclass
class TextTable:
    """A delimited file read as strings."""

    table: pa.Table  # every column a string column; placeholders are null
    source_rows: np.ndarray  # the spreadsheet row number of each record
    header: list[str]  # the column names as written in the file
    rejected: list[Rejection]  # records with the wrong number of fields
    notes: list[str]


@dataclass
class CsvLayout:
    """How a delimited file is read: its delimiter, header and encoding."""

    sniffed: Sniff
    delimiter: str
    header: list[str]  # the column names as written in the file
    names: list[str]  # unique names (repeats numbered)
    notes: list[str]

    @property
    def encoding(self) -> str:
        return "utf-8" if self.sniffed.encoding == "utf-8-sig" else self.sniffed.encoding

    def options(self, newlines: bool, on_invalid: object = None, block_size: int = 16 << 20, threads: bool = True) -> dict[str, object]:
        """Keyword arguments for pyarrow's CSV readers: every column a string, placeholders null."""
        return {
            "read_options": pacsv.ReadOptions(encoding=self.encoding, block_size=block_size, use_threads=threads),
            "parse_options": pacsv.ParseOptions(delimiter=self.delimiter, newlines_in_values=newlines, invalid_row_handler=on_invalid),
            "convert_options": pacsv.ConvertOptions(
                column_types={name: pa.string() for name in self.header},
                null_values=PLACEHOLDERS,
                strings_can_be_null=True,
                quoted_strings_can_be_null=True,
            ),
        }


def csv_layout(sniffed: Sniff, delimiter: str | None = None) -> CsvLayout:
    """Decide the delimiter and read the header of a delimited text file."""
    path = sniffed.path
    notes = list(sniffed.notes)
    if delimiter is None:
        delimiter, why = detect_delimiter(sniffed.text_head, path)
        notes.append(why)
    else:
        notes.append(f"delimiter {delimiter!r} (given)")
    header = _read_header(sniffed, delimiter)
    if not any(h.strip() for h in header):
        raise EmptyExport(f"{path}: the first line is empty; the file needs a header row")
    names = unique_names(header)
    if names != header:
        notes.append("repeated column names were numbered: " + ", ".join(n for n, h in zip(names, header, strict=True) if n != h))
    return CsvLayout(sniffed, delimiter, header, names, notes)


class RaggedRecords(Exception):
    """Arrow met a record with the wrong number of fields: read again more carefully."""


def read_delimited(sniffed: Sniff, delimiter: str | None = None) -> TextTable:
    """Read a delimited text file into a table of strings, keeping every record accounted for.

    Arrow first splits the file at every line break, which is fast; a quoted
    value that holds a line break may then straddle two blocks and leave a
    record with the wrong number of fields, and the file is read again with
    quote-aware splitting. Records that are still ragged are numbered exactly
    by the csv module.
    """
    ahead = _ahead_for(sniffed.path)
    if ahead is not None and ahead.handed_out and ahead.sniffed is sniffed and ahead.delimiter == delimiter:
        read_ahead_done()
        if ahead.table is not None:
            return ahead.table
    return _read_delimited(sniffed, delimiter)


def _read_delimited(sniffed: Sniff, delimiter: str | None) -> TextTable:
    layout = csv_layout(sniffed, delimiter)
    path = sniffed.path
    table = None
    # One column: a split record cannot be told apart by its width, so read quote-aware at once.
    for newlines in ((False, True) if len(layout.header) > 1 else (True,)):
        try:
            table = _read_arrow(layout, newlines)
            break
        except RaggedRecords:
            continue
    if table is None:
        # Arrow does not say where the skipped records were, so read again with
        # the csv module to number every record exactly.
        return _read_ragged(sniffed, layout.delimiter, layout.names, layout.header, layout.notes)
    source_rows = np.arange(2, table.num_rows + 2, dtype=np.int64)
    if table.num_rows == 0:
        raise EmptyExport(f"{path}: the file has a header but no data rows")
    return TextTable(table, source_rows, layout.header, [], layout.notes)


# --- Reading ahead ----------------------------------------------------------------------
#
# A command that will read an export whole in this process starts reading it at
# once, on a thread (read_ahead), while the process imports pandas and the
# analyses: about 0.3 s in which one core is otherwise idle. This module needs
# neither. sniff() and read_delimited() then hand out what the thread found,
# as long as the file is unchanged; whatever failed there is done again where
# it was asked for, so that errors are raised, and worded, as without it.


@dataclass
class _Ahead:
    key: tuple[str, int, int]  # the file's resolved path, size and modification time
    delimiter: str | None
    done: threading.Event = field(default_factory=threading.Event)
    sniffed: Sniff | None = None
    table: TextTable | None = None
    handed_out: bool = False  # sniff() gave ``sniffed`` to a reader: only that reader takes the table


_ahead: _Ahead | None = None


def _file_key(path: str | os.PathLike[str]) -> tuple[str, int, int] | None:
    try:
        st = os.stat(path)
        return str(Path(path).resolve()), st.st_size, st.st_mtime_ns
    except OSError:
        return None


def read_ahead(path: str | os.PathLike[str], delimiter: str | None = None) -> None:
    """Start sniffing and reading the delimited text file ``path`` on a thread (nothing else: gzip, JSON …).

    Call it only when the file will be read whole in this process, with
    ``delimiter`` as the reader will be given it; :func:`read_ahead_done`
    drops what no reader took.
    """
    global _ahead
    key = _file_key(path)
    if key is None:
        return
    ahead = _ahead = _Ahead(key, delimiter)

    def run() -> None:
        try:
            from connectors.limits import check_memory

            sniffed = _sniff(path)
            ahead.sniffed = sniffed
            if sniffed.kind == "text" and not sniffed.compressed:
                check_memory(sniffed)
                ahead.table = _read_delimited(sniffed, delimiter)
        except Exception:  # noqa: BLE001 - the reader meets it again, on its own thread, and says it
            pass
        finally:
            ahead.done.set()

    threading.Thread(target=run, name="vsm-read-ahead", daemon=True).start()


def _ahead_for(path: str | os.PathLike[str]) -> _Ahead | None:
    """What is read ahead for ``path`` (waited for), if the file is still the one read."""
    ahead = _ahead
    if ahead is None or _file_key(path) != ahead.key:
        return None
    ahead.done.wait()
    return ahead if _file_key(path) == ahead.key else None


def read_ahead_done() -> None:
    """Forget what was read ahead, taken or not."""
    global _ahead
    _ahead = None


def _read_arrow(layout: CsvLayout, newlines: bool) -> pa.Table:
    """Read the whole file with Arrow; raise :class:`RaggedRecords` at the first record of the wrong width."""

    ragged: list[bool] = []

    def on_invalid(row: pacsv.InvalidRow) -> str:
        ragged.append(True)
        return "error"  # stop reading: an exception raised here would be ignored

    path = layout.sniffed.path
    try:
        with _arrow_stream(layout.sniffed) as stream:
            # Blocks of 4 MB on one thread: no slower here, and Arrow then holds
            # 30 MB beside the table at the end instead of 120 MB (16 MB blocks on threads).
            table = pacsv.read_csv(stream, **layout.options(newlines, on_invalid, READ_BLOCK, threads=False))  # type: ignore[arg-type]
    except (EOFError, zlib.error) as exc:
        raise UnreadableExport(gzip_error(path, exc)) from exc
    except pa.ArrowInvalid as exc:
        if ragged or not newlines:
            raise RaggedRecords() from exc  # a line break inside quotes, cut at a block's end
        raise UnreadableExport(f"{path}: cannot be read as delimited text ({_first_line(exc)})") from exc
    except OSError as exc:
        raise UnreadableExport(f"{path}: cannot be read ({_first_line(exc)})") from exc
    except UnicodeDecodeError as exc:
        raise UnreadableExport(_decode_error(path, layout.sniffed.encoding, exc)) from exc
    return table.rename_columns(layout.names)


def iter_delimited(layout: CsvLayout, newlines: bool, block_size: int = 16 << 20) -> Iterator[pa.RecordBatch]:
    """Read the file batch by batch, in file order, with the same reading as :func:`read_delimited`.

    Raises :class:`RaggedRecords` at a record of the wrong width (read the
    file again with ``newlines`` true, or with :func:`read_delimited`).
    """
    with _arrow_stream(layout.sniffed) as stream:
        yield from _batches(layout, stream, layout.options(newlines, None, block_size))


def _arrow_stream(sniffed: Sniff) -> pa.NativeFile:
    """The file's content as an Arrow stream, gzip unpacked block by block (Python's gzip, as every other reader)."""
    if sniffed.compressed:
        return pa.PythonFile(sniffed.open(), mode="r")
    # A stream, not the path: Arrow would take a name ending in .gz or .bz2 to mean compressed.
    return pa.input_stream(str(sniffed.path), compression=None)


def line_ranges(layout: CsvLayout, n: int) -> list[tuple[int, int]]:
    """Cut the records after the header into ``n`` byte ranges of whole lines (some may be empty).

    Only right when no quoted value holds a line break; a reader of a range
    that starts inside one meets a ragged record (:func:`iter_range`).
    """
    path = layout.sniffed.path
    size = path.stat().st_size
    with path.open("rb") as fh:
        header_end = _next_line(fh, 0, size)
        bounds = [header_end]
        for k in range(1, n):
            bounds.append(max(bounds[-1], _next_line(fh, header_end + (size - header_end) * k // n, size)))
    bounds.append(size)
    return list(zip(bounds[:-1], bounds[1:], strict=True))


def _next_line(fh: io.BufferedReader, at: int, size: int) -> int:
    """The offset just after the first line break at or after ``at`` (``size`` if none)."""
    fh.seek(at)
    while chunk := fh.read(1 << 16):
        found = chunk.find(b"\n")
        if found >= 0:
            return at + found + 1
        at += len(chunk)
    return size


def iter_range(layout: CsvLayout, start: int, end: int, block_size: int = 4 << 20, threads: bool = False) -> Iterator[pa.RecordBatch]:
    """Read the records in bytes ``start`` to ``end`` (from :func:`line_ranges`), splitting at every line break.

    One thread by default: the readers of the ranges run side by side, one per core.
    """
    if end <= start:
        return
    # Read, not memory-mapped: a mapped range stays resident in this process
    # (2 GB of a 4 GB export per worker) when only a block at a time is needed.
    data = pa.PythonFile(io.BufferedReader(_Range(layout.sniffed.path, start, end), buffer_size=block_size), mode="r")
    kwargs = layout.options(False, None, block_size)
    kwargs["read_options"] = pacsv.ReadOptions(encoding=layout.encoding, block_size=block_size, column_names=layout.names, use_threads=threads)
    kwargs["convert_options"] = pacsv.ConvertOptions(
        column_types={name: pa.string() for name in layout.names}, null_values=PLACEHOLDERS,
        strings_can_be_null=True, quoted_strings_can_be_null=True,
    )
    try:
        yield from _batches(layout, data, kwargs)
    finally:
        data.close()


class _Range(io.RawIOBase):
    """Bytes ``start`` to ``end`` of the file at ``path``, as a file."""

    def __init__(self, path: Path, start: int, end: int) -> None:
        self._file = open(path, "rb")  # noqa: SIM115 - closed with this object
        self._file.seek(start)
        self._left = end - start

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer)[: self._left]
        n = self._file.readinto(view) or 0
        self._left -= n
        return n

    def close(self) -> None:
        self._file.close()
        super().close()


def _batches(layout: CsvLayout, stream: pa.NativeFile, kwargs: dict[str, object]) -> Iterator[pa.RecordBatch]:
    ragged: list[bool] = []

    def on_invalid(row: pacsv.InvalidRow) -> str:
        ragged.append(True)
        return "error"  # stop reading: an exception raised here would be ignored

    parse = kwargs["parse_options"]
    kwargs = {**kwargs, "parse_options": pacsv.ParseOptions(delimiter=parse.delimiter, newlines_in_values=parse.newlines_in_values,  # type: ignore[attr-defined]
                                                            invalid_row_handler=on_invalid)}
    path = layout.sniffed.path
    try:
        reader = pacsv.open_csv(stream, **kwargs)  # type: ignore[arg-type]
        for batch in reader:
            yield pa.RecordBatch.from_arrays(batch.columns, names=layout.names)
    except pa.ArrowInvalid as exc:
        if "UTF8" in str(exc):
            raise UnreadableExport(f"{path}: is not valid UTF-8 text ({_first_line(exc)})") from exc
        if ragged or not kwargs["parse_options"].newlines_in_values:  # type: ignore[attr-defined]
            raise RaggedRecords() from exc
        raise UnreadableExport(f"{path}: cannot be read as delimited text ({_first_line(exc)})") from exc
    except (EOFError, zlib.error) as exc:
        raise UnreadableExport(gzip_error(path, exc)) from exc
    except OSError as exc:
        raise UnreadableExport(f"{path}: cannot be read ({_first_line(exc)})") from exc
    except UnicodeDecodeError as exc:
        raise UnreadableExport(_decode_error(path, layout.sniffed.encoding, exc)) from exc


def _read_header(sniffed: Sniff, delimiter: str) -> list[str]:
    reader = csv.reader(io.StringIO(sniffed.text_head), delimiter=delimiter)
    try:
        header = next(reader)
    except (StopIteration, csv.Error) as exc:
        raise EmptyExport(f"{sniffed.path}: no header row could be read") from exc
    return [h.strip().lstrip("\ufeff") for h in header]


def _read_ragged(sniffed: Sniff, delimiter: str, names: list[str], header: list[str], notes: list[str]) -> TextTable:
    path = sniffed.path
    width = len(names)
    columns: list[list[str | None]] = [[] for _ in names]
    rows: list[int] = []
    bad_rows: list[int] = []
    bad_examples: list[dict[str, object]] = []
    nulls = set(PLACEHOLDERS)
    try:
        with io.TextIOWrapper(sniffed.open(), encoding=sniffed.encoding, newline="") as fh:
            reader = csv.reader(fh, delimiter=delimiter)
            next(reader, None)
            for number, record in enumerate(reader, start=2):
                if len(record) != width:
                    if not any(cell.strip() for cell in record):
                        continue  # blank line: not a record
                    bad_rows.append(number)
                    if len(bad_examples) < 3:
                        bad_examples.append({"row": number, "value": delimiter.join(record)[:120]})
                    continue
                rows.append(number)
                for col, cell in zip(columns, record, strict=True):
                    col.append(None if cell.strip() in nulls else cell)
    except UnicodeDecodeError as exc:
        raise UnreadableExport(_decode_error(path, sniffed.encoding, exc)) from exc
    except GZIP_ERRORS as exc:
        raise UnreadableExport(gzip_error(path, exc) if sniffed.compressed else f"{path}: cannot be read ({exc})") from exc
    table = pa.table({n: pa.array(c, pa.string()) for n, c in zip(names, columns, strict=True)})
    rejected = []
    if bad_rows:
        rejected.append(Rejection(f"wrong number of fields (expected {width})", len(bad_rows), bad_examples))
    if table.num_rows == 0 and not bad_rows:
        raise EmptyExport(f"{path}: the file has a header but no data rows")
    return TextTable(table, np.asarray(rows, dtype=np.int64), header, rejected, notes)


def release_unused() -> None:
    """Give back to the system the memory Arrow's pool keeps after use.

    Its allocator keeps freed memory for later, and memory that Arrow keeps
    is not there for numpy: after a 66 MB CSV is read, 100 MB more than the
    table. Called between the steps of a load, it keeps the peak near what
    is in use.
    """
    pa.default_memory_pool().release_unused()


def unique_names(header: list[str]) -> list[str]:
    """Return ``header`` with repeats numbered (``Watchers``, ``Watchers.1`` …) and blanks named."""
    seen: Counter[str] = Counter()
    out = []
    for i, name in enumerate(header):
        base = name or f"column_{i + 1}"
        out.append(base if not seen[base] else f"{base}.{seen[base]}")
        seen[base] += 1
    return out


def load_json(path: Path, encoding: str = "utf-8", *, compressed: bool = False) -> object:
    """Return the parsed JSON document, or raise a one-line error saying where it breaks.

    A JSON-lines file (one value per line) gives the list of its values. A
    gzip file (``compressed``) is unpacked as it is read, as one text, as a
    plain file is.
    """
    try:
        if compressed:
            return json.loads(_unpacked_text(path, encoding))
        with path.open("r", encoding=encoding) as fh:
            return json.load(fh)
    except json.JSONDecodeError as exc:
        if exc.msg == "Extra data" and "\n" not in exc.doc[: exc.pos].rstrip():  # the first value is line 1 alone
            return _load_json_lines(path, exc.doc)
        raise UnreadableExport(_json_error(path, exc)) from exc
    except UnicodeDecodeError as exc:
        raise UnreadableExport(f"{path}: JSON must be UTF-8 text ({exc.reason} at byte {exc.start})") from exc
    except GZIP_ERRORS as exc:
        if not compressed:
            raise
        raise UnreadableExport(gzip_error(path, exc)) from exc


def _unpacked_text(path: Path, encoding: str) -> str:
    """The text inside a gzip file, holding its bytes once while they are read (reading to the end would join a copy)."""
    data = bytearray()
    with gzip.open(path, "rb") as fh:
        while chunk := fh.read(8 * 1024 * 1024):
            data += chunk
    return data.decode(encoding)  # JSON reads a line break of \r\n as of \n: no translation needed


def json_column(values: list[object]) -> np.ndarray:
    """Return values gathered from a JSON document as a 1-D object array.

    An export may hold an array or an object where a scalar belongs (an id
    written as ``[7]``); such a value becomes its JSON text, so that it stays
    one hashable cell instead of a second dimension or an unhashable key.
    """
    out = np.fromiter(values, dtype=object, count=len(values))
    if len(out):
        kinds = _TYPE_OF(out)
        nested = (kinds == list) | (kinds == dict)  # noqa: E721 - an element-wise comparison of types
        if nested.any():
            out[nested] = [json.dumps(v, ensure_ascii=False, sort_keys=True) for v in out[nested]]
    return out


_TYPE_OF = np.frompyfunc(type, 1, 1)


def _load_json_lines(path: Path, text: str) -> list[object]:
    """Return the values of a JSON-lines file (one JSON value per line) as a list."""
    out = []
    for number, line in enumerate(text.splitlines(), start=1):
        if line.strip():
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise UnreadableExport(_json_error(path, exc, line=number)) from exc
    return out


def _json_error(path: Path, exc: json.JSONDecodeError, line: int | None = None) -> str:
    # Cut off: json stopped inside a string, or where only blanks follow.
    truncated = exc.msg.startswith("Unterminated string") or not exc.doc[exc.pos:].strip()
    what = "is truncated" if truncated else "is not valid JSON"
    where = f"line {line}, column {exc.colno}" if line else f"line {exc.lineno}, column {exc.colno}"
    return f"{path}: {what} ({where}: {exc.msg}); export it again in full"


def _decode_error(path: Path, encoding: str, exc: UnicodeDecodeError) -> str:
    return (
        f"{path}: is not valid {encoding} text ({exc.reason}); it may be truncated or in another encoding: "
        "export it again as UTF-8"
    )


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
