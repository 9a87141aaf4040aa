"""jira exports (see ../shared/FORMATS.md). Filled in by the jira connector work."""

from __future__ import annotations

from connectors.probe import Source

SOURCES: list[Source] = []
