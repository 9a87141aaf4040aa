"""Issue 14: a gzipped export (.csv.gz, .tsv.gz, .json.gz, .xes.gz) reads as the plain file does, in every command."""

from __future__ import annotations

import gzip
import json
import os
import re

import pytest

from tests.conftest import SAMPLE_LOGS, run_cli

SAMPLES = [
    pytest.param(name, id=name)
    for name in ("servicenow_audit.csv", "servicenow_incidents.csv", "service_desk_events.csv", "multi_team_events.csv",
                 "jira_changelog.json", "zendesk_ticket_events.json")
]


def gzipped(tmp_path, source, name=None):
    """Write ``source`` gzipped into ``tmp_path`` (as ``name``, else its name plus .gz) and return the path."""
    out = tmp_path / (name or source.name + ".gz")
    out.write_bytes(gzip.compress(source.read_bytes(), mtime=0))
    return out


def json_of(*args):
    """The JSON a command writes to stdout, without the time it was generated."""
    result = run_cli(*args, "--json", "-")
    assert result.exit_code == 0, result.stderr
    return re.sub(r'"generated_at": "[^"]*"', "", result.stdout)


def same_but_name(plain_json, plain, packed_json, packed):
    return plain_json.replace(json.dumps(str(plain))[1:-1], "EXPORT") == packed_json.replace(json.dumps(str(packed))[1:-1], "EXPORT")


@pytest.mark.parametrize("name", SAMPLES)
def test_inspect_of_a_gzipped_sample_equals_the_plain_file_but_for_its_name(tmp_path, name):
    plain = SAMPLE_LOGS / name
    packed = gzipped(tmp_path, plain)
    plain_json, packed_json = json_of("inspect", plain), json_of("inspect", packed)
    assert str(packed) in packed_json
    assert same_but_name(plain_json, plain, packed_json, packed)
    doc = json.loads(packed_json)
    assert doc["rows_read"] == doc["rows_loaded"] + doc["rows_rejected"]


@pytest.mark.parametrize("command", [["mine"], ["compare"], ["diff", "--by", "month"]])
@pytest.mark.parametrize("name", [pytest.param("servicenow_audit.csv", id="csv"), pytest.param("zendesk_ticket_events.json", id="json")])
def test_analyses_of_a_gzipped_export_equal_the_plain_files(tmp_path, command, name):
    plain = SAMPLE_LOGS / name
    packed = gzipped(tmp_path, plain)
    assert same_but_name(json_of(*command, plain), plain, json_of(*command, packed), packed)


def test_report_and_convert_read_a_gzipped_export(tmp_path):
    plain = SAMPLE_LOGS / "service_desk_events.csv"
    packed = gzipped(tmp_path, plain)
    result = run_cli("report", packed, "-o", tmp_path / "r.html", "--quiet")
    assert result.exit_code == 0, result.stderr
    assert "<html" in (tmp_path / "r.html").read_text()
    for source, out in ((plain, "plain.csv"), (packed, "packed.csv")):
        result = run_cli("convert", source, "-o", tmp_path / out, "--quiet")
        assert result.exit_code == 0, result.stderr
    assert (tmp_path / "plain.csv").read_bytes() == (tmp_path / "packed.csv").read_bytes()


def test_gzip_is_known_by_its_bytes_not_its_name(tmp_path):
    plain = SAMPLE_LOGS / "jira_changelog.json"
    packed = gzipped(tmp_path, plain, "changelog.json")  # gzip, but named as plain JSON
    assert same_but_name(json_of("inspect", plain), plain, json_of("inspect", packed), packed)


def test_a_gzipped_tsv_reads_as_the_tsv(tmp_path):
    tsv = tmp_path / "events.tsv"
    tsv.write_text((SAMPLE_LOGS / "service_desk_events.csv").read_text().replace(",", "\t"))
    packed = gzipped(tmp_path, tsv)
    doc = json.loads(json_of("inspect", packed))
    assert (doc["events"], doc["cases"]) == (3559, 400)
    assert same_but_name(json_of("inspect", tsv), tsv, json_of("inspect", packed), packed)


def test_worker_processes_read_a_gzipped_export_as_one_process_does(tmp_path):
    plain = SAMPLE_LOGS / "servicenow_audit.csv"
    packed = gzipped(tmp_path, plain)
    whole = json_of("mine", plain, "--workers", "1")
    assert same_but_name(whole, plain, json_of("mine", packed, "--workers", "2"), packed)


