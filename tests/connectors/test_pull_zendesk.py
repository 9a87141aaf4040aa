"""vsm pull zendesk against a fake incremental ticket events export on 127.0.0.1."""

from __future__ import annotations

import base64
import json
from http.server import BaseHTTPRequestHandler

import pandas as pd
import pytest

import connectors
from connectors.errors import VsmError
from connectors.pull import pull_zendesk
from tests.conftest import SAMPLE_LOGS, run_cli
from tests.connectors.fakeserver import FakeServer, waits  # noqa: F401 - a fixture
from tests.connectors.fakeserver import events as _events

EMAIL, TOKEN = "agent@example.com", "zd-T0ken-secret"
EVENTS = json.loads((SAMPLE_LOGS / "zendesk_ticket_events.json").read_text(encoding="utf-8"))["ticket_events"]


class FakeZendesk(FakeServer):
    """Time-based incremental export: pages of ``per_page`` events from ``start_time``; the next page starts at
    the last event's second, so events of that second come again, as Zendesk's do."""

    def __init__(self, events: list[dict], per_page: int = 50) -> None:
        self.events = sorted(events, key=lambda e: (e["timestamp"], e["id"]))
        self.per_page = per_page
        self.faults: list[str] = []
        self.requests: list[dict] = []
        self.expected = "Basic " + base64.b64encode(f"{EMAIL}/token:{TOKEN}".encode()).decode()

    def answer(self, h: BaseHTTPRequestHandler, path: str, params: dict[str, str]) -> None:
        self.requests.append(params)
        fault = self.faults.pop(0) if self.faults else None
        status, headers, body = 200, {}, None
        if h.headers.get("Authorization") != self.expected:
            status, body = 401, {"error": "Couldn't authenticate you"}
        elif fault == "429":
            status, headers, body = 429, {"Retry-After": "7"}, {"error": "APIRateLimitExceeded"}
        elif path != "/api/v2/incremental/ticket_events.json":
            status, body = 404, {"error": "InvalidEndpoint"}
        else:
            start = int(params["start_time"])
            after = [e for e in self.events if e["timestamp"] >= start]
            page = after[: self.per_page]
            end_time = page[-1]["timestamp"] if page else start
            more = len(after) > self.per_page
            body = {"ticket_events": page, "count": len(page), "end_of_stream": not more, "end_time": end_time,
                    "next_page": f"{self.url}{path}?start_time={end_time}" if more else None}
            if more and end_time == start:  # a whole page in one second: Zendesk moves on by a second
                body["next_page"] = f"{self.url}{path}?start_time={end_time + 1}"
        (self.drop if self.gone() else self.send)(h, status, body, headers)


@pytest.fixture(autouse=True)
def credentials(monkeypatch):
    monkeypatch.setenv("VSM_ZENDESK_EMAIL", EMAIL)
    monkeypatch.setenv("VSM_ZENDESK_TOKEN", TOKEN)
    monkeypatch.delenv("VSM_ZENDESK_OAUTH_TOKEN", raising=False)


def test_the_store_reads_as_the_export_file(tmp_path, waits):
    with FakeZendesk(EVENTS, per_page=40) as fake:
        fake.faults.append("429")
        pulled = pull_zendesk(tmp_path / "s", url=fake.url, min_interval=6.0)
        starts = [int(p["start_time"]) for p in fake.requests]
    assert waits.count(7.0) == 1  # Retry-After
    assert sum(1 for w in waits if 0 < w <= 6.0) >= len(starts) - 2  # paced to 10 requests a minute
    assert starts[0] == 0 and starts == sorted(starts) and len(starts) > len(EVENTS) // 40
    by_file, file_report = connectors.load(SAMPLE_LOGS / "zendesk_ticket_events.json")
    stored, report = connectors.load(tmp_path / "s")
    pd.testing.assert_frame_equal(_events(stored), _events(by_file))
    assert (report.rows_read, report.events, report.derivation) == (file_report.rows_read, file_report.events, file_report.derivation)
    assert pulled.tickets == by_file["case_id"].nunique()


