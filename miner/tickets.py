"""The per-ticket table: path, lead time, and how that lead time splits.

Lead time runs from a ticket's first event to its delivery (see
:mod:`miner.accounting`: only a return to work or an explicit reopen undoes a
delivery); an open ticket's lead time is its age at the export's end
(``delivered`` is false). Every ticket's lead time splits exactly into
``work_s`` + the wait classes (``queue_s``, ``customer_s``, ``vendor_s``,
``internal_s``, ``handoff_s``, ``reopened_s``: time in a delivered state that a
reopen undid) + ``unclassified_s``; ``wait_s`` is the sum of the wait
classes. The case duration, by contrast, runs to the last event, as pm4py
measures it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from miner.accounting import CLASSES, WAIT_CLASSES, Accounting
from miner.cases import US, CaseArrays
from miner.mapping import EventClasses
from miner.valuechain import STAGES, label

# Per-ticket column of each time class.
CLASS_COLUMNS = {c: f"{c}_s" for c in CLASSES}
WAIT_COLUMNS = [CLASS_COLUMNS[c] for c in WAIT_CLASSES]


def ticket_table(
    arrays: CaseArrays,
    classes: EventClasses,
    acc: Accounting,
    *,
    vc_paths: np.ndarray,
    streams: np.ndarray,
) -> pd.DataFrame:
    """Return one row per ticket with its path, lead time, its split into work and waits, and time per stage."""
    n_cases = arrays.n_cases
    case = arrays.case
    lead_time_s = acc.lead_time / US
    out: dict[str, object] = {
        "case_id": arrays.case_id_index.array,
        "stream": streams,
        "path": vc_paths,
        "events": arrays.case_len,
        "start": pd.to_datetime(arrays.case_first_ts, unit="us", utc=True),
        "end": pd.to_datetime(arrays.case_last_ts, unit="us", utc=True),
        "delivered": acc.delivered,
        "lead_time_s": lead_time_s,
        "duration_s": (arrays.case_last_ts - arrays.case_first_ts) / US,
    }
    stage = classes.stage.astype(np.int64)
    mapped = stage >= 0
    dur = acc.time_us.astype(np.float64)
    for s, name in enumerate(STAGES):
        sel = mapped & (stage == s)
        out[f"{name}_s"] = np.bincount(case[sel], weights=dur[sel], minlength=n_cases) / US
    per_class = acc.per_case_class(case, n_cases)
    for c, name in enumerate(CLASSES):
        out[CLASS_COLUMNS[name]] = per_class[:, c] / US
    out["wait_s"] = pd.DataFrame({c: out[c] for c in WAIT_COLUMNS}).sum(axis=1).to_numpy()
    with np.errstate(invalid="ignore", divide="ignore"):
        out["flow_efficiency"] = np.where(lead_time_s > 0, out[CLASS_COLUMNS["work"]] / lead_time_s, np.nan)
    out["post_delivery_improve_s"] = acc.post_improve_us / US
    # Where an open ticket is now: the class of its current state.
    last = np.full(n_cases, -1, dtype=np.int64)
    s = np.flatnonzero(acc.status)
    if len(s):
        sc = case[s]
        tail = np.r_[sc[1:] != sc[:-1], True]
        last[sc[tail]] = s[tail]
    names = np.array(CLASSES, dtype=object)
    current = np.where(last >= 0, names[acc.own_class[np.maximum(last, 0)]], None)
    out["current_class"] = np.where(acc.delivered, None, current)
    return pd.DataFrame(out)


STAGE_COLUMNS = [f"{s}_s" for s in STAGES]
STAGE_LABELS = {f"{s}_s": label(s) for s in STAGES}
