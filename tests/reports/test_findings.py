"""The sentences that answer "where does work wait?" name the wait as it is."""

from __future__ import annotations

from types import SimpleNamespace

import pandas as pd
import pytest

from miner.waits import CLASSES, END, START
from reports.findings import _where_work_waits


def _found(source: str, target: str) -> tuple[SimpleNamespace, SimpleNamespace]:
    transitions = pd.DataFrame([{"source": source, "target": target, "total_s": 7200.0, "tickets": 2, "median_s": 3600.0,
                                 "examples": ["T1", "T2"]}])
    comparison = SimpleNamespace(
        steps=pd.DataFrame(), transitions=transitions, flow_efficiency={"pooled": 0.5, "median": 0.5},
        by_class={c: (3600.0 if c in ("work", "queue") else 0.0) for c in CLASSES},
    )
    return SimpleNamespace(tickets=pd.DataFrame()), comparison


@pytest.mark.parametrize(("source", "target", "sentence"), [
    ("Triage", "Fix", "The most waiting between two pieces of work is from 'Triage' to 'Fix': 2.0 h in all over 2 tickets, median 60 min each."),
    (START, "Fix", "The most waiting is before any work starts, until 'Fix': 2.0 h in all over 2 tickets, median 60 min each."),
    ("Fix", END, "The most waiting is after 'Fix', with no work after it: 2.0 h in all over 2 tickets, median 60 min each."),
    (START, END, "The most waiting is in tickets where no work is recorded at all: 2.0 h in all over 2 tickets, median 60 min each."),
])
def test_the_largest_wait_is_worded_by_what_surrounds_it(source, target, sentence):
    findings = _where_work_waits(*_found(source, target))
    assert findings[-1].text == sentence
    assert findings[-1].examples == ["T1", "T2"]
