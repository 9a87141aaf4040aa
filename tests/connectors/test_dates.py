"""Timestamp format detection and parsing."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from connectors.dates import DateOptions, parse_timestamps
from connectors.errors import BadOption, BadTimestamps


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
