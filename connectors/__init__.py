"""Connectors: read ticketing exports into vsm's canonical event table.

>>> log, report = connectors.load("incidents.csv")

``log`` follows the schema in :mod:`connectors.eventlog`; ``report`` is a
:class:`LoadReport` that accounts for every input row.
"""

from connectors.errors import ConnectorError, VsmError
from connectors.eventlog import (
    ACTIVITY,
    CASE_ID,
    END_TIMESTAMP,
    GROUP,
    RESOURCE,
    SOURCE_ROW,
    TIMESTAMP,
)
from connectors.options import LoadOptions
from connectors.report import LoadReport
from connectors.sources import SOURCE_NAMES, load

__all__ = [
    "ACTIVITY",
    "CASE_ID",
    "END_TIMESTAMP",
    "GROUP",
    "RESOURCE",
    "SOURCE_NAMES",
    "SOURCE_ROW",
    "TIMESTAMP",
    "ConnectorError",
    "LoadOptions",
    "LoadReport",
    "VsmError",
    "load",
]
