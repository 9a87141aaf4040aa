"""The report's charts, drawn by reports/plot.py: axes that end on round ticks, text that stays text, readable labels."""

from __future__ import annotations

import math
import re
from xml.etree import ElementTree

import numpy as np
import pandas as pd
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from reports import charts
from reports.plot import linear_axis, nice_limits, number
from tests.conftest import run_cli


@settings(max_examples=500, deadline=None)
@given(st.floats(-1e9, 1e9), st.floats(1e-6, 1e9), st.integers(3, 12))
def test_an_axis_ends_on_round_ticks_around_its_data(lo, span, most):
    assume(span >= 1e-6 * max(1.0, abs(lo)))  # a range a chart can show: not 2^25 ± 0.004
    hi = lo + span
    low, high, step = nice_limits(lo, hi, most)
    assert low <= lo + 1e-9 * span and high >= hi - 1e-9 * span  # (float noise below a billionth of the range)
    scale, labelled = linear_axis(lo, hi, most)
    ticks = [t for t, _ in labelled]
    assert (scale.lo, scale.hi) == (low, high) and 2 <= len(ticks) <= most
    assert ticks[0] == low and math.isclose(ticks[-1], high, rel_tol=1e-9, abs_tol=1e-9 * span)
    mantissa = step / 10 ** math.floor(math.log10(step))
    assert any(math.isclose(mantissa, m, rel_tol=1e-6) for m in (1, 2, 2.5, 5, 10))
    assert np.allclose(np.diff(ticks), step, rtol=1e-6)
    assert high - low <= span + 2 * step * (1 + 1e-9)  # less than a step beyond the data at either end


@settings(max_examples=300, deadline=None)
@given(st.integers(0, 10**9), st.integers(2, 12))
def test_a_count_axis_has_whole_ticks(top, most):
    _, labelled = linear_axis(0, top, most, whole=True)
    ticks = [t for t, _ in labelled]
    assert ticks[0] == 0 and ticks[-1] >= top and 2 <= len(ticks) <= max(most, 2)
    assert all(t == int(t) for t in ticks) and all("." not in label for _, label in labelled)


def test_ticks_of_common_ranges():
    assert [t for t, _ in linear_axis(0, 25)[1]] == [0, 5, 10, 15, 20, 25]
    assert [t for t, _ in linear_axis(0, 0.7, 6)[1]] == [0, 0.2, 0.4, 0.6, 0.8]  # not 0.6000000000000001
    assert [label for _, label in linear_axis(0, 404)[1]] == ["0", "100", "200", "300", "400", "500"]
    assert [label for _, label in linear_axis(-31.3, 43)[1]] == ["-40", "-20", "0", "20", "40", "60"]
    assert [label for _, label in linear_axis(3, 7.5, 4)[1]] == ["2", "4", "6", "8"]
    assert [label for _, label in linear_axis(0, 0.003, 4)[1]] == ["0", "0.001", "0.002", "0.003"]
    assert [label for _, label in linear_axis(0, 15, whole=True)[1]] == ["0", "5", "10", "15"]  # not 2.5, 7.5, 12.5
    assert [label for _, label in linear_axis(0, 1, whole=True)[1]] == ["0", "1"]


def test_tick_labels_read_as_the_report_writes_numbers():
    assert [number(v) for v in (0, 62000, 2.5, -10, 1_250_000, 0.25)] == ["0", "62,000", "2.5", "-10", "1,250,000", "0.25"]


def test_names_in_the_data_stay_text():
    svg = str(charts.bottleneck_bars(['<script>alert(1)</script>', "cost $5 & more", "Q&A → Done"],
                                     pd.Series([3 * 86400.0, 2 * 86400.0, 86400.0]), "waiting"))
    assert "<script>" not in svg and "&lt;script&gt;alert(1)&lt;/script&gt;" in svg
    assert ">cost $5 &amp; more<" in svg and ">Q&amp;A → Done<" in svg
    # Largest first, top to bottom; the axis ends on a round tick past the largest bar.
    ys = [float(y) for y in re.findall(r'<rect x="[\d.]+" y="([\d.]+)"', svg)]
    assert ys == sorted(ys) and len(ys) == 3
    assert ">0<" in svg and ">3<" in svg and "total waiting (days, all tickets)" in svg


def test_a_share_is_written_in_a_colour_its_segment_shows():
    svg = str(charts.time_by_class({"work": 20.0, "queue": 0.0, "unclassified": 80.0}))
    assert re.search(r'fill="#ffffff">20%</text>', svg) and re.search(r'fill="#1f2937">80%</text>', svg)
    assert ">work 20%<" in svg and ">unclassified 80%<" in svg and "queue" not in svg


def test_an_empty_histogram_says_so():
    svg = str(charts.lead_time_histogram(np.array([0.0, -1.0]), pd.Series(["A", "A"])))
    assert "no lead times to show" in svg and "<path" not in svg[svg.index("</defs>"):]


def test_the_histogram_names_each_stream_with_its_median():
    lead = np.array([3600.0] * 5 + [86400.0] * 3)
    svg = str(charts.lead_time_histogram(lead, pd.Series(["Incident"] * 5 + ["Change"] * 3)))
    assert ">Incident: median 60 min<" in svg and ">Change: median 24.0 h<" in svg
    assert svg[svg.index("</defs>"):].count("<path") == 2 and ">1 h<" in svg and ">1 d<" in svg


finite_or_not = st.one_of(st.floats(-1e7, 1e7), st.just(float("nan")), st.just(0.0))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.text(max_size=30), st.floats(0, 1e6), finite_or_not, st.floats(0, 1e9), st.integers(0, 50),
                          st.booleans()), max_size=25),
       st.lists(st.floats(-1e8, 1e9), max_size=60), st.lists(st.floats(0, 1e9), max_size=12))
def test_every_chart_is_well_formed_svg_whatever_the_numbers(groups, leads, waits):
    """Zeros, one value, equal values, negative and missing numbers: every chart still parses, with no NaN coordinate."""
    frame = pd.DataFrame(groups, columns=["group", "visits", "downstream_excess_s", "local_time_median_s", "comparable_handoffs",
                                          "moved_bottleneck"])
    lead = np.array(leads, dtype=float)
    drawn = [charts.group_scatter(frame), charts.lead_time_histogram(lead, pd.Series(["A", "B"] * len(leads))[: len(leads)]),
             charts.bottleneck_bars([f"step {i}" for i in range(len(waits))], pd.Series(waits, dtype=float), "waiting"),
             charts.time_by_class({"work": waits[0] if waits else 0.0, "queue": 1.0})]
    for svg in map(str, drawn):
        ElementTree.fromstring(svg)
        assert not re.search(r'="[^"]*(nan|inf)[^"]*"', svg.lower())


def test_a_log_of_tickets_done_within_a_minute_still_gets_its_report(tmp_path):
    """Every lead time under the histogram's first bin (a minute): once an internal error ('bins must increase')."""
    rows = ["number,state,sys_updated_on,assignment_group"]
    for i in range(20):
        rows += [f"INC{i:04d},New,2025-01-0{1 + i % 9} 10:00:00,Desk", f"INC{i:04d},Closed,2025-01-0{1 + i % 9} 10:00:20,Desk"]
    export, out = tmp_path / "fast.csv", tmp_path / "fast.html"
    export.write_text("\n".join(rows) + "\n")
    result = run_cli("report", export, "-o", out, "--quiet")
    assert result.exit_code == 0, result.stderr
    page = out.read_text()
    chart = page[page.index('aria-label="Lead-time distribution'):]
    assert "median 20 s" in chart[:chart.index("</svg>")]
