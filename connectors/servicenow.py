"""servicenow exports (see ../shared/FORMATS.md). Filled in by the servicenow connector work."""

from __future__ import annotations

from connectors.probe import Source

SOURCES: list[Source] = []
