"""vsm pull servicenow against a fake Table API on 127.0.0.1: paging, faults, secrets, increments, the store."""

from __future__ import annotations

import base64
import json

import pandas as pd
import pytest

import connectors
import connectors.http
from connectors.errors import BadOption, VsmError
from connectors.pull import pull_servicenow
from tests.conftest import run_cli
from tests.connectors.fake_servicenow import DEFINITIONS, GROUPS, PASSWORD, USER, USERS, Data, Fake
from tests.connectors.fakeserver import events as _events
from tests.connectors.fakeserver import waits  # noqa: F401 - a fixture


@pytest.fixture(autouse=True)
def credentials(monkeypatch):
    monkeypatch.setenv("VSM_SERVICENOW_USER", USER)
    monkeypatch.setenv("VSM_SERVICENOW_PASSWORD", PASSWORD)
    monkeypatch.delenv("VSM_SERVICENOW_TOKEN", raising=False)


def _audit_requests(fake: Fake) -> list[dict]:
    return [p for table, p, _ in fake.requests if table == "sys_audit"]


def test_pages_follow_link_headers_not_short_pages(tmp_path, waits):
    data = Data(25)
    data.hidden = {data.tables["incident"][3]["sys_id"]}  # an ACL hides one: the first page comes back short
    with Fake(data) as fake:
        pulled = pull_servicenow(fake.url, tmp_path / "s", page_size=10)
        pages = [p for table, p, _ in fake.requests if table == "incident"]
    assert [p["sysparm_offset"] for p in pages] == ["0", "10", "20"]
    assert pulled.records == 24 and pulled.tickets == 24
    first = pages[0]
    assert first["sysparm_display_value"] == "all" and first["sysparm_limit"] == "10"
    assert first["sysparm_query"].endswith("ORDERBYsys_updated_on^ORDERBYsys_id")
    assert "sys_id" in first["sysparm_fields"].split(",")
    log, _ = connectors.load(tmp_path / "s")
    assert log["case_id"].nunique() == 24


def test_without_link_header_the_total_count_pages(tmp_path, waits):
    with Fake(Data(25)) as fake:
        fake.strip_link = True
        pulled = pull_servicenow(fake.url, tmp_path / "s", page_size=10)
    assert pulled.tickets == 25


def test_history_comes_from_sys_audit_in_batches_of_document_keys(tmp_path, waits, monkeypatch):
    monkeypatch.setattr("connectors.pull.KEYS_PER_BATCH", 10)
    data = Data(25)
    with Fake(data) as fake:
        pull_servicenow(fake.url, tmp_path / "s", page_size=50)
        batches = [p["sysparm_query"] for p in _audit_requests(fake)]
    assert len(batches) == 5  # 60 rows per batch of 10 tickets: two pages of 50, the last batch one page
    batches = list(dict.fromkeys(batches))
    assert len(batches) == 3
    keys = [q.split("documentkeyIN")[1].split("^")[0].split(",") for q in batches]
    assert sorted(k for batch in keys for k in batch) == sorted(r["sys_id"] for r in data.tables["incident"])
    assert all("tablename=incident" in q and "fieldnameINstate," in q for q in batches)


def test_the_store_reads_as_its_sys_audit_export_with_numbers_and_names(tmp_path, waits):
    data = Data(30)
    with Fake(data) as fake:
        pull_servicenow(fake.url, tmp_path / "s", page_size=7)
    # The same rows exported by hand as a CSV file.
    export = tmp_path / "sys_audit.csv"
    pd.DataFrame(data.tables["sys_audit"]).to_csv(export, index=False)
    by_hand, hand_report = connectors.load(export)
    stored, report = connectors.load(tmp_path / "s")
    numbers = {r["sys_id"]: r["number"] for r in data.tables["incident"]}
    names = {**GROUPS, **USERS}
    expected = _events(by_hand)
    expected["case_id"] = expected["case_id"].map(numbers)
    expected["group"] = expected["group"].map(lambda g: names.get(g, g))
    expected["resource"] = expected["resource"].map(lambda g: names.get(g, g))
    pd.testing.assert_frame_equal(_events(stored), expected)
    assert (report.rows_read, report.rows_rejected, report.events, report.derivation) == (
        hand_report.rows_read, hand_report.rows_rejected, hand_report.events, hand_report.derivation)
    assert stored["priority"].notna().all() and report.path == str(tmp_path / "s")
    assert report.warnings == []


