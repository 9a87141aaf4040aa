"""Synthetic exports in each vendor's real shape, with known injected behaviour.

``generate(source, tickets, seed, path)`` writes the export to ``path`` and a
ground-truth JSON beside it (``<path>.truth.json``), which tests compare the
miner's findings against.
"""

from __future__ import annotations

SAMPLE_SOURCES = ("servicenow", "servicenow-audit", "jira", "zendesk", "csv")
