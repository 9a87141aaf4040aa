"""Generated scenarios of issue 9 (how vsm counts time, waits, conformance and rework).

Each builder returns a tiny event log whose truth is known by construction,
with decoys a naive rule would flag; ``tests/miner/test_accounting_truth.py``
writes it as an export, reads it with :func:`connectors.load`, analyses it with
:func:`miner.compare` and checks vsm's figures against the truth worked out by
hand there. Times are minutes after :data:`T0`; truths are in seconds.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
from hypothesis import strategies as st

import connectors
import miner

T0 = pd.Timestamp("2025-01-06 09:00", tz="UTC")
H = 60  # minutes per hour
D = 24 * H  # minutes per day
POINT = ("case_id", "activity", "minutes", "group")
INTERVAL = ("case_id", "activity", "minutes", "end_minutes", "group")
WAIT_CLASSES = ("queue", "customer", "vendor", "internal", "handoff")


def at(minutes: float) -> str:
    """ISO text of ``minutes`` after T0, as an export writes it."""
    return (T0 + pd.Timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%SZ")


def events(rows: list[tuple], columns: tuple[str, ...] = POINT) -> pd.DataFrame:
    """A generic export's rows from tuples whose ``minutes`` (and ``end_minutes``) count from T0."""
    frame = pd.DataFrame(rows, columns=list(columns))
    minutes = frame.pop("minutes")
    frame.insert(2, "timestamp", [at(m) for m in minutes])
    if "end_minutes" in frame:
        ends = frame.pop("end_minutes")
        frame.insert(3, "end_timestamp", [None if pd.isna(m) else at(m) for m in ends])
    return frame


def write_csv(folder: Path, frame: pd.DataFrame, name: str = "export.csv") -> Path:
    path = folder / name
    frame.to_csv(path, index=False)
    return path


def write_design(folder: Path, text: str, name: str = "streams.toml") -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def analyse(path: Path, design: Path | None = None) -> miner.Results:
    """Read an export as the CLI does and compare it with ``design`` (the built-in design by default)."""
    log, report = connectors.load(path)
    return miner.compare(log, design, source=report.source)


def per_ticket(results) -> pd.DataFrame:
    return results.tickets.set_index("case_id")


def accounted_s(t: pd.DataFrame | pd.Series) -> pd.Series | float:
    """Work, waits and unclassified time of tickets: a partition of each one's lead time (or age, open)."""
    return t["work_s"] + t["wait_s"] + t["unclassified_s"]


def class_columns(tickets: pd.DataFrame) -> dict[str, str]:
    """The per-ticket columns of each wait class (and of time in a delivered state that a reopen undid, which
    is waiting too: the ticket was believed delivered)."""
    out = {}
    for c in (*WAIT_CLASSES, "reopened"):
        for name in (f"{c}_s", f"wait_{c}_s", f"{c}_wait_s"):
            if name in tickets.columns:
                out[c] = name
                break
    return out


def deviation_set(results) -> set[tuple[str, str]]:
    d = results.comparison.deviations
    return set(zip(d["type"], d["step"], strict=True))


def step(results, stage: str, n: int = 0) -> pd.Series:
    """The n-th row of ``comparison.steps`` of a stage (key, e.g. deliver_support)."""
    steps = results.comparison.steps
    return steps[steps["stage"] == stage].iloc[n]


# --- 1. Open tickets --------------------------------------------------------------------------------


def open_tickets() -> pd.DataFrame:
    """40 delivered tickets of 10 h, 60 open ones waiting on the customer, 10 untouched in New.

    C00–C38 start at 0; C39 starts at 6600 and is resolved at 7200, the export's
    last timestamp (as_of = T0 + 5 d). O00–O59 wait on the customer from 120 to
    as_of. N0–N9 are created at 1 d and never touched.
    """
    rows = []
    for i in range(40):
        s = 6600 if i == 39 else 0
        rows += [(f"C{i:02}", "New", s, "SD"), (f"C{i:02}", "In Progress", s + 20, "SD"), (f"C{i:02}", "Resolved", s + 600, "SD")]
    for i in range(60):
        rows += [(f"O{i:02}", "New", 0, "SD"), (f"O{i:02}", "In Progress", 20, "SD"), (f"O{i:02}", "Awaiting customer", 120, "SD")]
    rows += [(f"N{i}", "New", D, "SD") for i in range(10)]
    return events(rows)