def test_tickets_without_history_are_counted(tmp_path, waits):
    data = Data(6)
    quiet = data.tables["incident"][2]["sys_id"]
    data.tables["sys_audit"] = [r for r in data.tables["sys_audit"] if r["documentkey"] != quiet]
    data.by_doc["sys_audit"].pop(quiet)
    with Fake(data) as fake:
        pull_servicenow(fake.url, tmp_path / "s")
    log, report = connectors.load(tmp_path / "s")
    assert log["case_id"].nunique() == 5
    assert any(w.startswith("1 of 6 pulled tickets have no state, group or assignee change") for w in report.warnings)


def test_429_waits_as_retry_after_says_and_503_and_dropped_pages_are_retried(tmp_path, waits):
    data = Data(25)
    with Fake(data) as fake:
        fake.faults["incident"] += ["429", "503"]
        fake.faults["sys_audit"] += ["drop"]
        pulled = pull_servicenow(fake.url, tmp_path / "s", page_size=10)
    assert waits[0] == 2.0  # Retry-After: 2
    assert len(waits) == 3 and all(0 <= w <= 120 for w in waits)
    assert pulled.tickets == 25 and pulled.audit_rows == 150


def test_retries_are_bounded_and_a_failed_pull_leaves_the_store(tmp_path, waits):
    data = Data(25)
    with Fake(data) as fake:
        pull_servicenow(fake.url, tmp_path / "s", page_size=10)
        state = (tmp_path / "s" / "state.json").read_text()
        before, _ = connectors.load(tmp_path / "s")
        for i in range(10):
            data.reopen(i)
        fake.faults["sys_audit"] += ["503"] * 20
        with pytest.raises(VsmError, match="503"):
            pull_servicenow(fake.url, tmp_path / "s", page_size=10)
        assert len(waits) == connectors.http.RETRIES
        assert (tmp_path / "s" / "state.json").read_text() == state
        pd.testing.assert_frame_equal(connectors.load(tmp_path / "s")[0], before)
        fake.faults["sys_audit"].clear()
        # The next pull makes good what the failed one did not do.
        pull_servicenow(fake.url, tmp_path / "s", page_size=10)
        with Fake(data) as fresh:
            pull_servicenow(fresh.url, tmp_path / "once", page_size=10)
    pd.testing.assert_frame_equal(_events(connectors.load(tmp_path / "s")[0]), _events(connectors.load(tmp_path / "once")[0]))


def test_a_second_pull_fetches_only_what_changed(tmp_path, waits):
    data = Data(40)
    with Fake(data) as fake:
        pull_servicenow(fake.url, tmp_path / "s", page_size=10)
        before, _ = connectors.load(tmp_path / "s")
        changed = list(range(5, 15))
        for i in changed:
            data.reopen(i)
        fake.requests.clear()
        pulled = pull_servicenow(fake.url, tmp_path / "s", page_size=100)
        audited = {k for p in _audit_requests(fake) for k in p["sysparm_query"].split("documentkeyIN")[1].split("^")[0].split(",")}
        query = next(p for t, p, _ in fake.requests if t == "incident")["sysparm_query"]
    assert pulled.incremental and pulled.records == 10 and pulled.tickets == 40
    assert "sys_updated_on>=2025-01-05 " in query  # a day before the watermark; what did not change is dropped
    assert audited == {data.tables["incident"][i]["sys_id"] for i in changed}
    after, _ = connectors.load(tmp_path / "s")
    numbers = {data.tables["incident"][i]["number"] for i in changed}
    old = _events(before)
    new = _events(after)
    assert set(new["case_id"]) == set(old["case_id"])
    same_old = old[~old["case_id"].isin(numbers)].reset_index(drop=True)
    same_new = new[~new["case_id"].isin(numbers)].reset_index(drop=True)
    pd.testing.assert_frame_equal(same_new, same_old)  # the other tickets' events are untouched
    reopened = new[new["case_id"].isin(numbers)]
    assert (reopened.groupby("case_id")["activity"].last() == "In Progress").all()
    assert len(reopened) == len(old[old["case_id"].isin(numbers)]) + 10


