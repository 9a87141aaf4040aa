"""Resource bounds: an export too large for memory fails at once with a message
naming the limit and the way out, instead of being killed by the system."""

from __future__ import annotations

import gzip
import io
import json
import zipfile

import pytest

import connectors
from connectors.errors import BadOption, TooLarge
from connectors.limits import available_memory, human, parse_size
from tests.conftest import run_cli

ROW = "T{0},Log call,2024-03-01 09:00:00\nT{0},Resolve,2024-03-01 10:00:00\n"


@pytest.fixture(autouse=True)
def _check_on(monkeypatch):
    monkeypatch.delenv("VSM_NO_MEMORY_CHECK", raising=False)


def _csv(path, tickets=2000):
    path.write_text("case_id,activity,timestamp\n" + "".join(ROW.format(i) for i in range(tickets)))
    return path


def test_an_export_over_the_limit_fails_before_reading_with_the_limit_and_the_options(tmp_path, monkeypatch):
    path = _csv(tmp_path / "export.csv")  # 124 KB: needs about 8 x that
    size = path.stat().st_size
    monkeypatch.setenv("VSM_MEMORY_LIMIT", "512K")
    result = run_cli("report", path, "-o", tmp_path / "r.html")
    assert result.exit_code == 2
    assert result.stderr.splitlines()[-1] == (
        f"Error: {path}: {human(size)} needs about {human(8 * size)} of memory to load and analyse (8x for delimited text), "
        "but VSM_MEMORY_LIMIT allows 512 KB; run vsm mine, compare or report with --engine spark, or split the export; "
        "or set VSM_NO_MEMORY_CHECK=1 to try anyway"
    )
    assert not (tmp_path / "r.html").exists()


def test_under_the_limit_or_with_the_check_off_it_loads(tmp_path, monkeypatch):
    path = _csv(tmp_path / "export.csv")
    monkeypatch.setenv("VSM_MEMORY_LIMIT", "2M")
    _, report = connectors.load(path)
    assert report.events == 4000
    monkeypatch.setenv("VSM_MEMORY_LIMIT", "1K")
    with pytest.raises(TooLarge):
        connectors.load(path)
    monkeypatch.setenv("VSM_NO_MEMORY_CHECK", "1")
    _, report = connectors.load(path)
    assert report.events == 4000


def test_json_is_refused_before_it_is_parsed(tmp_path, monkeypatch):
    # Not even valid JSON: the size check comes first, so nothing large is read.
    path = tmp_path / "events.json"
    path.write_text('{"ticket_events": [' + ",".join(['{"id": 1}'] * 5000))
    monkeypatch.setenv("VSM_MEMORY_LIMIT", "64K")
    size = path.stat().st_size
    with pytest.raises(TooLarge) as caught:
        connectors.load(path)
    assert str(caught.value) == (
        f"{path}: {human(size)} needs about {human(8 * size)} of memory to load and analyse (8x for JSON), "
        "but VSM_MEMORY_LIMIT allows 64 KB; split the export, or convert it to CSV or Parquet for --engine spark; "
        "or set VSM_NO_MEMORY_CHECK=1 to try anyway"
    )


def test_compressed_exports_count_their_unpacked_size(tmp_path, monkeypatch):
    xes = ('<?xml version="1.0" encoding="UTF-8"?>\n<log>' + "".join(
        f'<trace><string key="concept:name" value="T{i}"/><event><string key="concept:name" value="A"/>'
        f'<date key="time:timestamp" value="2024-03-01T09:00:00Z"/></event></trace>' for i in range(3000)) + "</log>\n").encode()
    gz = tmp_path / "log.xes.gz"
    gz.write_bytes(gzip.compress(xes, mtime=0))
    assert gz.stat().st_size * 8 < 256 * 1024 < len(xes) * 8  # the gzip alone would pass
    monkeypatch.setenv("VSM_MEMORY_LIMIT", "256K")
    with pytest.raises(TooLarge, match=rf"log\.xes\.gz: {human(len(xes))} \(unpacked; .* gzipped\) needs about {human(8 * len(xes))}"):
        connectors.load(gz)
    book = io.BytesIO()
    with zipfile.ZipFile(book, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("xl/worksheets/sheet1.xml", "<row/>" * 60_000)
    xlsx = tmp_path / "export.xlsx"
    xlsx.write_bytes(book.getvalue())
    with pytest.raises(TooLarge, match=rf"export\.xlsx: {human(60_000 * 6)} of XML \(unzipped; {human(xlsx.stat().st_size)} on disk\) "
                                        rf"needs about {human(8 * 60_000 * 6)} of memory .* \(8x for an Excel workbook\)"):
        connectors.load(xlsx)


def test_sizes_read_as_people_write_them():
    assert [parse_size(s) for s in ("1048576", "512K", "2M", "1.5G", "1T", "8GiB", "64 kb")] == [
        1 << 20, 512 << 10, 2 << 20, 3 << 29, 1 << 40, 8 << 30, 64 << 10]
    with pytest.raises(BadOption, match=r"VSM_MEMORY_LIMIT='lots' is not a size"):
        parse_size("lots")
    assert [human(n) for n in (812, 1536, 40 << 30)] == ["812 B", "1.5 KB", "40 GB"]


def test_without_an_override_the_machine_is_asked(monkeypatch):
    monkeypatch.delenv("VSM_MEMORY_LIMIT", raising=False)
    free, phrase = available_memory()
    assert free > 0 and phrase == "this machine has {} available"
    assert json.dumps(phrase)  # a plain string, formatted into the message
