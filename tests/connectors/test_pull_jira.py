"""vsm pull jira against a fake Jira on 127.0.0.1: Cloud's nextPageToken, truncated changelogs, Data Center's startAt."""

from __future__ import annotations

import base64
import copy
import json
from http.server import BaseHTTPRequestHandler

import pandas as pd
import pytest

import connectors
import connectors.http
from connectors.errors import VsmError
from connectors.pull import pull_jira
from tests.conftest import SAMPLE_LOGS, run_cli
from tests.connectors.fakeserver import FakeServer
from tests.connectors.fakeserver import events as _events

EMAIL, TOKEN = "lead@example.com", "jira-Api-T0ken"
ISSUES = json.loads((SAMPLE_LOGS / "jira_changelog.json").read_text(encoding="utf-8"))["issues"]
SHOWN = 3  # histories a search result carries before its changelog is cut short


class FakeJira(FakeServer):
    def __init__(self, issues: list[dict], cloud: bool = True) -> None:
        self.issues = copy.deepcopy(issues)
        self.cloud = cloud
        self.requests: list[tuple[str, dict]] = []
        self.faults: list[str] = []
        self.expected = "Basic " + base64.b64encode(f"{EMAIL}:{TOKEN}".encode()).decode()

    def _found(self, jql: str) -> list[dict]:
        found = self.issues
        if 'updated >= "' in jql:
            since = pd.Timestamp(jql.split('updated >= "')[1].split('"')[0], tz="UTC")
            found = [i for i in found if pd.Timestamp(i["fields"]["updated"]).tz_convert("UTC") >= since]
        return sorted(found, key=lambda i: pd.Timestamp(i["fields"]["updated"]))

    def answer(self, h: BaseHTTPRequestHandler, path: str, params: dict[str, str]) -> None:
        self.requests.append((path, params))
        fault = self.faults.pop(0) if self.faults else None
        status, body = 200, None
        if h.headers.get("Authorization") != self.expected:
            status, body = 401, {"errorMessages": ["Client must be authenticated to access this resource."]}
        elif fault == "503":
            status, body = 503, {"errorMessages": ["busy"]}
        elif path == "/rest/api/3/search/jql" and self.cloud:
            found = self._found(params["jql"])
            start = int(params.get("nextPageToken") or 0)
            n = int(params["maxResults"])
            page = [self._cut(i) for i in found[start:start + n]]
            more = start + n < len(found)
            body = {"issues": page, "isLast": not more, **({"nextPageToken": str(start + n)} if more else {})}
        elif path == "/rest/api/2/search" and not self.cloud:
            found = self._found(params["jql"])
            start, n = int(params["startAt"]), int(params["maxResults"])
            body = {"startAt": start, "maxResults": n, "total": len(found), "issues": found[start:start + n]}
        elif path.startswith("/rest/api/3/issue/") and path.endswith("/changelog"):
            key = path.split("/")[5]
            issue = next(i for i in self.issues if i["key"] == key)
            histories = issue["changelog"]["histories"]
            start, n = int(params["startAt"]), min(int(params["maxResults"]), 4)
            values = histories[start:start + n]
            body = {"startAt": start, "maxResults": n, "total": len(histories), "isLast": start + n >= len(histories), "values": values}
        else:
            status, body = 404, {"errorMessages": ["not found"]}
        (self.drop if self.gone() else self.send)(h, status, body)

    @staticmethod
    def _cut(issue: dict) -> dict:
        out = copy.deepcopy(issue)
        histories = out["changelog"]["histories"]
        out["changelog"] = {"startAt": 0, "maxResults": SHOWN, "total": len(histories), "histories": histories[:SHOWN]}
        return out


@pytest.fixture(autouse=True)
def credentials(monkeypatch):
    monkeypatch.setenv("VSM_JIRA_EMAIL", EMAIL)
    monkeypatch.setenv("VSM_JIRA_TOKEN", TOKEN)
    monkeypatch.delenv("VSM_JIRA_PAT", raising=False)
    monkeypatch.setattr(connectors.http, "sleep", lambda s: None)


def _file_events() -> pd.DataFrame:
    return _events(connectors.load(SAMPLE_LOGS / "jira_changelog.json")[0]).sort_values(["case_id", "timestamp"], kind="stable", ignore_index=True)


def _store_events(path) -> pd.DataFrame:
    return _events(connectors.load(path)[0]).sort_values(["case_id", "timestamp"], kind="stable", ignore_index=True)