def test_401_names_the_variables_and_no_secret_leaks(tmp_path, monkeypatch, waits):
    monkeypatch.setenv("VSM_SERVICENOW_PASSWORD", PASSWORD + "-wrong")
    with Fake(Data(3)) as fake:
        result = run_cli("pull", "servicenow", "--instance", fake.url, "-o", tmp_path / "s")
    assert result.exit_code == 2
    assert "401" in result.stderr and "VSM_SERVICENOW_PASSWORD" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert PASSWORD not in result.output + result.stderr


def test_the_password_appears_nowhere(tmp_path, waits):
    pair = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    data = Data(12)
    with Fake(data) as fake:
        fake.faults["incident"] += ["429", "drop"]
        result = run_cli("pull", "servicenow", "--instance", fake.url, "--page-size", "5", "-o", tmp_path / "s")
        assert result.exit_code == 0, result.stderr
        assert all(auth == f"Basic {pair}" for _, _, auth in fake.requests)
        shown = run_cli("inspect", tmp_path / "s", "--json", "-")
    assert "12 tickets in the store" in result.stderr
    doc = json.loads(shown.stdout)
    assert (doc["rows_read"], doc["cases"]) == (72, 12)  # six audit rows per ticket
    texts = [result.stdout, result.stderr, shown.stdout, shown.stderr]
    stored = [p.read_bytes() for p in (tmp_path / "s").rglob("*") if p.is_file()]
    for secret in (PASSWORD, pair):
        assert not any(secret in t for t in texts)
        assert not any(secret.encode() in b for b in stored)


def test_bearer_token(tmp_path, monkeypatch, waits):
    monkeypatch.setenv("VSM_SERVICENOW_TOKEN", "tok-123")
    with Fake(Data(3), token="tok-123") as fake:
        assert pull_servicenow(fake.url, tmp_path / "s").tickets == 3


def test_no_credentials_no_clear_text_and_another_store(tmp_path, monkeypatch, waits):
    with pytest.raises(BadOption, match="https"):
        pull_servicenow("http://example.com", tmp_path / "s")
    with Fake(Data(3)) as fake:
        pull_servicenow(fake.url, tmp_path / "s")
        with pytest.raises(BadOption, match="query"):
            pull_servicenow(fake.url, tmp_path / "s", query="active=true")
        with pytest.raises(BadOption, match="without --since"):
            pull_servicenow(fake.url, tmp_path / "s", since="2024-01-01")
    monkeypatch.delenv("VSM_SERVICENOW_PASSWORD")
    with pytest.raises(BadOption, match="VSM_SERVICENOW_TOKEN"):
        pull_servicenow("https://acme.service-now.com", tmp_path / "t")


def test_mine_compare_and_report_read_the_store(tmp_path, waits):
    with Fake(Data(20)) as fake:
        pull_servicenow(fake.url, tmp_path / "s")
    for args in (["mine"], ["compare"], ["report", "-o", str(tmp_path / "r.html"), "--quiet"],
                 ["convert", "-o", str(tmp_path / "e.xes")]):
        result = run_cli(args[0], tmp_path / "s", *args[1:])
        assert result.exit_code == 0, (args, result.stderr)
    assert connectors.load(tmp_path / "e.xes")[0]["case_id"].nunique() == 20


def _serve(queue, tickets: int) -> None:  # pragma: no cover - runs in the fake's own process
    import time

    with Fake(Data(tickets)) as fake:
        queue.put(fake.url)
        time.sleep(600)


@pytest.mark.slow
def test_100k_records_and_their_audit_rows_in_under_a_minute(tmp_path, request):
    """The fake runs in its own process, as a real instance would not share this one's interpreter (-m slow)."""
    if "slow" not in (request.config.getoption("markexpr") or ""):
        pytest.skip("45 seconds: run with -m slow")
    import multiprocessing
    import time

    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    server = context.Process(target=_serve, args=(queue, 100_000), daemon=True)
    server.start()
    try:
        url = queue.get(timeout=120)
        started = time.perf_counter()
        pulled = pull_servicenow(url, tmp_path / "s", page_size=1000)
        took = time.perf_counter() - started
    finally:
        server.terminate()
        server.join()
    assert (pulled.tickets, pulled.audit_rows) == (100_000, 600_000)
    assert took < 60


