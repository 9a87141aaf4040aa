"""A fake ServiceNow Table API on 127.0.0.1, for the puller's tests.

It replays the documented shapes: ``{"result": [...]}``, ``X-Total-Count``,
``Link`` with first/prev/next/last, ``sysparm_display_value=all`` as
``{"display_value", "value"}`` pairs, and the encoded-query operators the
puller sends. Faults are queued per table: a 429 with ``Retry-After``, a 503,
a connection dropped mid-page, a 401; ``dies_after`` drops every request
to a table after so many answers, as a network gone for good. Records hidden by an ACL count in
``X-Total-Count`` but are not returned, so a page comes back short while more
pages follow, as on a real instance.
"""

from __future__ import annotations

import base64
import threading
import time
import urllib.parse
from collections import defaultdict
from http.server import BaseHTTPRequestHandler

from tests.connectors.fakeserver import FakeServer

STATES = {"1": "New", "2": "In Progress", "3": "On Hold", "6": "Resolved", "7": "Closed"}
GROUPS = {"g" * 31 + "1": "Service Desk", "g" * 31 + "2": "Network", "g" * 31 + "3": "Database"}
USERS = {"u" * 31 + "1": "Abel Tuter", "u" * 31 + "2": "Beth Anglin"}
USER = "vsm.reader"
PASSWORD = "s3cr3t-P@ss:word"  # a ':' too: the basic-auth pair must not split on it
DEFINITIONS = {"d" * 31 + "1": "Incident State Duration", "d" * 31 + "2": "Assignment Group",
               "d" * 31 + "3": "Assigned to Duration", "d" * 31 + "4": "Open Incidents by Priority"}
STATE_DEF, GROUP_DEF, PERSON_DEF, OTHER_DEF = DEFINITIONS


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
        self.tables: dict[str, list[dict]] = {"incident": [], "sys_audit": [], "metric_instance": [], "sys_user_group": [],
                                              "sys_user": []}
        self.by_doc: dict[str, dict[str, list[dict]]] = {"sys_audit": defaultdict(list), "metric_instance": defaultdict(list)}
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
            self._metric(sid, STATE_DEF, "state", "1", t0, t0 + 20)
            self._metric(sid, GROUP_DEF, "assignment_group", g1, t0, t0 + 100)
            self._metric(sid, STATE_DEF, "state", "2", t0 + 20, t0 + 300)
            self._metric(sid, PERSON_DEF, "assigned_to", users[i % 2], t0 + 20, None)
            self._metric(sid, GROUP_DEF, "assignment_group", g2, t0 + 100, None)
            self._metric(sid, STATE_DEF, "state", "6", t0 + 300, None)
            self._metric(sid, OTHER_DEF, "priority", rec["priority"], t0, None)  # a decoy: no event
        # Names of one group are only in sys_user_group: no current ticket holds it in the records.
        self.tables["sys_user_group"] = [{"sys_id": g, "name": n} for g, n in GROUPS.items()]
        self.tables["sys_user"] = [{"sys_id": u, "name": n} for u, n in USERS.items()]
        self.clock = tickets * 7 + 400

    def _audit(self, doc: str, field: str, old: str | None, new: str, minutes: int) -> None:
        row = {"sys_id": sys_id("b", len(self.tables["sys_audit"])), "tablename": "incident", "documentkey": doc,
               "fieldname": field, "oldvalue": old or "", "newvalue": new, "user": "admin", "reason": "",
               "record_checkpoint": "0", "sys_created_on": stamp(minutes)}
        self.tables["sys_audit"].append(row)
        self.by_doc["sys_audit"][doc].append(row)

    def _metric(self, doc: str, definition: str, field: str, raw: str, start: int, end: int | None) -> None:
        """A metric_instance interval: ``value`` holds the display value, ``field_value`` the code."""
        label = STATES.get(raw, raw) if field == "state" else GROUPS.get(raw, USERS.get(raw, raw))
        row = {"sys_id": sys_id("c", len(self.tables["metric_instance"])), "id": doc, "table": "incident",
               "definition": definition, "field": field, "field_value": raw, "value": label, "start": stamp(start),
               "end": stamp(end) if end is not None else "", "duration": str((end - start) * 60) if end is not None else "",
               "calculation_complete": "true" if end is not None else "false"}
        self.tables["metric_instance"].append(row)
        self.by_doc["metric_instance"][doc].append(row)

    def reopen(self, index: int) -> None:
        """Ticket ``index`` goes back to In Progress, later than anything pulled."""
        rec = self.tables["incident"][index]
        self.version += 1
        self.clock += 5
        self._audit(rec["sys_id"], "state", rec["state"], "2", self.clock)
        for row in self.by_doc["metric_instance"][rec["sys_id"]]:
            if row["field"] == "state" and not row["end"]:
                row.update(end=stamp(self.clock), calculation_complete="true")
        self._metric(rec["sys_id"], STATE_DEF, "state", "2", self.clock, None)
        rec["state"] = "2"
        rec["sys_updated_on"] = stamp(self.clock)


