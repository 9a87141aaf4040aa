"""A file under examination: what each connector looks at to recognise it.

The probe reads lazily and caches, so that detecting the source and then
loading it reads the file once.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import pandas as pd

from connectors.columns import normalise
from connectors.options import LoadOptions
from connectors.report import LoadReport
from connectors.textio import Sniff, TextTable, detect_delimiter, load_json, sniff


class Probe:
    """One input file, with its header or JSON document read on demand."""

    def __init__(self, path: str | Path, options: LoadOptions) -> None:
        self.path = Path(path)
        self.options = options
        self.sniffed: Sniff = sniff(self.path)

    @property
    def kind(self) -> str:
        return self.sniffed.kind

    @property
    def is_table(self) -> bool:
        return self.kind in ("text", "xlsx", "parquet")

    @cached_property
    def header(self) -> list[str]:
        """The column names of a tabular file, as written."""
        if self.kind == "text":
            delimiter = self.options.delimiter or detect_delimiter(self.sniffed.text_head, self.path)[0]
            try:
                return [h.strip().lstrip("\ufeff") for h in next(csv.reader(io.StringIO(self.sniffed.text_head), delimiter=delimiter))]
            except (StopIteration, csv.Error):
                return []
        if self.kind in ("xlsx", "parquet"):
            return list(self.table.header)
        return []

    @cached_property
    def normalised_header(self) -> set[str]:
        return {normalise(h) for h in self.header}

    def has_columns(self, *names: str) -> bool:
        """Whether every name (compared normalised) is a column."""
        return all(normalise(n) in self.normalised_header for n in names)

    @cached_property
    def table(self) -> TextTable:
        """The whole tabular file, read once."""
        from connectors.generic import read_table

        return read_table(self.sniffed, self.options)

    @cached_property
    def json(self) -> object:
        """The whole JSON document, parsed once."""
        encoding = "utf-8" if self.sniffed.encoding.startswith("utf-8") else self.sniffed.encoding
        return load_json(self.path, encoding, compressed=self.sniffed.compressed)

    def json_keys(self) -> set[str]:
        """Top-level keys of a JSON object document (empty for arrays)."""
        doc = self.json
        return set(doc) if isinstance(doc, dict) else set()


@dataclass(frozen=True)
class Source:
    """A kind of export vsm can read: how to recognise it and how to load it.

    ``detect`` returns the reason it recognises the probe, or ``None``.
    ``load`` returns the canonical event table and the load report.
    """

    name: str
    summary: str
    detect: Callable[[Probe], str | None]
    load: Callable[[Probe, LoadOptions], tuple[pd.DataFrame, LoadReport]]


class FrameProbe(Probe):
    """A table already read by someone else: a partition of an export read by Spark, say.

    Connectors that read tables see it exactly as they would see the file: its
    header, its string columns (placeholders already null) and its row numbers.
    """

    def __init__(self, path: str | Path, options: LoadOptions, table: TextTable, kind: str = "text") -> None:
        self.path = Path(path)
        self.options = options
        self.sniffed = Sniff(self.path, kind)
        # Fill the cached properties directly: there is no file to read them from.
        self.__dict__["table"] = table
        self.__dict__["header"] = list(table.header)