def test_a_killed_pull_then_a_new_pull_equals_one_uninterrupted_pull(tmp_path, waits):
    import os
    import subprocess
    import sys
    import time

    from tests.conftest import ROOT

    data = Data(30)
    with Fake(data) as fake:
        pull_servicenow(fake.url, tmp_path / "s", page_size=5)
        state = (tmp_path / "s" / "state.json").read_text()
        for i in range(0, 30, 3):
            data.reopen(i)
        fake.delay = 0.05
        fake.requests.clear()
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        process = subprocess.Popen(
            [sys.executable, "-c", "from vsm.cli import main; main()", "pull", "servicenow", "--instance", fake.url,
             "--page-size", "5", "-o", str(tmp_path / "s")], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 60
        while not any(t == "sys_audit" for t, _, _ in list(fake.requests)) and time.monotonic() < deadline:
            time.sleep(0.01)
        process.kill()  # mid-pull: records fetched, history not yet
        process.communicate()
        assert (tmp_path / "s" / "state.json").read_text() == state
        assert connectors.load(tmp_path / "s")[0]["case_id"].nunique() == 30
        fake.delay = 0
        assert pull_servicenow(fake.url, tmp_path / "s", page_size=5).resumed is not None
    with Fake(data) as fresh:
        pull_servicenow(fresh.url, tmp_path / "once", page_size=5)
    pd.testing.assert_frame_equal(_events(connectors.load(tmp_path / "s")[0]), _events(connectors.load(tmp_path / "once")[0]))
    for kind in ("records", "history"):
        files = [json.loads((tmp_path / d / "state.json").read_text())["files"][kind] for d in ("s", "once")]
        pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "s" / files[0]), pd.read_parquet(tmp_path / "once" / files[1]))
    assert not (tmp_path / "s" / ".pull").exists()


def test_history_metric_reads_as_its_metric_instance_export(tmp_path, waits):
    data = Data(30)
    data.reopen(4)  # an interval closed and a new one open
    with Fake(data) as fake:
        pulled = pull_servicenow(fake.url, tmp_path / "s", history="metric", page_size=7)
        asked = [p for t, p, _ in fake.requests if t == "metric_instance"]
    assert not any(t == "sys_audit" for t, _, _ in fake.requests)
    assert all(p["sysparm_query"].startswith("table=incident^idIN") and p["sysparm_display_value"] == "all" for p in asked)
    assert pulled.audit_rows == len(data.tables["metric_instance"])
    # The same rows exported by hand: a list export shows the definition by its name.
    export = tmp_path / "metric_instance.csv"
    pd.DataFrame(data.tables["metric_instance"]).assign(
        definition=lambda f: f["definition"].map(DEFINITIONS)).to_csv(export, index=False)
    by_hand, hand_report = connectors.load(export)
    assert hand_report.source == "servicenow-metric"
    stored, report = connectors.load(tmp_path / "s")
    expected = _events(by_hand)
    expected["case_id"] = expected["case_id"].map({r["sys_id"]: r["number"] for r in data.tables["incident"]})
    pd.testing.assert_frame_equal(_events(stored), expected)
    assert (report.rows_read, report.events, report.derivation) == (hand_report.rows_read, hand_report.events, hand_report.derivation)
    assert "metric_instance" in report.source_reason and stored["priority"].notna().all()
    # Another history into the same store is an error, not a mixed store.
    with Fake(data) as fake, pytest.raises(BadOption, match="history"):
        pull_servicenow(fake.url, tmp_path / "s")


def _stores_equal(a, b) -> None:
    """Two stores hold the same rows in the same order, and read as the same events."""
    for kind in ("records", "history", "names"):
        files = [json.loads((d / "state.json").read_text())["files"][kind] for d in (a, b)]
        pd.testing.assert_frame_equal(pd.read_parquet(a / files[0]), pd.read_parquet(b / files[1]))
    pd.testing.assert_frame_equal(_events(connectors.load(a)[0]), _events(connectors.load(b)[0]))


def _secretless(*texts: str, folder=None) -> None:
    pair = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    stored = [p.read_bytes() for p in folder.rglob("*") if p.is_file()] if folder else []
    for secret in (PASSWORD, pair):
        assert not any(secret in t for t in texts)
        assert not any(secret.encode() in b for b in stored)


