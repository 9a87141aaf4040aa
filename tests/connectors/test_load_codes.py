"""Loading a generic table through codes of distinct values: the same events, rejections and categories as row by row."""

from __future__ import annotations

import random

import numpy as np
import pandas as pd

import connectors
from connectors.eventlog import appearance_codes


def _rows(seed: int) -> tuple[list[str], int]:
    """Rows of 60 tickets in ticket and time order, with exact duplicates; and how many duplicates there are."""
    rng = random.Random(seed)
    rows, dups = [], 0
    for t in range(60):
        for k in range(rng.randint(2, 6)):
            row = f"T{t:03d},{rng.choice(['New', 'Work', 'Done'])},2024-03-{1 + k:02d} 09:{t % 60:02d}:00,{rng.choice(['L1', 'L2'])}"
            rows.append(row)
            if rng.random() < 0.2:  # the export repeats the row
                rows.append(row)
                dups += 1
    return rows, dups


def test_duplicates_are_found_whatever_the_order_of_the_rows(tmp_path):
    rows, dups = _rows(1)
    shuffled = random.Random(2).sample(rows, len(rows))
    found = []
    for name, body in (("sorted.csv", rows), ("shuffled.csv", shuffled)):
        path = tmp_path / name
        path.write_text("case,activity,timestamp,group\n" + "\n".join(body) + "\n")
        log, report = connectors.load(path)
        rejected = {r.reason: r.count for r in report.rejections}
        found.append(rejected)
        assert len(log) == len(rows) - dups
    assert found[0] == found[1] == {"exact duplicate of an earlier row (pass --keep-duplicates to keep)": dups}


def test_values_equal_once_stripped_are_one_and_blanks_are_missing(tmp_path):
    path = tmp_path / "padded.csv"
    path.write_text(
        "case,activity,timestamp,group\n"
        "T1, New ,2024-03-01 09:00:00,L1\n"
        "T1,Work,2024-03-01 10:00:00,  \n"
        " T1 ,New,2024-03-01 11:00:00, L1\n"
        "T2,New  ,2024-03-01 12:00:00,L2\n"
        "T2, ,2024-03-01 13:00:00,L2\n"
    )
    log, report = connectors.load(path)
    assert list(log["case_id"].cat.categories) == ["T1", "T2"]
    assert list(log["activity"].cat.categories) == ["New", "Work"]  # in order of first appearance
    assert log["activity"].astype(str).tolist() == ["New", "Work", "New", "New"]
    assert log["group"].isna().tolist() == [False, True, False, False]
    assert [(r.reason, r.count) for r in report.rejections] == [("no activity in 'activity'", 1)]


def test_appearance_codes_number_codes_as_factorize_does():
    rng = np.random.default_rng(3)
    codes = rng.integers(-1, 300, size=5000).astype(np.int32)
    new, used = appearance_codes(codes)
    present = codes >= 0
    expected, uniques = pd.factorize(codes[present])
    assert (new[~present] == -1).all()
    assert (new[present] == expected).all()
    assert (used == uniques).all()
    assert new.dtype == np.int16  # 300 categories: the smallest type that holds them
