"""Regression tests: each input here crashed a connector (or lost rows) until it was fixed.

Every one was found by the fuzzing in test_fuzz_connectors.py or by the
malformed-input corpus; the comment over each test says what went wrong.
"""

from __future__ import annotations

import json

import pandas as pd
import pytest

import connectors
from connectors.errors import EmptyExport, UnreadableExport, VsmError
from connectors.eventlog import check_event_table
from tests.conftest import run_cli

CSV = "case_id,activity,timestamp\nT1,Log call,2024-03-01 09:00:00\nT1,Resolve,2024-03-01 10:00:00\n"


def load(path, **options):
    table, report = connectors.load(path, **options)
    check_event_table(table)
    assert len(table) == report.events
    return table, report


# ---- encodings -------------------------------------------------------------


def test_utf8_cut_inside_a_character_is_reported_as_truncated(tmp_path):
    # Was: read as cp1252, whose decoder then raised UnicodeDecodeError from inside Arrow.
    path = tmp_path / "cut.csv"
    path.write_bytes((CSV + "T2,Résolu,2024-03-02 09:00:00,Zo").encode()[:-1] + "ë".encode()[:1])
    with pytest.raises(UnreadableExport, match=r"ends in the middle of a UTF-8 character; it is truncated"):
        connectors.load(path)


def test_a_byte_order_mark_does_not_skip_the_utf8_check(tmp_path):
    # Was: a UTF-8 BOM made the file 'utf-8-sig' unchecked; Arrow then met invalid UTF-8
    # in a ragged row and raised inside its row handler (an unraisable exception).
    path = tmp_path / "bom.csv"
    path.write_bytes(b"\xef\xbb\xbf" + CSV.encode() + b"T2,caf\xe9,2024-03-02 09:00:00\n")
    with pytest.raises(UnreadableExport, match=r"starts with a UTF-8 byte-order mark but is not UTF-8 \(byte 0xe9 near byte 99\)"):
        connectors.load(path)
    path.write_bytes(b"\xef\xbb\xbfcase_id,activity\n0000\xc2")
    with pytest.raises(UnreadableExport, match="truncated"):
        connectors.load(path)


def test_bytes_cp1252_leaves_undefined_read_as_latin1(tmp_path):
    # Was: cp1252 chosen for any non-UTF-8 file; byte 0x90 then raised UnicodeDecodeError.
    path = tmp_path / "latin.csv"
    path.write_bytes(CSV.encode() + b"T2,\x90caf\xe9,2024-03-02 09:00:00\n")
    table, report = load(path)
    assert report.rows_read == 3 and report.events == 3
    assert "caf\xe9" in table["activity"].iloc[-1]
    assert any(n.startswith("encoding ISO-8859-1 (Latin-1)") for n in report.notes)


def test_cp1252_text_ending_in_an_accent_is_cp1252_not_truncated_utf8(tmp_path):
    path = tmp_path / "cp.csv"
    path.write_bytes(CSV.encode() + b"T2,caf\xe9,2024-03-02 09:00:00\nT2,Ferm\xe9")
    table, report = load(path)
    assert "café" in set(table["activity"].astype(str))
    assert report.rows_read == 4 and report.rows_rejected == 1  # the cut last row has too few fields


def test_utf16_with_an_odd_number_of_bytes_is_one_line_error(tmp_path):
    # Was: UnicodeDecodeError ('utf-16-le' ... truncated data) from Arrow's transcoder.
    path = tmp_path / "u16.csv"
    path.write_bytes(CSV.encode("utf-16")[:-1])
    with pytest.raises(UnreadableExport, match=r"is not valid utf-16 text \(truncated data\)"):
        connectors.load(path)


def test_utf16_without_byte_order_mark_is_text_not_binary(tmp_path):
    path = tmp_path / "u16le.csv"
    path.write_bytes(CSV.encode("utf-16-le"))
    table, report = load(path)
    assert report.events == 2
    assert "encoding UTF-16 little-endian (no byte-order mark)" in report.notes


# ---- sniffing -----------------------------------------------------------------


def test_text_named_gz_is_not_decompressed_by_arrow(tmp_path):
    # Was: Arrow took the .gz suffix to mean gzip and raised OSError: Truncated compressed stream.
    path = tmp_path / "export.csv.gz"
    path.write_text(CSV)
    _, report = load(path)
    assert report.events == 2


def test_xlsx_that_is_not_a_zip_and_old_xls_get_clear_errors(tmp_path):
    fake = tmp_path / "export.xlsx"
    fake.write_text(CSV)
    with pytest.raises(UnreadableExport, match=r"named \.xlsx but not an Excel workbook \(an \.xlsx file is a zip archive\)"):
        connectors.load(fake)
    old = tmp_path / "export.xls"
    old.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(512))
    with pytest.raises(UnreadableExport, match=r"an Excel 97-2003 \(\.xls\) or password-protected workbook"):
        connectors.load(old)