@pytest.mark.parametrize("history", ["sys_audit", "metric"])
def test_a_connection_gone_mid_history_then_the_same_command_resumes(tmp_path, waits, monkeypatch, history):
    monkeypatch.setattr("connectors.pull.KEYS_PER_BATCH", 10)
    table = "sys_audit" if history == "sys_audit" else "metric_instance"
    data = Data(40)
    with Fake(data) as fake:
        fake.dies_after[table] = 7  # then the network is gone: every request dropped, retries and all
        with pytest.raises(VsmError, match="the same command resumes") as failed:
            pull_servicenow(fake.url, tmp_path / "s", history=history, page_size=5)
        assert not (tmp_path / "s" / "state.json").exists()
        _secretless(str(failed.value), folder=tmp_path / "s")
        progress = json.loads((tmp_path / "s" / ".pull" / "progress.json").read_text())
        assert progress["phases"]["records"]["done"] and progress["phases"]["history"]["parts"] == 7
        # Other options would mix two pulls: a one-line error with the fix.
        other = run_cli("pull", "servicenow", "--instance", fake.url, "--history", history, "--page-size", "10",
                        "-o", tmp_path / "s")
        assert other.exit_code == 2 and "--page-size" in other.stderr and "same options" in other.stderr
        assert len(other.stderr.strip().splitlines()) == 1
        del fake.dies_after[table]
        fake.requests.clear()
        resumed = run_cli("pull", "servicenow", "--instance", fake.url, "--history", history, "--page-size", "5",
                          "-o", tmp_path / "s")
        assert resumed.exit_code == 0, resumed.stderr
        asked = [p for t, p, _ in fake.requests if t == table]
        assert not any(t == "incident" for t, _, _ in fake.requests)  # the records were all kept
        assert asked[0]["sysparm_offset"] != "0" and len(asked) == len({json.dumps(p, sort_keys=True) for p in asked})
        with Fake(data) as fresh:
            pull_servicenow(fresh.url, tmp_path / "once", history=history, page_size=5)
            pages = len([1 for t, _, _ in fresh.requests if t == table])
    assert "Resumed the interrupted pull" in resumed.stderr and "(15 pages it had kept)" in resumed.stderr  # 8 of records, 7 of history
    assert len(asked) == pages - 7  # each page once over the two pulls
    _secretless(resumed.stdout, resumed.stderr, other.stderr, folder=tmp_path / "s")
    _stores_equal(tmp_path / "s", tmp_path / "once")
    assert not (tmp_path / "s" / ".pull").exists()


def test_ctrl_c_mid_records_then_resume_from_the_newest_record_kept(tmp_path, waits, monkeypatch):
    monkeypatch.setattr("connectors.pull.SERVICENOW_MARGIN", pd.Timedelta(0))  # to see where it resumes
    data = Data(40)
    calls = []

    def interrupt(what: str, done: int, total: int | None) -> None:
        calls.append(what)
        if len(calls) == 3:
            raise KeyboardInterrupt

    with Fake(data) as fake:
        with pytest.raises(VsmError, match="interrupted"):
            pull_servicenow(fake.url, tmp_path / "s", page_size=5, progress=interrupt)
        data.reopen(1)  # kept before the stop, updated while the pull stood still: it moves to the end
        fake.requests.clear()
        pulled = pull_servicenow(fake.url, tmp_path / "s", page_size=5)
        first = next(p for t, p, _ in fake.requests if t == "incident")
        with Fake(data) as fresh:
            pull_servicenow(fresh.url, tmp_path / "once", page_size=5)
    assert pulled.resumed == 2  # the third page was fetched but not kept
    assert f"sys_updated_on>={data.tables['incident'][9]['sys_updated_on']}" in first["sysparm_query"]
    records = pd.read_parquet(tmp_path / "s" / json.loads((tmp_path / "s" / "state.json").read_text())["files"]["records"])
    assert records["sys_id"].is_unique and len(records) == 40
    assert records.set_index("number").loc["INC0000002", "state"] == "2"  # the later version won
    _stores_equal(tmp_path / "s", tmp_path / "once")
