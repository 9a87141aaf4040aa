"""Resource bounds: refuse, before reading it, an export too large for memory.

The embedded engine reads an export whole, then analyses it in memory. A file
that does not fit would end in the operating system killing vsm, with no
message at all. So before a load reads anything beyond the first bytes, vsm
estimates the memory it needs as the size of the data times an expansion
factor for its kind, and compares that with the memory available to it: the
operating system's MemAvailable, or less if a container (cgroup) limit says
so. The factors are the peak memory of ``vsm report`` above its baseline,
divided by the input size, measured on the generated samples and rounded up:

==========  ======  ==========================================================
kind        factor  measured
==========  ======  ==========================================================
text (CSV)  8       generic event CSV 8.1x, ServiceNow audit snapshots 3.1x
JSON        8       Zendesk incremental events 6.3x, Jira changelog 5.0x
XES         8       of the XML text
XLSX        8       of the unzipped sheet XML
Parquet     8       of the uncompressed size its metadata gives
==========  ======  ==========================================================

A gzip file counts its unpacked size (from its trailer), at its content's factor.

``VSM_MEMORY_LIMIT`` (bytes, or a number with K, M, G or T) sets the memory
taken as available, for tests and for sharing a machine; ``VSM_NO_MEMORY_CHECK=1``
skips the check.
"""

from __future__ import annotations

import os
import re
import struct
from pathlib import Path

from connectors.errors import BadOption, TooLarge
from connectors.textio import GZIP_MAGIC, Sniff

FACTOR = 8
KIND_NAMES = {"text": "delimited text", "json": "JSON", "xes": "XES", "gzip-xes": "XES (gzipped)",
              "xlsx": "an Excel workbook", "parquet": "Parquet"}
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([KMGT]?)i?B?\s*$", re.IGNORECASE)
_UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}


def check_memory(sniffed: Sniff, factor: float = FACTOR, engine: str = "") -> None:
    """Raise :class:`TooLarge` if loading ``sniffed`` would need more memory than is available.

    ``factor`` is the peak memory per byte of data: :data:`FACTOR` for one
    process reading the export whole; the worker engine (``engine`` names it
    in the message) passes its own, smaller one.
    """
    if os.environ.get("VSM_NO_MEMORY_CHECK", "").strip() not in ("", "0"):
        return
    available = available_memory()
    if available is None:
        return
    bytes_free, where = available
    size, what = data_size(sniffed)
    need = int(size * factor)
    if need <= bytes_free:
        return
    if sniffed.kind in ("text", "parquet"):
        advice = "run vsm mine, compare or report with --engine spark, or split the export"
    else:
        advice = "split the export, or convert it to CSV or Parquet for --engine spark"
    raise TooLarge(
        f"{sniffed.path}: {human(size)}{what} needs about {human(need)} of memory to load and analyse "
        f"({factor:g}x for {KIND_NAMES.get(sniffed.kind, sniffed.kind)}{engine}), but {where.format(human(bytes_free))}; "
        f"{advice}; or set VSM_NO_MEMORY_CHECK=1 to try anyway"
    )


def data_size(sniffed: Sniff) -> tuple[int, str]:
    """Return the size of the data in ``sniffed`` once unpacked, and how it was known (for the message)."""
    path = sniffed.path
    size = path.stat().st_size
    if sniffed.compressed:
        unpacked = _gzip_size(path)
        # The trailer holds the size modulo 4 GiB; never take less than the compressed size.
        return max(unpacked, size), f" (unpacked; {human(size)} gzipped)"
    if sniffed.kind == "xlsx":
        try:
            import zipfile

            with zipfile.ZipFile(path) as book:
                unpacked = sum(i.file_size for i in book.infolist())
            return max(unpacked, size), f" of XML (unzipped; {human(size)} on disk)"
        except (OSError, ValueError, zipfile.BadZipFile):
            return size, ""
    if sniffed.kind == "parquet":
        try:
            import pyarrow.parquet as pq

            meta = pq.read_metadata(path)
            unpacked = sum(meta.row_group(i).total_byte_size for i in range(meta.num_row_groups))
            return max(unpacked, size), f" (uncompressed; {human(size)} on disk)"
        except (OSError, ValueError):
            return size, ""
    return size, ""


def available_memory() -> tuple[int, str] | None:
    """Return the bytes of memory a load may use and a phrase naming them ('{}' for the size), or None if unknown."""
    limit = os.environ.get("VSM_MEMORY_LIMIT", "").strip()
    if limit:
        return parse_size(limit), "VSM_MEMORY_LIMIT allows {}"
    found = [v for v in (_meminfo_available(), _cgroup_available()) if v is not None]
    if not found:
        try:
            found.append(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
        except (ValueError, OSError, AttributeError):
            return None
    return min(found), "this machine has {} available"


def parse_size(text: str) -> int:
    """Return the bytes in ``text`` such as ``512M``, ``2G`` or ``1048576``."""
    match = _SIZE.match(text)
    if not match:
        raise BadOption(f"VSM_MEMORY_LIMIT={text!r} is not a size; write bytes or a number with K, M, G or T, e.g. 8G")
    return int(float(match.group(1)) * _UNITS[match.group(2).upper()])


def human(n: float) -> str:
    """Return a byte count for people: 812 B, 1.5 MB, 40 GB (binary units)."""
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if n < 1024 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" or n >= 10 else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.0f} TB"  # pragma: no cover


def unpacked_size(path: Path) -> int:
    """The size of the file at ``path``, or of its content once unpacked when it is gzip (by its magic bytes)."""
    size = path.stat().st_size
    with path.open("rb") as fh:
        if fh.read(2) != GZIP_MAGIC:
            return size
    return max(_gzip_size(path), size)


def _gzip_size(path: Path) -> int:
    try:
        with path.open("rb") as fh:
            fh.seek(-4, os.SEEK_END)
            return int(struct.unpack("<I", fh.read(4))[0])
    except OSError:
        return 0


def _meminfo_available() -> int | None:
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def _cgroup_available() -> int | None:
    """Return what a container's memory limit leaves, if one is set."""
    for limit_file, usage_file in (("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current"),
                                   ("/sys/fs/cgroup/memory/memory.limit_in_bytes", "/sys/fs/cgroup/memory/memory.usage_in_bytes")):
        try:
            limit_text = Path(limit_file).read_text().strip()
            if limit_text == "max":
                return None
            limit = int(limit_text)
            if limit >= 1 << 60:  # cgroup v1 writes a huge number for no limit
                return None
            return max(limit - int(Path(usage_file).read_text().strip()), 0)
        except (OSError, ValueError):
            continue
    return None
