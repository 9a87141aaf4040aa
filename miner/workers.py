"""How many worker processes an export gets: decided before anything heavy is imported.

The CLI asks this first (its progress line, and whether to read the export
ahead on a thread, :func:`connectors.textio.read_ahead`); :mod:`miner.parallel`
runs the workers.
"""

from __future__ import annotations

import os
from pathlib import Path

from connectors.limits import unpacked_size

# Smaller exports are read whole, in this process: on 2 cores, workers match
# one process at 400 MB and lose below (benchmarks/results.md).
MIN_BYTES = 256 << 20
MAX_WORKERS = 8


def workers_for(path: str | os.PathLike[str], workers: int | None = None) -> int:
    """How many worker processes to use: ``workers`` if given, else every core for an export of 256 MB or more."""
    if workers is None:
        given = os.environ.get("VSM_WORKERS")
        workers = int(given) if given and given.isdigit() else None
    if workers is not None:
        return max(1, workers)
    try:
        size = unpacked_size(Path(path))
    except OSError:
        return 1
    return 1 if size < MIN_BYTES else max(1, min(os.cpu_count() or 1, MAX_WORKERS))
