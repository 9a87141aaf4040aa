"""Generic CSV/TSV/XLSX/Parquet event tables: detection, columns, rows, errors."""

from __future__ import annotations

import pandas as pd
import pytest

import connectors
from connectors.errors import BadTimestamps, EmptyExport, MissingColumn, UnreadableExport
from tests.conftest import real_log

HEADER = "Case ID,Activity,Timestamp,Resource,Team\n"
ROWS = [
    "T1,Log call,2024-03-01 09:00:00,ann,L1\n",
    "T1,Investigate,2024-03-01 10:00:00,bob,L2\n",
    "T2,Log call,2024-03-02 09:00:00,ann,L1\n",
    "T1,Resolve,2024-03-01 12:30:00,bob,L2\n",
]


def write(tmp_path, text: str | bytes, name: str = "log.csv"):
    path = tmp_path / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    return path


def test_columns_detected_by_name_with_reasons(tmp_path):
    log, report = connectors.load(write(tmp_path, HEADER + "".join(ROWS)))
    assert report.source == "csv"
    assert {r: c.column for r, c in report.columns.items()} == {
        "case_id": "Case ID", "activity": "Activity", "timestamp": "Timestamp", "resource": "Resource", "group": "Team",
    }
    assert report.columns["case_id"].reason == "name 'Case ID' (2 distinct values)"
    assert list(log["activity"].astype(str)) == ["Log call", "Investigate", "Resolve", "Log call"]
    assert list(log["source_row"]) == [2, 3, 5, 4]
    assert report.rows_read == 4 and report.events == 4 and report.rows_rejected == 0
    assert report.flags == ["--source csv", "--timestamp-col Timestamp", "--case-col 'Case ID'", "--activity-col Activity",
                            "--resource-col Resource", "--group-col Team"]


@pytest.mark.parametrize(
    "delimiter, encoding, newline",
    [
        pytest.param(";", "utf-8", "\n", id="semicolon"),
        pytest.param("\t", "utf-8", "\n", id="tab"),
        pytest.param("|", "utf-8", "\n", id="bar"),
        pytest.param(",", "utf-8-sig", "\r\n", id="bom-crlf"),
        pytest.param(";", "cp1252", "\r\n", id="cp1252"),
    ],
)
def test_delimiters_encodings_and_line_ends(tmp_path, delimiter, encoding, newline):
    text = (HEADER + "".join(ROWS)).replace(",", delimiter).replace("\n", newline).replace("ann", "Anné")
    log, report = connectors.load(write(tmp_path, text.encode(encoding)))
    assert len(log) == 4
    assert "Anné" in set(log["resource"].astype(str))
    assert list(log.columns[:3]) == ["case_id", "activity", "timestamp"]


def test_quoted_newlines_and_placeholders(tmp_path):
    text = HEADER + 'T1,"Log\ncall",2024-03-01 09:00:00,?,(empty)\nT1,Resolve,2024-03-01 10:00:00,NULL,L2\n'
    log, report = connectors.load(write(tmp_path, text))
    assert list(log["activity"].astype(str)) == ["Log\ncall", "Resolve"]
    assert log["resource"].isna().all()
    assert log["group"].isna().tolist() == [True, False]


def test_rejected_rows_are_counted_with_reasons_and_examples(tmp_path):
    text = HEADER + "".join(ROWS) + ",Log call,2024-03-03 09:00:00,ann,L1\nT3,,2024-03-03 09:00:00,ann,L1\nT3,Log call,,ann,L1\nT3,Log call,yesterday,ann,L1\n" + ROWS[0]
    log, report = connectors.load(write(tmp_path, text))
    assert report.rows_read == 9
    assert report.events == 4
    assert report.rows_rejected == 5
    assert report.rows_read == report.events + report.rows_rejected
    reasons = {r.reason: (r.count, r.examples[0]["row"]) for r in report.rejections}
    assert reasons["no case id in 'Case ID'"] == (1, 6)
    assert reasons["no activity in 'Activity'"] == (1, 7)
    assert reasons["no timestamp in 'Timestamp'"] == (1, 8)
    assert reasons["exact duplicate of an earlier row (pass --keep-duplicates to keep)"] == (1, 10)
    bad = next(r for r in report.rejections if r.reason.startswith("timestamp in 'Timestamp' is not a date"))
    assert bad.examples == [{"row": 9, "value": "yesterday"}]
    assert report.warnings[0].startswith("5 of 9 rows rejected")