def test_a_file_that_cannot_be_opened_is_one_line_error(tmp_path, monkeypatch):
    # Root ignores file modes, so make open() fail instead.
    from pathlib import Path

    path = tmp_path / "locked.csv"
    path.write_text(CSV)
    real_open = Path.open

    def refuse(self, *args, **kwargs):
        if self == path:
            raise PermissionError(13, "Permission denied")
        return real_open(self, *args, **kwargs)

    monkeypatch.setattr(Path, "open", refuse)
    with pytest.raises(UnreadableExport, match=r"locked\.csv: cannot be read \(Permission denied\)$"):
        connectors.load(path)


# ---- JSON exports -----------------------------------------------------------


def test_zendesk_arrays_where_scalars_belong(tmp_path):
    # Was: TypeError (unhashable list) and ValueError (2-D object array) from pandas.
    doc = {"ticket_events": [
        {"id": 1, "ticket_id": 7, "created_at": "2026-03-02T09:00:00Z", "updater_id": [], "via": "Mail",
         "child_events": [{"status": "new", "event_type": "Create"}]},
        {"id": 2, "ticket_id": 7, "created_at": "2026-03-02T10:00:00Z", "updater_id": {"id": 5},
         "child_events": [{"status": "open", "previous_value": ["new"], "event_type": []}]},
        {"id": 3, "ticket_id": [7, 8], "created_at": "2026-03-02T11:00:00Z",
         "child_events": [{"status": "solved", "event_type": "Change"}]},
    ]}
    path = tmp_path / "events.json"
    path.write_text(json.dumps(doc))
    table, report = load(path)
    assert report.rows_read == 3
    assert set(table["case_id"].astype(str)) == {"7", "[7, 8]"}


def test_jira_lists_where_scalars_belong(tmp_path):
    doc = {"issues": [{"key": ["PROJ-1"], "fields": {"created": "2026-02-01T09:00:00.000+0100", "status": {"name": ["Open"]}},
                       "changelog": {"histories": [{"id": [1], "created": "2026-02-02T09:00:00.000+0100",
                                                    "items": [{"field": "status", "fromString": "Open", "toString": {"n": "Done"}}]}]}}]}
    path = tmp_path / "search.json"
    path.write_text(json.dumps(doc))
    table, report = load(path)
    assert report.rows_read == 2 and report.rows_rejected == 0
    assert list(table["case_id"].astype(str).unique()) == ['["PROJ-1"]']


# ---- Jira -------------------------------------------------------------------


def test_jira_changelog_whose_items_have_no_field_names(tmp_path):
    # Was: IndexError indexing an empty array of field kinds.
    doc = {"issues": [{"key": "PROJ-1", "fields": {"created": "2026-02-01T09:00:00.000+0100", "status": {"name": "Open"}},
                       "changelog": {"histories": [{"id": "1", "created": "2026-02-02T09:00:00.000+0100", "items": [1, "a"]}]}}]}
    path = tmp_path / "search.json"
    path.write_text(json.dumps(doc))
    table, report = load(path)
    assert (report.rows_read, report.rows_rejected, report.events) == (3, 2, 1)
    assert [r.reason for r in report.rejections] == ["the changelog item has no 'field'"]
    assert table["activity"].tolist() == ["Open"]


def test_jira_search_with_no_issues_says_so(tmp_path):
    # Was: "none of the 0 issues has a 'changelog'".
    path = tmp_path / "search.json"
    path.write_text(json.dumps({"startAt": 0, "maxResults": 50, "total": 0, "issues": []}))
    with pytest.raises(EmptyExport, match=r"search\.json: the Jira export holds no issues; check the search \(JQL\)"):
        connectors.load(path)


def test_jira_issue_export_with_a_repeated_issue_key_column_keeps_the_key(tmp_path):
    # Was: the two 'Issue key' columns were joined like Labels, giving case ids 'PROJ-1; PROJ-1'.
    path = tmp_path / "issues.csv"
    path.write_text("Summary,Issue key,Issue Type,Issue key,Status,Created,Labels,Labels\n"
                    "Printer,PROJ-1,Bug,PROJ-1,Done,25/Feb/26 10:17 PM,hardware,printer\n")
    table, _ = load(path)
    assert table["case_id"].tolist() == ["PROJ-1"]
    assert table["Labels"].tolist() == ["hardware; printer"]


# ---- dates ------------------------------------------------------------------


def test_a_two_digit_year_under_a_four_digit_format_is_a_bad_date_not_a_crash(tmp_path):
    # Was: ArrowInvalid "Failed to parse string: '' as a scalar of type int64" in the roll-over check.
    from connectors.dates import parse_timestamps

    parsed = parse_timestamps(pd.Series(["31/02/2016", "31/02/2016", "01/01/00", "02/01/2016", "03/01/2016", "04/01/2016"]))
    assert parsed.bad.tolist() == [True, True, True, False, False, False]


