"""Automatic layered layout of directed graphs (process maps, BPMN models).

Uses igraph's Sugiyama layout (cycle breaking, layering, crossing
reduction), which installs from PyPI as a wheel: no system Graphviz needed.
"""

from __future__ import annotations

import sys
import threading
from dataclasses import dataclass
from importlib.abc import MetaPathFinder
from importlib.machinery import ModuleSpec
from types import ModuleType
from typing import Any


@dataclass
class Placed:
    """Node centres in layout units: ``layer`` runs left to right, ``slot`` top to bottom."""

    layer: list[float]
    slot: list[float]

    @property
    def n_layers(self) -> int:
        return int(max(self.layer, default=-1)) + 1

    @property
    def n_slots(self) -> float:
        return max(self.slot, default=-1.0) + 1.0


class _WithoutMatplotlib(MetaPathFinder):
    """Refuses matplotlib to the thread that imports igraph (every other thread imports as usual)."""

    def __init__(self) -> None:
        self.thread = threading.get_ident()

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> ModuleSpec | None:
        if threading.get_ident() == self.thread and name.split(".")[0] == "matplotlib":
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None


def import_igraph() -> ModuleType:
    """Import igraph without its matplotlib plotting backend, which vsm never uses.

    igraph imports ``matplotlib.pyplot`` when it can, to offer plotting: 0.3 s
    of the 0.4 s its import takes on the benchmark machine (benchmarks/
    results.md, issue 16). Without matplotlib, igraph's plotting functions
    say matplotlib is missing; its layouts are the same. Once matplotlib is
    imported (pm4py imports it), igraph is imported as usual.
    """
    if "igraph" in sys.modules or "matplotlib" in sys.modules:  # (igraph would then ask for matplotlib.pyplot alone)
        import igraph

        return igraph
    finder = _WithoutMatplotlib()
    sys.meta_path.insert(0, finder)
    try:
        import igraph
    finally:
        sys.meta_path.remove(finder)
    return igraph


def layered(n_nodes: int, edges: list[tuple[int, int]], weights: list[float] | None = None) -> Placed:
    """Return a left-to-right layered placement of ``n_nodes`` nodes joined by ``edges``."""
    igraph = import_igraph()

    if n_nodes == 0:
        return Placed([], [])
    graph = igraph.Graph(n=n_nodes, edges=[(a, b) for a, b in edges if a != b], directed=True)
    kept = [w for (a, b), w in zip(edges, weights or [1.0] * len(edges), strict=True) if a != b]
    layout = graph.layout_sugiyama(weights=kept or None, hgap=1, vgap=1, maxiter=200)
    coords = layout.coords[:n_nodes]
    layers = [int(round(y)) for _, y in coords]
    # Sugiyama spaces nodes around the dummy vertices of long edges, which
    # leaves wide gaps; keep its crossing-reduced order but pack each layer.
    by_layer: dict[int, list[int]] = {}
    for node, layer in enumerate(layers):
        by_layer.setdefault(layer, []).append(node)
    widest = max(len(nodes) for nodes in by_layer.values())
    slots = [0.0] * n_nodes
    for nodes in by_layer.values():
        nodes.sort(key=lambda v: coords[v][0])
        offset = (widest - len(nodes)) / 2
        for rank, node in enumerate(nodes):
            slots[node] = offset + rank
    return Placed([float(v) for v in layers], slots)