def test_ragged_rows_are_rejected_and_numbered(tmp_path):
    text = HEADER + ROWS[0] + "T1,Investigate,2024-03-01 10:00:00\n" + ROWS[1] + ROWS[3]
    log, report = connectors.load(write(tmp_path, text))
    assert len(log) == 3
    assert report.rejections[0].reason == "wrong number of fields (expected 5)"
    assert report.rejections[0].examples[0]["row"] == 3
    assert sorted(log["source_row"]) == [2, 4, 5]


def test_flags_override_detection(tmp_path):
    text = "ticket,step,when,alt\nA,x,2024-01-01 10:00,y\nA,z,2024-01-01 11:00,w\n"
    log, report = connectors.load(write(tmp_path, text), activity_col="alt")
    assert list(log["activity"].astype(str)) == ["y", "w"]
    assert report.columns["activity"].reason == "given"


def test_activity_can_join_columns(tmp_path):
    text = "case,status,sub,time\nA,Accepted,Wait,2024-01-01 10:00\nA,Accepted,,2024-01-01 11:00\n"
    log, _ = connectors.load(write(tmp_path, text), activity_col="status+sub")
    assert list(log["activity"].astype(str)) == ["Accepted/Wait", "Accepted"]


def test_content_detection_without_telling_names(tmp_path):
    text = "a,b,c\nINC001,open,2024-01-01 10:00\nINC001,closed,2024-01-02 10:00\nINC002,open,2024-01-01 12:00\nINC002,closed,2024-01-03 10:00\n"
    log, report = connectors.load(write(tmp_path, text))
    assert report.columns["case_id"].column == "a"
    assert report.columns["activity"].column == "b"
    assert report.columns["timestamp"].reason.startswith("content:")


def test_start_and_end_columns_make_intervals(tmp_path):
    text = "case,activity,start_time,end_time\nA,x,2024-01-01 10:00,2024-01-01 10:30\nA,y,2024-01-01 11:00,2024-01-01 11:05\n"
    log, report = connectors.load(write(tmp_path, text))
    assert report.columns["end_timestamp"].column == "end_time"
    assert log["end_timestamp"].iloc[0] == pd.Timestamp("2024-01-01 10:30", tz="UTC")


@pytest.mark.parametrize(
    "content, error, message",
    [
        pytest.param(b"", EmptyExport, "the file is empty", id="empty"),
        pytest.param(HEADER.encode(), EmptyExport, "the file has a header but no data rows", id="header-only"),
        pytest.param(bytes(range(256)) * 40, UnreadableExport, "the file is binary, not a text export", id="binary"),
        pytest.param(b"case,activity,when\nA,x,soon\nA,y,later\n", MissingColumn, "no column found for timestamp among 'case', 'activity', 'when'", id="no-timestamp"),
        pytest.param(b"a;b;c\n1;2;3\n", MissingColumn, "no column found for case_id among 'a', 'b', 'c'. Pass --case-col NAME", id="wrong-shape"),
    ],
)
def test_bad_files_give_one_line_errors(tmp_path, content, error, message):
    path = write(tmp_path, content)
    with pytest.raises(error) as err:
        connectors.load(path)
    assert message in str(err.value)
    assert str(path) in str(err.value)
    assert "\n" not in str(err.value)


def test_missing_given_column_suggests_the_closest(tmp_path):
    with pytest.raises(MissingColumn, match=r"no column 'Actvity' for activity .*; did you mean 'Activity'\?"):
        connectors.load(write(tmp_path, HEADER + "".join(ROWS)), activity_col="Actvity")


def test_most_timestamps_bad_fails(tmp_path):
    text = HEADER + "T1,a,2024-01-01 10:00:00,x,y\n" + "T1,b,not a date,x,y\n" * 3
    with pytest.raises(BadTimestamps, match="has 3 of 4 values that are not dates"):
        connectors.load(write(tmp_path, text))


def test_xlsx_and_parquet(tmp_path):
    frame = pd.read_csv(write(tmp_path, HEADER + "".join(ROWS)))
    xlsx = tmp_path / "log.xlsx"
    frame.to_excel(xlsx, index=False)
    log, report = connectors.load(xlsx)
    assert len(log) == 4 and report.source == "csv"
    parquet = tmp_path / "log.parquet"
    frame.assign(Timestamp=pd.to_datetime(frame["Timestamp"])).to_parquet(parquet)
    log2, report2 = connectors.load(parquet)
    assert list(log2["timestamp"]) == list(log["timestamp"])
    assert list(log2["source_row"]) == [1, 2, 4, 3]


def test_bpic2013_counts_and_substatus():
    log, report = connectors.load(real_log("bpic2013_closed_problems.csv"))
    assert (len(log), log["case_id"].nunique()) == (6_660, 1_487)
    assert report.columns["activity"].column == "concept:name+lifecycle:transition"
    assert "Accepted/Wait" in set(log["activity"].astype(str))


