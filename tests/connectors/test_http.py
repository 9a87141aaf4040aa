"""The pullers' HTTP client: TLS verified, credentials kept to their site, waits bounded."""

from __future__ import annotations

import email.utils
import json
import shutil
import ssl
import subprocess
import threading
import time
import types
from http.server import BaseHTTPRequestHandler

import pytest

import connectors.http
from connectors.errors import BadOption
from connectors.http import Client, PullError, check_base_url
from tests.connectors.fakeserver import QuietServer


class _Server:
    """A one-answer JSON server on 127.0.0.1 (https with ``cert``), recording the headers it was sent."""

    def __init__(self, answer: dict, headers: dict[str, str] | None = None, status: int = 200, cert: tuple[str, str] | None = None,
                 script: list[tuple[int, dict[str, str], bool]] | None = None):
        self.answer, self.headers, self.status, self.cert, self.seen = answer, headers or {}, status, cert, []
        self.script = script or []  # (status, headers, cut the body short) per request; then the one answer

    def __enter__(self) -> _Server:
        me = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802
                me.seen.append(dict(self.headers))
                status, headers, cut = me.script.pop(0) if me.script else (me.status, me.headers, False)
                data = json.dumps(me.answer).encode()
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v.replace("{port}", str(me.port)))
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data[: len(data) // 2] if cut else data)

        self.server = QuietServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        if self.cert:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*self.cert)
            self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def _client(url: str) -> Client:
    return Client(url, "Basic c2VjcmV0", ["c2VjcmV0"], "set VSM_TEST_TOKEN")


def test_http_only_on_localhost():
    assert check_base_url("http://127.0.0.1:8080/", "--instance") == "http://127.0.0.1:8080"
    for bad in ("http://acme.service-now.com", "ftp://acme", "https://user:pw@acme.service-now.com"):
        with pytest.raises(BadOption):
            check_base_url(bad, "--instance")


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs openssl to make a certificate")
def test_a_certificate_that_does_not_verify_is_refused(tmp_path):
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert, "-days", "1",
                    "-subj", "/CN=127.0.0.1"], check=True, capture_output=True)
    with _Server({"result": []}, cert=(str(cert), str(key))) as server:
        with pytest.raises(PullError, match="TLS certificate does not verify"):
            _client(f"https://127.0.0.1:{server.port}").get(f"https://127.0.0.1:{server.port}/api/now/table/incident")
        assert server.seen == []  # no request, so no credential, reached it


def test_credentials_never_follow_a_link_or_a_redirect_to_another_site(monkeypatch):
    monkeypatch.setattr(connectors.http, "sleep", lambda s: None)
    with _Server({"result": []}, {"Location": "http://localhost:{port}/elsewhere"}, status=302) as server:
        client = _client(f"http://127.0.0.1:{server.port}")
        with pytest.raises(PullError, match="302"):
            client.get(client.url("/api/now/table/incident"))
        assert len(server.seen) == 1
        with pytest.raises(PullError, match="another site"):
            client.get(f"http://localhost:{server.port}/api/now/table/incident")
        assert len(server.seen) == 1


def test_retry_after_as_seconds_or_a_date_and_every_wait_bounded(monkeypatch):
    slept: list[float] = []
    monkeypatch.setattr(connectors.http, "sleep", slept.append)
    with _Server({"error": {"message": "slow down"}}, {"Retry-After": "86400"}, status=429) as server:
        client = _client(f"http://127.0.0.1:{server.port}")
        with pytest.raises(PullError, match="429: slow down"):
            client.get(client.url("/x"))
    assert slept == [connectors.http.MAX_WAIT_S] * connectors.http.RETRIES
    assert len(server.seen) == connectors.http.RETRIES + 1
    assert all(s["Authorization"] == "Basic c2VjcmV0" for s in server.seen)
    assert client.waits == slept
    soon = email.utils.formatdate(time.time() + 30, usegmt=True)
    script = [(429, {"Retry-After": "7"}, False), (503, {"Retry-After": soon}, False), (429, {"Retry-After": "whenever"}, False),
              (500, {"Retry-After": "90"}, False)]
    with _Server({"result": [1]}, script=script) as server:
        slept.clear()
        client = _client(f"http://127.0.0.1:{server.port}")
        assert client.get(client.url("/x")).body == {"result": [1]}
    assert slept[0] == 7 and 25 <= slept[1] <= 31
    # No usable Retry-After (not a date; or on a 500, where it is not honoured): full jitter, doubling its bound.
    assert 0 <= slept[2] <= 4 and 0 <= slept[3] <= 8 and len(slept) == 4


def test_pages_cut_short_and_5xx_share_one_bounded_budget(monkeypatch):
    slept: list[float] = []
    monkeypatch.setattr(connectors.http, "sleep", slept.append)
    script = [(503, {}, False)] * 3 + [(200, {}, True)] * 10
    with _Server({"result": []}, script=script) as server:
        client = _client(f"http://127.0.0.1:{server.port}")
        with pytest.raises(PullError, match="connection failed"):
            client.get(client.url("/x"))
    assert len(server.seen) == connectors.http.RETRIES + 1 and len(slept) == connectors.http.RETRIES
    with _Server({"result": [2]}, script=[(200, {}, True), (502, {}, False), (200, {}, True)]) as server:
        client = _client(f"http://127.0.0.1:{server.port}")
        assert client.get(client.url("/x")).body == {"result": [2]} and client.pages == 1
    assert len(server.seen) == 4


def test_a_netrc_login_never_replaces_the_credential(monkeypatch, tmp_path):
    netrc = tmp_path / "netrc"
    netrc.write_text("machine 127.0.0.1 login someone password elsewhere\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    with _Server({"result": []}) as server:
        client = _client(f"http://127.0.0.1:{server.port}")
        client.get(client.url("/x"))
    assert [s["Authorization"] for s in server.seen] == ["Basic c2VjcmV0"]


def test_retries_keep_the_pace_of_a_rate_limited_api(monkeypatch):
    slept: list[float] = []
    monkeypatch.setattr(connectors.http, "sleep", slept.append)
    # Time stands still (the client's clock too, however slow the machine), so every pause is the whole pace.
    monkeypatch.setattr(connectors.http, "time", types.SimpleNamespace(monotonic=lambda: 1_000.0))
    with _Server({"result": []}, script=[(500, {}, False), (200, {}, True)]) as server:
        client = Client(f"http://127.0.0.1:{server.port}", "Bearer t", ["t"], "set VSM_TEST_TOKEN", min_interval=6.0)
        client.get(client.url("/x"))
        client.get(client.url("/x"))
    assert len(server.seen) == 4 and slept == [6.0, 6.0, 6.0]


def test_a_certificate_bundle_that_is_not_there_is_one_line(monkeypatch, tmp_path):
    # REQUESTS_CA_BUNDLE names a company's certificate authorities; a wrong path is the user's to fix, not an internal error.
    missing = tmp_path / "company-ca.pem"
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(missing))
    client = Client("https://127.0.0.1:9", "Bearer secret-token", ["secret-token"], "set VSM_TEST_TOKEN")
    with pytest.raises(PullError) as caught:
        client.get(client.url("/x"))
    message = str(caught.value)
    assert str(missing) in message and "set REQUESTS_CA_BUNDLE to a PEM file" in message
    assert "secret-token" not in message and "\n" not in message
