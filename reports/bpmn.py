"""BPMN 2.0 files of discovered models, laid out left to right."""

from __future__ import annotations

import re
from pathlib import Path

from miner.pm4py_adapter import ProcessModel, bpmn_elements, bpmn_xml
from reports.layout import layered
from reports.output import check_writable, write_text

TASK = (120.0, 60.0)
SMALL = (40.0, 40.0)
X_GAP = 170.0
Y_GAP = 100.0


def bpmn_document(model: ProcessModel) -> str:
    """Return the model as BPMN XML with diagram coordinates."""
    nodes, flows = bpmn_elements(model)
    index = {nid: i for i, (nid, _, _) in enumerate(nodes)}
    placed = layered(len(nodes), [(index[a], index[b]) for a, b in flows])
    boxes = {}
    for i, (nid, _, kind) in enumerate(nodes):
        w, h = TASK if kind == "Task" else SMALL
        cx, cy = 60 + placed.layer[i] * X_GAP, 60 + placed.slot[i] * Y_GAP
        boxes[nid] = (cx - w / 2, cy - h / 2, w, h)
    points = {}
    for a, b in flows:
        ax, ay, aw, ah = boxes[a]
        bx, by, bw, bh = boxes[b]
        points[(a, b)] = [(ax + aw, ay + ah / 2), (bx, by + bh / 2)]
    return bpmn_xml(model, boxes, points)


def write_models(models: list, folder: str | Path) -> list[Path]:
    """Write one BPMN file per stream model into ``folder``; return the paths."""
    target = Path(folder)
    check_writable(target, folder=True)
    target.mkdir(exist_ok=True)
    paths = []
    for m in models:
        name = re.sub(r"[^A-Za-z0-9._-]+", "_", m.stream).strip("_") or "stream"
        path = target / f"{name}.bpmn"
        write_text(path, bpmn_document(m.model))
        paths.append(path)
    return paths
