"""Miner: value-chain mapping, discovery, conformance, rework and waits.

>>> found = miner.discover(log)              # log: the canonical event table
>>> found.edges, found.variants, found.streams, found.tickets
>>> compared = miner.compare(log)            # the same, plus compared.comparison

Names are imported on first use, so that importing the package is cheap.
"""

from __future__ import annotations

import importlib
from typing import Any

_PUBLIC = {
    "discover": "miner.discovery",
    "compare": "miner.discovery",
    "make_plan": "miner.discovery",
    "run": "miner.discovery",
    "Results": "miner.results",
    "resolve_mapping": "miner.mapping",
    "Mapping": "miner.mapping",
    "summarize": "miner.summary",
}

__all__ = sorted(_PUBLIC)


def __getattr__(name: str) -> Any:
    if name in _PUBLIC:
        return getattr(importlib.import_module(_PUBLIC[name]), name)
    raise AttributeError(f"module 'miner' has no attribute {name!r}")