def test_years_outside_1_to_9999_are_not_dates(tmp_path):
    # Was: '-1991' read as the year -1991 by pandas' ISO parser; formatting it for a
    # warning or the terminal raised NotImplementedError.
    path = tmp_path / "log.csv"
    path.write_text(CSV + "T2,Log call,-1991\n")
    table, report = load(path)
    assert report.rows_rejected == 1
    result = run_cli("inspect", path)
    assert result.exit_code == 0, result.stderr


# ---- generic tables -----------------------------------------------------------


def test_blank_timestamp_cells_are_missing_not_a_crash(tmp_path):
    # Was: ' ' passed the missing-value check but parsed to NaT: ValueError in make_event_table.
    path = tmp_path / "log.csv"
    path.write_text("Case ID,Activity,end_time\nINC1,New, \nINC1,Done,2024-03-01 10:00\n")
    table, report = load(path)
    assert (report.rows_read, report.rows_rejected, report.events) == (2, 1, 1)
    assert report.rejections[0].reason == "no timestamp in 'end_time'"


def test_zendesk_history_blank_time_is_missing_not_a_crash(tmp_path):
    path = tmp_path / "history.csv"
    path.write_text("ticket_id,field_name,value,updated,user_id\n1,status,new, ,\n1,status,open,2026-05-01 08:00:00,5\n")
    table, report = load(path)
    assert (report.rows_read, report.rows_rejected) == (2, 1)
    assert report.rejections[0].reason == "no time in 'updated'"


def test_every_row_rejected_is_an_error_as_for_the_vendors(tmp_path):
    # Was: a generic table loaded with zero events; the commands then failed further on.
    path = tmp_path / "log.csv"
    path.write_text(",case_id,timestamp\nA,,\nIn Progress,,\n")
    with pytest.raises(EmptyExport, match=r"log\.csv: every row was rejected: no case id in 'case_id' \(2\)$"):
        connectors.load(path)


def test_lifecycle_rows_without_a_transition(tmp_path):
    # Was: TypeError adding a str column and an object column when a transition was missing.
    path = tmp_path / "log.csv"
    path.write_text("case:concept:name,concept:name,lifecycle:transition,time:timestamp\n"
                    "T1,New,,2024-01-01T00:00:00Z\nT1,New,start,2024-01-01T00:00:00Z\n"
                    "T1,New,complete,2024-01-01T01:00:00Z\nT1,Fix,schedule,2024-01-01T02:00:00Z\n")
    table, report = load(path, lifecycle="pair")
    assert table["activity"].tolist() == ["New", "New", "Fix (schedule)"]
    assert report.events == 3 and report.rows_loaded == 4


def test_a_wrong_delimiter_says_which_one_to_pass(tmp_path):
    path = tmp_path / "log.csv"
    path.write_text(CSV.replace(",", ";"))
    with pytest.raises(VsmError, match=r"reads as one column 'case_id;activity;timestamp', whose name holds ';'; pass --delimiter ';'"):
        connectors.load(path, delimiter=",")


# ---- ServiceNow -------------------------------------------------------------


def test_sys_audit_with_no_field_names_at_all(tmp_path):
    # Was: TypeError: ufunc 'invert' on a float array (np.append of an empty list).
    path = tmp_path / "sys_audit.csv"
    path.write_text("tablename,documentkey,fieldname,oldvalue,newvalue,user,sys_created_on\n,d1,,,,,2024-03-01 09:00:00\n")
    with pytest.raises(EmptyExport, match="sys_audit.csv: "):
        connectors.load(path)


# ---- XES ---------------------------------------------------------------------


def test_xes_in_another_encoding_than_declared_says_so(tmp_path):
    # Was: "not well-formed XML (...); it may be truncated", for a complete file.
    path = tmp_path / "log.xes"
    path.write_bytes(('<?xml version="1.0" encoding="UTF-8"?>\n<log><trace><string key="concept:name" value="T1"/>'
                      '<event><string key="concept:name" value="Cr\xe9\xe9"/><date key="time:timestamp" value="2024-03-01T09:00:00Z"/>'
                      '</event></trace></log>\n').encode("cp1252"))
    with pytest.raises(UnreadableExport, match=r"log\.xes: the XES file is not in the encoding its XML declaration names \(.*\); save it again as UTF-8$"):
        connectors.load(path)


def test_xes_with_one_empty_trace_says_one_trace(tmp_path):
    path = tmp_path / "log.xes"
    path.write_text('<?xml version="1.0" encoding="UTF-8"?>\n<log><trace><string key="concept:name" value="T1"/></trace></log>\n')
    with pytest.raises(EmptyExport, match=r"log\.xes: the XES log has 1 trace but no events$"):
        connectors.load(path)