# --- 2. Events after closure ------------------------------------------------------------------------


def events_after_closure() -> pd.DataFrame:
    """Delivered at 600 min, then a survey, a comment and a field update, or a second done state; one true reopen."""
    rows = [
        ("A", "New", 0, "SD"), ("A", "In Progress", 30, "SD"), ("A", "Closed", 600, "SD"), ("A", "Survey completed", 7200, "SD"),
        ("B", "New", 0, "SD"), ("B", "In Progress", 30, "SD"), ("B", "Closed", 600, "SD"),
        ("B", "Comment added", 1000, "SD"), ("B", "Field update", 7200, "SD"),
        ("C", "New", 0, "SD"), ("C", "In Progress", 30, "SD"), ("C", "Resolved", 600, "SD"), ("C", "Closed", 2040, "SD"),
        # The decoy the other way: a return to work after Resolved is a reopen.
        ("D", "New", 0, "SD"), ("D", "In Progress", 30, "SD"), ("D", "Resolved", 600, "SD"),
        ("D", "In Progress", 1200, "SD"), ("D", "Resolved", 1500, "SD"),
    ]
    return events(rows)


# --- 3. Interval logs -------------------------------------------------------------------------------


def interval_log() -> pd.DataFrame:
    """I1: gaps before work (queue), across a group change (hand-off), before a wait (its class); overlapping work.

    I2: three work intervals over the same 100 minutes.
    """
    rows = [
        ("I1", "Log call", 0, 10, "SD"),
        ("I1", "Investigate", 30, 90, "SD"),           # gap 10–30 before SD's next work: queue
        ("I1", "Diagnose", 60, 120, "SD"),             # overlaps 60–90: work 30–120 counts once
        ("I1", "Investigate", 150, 200, "L2"),         # gap 120–150 across SD → L2: hand-off
        ("I1", "Awaiting customer", 230, 300, "L2"),   # gap 200–230 then the wait 230–300: customer
        ("I1", "Investigate", 300, 330, "L2"),
        ("I1", "Resolved", 330, None, "L2"),
        ("I2", "Investigate", 0, 100, "SD"),
        ("I2", "Diagnose", 10, 100, "SD"),
        ("I2", "Repair", 20, 100, "SD"),
        ("I2", "Resolved", 100, None, "SD"),
    ]
    return events(rows, INTERVAL)


# --- 4. Wait vocabularies ---------------------------------------------------------------------------


def wait_vocabulary() -> pd.DataFrame:
    """One ticket that waits on the customer once and on vendors four times, each named differently."""
    rows = [
        ("W", "New", 0, "SD"),
        ("W", "In Progress", 10, "SD"),
        ("W", "Awaiting customer feedback", 60, "SD"),
        ("W", "In Progress", 180, "SD"),
        ("W", "Awaiting Vendor Response", 240, "SD"),
        ("W", "In Progress", 300, "SD"),
        ("W", "Waiting for vendor reply", 330, "SD"),
        ("W", "In Progress", 400, "SD"),
        ("W", "On Hold - Third Party Response", 420, "SD"),
        ("W", "In Progress", 500, "SD"),
        ("W", "Awaiting information from supplier", 520, "SD"),
        ("W", "In Progress", 600, "SD"),
        ("W", "Resolved", 630, "SD"),
    ]
    return events(rows)


# --- 5. Waits inside a step -------------------------------------------------------------------------


