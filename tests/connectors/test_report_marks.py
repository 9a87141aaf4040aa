"""Marked counts and sets in load-report texts add up over partitions of cases."""

from __future__ import annotations

from connectors.report import (
    LoadReport,
    Rejection,
    add_up,
    distinct,
    few,
    merge_reports,
    render,
    shape,
    tally,
)


def test_marks_render_as_plain_text():
    assert render(f"{tally(1234)} rows") == "1,234 rows"
    assert render(f"{tally(1, 'ticket')}; {tally(2, 'ticket')}; {tally(0, 'row changes', 'rows change')}") == "1 ticket; 2 tickets; 0 rows change"
    assert render(f"({few(['b', 'a', 'c', 'e', 'd', 'a'])})") == "(a, b, c, d … 1 more)"
    assert render(f"{distinct(['x', 'y', 'x'])} distinct values") == "2 distinct values"


def test_texts_of_one_shape_add_up():
    a = f"{tally(1, 'ticket')} of {tally(10)} ({few(['New'])}) {distinct(['p', 'q'])}"
    b = f"{tally(4, 'ticket')} of {tally(1)} ({few(['Closed', 'New'])}) {distinct(['q', 'r'])}"
    assert shape(a) == shape(b) == "# of # ({}) {}"
    assert render(add_up([a, b])) == "5 tickets of 11 (Closed, New) 3"
    # Added up again, the marks keep adding up: merging is associative.
    assert render(add_up([add_up([a, b]), a])) == "6 tickets of 21 (Closed, New) 3"


def test_texts_that_differ_otherwise_do_not_add_up():
    assert add_up([f"{tally(1)} rows", f"{tally(1)} tickets"]) is None
    assert add_up(["delimiter comma (21 columns)", "delimiter comma (21 columns)"]) == "delimiter comma (21 columns)"
    assert add_up(["day-first", "month-first"]) is None


def report(rows: int, notes: list[str], flags: list[str]) -> LoadReport:
    out = LoadReport("x.csv", "csv", f"{tally(rows)} rows", rows, 1, rows - 1)
    out.notes, out.flags = notes, flags
    out.rejections = [Rejection("no timestamp", 1, [{"row": rows + 1}])]
    return out


def test_merged_reports_add_up_and_name_what_differs():
    first = report(2, ["sample note"], ["--source csv"])
    parts = [report(5, [f"{tally(5, 'ticket')} seen"], ["--source csv"]), report(3, [f"{tally(3, 'ticket')} seen"], ["--source csv"])]
    merged, disagree = merge_reports(parts, first)
    merged.finish()
    assert disagree == []
    assert (merged.rows_read, merged.rows_rejected, merged.events) == (8, 2, 6)
    assert merged.source_reason == "8 rows" and merged.notes == ["8 tickets seen"]
    assert merged.rejections[0].count == 2 and [e["row"] for e in merged.rejections[0].examples] == [4, 6]

    parts[1].flags = ["--source csv", "--dayfirst"]
    parts[1].notes = ["something else"]
    merged, disagree = merge_reports(parts, first)
    assert disagree == ["the options (--source csv vs --source csv --dayfirst)", "the load notes"]
    assert merged.notes == ["sample note"] and merged.flags == ["--source csv"]
