"""A process model per main value stream, discovered with pm4py's inductive miner."""

from __future__ import annotations

from dataclasses import dataclass

from miner.pm4py_adapter import ProcessModel, inductive_model
from miner.results import Results

MAIN_STREAM_SHARE = 0.05
MAX_MODELS = 6


@dataclass
class StreamModel:
    stream: str
    tickets: int
    model: ProcessModel


def stream_models(found: Results, *, noise: float = 0.2) -> list[StreamModel]:
    """Return a model for each main stream (at least 5% of tickets, at most six streams)."""
    out = []
    edges_all = found.tables["stream_edges"]
    ends = found.tables["stream_ends"]
    for row in found.streams.itertuples(index=False):
        if len(out) >= MAX_MODELS or (row.share < MAIN_STREAM_SHARE and out):
            break
        edges = edges_all[edges_all["stream"] == row.stream]
        mine = ends[ends["stream"] == row.stream]
        start = {str(a): int(n) for a, n in zip(mine.loc[mine["kind"] == "start", "activity"], mine.loc[mine["kind"] == "start", "count"], strict=True)}
        end = {str(a): int(n) for a, n in zip(mine.loc[mine["kind"] == "end", "activity"], mine.loc[mine["kind"] == "end", "count"], strict=True)}
        out.append(StreamModel(str(row.stream), int(row.tickets), inductive_model(edges, start, end, noise=noise)))
    return out