@pytest.mark.parametrize("cloud", [True, False])
def test_the_store_holds_whole_changelogs_and_reads_as_the_file(tmp_path, cloud):
    with FakeJira(ISSUES, cloud=cloud) as fake:
        fake.faults.append("503")
        pulled = pull_jira(fake.url, "project = SHOP", tmp_path / "s", deployment="cloud" if cloud else "datacenter", page_size=25)
        paths = [p for p, _ in fake.requests]
        search = [q for p, q in fake.requests if "search" in p]
    assert pulled.tickets == len(ISSUES)
    if cloud:
        assert [q.get("nextPageToken") for q in search[1:]] == [None] + [str(25 * k) for k in range(1, 7)]
        truncated = sum(1 for i in ISSUES if len(i["changelog"]["histories"]) > SHOWN)
        assert len({p for p in paths if p.endswith("/changelog")}) == truncated
    else:
        assert [int(q["startAt"]) for q in search[1:]] == [0, 25, 50, 75, 100, 125, 150]  # after the 503, retried
    assert all(q["expand"] == "changelog" and q["jql"].startswith("(project = SHOP)") for q in search)
    pd.testing.assert_frame_equal(_store_events(tmp_path / "s"), _file_events())


def test_a_second_pull_replaces_only_updated_issues(tmp_path):
    with FakeJira(ISSUES) as fake:
        pull_jira(fake.url, "project = SHOP", tmp_path / "s", deployment="cloud")
        before = _store_events(tmp_path / "s")
        latest = max(pd.Timestamp(i["fields"]["updated"]) for i in fake.issues)
        touched = fake.issues[:10]
        for k, issue in enumerate(touched):
            when = (latest + pd.Timedelta(hours=1 + k)).strftime("%Y-%m-%dT%H:%M:%S.000-0600")
            issue["fields"]["updated"] = when
            issue["changelog"]["histories"].append({"id": f"9{k:04d}", "author": {"accountId": "x", "displayName": "Ann"},
                "created": when, "items": [{"field": "status", "fieldtype": "jira", "from": "3", "fromString": "Done",
                                            "to": "4", "toString": "Reopened"}]})
            issue["changelog"]["total"] = len(issue["changelog"]["histories"])
        fake.requests.clear()
        pulled = pull_jira(fake.url, "project = SHOP", tmp_path / "s", deployment="cloud")
    assert pulled.incremental and pulled.records == 10 and pulled.tickets == len(ISSUES)
    assert 'updated >= "' in fake.requests[0][1]["jql"]
    after = _store_events(tmp_path / "s")
    keys = {i["key"] for i in touched}
    pd.testing.assert_frame_equal(after[~after["case_id"].isin(keys)].reset_index(drop=True),
                                  before[~before["case_id"].isin(keys)].reset_index(drop=True))
    assert (after[after["case_id"].isin(keys)].groupby("case_id")["activity"].last() == "Reopened").all()


def test_cli_and_the_token(tmp_path, monkeypatch):
    pair = base64.b64encode(f"{EMAIL}:{TOKEN}".encode()).decode()
    with FakeJira(ISSUES[:30]) as fake:
        ok = run_cli("pull", "jira", "--site", fake.url, "--deployment", "cloud", "--jql", "project = SHOP", "-o", tmp_path / "s")
        monkeypatch.setenv("VSM_JIRA_TOKEN", "wrong")
        bad = run_cli("pull", "jira", "--site", fake.url, "--jql", "project = SHOP", "-o", tmp_path / "t")
    assert ok.exit_code == 0, ok.stderr
    assert bad.exit_code == 2 and "401" in bad.stderr and "VSM_JIRA_TOKEN" in bad.stderr
    stored = [p.read_bytes() for p in (tmp_path / "s").rglob("*") if p.is_file()]
    for secret in (TOKEN, pair):
        assert not any(secret in t for t in (ok.stdout, ok.stderr, bad.stdout, bad.stderr))
        assert not any(secret.encode() in b for b in stored)


def test_a_connection_gone_mid_search_then_the_same_command_resumes(tmp_path):
    with FakeJira(ISSUES) as fake:
        fake.answers_left = 200  # search pages and cut-short changelogs (about 70 a page): it dies on the third page
        with pytest.raises(VsmError, match="the same command resumes"):
            pull_jira(fake.url, "project = SHOP", tmp_path / "s", deployment="cloud", page_size=25)
        assert not (tmp_path / "s" / "state.json").exists()
        fake.answers_left = None
        fake.requests.clear()
        pulled = pull_jira(fake.url, "project = SHOP", tmp_path / "s", deployment="cloud", page_size=25)
        first = next(q for p, q in fake.requests if "search" in p)
        with FakeJira(ISSUES) as fresh:
            pull_jira(fresh.url, "project = SHOP", tmp_path / "once", deployment="cloud", page_size=25)
    assert pulled.resumed and pulled.resumed > 0 and 'updated >= "' in first["jql"]
    files = [json.loads((tmp_path / d / "state.json").read_text())["files"]["history"] for d in ("s", "once")]
    assert (tmp_path / "s" / files[0]).read_bytes() == (tmp_path / "once" / files[1]).read_bytes()
    pd.testing.assert_frame_equal(_store_events(tmp_path / "s"), _file_events())
    pair = base64.b64encode(f"{EMAIL}:{TOKEN}".encode()).decode()
    stored = b"".join(p.read_bytes() for p in (tmp_path / "s").rglob("*") if p.is_file())
    assert TOKEN.encode() not in stored and pair.encode() not in stored
