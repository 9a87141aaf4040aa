"""A fake ServiceNow Table API on 127.0.0.1, for the puller's tests.

It replays the documented shapes: ``{"result": [...]}``, ``X-Total-Count``,
``Link`` with first/prev/next/last, ``sysparm_display_value=all`` as
``{"display_value", "value"}`` pairs, and the encoded-query operators the
puller sends. Faults are queued per table: a 429 with ``Retry-After``, a 503,
a connection dropped mid-page, a 401. Records hidden by an ACL count in
``X-Total-Count`` but are not returned, so a page comes back short while more
pages follow, as on a real instance.
"""

from __future__ import annotations

import base64
import json
import threading
import time
import urllib.parse
from collections import defaultdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

STATES = {"1": "New", "2": "In Progress", "3": "On Hold", "6": "Resolved", "7": "Closed"}
GROUPS = {"g" * 31 + "1": "Service Desk", "g" * 31 + "2": "Network", "g" * 31 + "3": "Database"}
USERS = {"u" * 31 + "1": "Abel Tuter", "u" * 31 + "2": "Beth Anglin"}
USER = "vsm.reader"
PASSWORD = "s3cr3t-P@ss:word"  # a ':' too: the basic-auth pair must not split on it


def sys_id(kind: str, i: int) -> str:
    return f"{kind}{i:031x}"


def stamp(minutes: int) -> str:
    """'yyyy-MM-dd HH:mm:ss' UTC, minutes after 2025-01-06 08:00."""
    import datetime as dt

    t = dt.datetime(2025, 1, 6, 8, 0) + dt.timedelta(minutes=minutes)
    return t.strftime("%Y-%m-%d %H:%M:%S")


class Data:
    """Incidents and their sys_audit rows, changeable between pulls."""

    def __init__(self, tickets: int) -> None:
        self.tables: dict[str, list[dict]] = {"incident": [], "sys_audit": [], "sys_user_group": [], "sys_user": []}
        self.audit_by_doc: dict[str, list[dict]] = defaultdict(list)
        self.hidden: set[str] = set()
        self.version = 0  # changes with the data: the fake's cached query results go stale
        self.clock = 0
        groups, users = list(GROUPS), list(USERS)
        for i in range(tickets):
            sid = sys_id("a", i)
            t0 = i * 7
            g1, g2 = groups[i % 3], groups[(i + 1) % 3]
            rec = {"sys_id": sid, "number": f"INC{i + 1:07d}", "state": "6", "assignment_group": g2,
                   "assigned_to": users[i % 2], "opened_at": stamp(t0), "sys_created_on": stamp(t0),
                   "sys_updated_on": stamp(t0 + 300), "priority": str(1 + i % 4), "category": "network" if i % 2 else "software"}
            self.tables["incident"].append(rec)
            self._audit(sid, "state", None, "1", t0)
            self._audit(sid, "assignment_group", None, g1, t0)
            self._audit(sid, "state", "1", "2", t0 + 20)
            self._audit(sid, "assigned_to", None, users[i % 2], t0 + 20)
            self._audit(sid, "assignment_group", g1, g2, t0 + 100)
            self._audit(sid, "state", "2", "6", t0 + 300)
        # Names of one group are only in sys_user_group: no current ticket holds it in the records.
        self.tables["sys_user_group"] = [{"sys_id": g, "name": n} for g, n in GROUPS.items()]
        self.tables["sys_user"] = [{"sys_id": u, "name": n} for u, n in USERS.items()]
        self.clock = tickets * 7 + 400

    def _audit(self, doc: str, field: str, old: str | None, new: str, minutes: int) -> None:
        row = {"sys_id": sys_id("b", len(self.tables["sys_audit"])), "tablename": "incident", "documentkey": doc,
               "fieldname": field, "oldvalue": old or "", "newvalue": new, "user": "admin", "reason": "",
               "record_checkpoint": "0", "sys_created_on": stamp(minutes)}
        self.tables["sys_audit"].append(row)
        self.audit_by_doc[doc].append(row)

    def reopen(self, index: int) -> None:
        """Ticket ``index`` goes back to In Progress, later than anything pulled."""
        rec = self.tables["incident"][index]
        self.version += 1
        self.clock += 5
        self._audit(rec["sys_id"], "state", rec["state"], "2", self.clock)
        rec["state"] = "2"
        rec["sys_updated_on"] = stamp(self.clock)


