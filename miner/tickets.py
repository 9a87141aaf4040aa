"""The per-ticket table: path, lead time, and time spent in each value-chain stage.

Lead time runs from a ticket's first event to the moment it was finally
delivered: the start of the trailing run of "done" events (resolved, closed …)
when the ticket ends in one, otherwise its last moment. Time after delivery
(a resolved ticket waiting to be auto-closed) is not lead time. The case
duration, by contrast, runs to the last event, as pm4py measures it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from miner.cases import US, CaseArrays
from miner.mapping import ALL_KINDS, EventClasses
from miner.valuechain import STAGES, label

DONE = ALL_KINDS.index("done")
WORK = ALL_KINDS.index("work")
WAIT = ALL_KINDS.index("wait")
UNKNOWN = ALL_KINDS.index("unknown")


@dataclass
class Timing:
    """Per-event and per-case timing derived from the mapping."""

    in_lead: np.ndarray  # per event: its state lies within the ticket's lead time
    duration: np.ndarray  # per event: µs its state lasts (0 after delivery)
    lead_end: np.ndarray  # per case: µs timestamp the lead time ends
    lead_time: np.ndarray  # per case: µs


def timing(arrays: CaseArrays, classes: EventClasses) -> Timing:
    """Return which events fall within lead time, and how long each state lasts."""
    n = arrays.n_events
    idx = np.arange(n)
    done = classes.kind == DONE
    if arrays.n_cases == 0:
        empty = np.zeros(0, dtype=np.int64)
        return Timing(np.zeros(0, bool), empty, empty, empty)
    last_open = np.maximum.reduceat(np.where(done, -1, idx), arrays.case_start[:-1])
    last_idx = arrays.case_start[1:] - 1
    has_tail = last_open < last_idx
    tail_start = np.where(last_open < arrays.case_start[:-1], arrays.case_start[:-1], last_open + 1)
    lead_end = np.where(has_tail, arrays.ts[np.minimum(tail_start, last_idx)], arrays.case_last_ts)
    lead_time = lead_end - arrays.case_first_ts
    boundary = np.where(has_tail, tail_start, last_idx + 1)
    in_lead = idx < boundary[arrays.case]
    duration = np.where(in_lead, arrays.duration_to_next, 0)
    return Timing(in_lead, duration, lead_end, lead_time)


def ticket_table(
    arrays: CaseArrays,
    classes: EventClasses,
    tim: Timing,
    *,
    vc_paths: np.ndarray,
    streams: np.ndarray,
) -> pd.DataFrame:
    """Return one row per ticket with its path, lead time and time per stage."""
    n_cases = arrays.n_cases
    case = arrays.case
    out = pd.DataFrame(
        {
            "case_id": arrays.case_ids.astype(str),
            "stream": streams,
            "path": vc_paths,
            "events": arrays.case_len,
            "start": pd.to_datetime(arrays.case_first_ts, unit="us", utc=True),
            "end": pd.to_datetime(arrays.case_last_ts, unit="us", utc=True),
            "lead_time_s": tim.lead_time / US,
            "duration_s": (arrays.case_last_ts - arrays.case_first_ts) / US,
        }
    )
    stage = classes.stage.astype(np.int64)
    mapped = stage >= 0
    dur = tim.duration.astype(np.float64)
    for s, name in enumerate(STAGES):
        sel = mapped & (stage == s)
        out[f"{name}_s"] = np.bincount(case[sel], weights=dur[sel], minlength=n_cases) / US
    kind = classes.kind
    out["work_s"] = np.bincount(case[kind == WORK], weights=dur[kind == WORK], minlength=n_cases) / US
    out["wait_s"] = np.bincount(case[kind == WAIT], weights=dur[kind == WAIT], minlength=n_cases) / US
    other = (kind == UNKNOWN) | (kind < 0) | (kind == DONE)
    out["unclassified_s"] = np.bincount(case[other], weights=dur[other], minlength=n_cases) / US
    with np.errstate(invalid="ignore", divide="ignore"):
        out["flow_efficiency"] = np.where(out["lead_time_s"] > 0, out["work_s"] / out["lead_time_s"], np.nan)
    return out


STAGE_COLUMNS = [f"{s}_s" for s in STAGES]
STAGE_LABELS = {f"{s}_s": label(s) for s in STAGES}
