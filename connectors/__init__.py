"""Connectors: read ticketing exports into vsm's canonical event table.

>>> log, report = connectors.load("incidents.csv")
>>> log, report = connectors.from_dataframe(df, case="ticket", activity="status", timestamp="changed_at")

``log`` follows the schema in :mod:`connectors.eventlog`; ``report`` is a
:class:`LoadReport` that accounts for every input row. Names are imported on
first use, so that ``import connectors.errors`` stays cheap for the CLI.
"""

from __future__ import annotations

import importlib
from typing import Any

_PUBLIC = {
    "load": "connectors.sources",
    "from_dataframe": "connectors.frame",
    "SOURCE_NAMES": "connectors.sources",
    "LoadReport": "connectors.report",
    "LoadOptions": "connectors.options",
    "VsmError": "connectors.errors",
    "ConnectorError": "connectors.errors",
    "CASE_ID": "connectors.eventlog",
    "ACTIVITY": "connectors.eventlog",
    "TIMESTAMP": "connectors.eventlog",
    "END_TIMESTAMP": "connectors.eventlog",
    "RESOURCE": "connectors.eventlog",
    "GROUP": "connectors.eventlog",
    "SOURCE_ROW": "connectors.eventlog",
}

__all__ = sorted(_PUBLIC)


def __getattr__(name: str) -> Any:
    if name in _PUBLIC:
        return getattr(importlib.import_module(_PUBLIC[name]), name)
    raise AttributeError(f"module 'connectors' has no attribute {name!r}")
