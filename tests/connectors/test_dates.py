"""Timestamp format detection and parsing."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from connectors.dates import DateOptions, parse_timestamps
from connectors.errors import BadOption, BadTimestamps
from connectors.report import render


def parse(values, **options):
    return parse_timestamps(pd.Series(values, dtype="str"), options=DateOptions(**options))


def utc(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz="UTC")


@pytest.mark.parametrize(
    "value, expected",
    [
        pytest.param("2017-02-28T09:24:59.366-0600", "2017-02-28 15:24:59.366", id="iso-offset-nocolon"),
        pytest.param("2017-02-28T09:24:59+01:00", "2017-02-28 08:24:59", id="iso-offset"),
        pytest.param("2017-02-28T09:24:59Z", "2017-02-28 09:24:59", id="iso-z"),
        pytest.param("2017-02-28 09:24:59", "2017-02-28 09:24:59", id="iso-naive"),
        pytest.param("2017-02-28", "2017-02-28 00:00", id="iso-date"),
        pytest.param("25/Feb/26 10:17 PM", "2026-02-25 22:17", id="jira"),
        pytest.param("25-Feb-2026 22:17", "2026-02-25 22:17", id="dd-mon-yyyy"),
        pytest.param("1488273899", "2017-02-28 09:24:59", id="epoch-s"),
        pytest.param("1488273899366", "2017-02-28 09:24:59.366", id="epoch-ms"),
    ],
)
def test_single_formats(value, expected):
    got = parse([value, value])
    assert got.values.iloc[0] == utc(expected)
    assert not got.bad.any()


def test_day_first_decided_from_a_day_above_12():
    got = parse(["1/2/2016 9:05", "13/2/2016 10:05", "3/2/2016 11:00"])
    assert list(got.values) == [utc("2016-02-01 09:05"), utc("2016-02-13 10:05"), utc("2016-02-03 11:00")]
    assert got.description.startswith("d/m/yyyy H:MM (day-first")
    assert "--dayfirst" in got.flags


def test_month_first_with_am_pm():
    got = parse(["02/25/2026 10:17:05 PM", "03/01/2026 09:00:00 AM"])
    assert list(got.values) == [utc("2026-02-25 22:17:05"), utc("2026-03-01 09:00")]
    assert got.description.startswith("m/d/yyyy h:MM:SS AM (month-first")


def test_servicenow_dashes_month_first():
    got = parse(["02-25-2026 10:17:05 PM", "12-31-2025 01:00:00 AM"])
    assert got.values.iloc[0] == utc("2026-02-25 22:17:05")


def test_ambiguous_order_prefers_the_reading_that_runs_forward():
    # Read day-first these are 1 Feb, 2 Feb, 3 Feb …; month-first 2 Jan, 2 Feb, 2 Mar: both forward.
    # Here only month-first runs forward: 05/01, 06/01, 07/01 as m/d = May, Jun, Jul; as d/m = 5, 6, 7 Jan.
    values = ["01/05/2024 10:00", "01/06/2024 10:00", "02/06/2024 10:00", "03/05/2024 10:00"]
    got = parse(values)
    assert "ambiguous" in got.description
    assert got.description.startswith("m/d/yyyy") == (got.values.is_monotonic_increasing and got.values.iloc[2] == utc("2024-02-06 10:00"))


def test_flags_override_the_order():
    assert parse(["01/02/2024 10:00"], dayfirst=True).values.iloc[0] == utc("2024-02-01 10:00")
    assert parse(["01/02/2024 10:00"], dayfirst=False).values.iloc[0] == utc("2024-01-02 10:00")


def test_explicit_format_and_timezone():
    got = parse(["28.02.2017 09:24"], date_format="%d.%m.%Y %H:%M", timezone="Europe/Berlin")
    assert got.values.iloc[0] == utc("2017-02-28 08:24")
    assert "--timezone Europe/Berlin" in got.flags


def test_impossible_dates_are_bad_not_rolled_over():
    got = parse(["31/02/2016 10:00", "28/02/2016 10:00", "30/04/2016 10:00", "13/03/2016 10:00"])
    assert got.bad.tolist() == [True, False, False, False]
    assert got.values.iloc[2] == utc("2016-04-30 10:00")


def test_mixed_offsets_are_converted_and_naive_values_use_the_timezone():
    got = parse(["2020-06-01 10:00:00+02:00", "2020-06-01 10:00:00", "2020-06-01T10:00:00Z"], timezone="America/New_York")
    assert list(got.values) == [utc("2020-06-01 08:00"), utc("2020-06-01 14:00"), utc("2020-06-01 10:00")]
    assert "1 without (taken as America/New_York)" in got.description


def test_mostly_bad_fails_with_examples():
    with pytest.raises(BadTimestamps) as err:
        parse_timestamps(pd.Series(["2020-01-01", "soon", "later", "never"], dtype="str"), name="opened_at", path="x.csv")
    assert str(err.value).startswith("x.csv: timestamp column 'opened_at' has 3 of 4 values that are not dates")
    assert "row 2: 'soon'" in str(err.value)


def test_unknown_timezone_is_an_option_error():
    with pytest.raises(BadOption, match="unknown time zone 'Mars/Olympus'"):
        parse(["2020-01-01"], timezone="Mars/Olympus")


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.datetimes(min_value=pd.Timestamp("1971-01-01").to_pydatetime(), max_value=pd.Timestamp("2037-12-31").to_pydatetime()), min_size=3, max_size=30),
    st.sampled_from(["%Y-%m-%d %H:%M:%S", "%d/%m/%Y %H:%M:%S", "%m/%d/%Y %I:%M:%S %p", "%d-%b-%Y %H:%M:%S", "%Y-%m-%dT%H:%M:%SZ"]),
)
def test_round_trip_of_formatted_times(times, fmt):
    times = [t.replace(microsecond=0) for t in times]
    text = [t.strftime(fmt) for t in times]
    # The data alone cannot decide day/month order when every day is 12 or less; say it.
    order = {"%d/%m": True, "%m/%d": False}
    dayfirst = next((v for k, v in order.items() if fmt.startswith(k)), None)
    got = parse(text, dayfirst=dayfirst)
    assert not got.bad.any()
    assert [v.tz_convert(None).to_pydatetime() for v in got.values] == times


# --------------------------------------------------------------------------
# Clock changes: Europe/Amsterdam went back from 03:00 CEST to 02:00 CET on
# 2024-10-27 (01:00 UTC) and forward from 02:00 to 03:00 on 2024-03-31.

DST_LOG = """ticket,status,time
A,New,27/10/2024 01:50
A,In Progress,27/10/2024 02:15
A,On Hold,27/10/2024 02:45
A,In Progress,27/10/2024 02:10
A,Resolved,27/10/2024 02:40
A,Closed,27/10/2024 03:05
B,New,27/10/2024 02:30
B,Closed,27/10/2024 04:00
C,New,31/03/2024 02:30
C,Closed,31/03/2024 04:00
D,New,27/10/2024 02:50
D,In Progress,27/10/2024 02:20
D,Resolved,27/10/2024 02:55
D,Closed,27/10/2024 02:05
E,New,27/10/2024 02:50
E,Closed,27/10/2024 02:20
"""


def test_times_in_the_repeated_autumn_hour_are_placed_by_their_case_order(tmp_path):
    import connectors

    path = tmp_path / "tickets.csv"
    path.write_text(DST_LOG)
    log, report = connectors.load(path, timezone="Europe/Amsterdam", dayfirst=True)
    got = {(str(c), str(a), t.strftime("%m-%d %H:%M")) for c, a, t in zip(log["case_id"], log["activity"], log["timestamp"], strict=True)}
    assert got == {
        # A crosses the change: 02:15 and 02:45 are summer time (UTC+2), the 02:10 and 02:40 after them winter time (UTC+1).
        ("A", "New", "10-26 23:50"), ("A", "In Progress", "10-27 00:15"), ("A", "On Hold", "10-27 00:45"),
        ("A", "In Progress", "10-27 01:10"), ("A", "Resolved", "10-27 01:40"), ("A", "Closed", "10-27 02:05"),
        # B's one time in the hour cannot be placed: summer time, with a warning.
        ("B", "New", "10-27 00:30"), ("B", "Closed", "10-27 03:00"),
        # C's 02:30 never happened in spring: moved forward to 03:00 CEST.
        ("C", "New", "03-31 01:00"), ("C", "Closed", "03-31 02:00"),
        # D goes down twice: no reading puts it in time order, so none is placed (all summer time).
        ("D", "New", "10-27 00:50"), ("D", "In Progress", "10-27 00:20"), ("D", "Resolved", "10-27 00:55"),
        ("D", "Closed", "10-27 00:05"),
        # E goes down once: 02:20 is after the change.
        ("E", "New", "10-27 00:50"), ("E", "Closed", "10-27 01:20"),
    }
    assert list(log[log["case_id"] == "A"]["activity"].astype(str)) == ["New", "In Progress", "On Hold", "In Progress", "Resolved", "Closed"]
    assert ("6 times in 'time' within the hour Europe/Amsterdam repeats when summer time ends, placed by the order "
            "of their case's events in the file (3 read as winter time)") in report.notes
    assert report.warnings == [
        "1 time in 'time' within the hour Europe/Amsterdam skips when summer time starts (a time no clock shows): "
        "moved forward by the gap",
        "5 times in 'time' within the hour Europe/Amsterdam repeats when summer time ends, with no order of their "
        "case's events in the file to place them by: read as summer time (the first of the two hours)",
    ]


def test_without_cases_repeated_times_are_summer_time_with_a_warning():
    got = parse(["2024-10-27 02:15", "2024-10-27 02:10", "2024-10-27 12:00"], timezone="Europe/Amsterdam")
    assert list(got.values) == [utc("2024-10-27 00:15"), utc("2024-10-27 00:10"), utc("2024-10-27 11:00")]
    assert got.notes == []
    assert [render(w) for w in got.warnings] == [
        "2 times in 'timestamp' within the hour Europe/Amsterdam repeats when summer time ends, with no order of "
        "their case's events in the file to place them by: read as summer time (the first of the two hours)"
    ]


def test_utc_has_no_clock_changes_to_report():
    got = parse(["2024-10-27 02:15", "2024-03-31 02:30"])
    assert (got.notes, got.warnings) == ([], [])