def test_a_second_pull_starts_at_end_time_and_keeps_each_event_once(tmp_path, waits):
    cut = sorted(e["timestamp"] for e in EVENTS)[len(EVENTS) * 2 // 3]
    with FakeZendesk([e for e in EVENTS if e["timestamp"] < cut], per_page=40) as fake:
        first = pull_zendesk(tmp_path / "s", url=fake.url, min_interval=0)
        fake.events = sorted(EVENTS, key=lambda e: (e["timestamp"], e["id"]))
        fake.requests.clear()
        second = pull_zendesk(tmp_path / "s", url=fake.url, min_interval=0)
        assert int(fake.requests[0]["start_time"]) == int(first.watermark)
    assert second.incremental and second.records < len(EVENTS) // 2
    lines = (tmp_path / "s" / json.loads((tmp_path / "s" / "state.json").read_text())["files"]["history"]).read_text().splitlines()
    assert len(lines) == len({json.loads(x)["id"] for x in lines}) == len(EVENTS)
    pd.testing.assert_frame_equal(_events(connectors.load(tmp_path / "s")[0]),
                                  _events(connectors.load(SAMPLE_LOGS / "zendesk_ticket_events.json")[0]))


def test_cli_keeps_the_token_out_of_everything(tmp_path, monkeypatch, waits):
    monkeypatch.setattr("connectors.pull.ZENDESK_INTERVAL_S", 0.0)
    pair = base64.b64encode(f"{EMAIL}/token:{TOKEN}".encode()).decode()
    with FakeZendesk(EVENTS[:60], per_page=25) as fake:
        ok = run_cli("pull", "zendesk", "--url", fake.url, "-o", tmp_path / "s")
        monkeypatch.setenv("VSM_ZENDESK_TOKEN", TOKEN + "x")
        bad = run_cli("pull", "zendesk", "--url", fake.url, "-o", tmp_path / "t")
    assert ok.exit_code == 0, ok.stderr
    assert bad.exit_code == 2 and "401" in bad.stderr and "VSM_ZENDESK_TOKEN" in bad.stderr
    stored = [p.read_bytes() for p in (tmp_path / "s").rglob("*") if p.is_file()]
    for secret in (TOKEN, pair):
        assert not any(secret in t for t in (ok.stdout, ok.stderr, bad.stdout, bad.stderr))
        assert not any(secret.encode() in b for b in stored)
    assert run_cli("inspect", tmp_path / "s").exit_code == 0


def test_a_connection_gone_mid_export_then_the_same_command_resumes_at_next_page(tmp_path, waits):
    with FakeZendesk(EVENTS, per_page=40) as fake:
        fake.answers_left = 3
        with pytest.raises(VsmError, match="the same command resumes"):
            pull_zendesk(tmp_path / "s", url=fake.url, min_interval=0)
        fake.answers_left = None
        fake.requests.clear()
        pulled = pull_zendesk(tmp_path / "s", url=fake.url, min_interval=0)
        resumed_at = int(fake.requests[0]["start_time"])
        with FakeZendesk(EVENTS, per_page=40) as fresh:
            once = pull_zendesk(tmp_path / "once", url=fresh.url, min_interval=0)
            third = int(fresh.requests[3]["start_time"])
    assert pulled.resumed == 3 and resumed_at == third  # the fourth page's start_time, not 0
    assert pulled.pages + 3 == once.pages and pulled.watermark == once.watermark
    files = [json.loads((tmp_path / d / "state.json").read_text())["files"]["history"] for d in ("s", "once")]
    assert (tmp_path / "s" / files[0]).read_bytes() == (tmp_path / "once" / files[1]).read_bytes()
    stored = b"".join(p.read_bytes() for p in (tmp_path / "s").rglob("*") if p.is_file())
    assert TOKEN.encode() not in stored