CODES = "CaseID,ActivityID,Timestamp\n" + "".join(
    f"C{c},{code},2024-03-0{c} {9 + k}:00:00\n" for c in (1, 2, 3) for k, code in enumerate((10, 20, 30))
)


@pytest.mark.parametrize(
    "header",
    [
        pytest.param("CaseID,ActivityID", id="camel-case"),
        pytest.param("case,activity_id", id="snake-case"),
        pytest.param("case,Activity code", id="spaced"),
        pytest.param("case,EVENT_TYPE", id="upper-case"),
        pytest.param("case,status", id="status"),
    ],
)
def test_a_column_named_for_the_activity_with_numeric_codes_is_the_activity(tmp_path, header):
    text = CODES.replace("CaseID,ActivityID", header, 1)
    log, report = connectors.load(write(tmp_path, text))
    name = header.split(",")[1]
    assert report.columns["activity"].column == name
    assert report.columns["activity"].reason == f"name {name!r} (3 distinct values), numeric codes"
    assert (f"activity column {name!r} holds numeric codes (10, 20, 30); each code is taken as an activity name "
            "(pass --activity-col to choose another column)") in report.notes
    assert list(log["activity"].astype(str)) == ["10", "20", "30"] * 3


def test_a_numeric_event_id_that_never_repeats_is_not_taken_for_the_activity(tmp_path):
    # 'EventID' matches 'event' by name, but its numbers are each row's own id.
    text = "EventID,CaseID,Task Name,Timestamp\n" + "".join(
        f"{100 + 3 * c + k},C{c},{name},2024-03-0{c + 1} {9 + k}:00:00\n"
        for c in range(3) for k, name in enumerate(("Log", "Fix", "Close"))
    )
    log, report = connectors.load(write(tmp_path, text))
    assert report.columns["activity"].column == "Task Name"
    assert not any("numeric codes" in n for n in report.notes)


def test_an_event_identifier_with_text_values_is_not_taken_for_the_activity(tmp_path):
    # 'EventID' holds 'event' but names an identifier; 'Step Name' is the activity.
    text = "CaseID,EventID,Step Name,Timestamp\n" + "".join(
        f"C{c},E-{3 * c + k},{name},2024-03-0{c + 1} {9 + k}:00:00\n"
        for c in range(3) for k, name in enumerate(("Log", "Fix", "Close"))
    )
    log, report = connectors.load(write(tmp_path, text))
    assert report.columns["activity"].column == "Step Name"


HEADERS = {
    "German": "Ticket;Aktivität;Zeitstempel;Gruppe;Kosten",
    "French": "Numéro de ticket;Activité;Horodatage;Groupe;Coût",
    "Dutch": "Zaak;Activiteit;Tijdstempel;Groep;Kosten",
    "Spanish": "Caso;Actividad;Fecha y hora;Grupo;Coste",
    "Italian": "Pratica;Attività;Data ora;Gruppo;Costo",
    "Portuguese": "Chamado;Atividade;Data e hora;Equipa;Custo",
}


def _team_log(header: str) -> str:
    """Five activities, but only two groups: by content alone, the group column would be taken for the activity."""
    rows = []
    for c in range(6):
        for k, act in enumerate(["Neu", "In Arbeit", "Wartet", "Gelöst", "Geschlossen"]):
            rows.append(f"T{c};{act};2024-03-0{c + 1} {9 + k}:00:00;{'Team A' if k < 2 else 'Team B'};{10 * k}")
    return header + "\n" + "\n".join(rows) + "\n"


@pytest.mark.parametrize("language", list(HEADERS))
def test_headers_in_european_languages_are_read_by_name(tmp_path, language):
    header = HEADERS[language]
    names = header.split(";")
    log, report = connectors.load(write(tmp_path, _team_log(header)))
    assert [report.columns[r].column for r in ("case_id", "activity", "timestamp", "group")] == names[:4]
    assert report.columns["activity"].reason == f"name {names[1]!r} (5 distinct values)"
    assert not report.warnings
    assert log["activity"].nunique() == 5 and log["group"].nunique() == 2


def test_an_activity_guessed_between_similar_columns_is_a_warning(tmp_path):
    text = _team_log("Spalte A;Spalte B;Spalte C;Spalte D;Spalte E")
    _, report = connectors.load(write(tmp_path, text))
    assert report.columns["activity"].column == "Spalte D"
    assert report.warnings == [
        "no column is named for the activity; 'Spalte D' (2 distinct values) was guessed over 'Spalte B' (5), a close call: "
        "check the activities and pass --activity-col NAME if it is wrong"]
