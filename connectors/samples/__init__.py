"""Synthetic exports in each vendor's real shape, with known injected behaviour.

``generate(source, tickets, seed, path)`` writes the export to ``path`` and a
ground-truth JSON beside it (``<path>.truth.json``), which tests compare the
miner's findings against. The same seed gives the same bytes.
"""

from __future__ import annotations

from connectors.samples.generate import SAMPLE_SOURCES, SampleResult, generate

__all__ = ["SAMPLE_SOURCES", "SampleResult", "generate"]
