"""CSV output is safe to open in a spreadsheet."""

from __future__ import annotations

import pandas as pd
import pytest

from reports.csvout import neutralise, safe_frame


@pytest.mark.parametrize(
    "value, expected",
    [
        pytest.param("=1+1", "'=1+1", id="equals"),
        pytest.param("+SUM(A1)", "'+SUM(A1)", id="plus"),
        pytest.param("-2+3", "'-2+3", id="minus"),
        pytest.param("@cmd", "'@cmd", id="at"),
        pytest.param("\tx", "'\tx", id="tab"),
        pytest.param("Network", "Network", id="plain"),
        pytest.param(-5, -5, id="negative-number-stays-a-number"),
        pytest.param(["=a", "b"], "'=a; b", id="list"),
    ],
)
def test_neutralise(value, expected):
    assert neutralise(value) == expected


def test_frames_keep_numbers_and_neutralise_text_and_headers():
    frame = pd.DataFrame({"name": ["=HYPERLINK(\"x\")", "ok"], "n": [-1, 2], "=bad": ["a", "b"]})
    out = safe_frame(frame)
    assert out["name"].tolist() == ["'=HYPERLINK(\"x\")", "ok"]
    assert out["n"].tolist() == [-1, 2]
    assert list(out.columns) == ["name", "n", "'=bad"]
