"""A process model per main value stream, discovered with pm4py's inductive miner."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from miner.cases import subset
from miner.dfg import directly_follows
from miner.discovery import Discovery
from miner.pm4py_adapter import ProcessModel, inductive_model

MAIN_STREAM_SHARE = 0.05
MAX_MODELS = 6


@dataclass
class StreamModel:
    stream: str
    tickets: int
    model: ProcessModel


def stream_models(found: Discovery, *, noise: float = 0.2) -> list[StreamModel]:
    """Return a model for each main stream (at least 5% of tickets, at most six streams)."""
    out = []
    names = found.tickets["stream"].to_numpy()
    for row in found.streams.itertuples(index=False):
        if len(out) >= MAX_MODELS or (row.share < MAIN_STREAM_SHARE and out):
            break
        part = subset(found.arrays, np.asarray(names == row.stream))
        dfg = directly_follows(part)
        out.append(StreamModel(str(row.stream), int(row.tickets), inductive_model(dfg.edges, dfg.start_activities, dfg.end_activities, noise=noise)))
    return out