class Fake(FakeServer):
    """The server: ``with Fake(data) as fake: fake.url``."""

    def __init__(self, data: Data, token: str | None = None) -> None:
        self.data = data
        self.faults: dict[str, list[str]] = defaultdict(list)  # table -> faults for its next requests
        self.dies_after: dict[str, int] = {}  # table -> answers left before every request to it is dropped
        self.requests: list[tuple[str, dict[str, str], str | None]] = []
        self.expected = f"Bearer {token}" if token else "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
        self.strip_link = False
        self.delay = 0.0  # seconds before each answer: time for a test to kill a pull
        self.lock = threading.Lock()
        self.cache: dict[tuple[str, str, int], list[dict]] = {}

    def answer(self, h: BaseHTTPRequestHandler, path: str, params: dict[str, str]) -> None:
        table = path.rsplit("/", 1)[-1]
        with self.lock:
            self.requests.append((table, params, h.headers.get("Authorization")))
            fault = self.faults[table].pop(0) if self.faults[table] else None
            if table in self.dies_after:
                fault = "drop" if self.dies_after[table] <= 0 else fault
                self.dies_after[table] -= 1
        if self.delay:
            time.sleep(self.delay)
        if h.headers.get("Authorization") != self.expected or fault == "401":
            return self.send(h, 401, {"error": {"message": "User Not Authenticated", "detail": "Required to provide Auth information"}})
        if fault == "429":
            return self.send(h, 429, {"error": {"message": "Too many requests"}}, {"Retry-After": "2"})
        if fault == "503":
            return self.send(h, 503, {"error": {"message": "Service unavailable"}})
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
        if fault == "drop":
            return self.drop(h, 200, {"result": result})
        headers = {"X-Total-Count": str(total)}
        if not self.strip_link:
            headers["Link"] = self._links(path, params, offset, limit, total)
        self.send(h, 200, {"result": result}, headers)

    def _links(self, path: str, params: dict[str, str], offset: int, limit: int, total: int) -> str:
        def at(o: int) -> str:
            return f"{self.url}{path}?{urllib.parse.urlencode({**params, 'sysparm_offset': o})}"

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
        order = [t[len("ORDERBY"):] for t in query.split("^") if t.startswith("ORDERBY")]
        keyed = next((t for t in terms if t.startswith(("documentkeyIN", "idIN"))), None)
        if keyed is not None:  # by document key, from the index: a full scan per batch would be slow at 100k
            rows = [r for d in keyed.split("IN", 1)[1].split(",") for r in self.data.by_doc[table].get(d, [])]
        else:
            rows = list(self.data.tables[table])
        for term in terms:
            if term == keyed:
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
        return sorted(rows, key=lambda r: tuple(r.get(f, "") for f in order))

    def _shape(self, row: dict, fields: list[str] | None, display: bool) -> dict:
        out = {}
        for f in fields or list(row):
            value = row.get(f, "")
            if not display:
                out[f] = value
                continue
            if f == "definition":
                label = DEFINITIONS.get(value, value)
            elif "table" in row and "id" in row:  # metric_instance: plain strings, but for its definition
                label = value
            else:
                label = STATES.get(value, value) if f == "state" else GROUPS.get(value, USERS.get(value, value))
            out[f] = {"display_value": label, "value": value}
        return out