class Fake:
    """The server: ``with Fake(data) as fake: fake.url``."""

    def __init__(self, data: Data, token: str | None = None) -> None:
        self.data = data
        self.faults: dict[str, list[str]] = defaultdict(list)  # table -> faults for its next requests
        self.requests: list[tuple[str, dict[str, str], str | None]] = []
        self.expected = f"Bearer {token}" if token else "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
        self.strip_link = False
        self.delay = 0.0  # seconds before each answer: time for a test to kill a pull
        self.lock = threading.Lock()
        self.cache: dict[tuple[str, str, int], list[dict]] = {}

    def __enter__(self) -> Fake:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                fake.handle(self)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()

    def _send(self, h: BaseHTTPRequestHandler, status: int, body: object, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(body).encode()
        h.send_response(status)
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            h.send_header(k, v)
        h.end_headers()
        h.wfile.write(data)

    def handle(self, h: BaseHTTPRequestHandler) -> None:
        parts = urllib.parse.urlsplit(h.path)
        params = dict(urllib.parse.parse_qsl(parts.query, keep_blank_values=True))
        table = parts.path.rsplit("/", 1)[-1]
        with self.lock:
            self.requests.append((table, params, h.headers.get("Authorization")))
            fault = self.faults[table].pop(0) if self.faults[table] else None
        if self.delay:
            time.sleep(self.delay)
        if h.headers.get("Authorization") != self.expected or fault == "401":
            return self._send(h, 401, {"error": {"message": "User Not Authenticated", "detail": "Required to provide Auth information"}})
        if fault == "429":
            return self._send(h, 429, {"error": {"message": "Too many requests"}}, {"Retry-After": "2"})
        if fault == "503":
            return self._send(h, 503, {"error": {"message": "Service unavailable"}})
        key = (table, params.get("sysparm_query", ""), self.data.version)
        rows = self.cache.get(key)
        if rows is None:  # pages of one query share its result, as a database's cursor would
            rows = self.cache[key] = self._query(table, key[1])
        total = len(rows)
        limit, offset = int(params.get("sysparm_limit", 10000)), int(params.get("sysparm_offset", 0))
        page = [r for r in rows[offset:offset + limit] if r["sys_id"] not in self.data.hidden]
        fields = params.get("sysparm_fields", "").split(",") if params.get("sysparm_fields") else None
        display = params.get("sysparm_display_value") == "all"
        result = [self._shape(r, fields, display) for r in page]
        headers = {"X-Total-Count": str(total)}
        if not self.strip_link:
            headers["Link"] = self._links(parts, params, offset, limit, total)
        if fault == "drop":  # headers say more than is sent, then the connection closes
            data = json.dumps({"result": result}).encode()
            h.send_response(200)
            h.send_header("Content-Type", "application/json")
            h.send_header("Content-Length", str(len(data)))
            h.end_headers()
            h.wfile.write(data[: len(data) // 2])
            h.wfile.flush()
            h.close_connection = True
            return
        self._send(h, 200, {"result": result}, headers)

    def _links(self, parts: urllib.parse.SplitResult, params: dict[str, str], offset: int, limit: int, total: int) -> str:
        def at(o: int) -> str:
            return f"{self.url}{parts.path}?{urllib.parse.urlencode({**params, 'sysparm_offset': o})}"

        last = max(0, (total - 1) // limit * limit)
        links = [f'<{at(0)}>;rel="first"']
        if offset > 0:
            links.append(f'<{at(max(0, offset - limit))}>;rel="prev"')
        if offset + limit < total:
            links.append(f'<{at(offset + limit)}>;rel="next"')
        links.append(f'<{at(last)}>;rel="last"')
        return ",".join(links)

    def _query(self, table: str, query: str) -> list[dict]:
        terms = [t for t in query.split("^") if t and not t.startswith("ORDERBY")]
        docs = next((t[len("documentkeyIN"):].split(",") for t in terms if t.startswith("documentkeyIN")), None)
        rows = [r for d in docs for r in self.data.audit_by_doc.get(d, [])] if docs is not None else list(self.data.tables[table])
        for term in terms:
            if term.startswith("documentkeyIN"):
                continue
            if ">=" in term:
                field, value = term.split(">=", 1)
                rows = [r for r in rows if r.get(field, "") >= value]
            elif "IN" in term and "=" not in term:
                field, values = term.split("IN", 1)
                allowed = set(values.split(","))
                rows = [r for r in rows if r.get(field) in allowed]
            elif "=" in term:
                field, value = term.split("=", 1)
                rows = [r for r in rows if r.get(field) == value]
        key = "sys_updated_on" if table == "incident" else "sys_created_on"
        return sorted(rows, key=lambda r: (r.get(key, ""), r["sys_id"]))

    def _shape(self, row: dict, fields: list[str] | None, display: bool) -> dict:
        out = {}
        for f in fields or list(row):
            value = row.get(f, "")
            if not display:
                out[f] = value
                continue
            label = STATES.get(value, value) if f == "state" else GROUPS.get(value, USERS.get(value, value))
            out[f] = {"display_value": label, "value": value}
        return out