def servicenow_holds() -> pd.DataFrame:
    """A ServiceNow incident audit export (one snapshot per update): holds awaiting a change and a problem."""
    timeline = {
        "INC0000001": [(0, "New", ""), (15, "In Progress", ""), (60, "On Hold", "Awaiting Change"),
                       (600, "In Progress", ""), (660, "Resolved", "")],
        "INC0000002": [(0, "New", ""), (15, "In Progress", ""), (60, "On Hold", "Awaiting Problem"),
                       (180, "In Progress", ""), (240, "Resolved", "")],
        "INC0000003": [(0, "New", ""), (15, "In Progress", ""), (120, "Resolved", "")],
    }
    rows = []
    for number, updates in timeline.items():
        for count, (minutes, state, reason) in enumerate(updates):
            rows.append({"number": number, "state": state, "hold_reason": reason, "assignment_group": "Service Desk",
                         "sys_updated_on": (T0 + pd.Timedelta(minutes=minutes)).strftime("%Y-%m-%d %H:%M:%S"),
                         "sys_mod_count": count})
    return pd.DataFrame(rows)


def jira_service_requests() -> dict:
    """A Jira Service Management changelog (search with expand=changelog): Waiting for support → In Progress → Resolved.

    REQ-1–REQ-3 are service requests, REQ-4 and REQ-5 incidents.
    """
    def iso(minutes: int) -> str:
        return (T0 + pd.Timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%S.000+0000")

    def status(hid: str, minutes: int, old: str, new: str) -> dict:
        return {"id": hid, "author": {"displayName": "Agent"}, "created": iso(minutes),
                "items": [{"field": "status", "fieldtype": "jira", "fromString": old, "toString": new}]}

    issues = []
    for i in range(5):
        kind = "Service Request" if i < 3 else "Incident"
        issues.append({
            "id": str(10000 + i), "key": f"REQ-{i + 1}",
            "fields": {"summary": kind, "issuetype": {"name": kind}, "created": iso(0),
                       "status": {"name": "Resolved", "statusCategory": {"key": "done"}},
                       "project": {"key": "REQ", "name": "Service desk"}},
            "changelog": {"histories": [status(f"{i}1", 30, "Waiting for support", "In Progress"),
                                        status(f"{i}2", 120, "In Progress", "Resolved")]},
        })
    return {"startAt": 0, "maxResults": 50, "total": len(issues), "issues": issues}


def write_json(folder: Path, doc: dict, name: str) -> Path:
    path = folder / name
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


# --- 6. Plan ----------------------------------------------------------------------------------------


def plan_anywhere() -> pd.DataFrame:
    """Plan events before, between and after deliver work of incidents (no designed plan step)."""
    rows = [
        ("P1", "New", 0, "SD"), ("P1", "Prioritise", 5, "SD"), ("P1", "In Progress", 15, "SD"),
        ("P1", "Estimate", 60, "SD"), ("P1", "Diagnose", 70, "SD"), ("P1", "Resolved", 100, "SD"),
        ("P2", "New", 0, "SD"), ("P2", "In Progress", 10, "SD"), ("P2", "Prioritise", 40, "SD"), ("P2", "Resolved", 50, "SD"),
    ]
    return events(rows)


PLAN_DESIGN = """
version = 1

[[stream]]
name = "Planned incident"
applies_to = "default"

  [[stream.step]]
  stage = "engage"

  [[stream.step]]
  stage = "plan"

  [[stream.step]]
  stage = "deliver and support"
"""


def plan_designed() -> pd.DataFrame:
    """Q1 follows engage → plan → deliver; Q2 skips plan; Q3 plans again after deliver work (a backflow to plan)."""
    rows = [
        ("Q1", "New", 0, "SD"), ("Q1", "Log call", 5, "SD"), ("Q1", "Prioritise", 10, "SD"),
        ("Q1", "In Progress", 20, "SD"), ("Q1", "Resolved", 50, "SD"),
        ("Q2", "New", 0, "SD"), ("Q2", "Log call", 5, "SD"), ("Q2", "In Progress", 10, "SD"), ("Q2", "Resolved", 40, "SD"),
        ("Q3", "New", 0, "SD"), ("Q3", "Log call", 5, "SD"), ("Q3", "Prioritise", 10, "SD"), ("Q3", "In Progress", 20, "SD"),
        ("Q3", "Estimate", 30, "SD"), ("Q3", "Diagnose", 40, "SD"), ("Q3", "Resolved", 50, "SD"),
    ]
    return events(rows)


# --- 7. %C&A ----------------------------------------------------------------------------------------


def reopened_half() -> pd.DataFrame:
    """R0–R4 are resolved, reopened by a return to work and resolved again; R5–R9 are resolved once."""
    rows = []
    for i in range(10):
        c = f"R{i}"
        rows += [(c, "New", 0, "SD"), (c, "In Progress", 10, "SD"), (c, "Resolved", 60, "SD")]
        if i < 5:
            rows += [(c, "In Progress", 120, "SD"), (c, "Resolved", 180, "SD")]
    return events(rows)


def sent_back_to_triage() -> pd.DataFrame:
    """S0–S3: deliver work sends the ticket back to triage (engage), then other deliver work; S4–S7 go straight."""
    rows = []
    for i in range(8):
        c = f"S{i}"
        rows += [(c, "Log call", 0, "SD"), (c, "Investigate", 10, "SD")]
        if i < 4:
            rows += [(c, "Triage", 40, "SD"), (c, "Diagnose", 50, "SD"), (c, "Resolved", 80, "SD")]
        else:
            rows += [(c, "Resolved", 40, "SD")]
    return events(rows)


# --- 8. Steps narrowed to activities ----------------------------------------------------------------

NARROWED_DESIGN = """
version = 1

[[stream]]
name = "Incident by activity"
applies_to = "default"

  [[stream.step]]
  stage = "engage"
  activities = ["Log call"]

  [[stream.step]]
  stage = "deliver and support"
  activities = ["Investigate"]
  target = "90m"

  [[stream.step]]
  stage = "deliver and support"
  activities = ["Repair"]
"""


def narrowed_steps() -> pd.DataFrame:
    """N1 waits on the customer inside Investigate and resumes; N2 is plain; N3 really goes back to Investigate."""
    rows = [
        ("N1", "Log call", 0, "SD"), ("N1", "Investigate", 10, "SD"), ("N1", "Awaiting customer", 40, "SD"),
        ("N1", "Investigate", 100, "SD"), ("N1", "Repair", 130, "SD"), ("N1", "Resolved", 160, "SD"), ("N1", "Closed", 200, "SD"),
        ("N2", "Log call", 0, "SD"), ("N2", "Investigate", 10, "SD"), ("N2", "Repair", 40, "SD"), ("N2", "Resolved", 70, "SD"),
        ("N3", "Log call", 0, "SD"), ("N3", "Investigate", 10, "SD"), ("N3", "Repair", 40, "SD"),
        ("N3", "Investigate", 70, "SD"), ("N3", "Repair", 90, "SD"), ("N3", "Resolved", 100, "SD"),
    ]
    return events(rows)


# --- 9. Newest-first exports ------------------------------------------------------------------------


def tied_events(newest_first: bool = True) -> pd.DataFrame:
    """K0–K4: New and In Progress at one time, Resolved and Closed at one time 10 h later.

    The whole file is sorted by time, newest first (or oldest first, the
    control); within a timestamp a newest-first file lists the later event
    first, as a descending export does.
    """
    rows = []
    for k in range(5):
        s = 60 * k
        rows += [(f"K{k}", "New", s, "SD", 0), (f"K{k}", "In Progress", s, "SD", 1),
                 (f"K{k}", "Resolved", s + 600, "SD", 2), (f"K{k}", "Closed", s + 600, "SD", 3)]
    frame = pd.DataFrame(rows, columns=["case_id", "activity", "minutes", "group", "order"])
    frame = frame.sort_values(["minutes", "order"], ascending=not newest_first, kind="stable").drop(columns="order")
    return events(list(frame.itertuples(index=False, name=None)))


# --- 10. Work in a stage the design lacks -----------------------------------------------------------


def extra_stage() -> pd.DataFrame:
    """X0–X3: deliver work followed by patching and testing (obtain/build, not in the incident design).

    X4, the decoy the other way: deliver work sent back to categorisation (engage, designed): a backflow.
    """
    rows = []
    for i in range(4):
        c = f"X{i}"
        rows += [(c, "New", 0, "SD"), (c, "Investigate", 10, "SD"), (c, "Apply patch", 60, "SD"),
                 (c, "Test fix", 120, "SD"), (c, "Resolved", 180, "SD")]
    rows += [("X4", "New", 0, "SD"), ("X4", "Investigate", 10, "SD"), ("X4", "Categorise", 40, "SD"),
             ("X4", "Diagnose", 60, "SD"), ("X4", "Resolved", 90, "SD")]
    return events(rows)


# --- 11. Explicit reopens ---------------------------------------------------------------------------


def explicit_reopens() -> pd.DataFrame:
    """E0–E4: Resolved, Reopened, Resolved again with no work between; E5–E9 Resolved, then Closed (not a reopen)."""
    rows = []
    for i in range(10):
        c = f"E{i}"
        rows += [(c, "New", 0, "SD"), (c, "In Progress", 10, "SD"), (c, "Resolved", 60, "SD")]
        if i < 5:
            rows += [(c, "Reopened", 120, "SD"), (c, "Resolved", 150, "SD")]
        else:
            rows += [(c, "Closed", 200, "SD")]
    return events(rows)


# --- 12. Rework properties --------------------------------------------------------------------------


def rework_properties() -> pd.DataFrame:
    """ESC: a clean escalation L1 → L2; CHAIN: assigned to A, B, back to A; REOPEN: one reopen; FV: 20 field edits."""
    rows = [
        ("ESC", "In Progress", 0, "L1"), ("ESC", "Assigned", 30, "L2"), ("ESC", "In Progress", 40, "L2"), ("ESC", "Resolved", 100, "L2"),
        ("CHAIN", "Assigned", 0, "A"), ("CHAIN", "Assigned", 20, "B"), ("CHAIN", "Assigned", 50, "A"),
        ("CHAIN", "In Progress", 60, "A"), ("CHAIN", "Resolved", 90, "A"),
        ("REOPEN", "In Progress", 0, "L1"), ("REOPEN", "Resolved", 60, "L1"), ("REOPEN", "In Progress", 120, "L1"),
        ("REOPEN", "Resolved", 150, "L1"),
        ("FV", "New", 0, "Dev"), ("FV", "In Progress", 10, "Dev"),
        *[("FV", "Change Field: Fix Version", 20 + k, "Dev") for k in range(20)],
        ("FV", "Resolved", 60, "Dev"),
    ]
    return events(rows)


# --- 13. Random small logs --------------------------------------------------------------------------

# Activities of every kind the generic rules know: work (deliver, engage, obtain, plan, improve),
# waits of each class, done, an explicit reopen, and events no rule maps (a comment).
ACTIVITIES = ["In Progress", "Investigate", "Log call", "Apply patch", "Estimate", "Survey completed",
              "New", "Awaiting customer", "Pending vendor", "Awaiting approval", "Reassigned", "On Hold",
              "Resolved", "Closed", "Reopened", "Comment added"]


@st.composite
def random_log(draw, intervals: bool) -> pd.DataFrame:
    """1–12 tickets of 1–8 events: random activities, groups and gaps (ties included); some end open.

    Tickets are analysed independently, so one log holds several examples.
    """
    rows = []
    for c in range(draw(st.integers(1, 12))):
        t = draw(st.integers(0, 300))
        for _ in range(draw(st.integers(1, 8))):
            t += draw(st.sampled_from([0, 0, 5, 17, 60, 240]))
            activity = draw(st.sampled_from(ACTIVITIES))
            group = draw(st.sampled_from(["L1", "L2", None]))
            end = draw(st.one_of(st.none(), st.integers(0, 90))) if intervals else None
            rows.append((f"T{c}", activity, t, None if end is None else t + end, group))
    return events(rows, INTERVAL) if intervals else events([r[:3] + r[4:] for r in rows])


def as_of_minutes(frame: pd.DataFrame) -> float:
    """The export's latest timestamp (start or end), in minutes after T0."""
    stamps = pd.to_datetime(frame["timestamp"], utc=True)
    if "end_timestamp" in frame:
        stamps = pd.concat([stamps, pd.to_datetime(frame["end_timestamp"], utc=True).dropna()])
    return float((stamps.max() - T0) / np.timedelta64(1, "m"))


# --- 14. Conclusions where tickets are still open (stop 26) ----------------------------------------


def open_extra_stage() -> pd.DataFrame:
    """An extra stage that costs no lead time, and open tickets in it that a naive rule would call slow.

    P00–P24 conform (New, Investigate, Resolved) with lead times of 60–84 min;
    X00–X24 also apply a patch (obtain/build, not in the incident design) and
    have the same lead times. The decoy: W00–W24 apply a patch and are still
    open at the export's end, 10 d later (P24 starts at 10 d). Lead time is of
    delivered tickets, so the extra stage adds 0 s; ages would add days.
    """
    rows = []
    for i in range(25):
        s = 10 * D if i == 24 else 0
        rows += [(f"P{i:02}", "New", s, "SD"), (f"P{i:02}", "Investigate", s + 10, "SD"), (f"P{i:02}", "Resolved", s + 60 + i, "SD")]
        rows += [(f"X{i:02}", "New", 0, "SD"), (f"X{i:02}", "Investigate", 10, "SD"), (f"X{i:02}", "Apply patch", 30, "SD"),
                 (f"X{i:02}", "Resolved", 60 + i, "SD")]
        rows += [(f"W{i:02}", "New", 0, "SD"), (f"W{i:02}", "Investigate", 10, "SD"), (f"W{i:02}", "Apply patch", 30, "SD")]
    return events(rows)


def bounces_and_repeats() -> pd.DataFrame:
    """B0–B9 bounce L1 → L2 → L1 and nothing else; R0–R9 repeat Investigate in L1 after other work; K0–K9 are clean.

    Every one of B and R has rework, so 20 of 30 tickets: the headline's rework
    rate and the rework total's count. The decoy: counting only tickets whose
    rework is timed as work done again (self-loops, repetitions, backflows,
    reopens) finds 10.
    """
    rows = []
    for i in range(10):
        rows += [(f"B{i}", "In Progress", 0, "L1"), (f"B{i}", "In Progress", 30, "L2"), (f"B{i}", "In Progress", 60, "L1"),
                 (f"B{i}", "Resolved", 90, "L1")]
        rows += [(f"R{i}", "Investigate", 0, "L1"), (f"R{i}", "Diagnose", 30, "L1"), (f"R{i}", "Investigate", 60, "L1"),
                 (f"R{i}", "Resolved", 90, "L1")]
        rows += [(f"K{i}", "Investigate", 0, "L1"), (f"K{i}", "Resolved", 90, "L1")]
    return events(rows)


def nothing_delivered() -> pd.DataFrame:
    """The open tickets of :func:`open_tickets` alone: O00–O59 and N0–N9, none ever delivered.

    Every ticket's time runs to the export's end, so no total of hours means
    anything: vsm must draw no conclusion in hours.
    """
    frame = open_tickets()
    return frame[~frame["case_id"].str.startswith("C")].reset_index(drop=True)


def export_starts_after_logging() -> pd.DataFrame:
    """L00–L23 start with work (the export begins after they were logged); Q0–Q5 start in a New queue.

    24 of 30 tickets (80%) have no engage event: the export's doing, which vsm
    says. The decoy: in :func:`open_tickets` every ticket starts in New, and
    nothing is said.
    """
    rows = []
    for i in range(24):
        rows += [(f"L{i:02}", "In Progress", 0, "SD"), (f"L{i:02}", "Resolved", 60, "SD")]
    for i in range(6):
        rows += [(f"Q{i}", "New", 0, "SD"), (f"Q{i}", "In Progress", 30, "SD"), (f"Q{i}", "Resolved", 90, "SD")]
    return events(rows)
