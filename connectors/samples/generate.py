"""The one entry point: simulate a source's process, write its export and its truth."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from connectors.samples import eventcsv, jira, multiteam, servicenow, zendesk
from connectors.samples.truth import Export, truth_document, write_truth

SAMPLERS: dict[str, Callable[[int, int, str | os.PathLike[str]], Export]] = {
    "servicenow": servicenow.list_sample,
    "servicenow-audit": servicenow.audit_sample,
    "jira": jira.sample,
    "zendesk": zendesk.sample,
    "csv": eventcsv.sample,
    "multi-team": multiteam.sample,
}
SAMPLE_SOURCES = tuple(SAMPLERS)


@dataclass(frozen=True)
class SampleResult:
    """What :func:`generate` wrote."""

    path: Path
    truth_path: Path
    rows: int  # the export's rows, counted as its truth file's rows_definition says
    events: int  # events vsm must load from it


def generate(source: str, *, tickets: int, seed: int, path: str | os.PathLike[str]) -> SampleResult:
    """Write a sample export of ``tickets`` tickets for ``source`` to ``path``, and its truth beside it."""
    if source not in SAMPLERS:
        raise ValueError(f"unknown sample source {source!r}; choose from {', '.join(SAMPLE_SOURCES)}")
    if tickets < 1:
        raise ValueError("a sample needs at least one ticket")
    out = Path(path)
    export = SAMPLERS[source](tickets, seed, out)
    truth_path = out.with_name(out.name + ".truth.json")
    write_truth(truth_document(export, source=source, seed=seed, file_name=out.name), truth_path)
    return SampleResult(out, truth_path, export.rows, len(export.events.case))