def test_the_memory_check_counts_a_gzipped_export_unpacked(tmp_path, monkeypatch):
    plain = SAMPLE_LOGS / "servicenow_audit.csv"
    packed = gzipped(tmp_path, plain)
    size = plain.stat().st_size
    limit = (size * 8 + packed.stat().st_size * 8) // 2  # enough for the gzip's size, not for what it holds
    monkeypatch.setenv("VSM_MEMORY_LIMIT", str(limit))
    result = run_cli("inspect", packed)
    assert result.exit_code == 2
    assert re.fullmatch(rf"Error: {re.escape(str(packed))}: .* \(unpacked; .* gzipped\) needs about .*\n", result.stderr)


# ---- gzip files vsm cannot read: one line, exit 2, never a traceback or a hang -----------


def broken(tmp_path):
    data = gzip.compress((SAMPLE_LOGS / "servicenow_audit.csv").read_bytes(), mtime=0)
    flipped = bytearray(data)
    flipped[len(data) // 2] ^= 0xFF
    return {
        "truncated.csv.gz": data[: len(data) // 2],
        "corrupt.csv.gz": bytes(flipped),
        "bad_crc.csv.gz": data[:-8] + b"\0\0\0\0" + data[-4:],
        "magic_only.csv.gz": data[:2],
        "random.gz": gzip.compress(os.urandom(20_000), mtime=0),
        "empty.csv.gz": gzip.compress(b"", mtime=0),
        "parquet.gz": gzip.compress(b"PAR1" + bytes(100), mtime=0),
        "twice.csv.gz": gzip.compress(data, mtime=0),
    }


DAMAGED = r"the gzip file is damaged or truncated \(.+\); download or export it again"


@pytest.mark.parametrize("name, message", [
    ("truncated.csv.gz", DAMAGED),
    ("corrupt.csv.gz", DAMAGED),
    ("bad_crc.csv.gz", r"the gzip file is damaged or truncated \(CRC check failed 0x0 != 0x[0-9a-f]+\); download or export it again"),
    ("magic_only.csv.gz", DAMAGED),
    ("random.gz", r"a gzip file holding binary data, not a text export; vsm reads gzipped CSV, TSV, JSON and XES: "
                  r"unpack it \(gunzip -k random\.gz\) to see what it holds"),
    ("empty.csv.gz", r"the gzip file holds an empty file; export it again"),
    ("parquet.gz", r"a gzip file holding a Parquet file, which vsm reads only unpacked; "
                   r"unpack it \(gunzip -k parquet\.gz\) and give vsm the file inside"),
    ("twice.csv.gz", r"a gzip file holding another gzip file; unpack it \(gunzip -k twice\.csv\.gz\) and give vsm the file inside"),
])
@pytest.mark.parametrize("command", [["inspect"], ["mine"]])
def test_a_gzip_file_vsm_cannot_read_is_one_line_and_exit_2(tmp_path, name, message, command):
    path = tmp_path / name
    path.write_bytes(broken(tmp_path)[name])
    result = run_cli(*command, path)
    assert result.exit_code == 2
    assert re.fullmatch(rf"Error: {re.escape(str(path))}: {message}\n", result.stderr), result.stderr
    assert result.stdout == ""


def test_a_gzipped_json_cut_short_is_one_line(tmp_path):
    data = gzip.compress((SAMPLE_LOGS / "zendesk_ticket_events.json").read_bytes(), mtime=0)
    path = tmp_path / "events.json.gz"
    path.write_bytes(data[: len(data) * 2 // 3])
    result = run_cli("inspect", path)
    assert result.exit_code == 2
    assert re.fullmatch(rf"Error: {re.escape(str(path))}: {DAMAGED}\n", result.stderr)


def test_inspect_prints_what_it_prints_for_the_plain_file_but_its_name(tmp_path):
    plain = SAMPLE_LOGS / "zendesk_ticket_events.json"
    packed = gzipped(tmp_path, plain)
    shown = [run_cli("inspect", p) for p in (plain, packed)]
    assert [r.exit_code for r in shown] == [0, 0]
    assert f"File        {packed}\n" in shown[1].stdout
    assert shown[0].stdout.replace(str(plain), "EXPORT") == shown[1].stdout.replace(str(packed), "EXPORT")
    assert shown[0].stderr == shown[1].stderr
