"""The one place vsm talks to pm4py.

Everything else in vsm passes plain Python and pandas values in and gets
them back; pm4py's parameter dictionaries and objects stay here. pm4py is
imported on first use (it takes over a second).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import pandas as pd


def _pm4py() -> Any:
    os.environ.setdefault("PM4PY_SHOW_PROGRESS_BAR", "False")
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pm4py
    return pm4py


@dataclass
class ProcessModel:
    """A discovered model: pm4py's process tree and its BPMN form."""

    tree: Any
    bpmn: Any

    @property
    def text(self) -> str:
        """The process tree in pm4py's notation, e.g. ->( 'a', X( 'b', 'c' ) )."""
        return str(self.tree)


def inductive_model(edges: pd.DataFrame, start: dict[str, int], end: dict[str, int], *, noise: float = 0.2) -> ProcessModel:
    """Return the inductive miner's model (directly-follows variant) of a DFG.

    ``edges`` has columns source, target, count. ``noise`` filters infrequent
    behaviour (0 keeps everything).
    """
    pm4py = _pm4py()
    from pm4py.objects.dfg.obj import DFG

    graph = {(s, t): int(c) for s, t, c in edges[["source", "target", "count"]].itertuples(index=False, name=None)}
    dfg = DFG(graph, dict(start), dict(end))
    tree = pm4py.discover_process_tree_inductive(dfg, noise_threshold=noise)
    return ProcessModel(tree, pm4py.convert_to_bpmn(tree))


def bpmn_elements(model: ProcessModel) -> tuple[list[tuple[str, str, str]], list[tuple[str, str]]]:
    """Return the BPMN nodes as (id, name, kind) and the sequence flows as (source id, target id)."""
    nodes = [(str(n.get_id()), str(n.get_name() or ""), type(n).__name__) for n in model.bpmn.get_nodes()]
    flows = [(str(f.get_source().get_id()), str(f.get_target().get_id())) for f in model.bpmn.get_flows()]
    return nodes, flows


def bpmn_xml(model: ProcessModel, boxes: dict[str, tuple[float, float, float, float]], waypoints: dict[tuple[str, str], list[tuple[float, float]]]) -> str:
    """Return BPMN 2.0 XML with diagram positions: ``boxes`` maps node id to (x, y, width, height)."""
    _pm4py()
    from pm4py.objects.bpmn.exporter.variants import etree as exporter

    graph = model.bpmn
    layout = graph.get_layout()
    for node in graph.get_nodes():
        x, y, w, h = boxes[str(node.get_id())]
        node.set_x(x)
        node.set_y(y)
        node.set_width(w)
        node.set_height(h)
    for flow in graph.get_flows():
        key = (str(flow.get_source().get_id()), str(flow.get_target().get_id()))
        points = layout.get(flow).get_waypoints()
        points.clear()
        points.extend(waypoints.get(key, []))
    xml = exporter.get_xml_string(graph)
    return xml.decode("utf-8") if isinstance(xml, bytes) else str(xml)
