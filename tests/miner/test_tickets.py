"""Per-ticket lead time and time per value-chain stage."""

from __future__ import annotations

import pytest

from miner.discovery import discover
from tests.helpers import make_log


def test_lead_time_ends_at_final_delivery_and_stages_add_up():
    log = make_log(
        [
            ("A", "Log call", 0),          # engage work, 10 min
            ("A", "Investigate", 10),      # deliver work, 50 min
            ("A", "Awaiting customer", 60),  # deliver (inherited) customer wait, 30 min
            ("A", "Investigate", 90),      # deliver work, 30 min
            ("A", "Resolved", 120),        # done: lead time ends here
            ("A", "Closed", 4000),
        ]
    )
    t = discover(log).tickets.set_index("case_id").loc["A"]
    assert t["lead_time_s"] == 120 * 60
    assert t["duration_s"] == 4000 * 60
    assert t["engage_s"] == 600
    assert t["deliver_support_s"] == (50 + 30 + 30) * 60
    assert t["work_s"] == (10 + 50 + 30) * 60
    assert t["wait_s"] == 30 * 60
    assert t["flow_efficiency"] == pytest.approx(90 / 120)


def test_reopened_ticket_lead_time_runs_to_the_last_resolution():
    log = make_log([("A", "Investigate", 0), ("A", "Resolved", 10), ("A", "Investigate", 20), ("A", "Resolved", 35), ("A", "Closed", 99)])
    assert discover(log).tickets["lead_time_s"].iloc[0] == 35 * 60


def test_ticket_without_done_state_runs_to_last_event():
    log = make_log([("A", "Investigate", 0), ("A", "Awaiting vendor", 10)])
    t = discover(log).tickets.iloc[0]
    assert t["lead_time_s"] == 600
    assert t["events"] == 2


def test_stream_by_attribute_uses_the_last_value_and_path_is_fallback():
    log = make_log(
        [("A", "Log call", 0, "Incident"), ("A", "Resolve ticket", 5, "Service Request"),
         ("B", "Log call", 0, "Incident"), ("B", "Resolve ticket", 50, "Incident"),
         ("C", "Log call", 0, None), ("C", "Resolve ticket", 7, "Incident")],
        columns=("case_id", "activity", "minutes", "ticket_type"),
    )
    found = discover(log)
    assert found.stream_choice.column == "ticket_type"
    streams = found.streams.set_index("stream")
    assert streams.loc["Incident", "tickets"] == 2
    assert streams.loc["Service Request", "tickets"] == 1
    assert streams.loc["Incident", "lead_time_median_s"] == (50 + 7) / 2 * 60
    by_path = discover(log, stream_by="path")
    assert by_path.stream_choice.column is None
    assert list(by_path.streams["stream"]) == ["engage → deliver and support"]


def test_unknown_stream_by_column_suggests():
    from connectors.errors import BadOption

    log = make_log([("A", "x", 0, "I")], columns=("case_id", "activity", "minutes", "ticket_type"))
    with pytest.raises(BadOption, match=r"--stream-by 'tickettype' is not a column of the log; did you mean 'ticket_type'\?"):
        discover(log, stream_by="tickettype")
