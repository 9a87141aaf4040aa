"""What the pullers' fake APIs share: a JSON server on 127.0.0.1 at a free port.

A fake subclasses :class:`FakeServer` and answers each GET in ``answer``;
``send`` writes a JSON reply and ``drop`` a reply cut short (the headers
promise more than is sent, then the connection closes), as a dropped
connection mid-page does.
"""

from __future__ import annotations

import json
import sys
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pandas as pd
import pytest

import connectors.http


class QuietServer(ThreadingHTTPServer):
    """A server that says nothing when a client closes its connection mid-reply.

    vsm stops reading at a 401 and closes; socketserver would print the reset to
    stderr, where the CLI runner (in this process) takes it for vsm's own output.
    """

    def handle_error(self, request: object, client_address: object) -> None:
        if isinstance(sys.exc_info()[1], (ConnectionResetError, BrokenPipeError)):
            return
        super().handle_error(request, client_address)  # type: ignore[arg-type]


class FakeServer:
    """``with Fake(...) as fake: fake.url``; the server runs in a thread until the block ends."""

    url: str
    answers_left: int | None = None  # answers before every request is dropped, as a network gone for good

    def gone(self) -> bool:
        """Whether this request is to be dropped (counts the answers)."""
        if self.answers_left is None:
            return False
        self.answers_left -= 1
        return self.answers_left < 0

    def answer(self, h: BaseHTTPRequestHandler, path: str, params: dict[str, str]) -> None:
        raise NotImplementedError

    def __enter__(self):  # noqa: ANN204 - returns the subclass
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body go in two writes; with Nagle on, a kept-alive connection waits for the
            # client's delayed ACK (40 ms) between them, as no real server makes it wait.
            disable_nagle_algorithm = True

            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                parts = urllib.parse.urlsplit(self.path)
                fake.answer(self, parts.path, dict(urllib.parse.parse_qsl(parts.query, keep_blank_values=True)))

        self.server = QuietServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()

    @staticmethod
    def _reply(h: BaseHTTPRequestHandler, status: int, body: object, headers: dict[str, str] | None) -> bytes:
        """Send the status and headers of a JSON reply; return its body, to be sent."""
        data = json.dumps(body).encode()
        h.send_response(status)
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            h.send_header(k, v)
        h.end_headers()
        return data

    def send(self, h: BaseHTTPRequestHandler, status: int, body: object, headers: dict[str, str] | None = None) -> None:
        h.wfile.write(self._reply(h, status, body, headers))

    def drop(self, h: BaseHTTPRequestHandler, status: int, body: object, headers: dict[str, str] | None = None) -> None:
        """Promise the whole reply in the headers, send half of it and close the connection."""
        data = self._reply(h, status, body, headers)
        h.wfile.write(data[: len(data) // 2])
        h.wfile.flush()
        h.close_connection = True


@pytest.fixture
def waits(monkeypatch):
    """The puller's sleeps, recorded instead of slept."""
    slept: list[float] = []
    monkeypatch.setattr(connectors.http, "sleep", slept.append)
    return slept


def events(log: pd.DataFrame) -> pd.DataFrame:
    """The columns two event tables are compared on, as plain objects."""
    cols = ["case_id", "activity", "timestamp", "group", "resource"]
    return pd.DataFrame({c: log[c].astype(object).where(log[c].notna(), None).to_numpy() for c in cols})
