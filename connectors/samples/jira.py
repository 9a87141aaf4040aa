"""Jira Cloud samples: the response of ``/rest/api/3/search/jql?expand=changelog``.

Two projects: SHOP (a web shop's development: Bug, Story, Task) and HELP (a
service desk: Service Request). Issues are created without a team; a triage
sets the "Team" field (``Assigned to group``), someone of the team picks the
issue up (``Picked up by assignee``), and status changes follow each type's workflow.
Injected behaviour:

* rework loops: review rejected (In Review -> In Progress) and failed tests
  (Testing -> In Progress);
* ping-pong: a team hands the issue to another team ("not our component")
  and gets it back, sometimes twice;
* waits: Blocked (a third party), Waiting for customer and Pending (service
  requests), the backlog queue before a pickup;
* reopens: Done -> Reopened, Resolved -> In Progress;
* noise: histories that change only other fields (priority, labels, Sprint,
  Rank, the assignee within the team), and resolution items beside status
  changes.

Times are written the way the REST API writes them for a user in
America/Chicago: ``2025-02-28T09:24:59.000-0600``, the offset following
daylight saving time.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from connectors.samples import render
from connectors.samples.chain import (
    DETOUR,
    PICKER,
    REQUESTER,
    RESOLVER,
    RETURN,
    SYSTEM,
    Flow,
    Step,
    compile_process,
    wait,
)
from connectors.samples.people import make_people
from connectors.samples.render import concat, js, pick
from connectors.samples.rows import Rows, actors, changed_value, interleave, with_takeovers
from connectors.samples.simulate import (
    ASSIGNED,
    ASSIGNED_TO_GROUP,
    CREATE,
    HANDOFF,
    PICKUP,
    REASSIGNED,
    STATE,
    SYSTEM_ACTOR,
    Trace,
    simulate,
)
from connectors.samples.truth import Events, Export, Meaning

SITE = "https://acme-shop.atlassian.net"
ZONE = "America/Chicago"
TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.000%z"
TEAMS = ["Backend", "Frontend", "Mobile", "Platform", "Data", "IT Support"]
# Status name -> (id, category key).
STATUSES = {
    "To Do": ("10000", "new"),
    "Waiting for support": ("10005", "new"),
    "Reopened": ("4", "new"),
    "In Progress": ("3", "indeterminate"),
    "In Review": ("10002", "indeterminate"),
    "Testing": ("10003", "indeterminate"),
    "Blocked": ("10004", "indeterminate"),
    "Waiting for customer": ("10006", "indeterminate"),
    "Pending": ("10007", "indeterminate"),
    "Done": ("10001", "done"),
    "Resolved": ("5", "done"),
    "Closed": ("6", "done"),
}
CATEGORIES = {"new": (2, "blue-gray", "To Do"), "indeterminate": (4, "yellow", "In Progress"), "done": (3, "green", "Done")}
ISSUE_TYPES = {"Bug": ("10004", "SHOP"), "Story": ("10001", "SHOP"), "Task": ("10002", "SHOP"), "Service Request": ("10010", "HELP")}
PROJECTS = {"SHOP": ("10000", "Webshop"), "HELP": ("10001", "IT Help Center")}
PRIORITIES = [("1", "Highest"), ("2", "High"), ("3", "Medium"), ("4", "Low"), ("5", "Lowest")]
LABEL_SETS = ["", "customer-facing", "regression", "customer-facing regression", "tech-debt", "needs-info"]
AUTOMATION = ("557058:f58131cb-b67d-43c7-b30d-6b58d40bd077", "Automation for Jira")
SUMMARIES = {
    "Bug": ("Checkout button unresponsive on Safari", "Cart total wrong after coupon removal", "Search returns 500 for quotes",
            "Android app crashes on login", "Order emails sent twice", "Product images not loading on slow 3G"),
    "Story": ("Customers can save items for later", "Add Apple Pay to checkout", "Show delivery estimate on product page",
              "Loyalty points in account page", "Admin can bulk-edit prices", "Guest checkout without account"),
    "Task": ("Upgrade PostgreSQL to 16", "Rotate payment gateway API keys", "Nightly export to data warehouse",
             "Clean up unused feature flags", "Renew TLS certificates", "Move cron jobs to scheduler"),
    "Service Request": ("Request access to Grafana", "New laptop for starter", "Reset my VPN password",
                        "Add me to the on-call rota", "Install IntelliJ licence", "Shared mailbox for marketing"),
}

MEANINGS = {
    "To Do": Meaning("queue", stage=0),
    "Waiting for support": Meaning("queue", stage=0),
    "Reopened": Meaning("queue", stage=0, reopen=True),
    "In Progress": Meaning("work", stage=1),
    "In Review": Meaning("work", stage=2),
    "Testing": Meaning("work", stage=3),
    "Blocked": Meaning("vendor wait"),
    "Waiting for customer": Meaning("customer wait"),
    "Pending": Meaning("vendor wait"),
    "Done": Meaning("done", stage=4, done=True),
    "Resolved": Meaning("done", stage=4, done=True),
    "Closed": Meaning("done", stage=5, done=True),
    REASSIGNED: Meaning("queue", status=False),
    ASSIGNED_TO_GROUP: Meaning("queue", status=False),
    ASSIGNED: Meaning("work", status=False),
}

# Histories that change only other fields.
PRIORITY, LABELS, SPRINT, RANK, TAKEOVER = range(5)
NOISE_COUNTS = np.array([0.6, 0.28, 0.09, 0.03])
NOISE_KINDS = np.array([0.18, 0.2, 0.22, 0.2, 0.2])
SPRINT_DAYS = 14


def _dev_steps() -> dict[str, Step]:
    return {
        "create": Step("To Do", actor=REQUESTER),
        "triage": Step(group=RESOLVER),
        "pick": Step(pick=True, actor=PICKER),
        "start": Step("In Progress"),
        "review": Step("In Review"),
        "review_fail": Step("In Progress"),
        "testing": Step("Testing"),
        "test_fail": Step("In Progress"),
        "blocked": Step("Blocked"),
        "unblock": Step("In Progress"),
        "bounce": Step(group=DETOUR),
        "bounce_pick": Step(pick=True, actor=PICKER),
        "bounce_back": Step(group=RETURN),
        "repick": Step(pick=True, actor=PICKER),
        "done": Step("Done"),
        "reopen": Step("Reopened", actor=REQUESTER),
        "end": Step(),
    }


def _bug() -> Flow:
    moves = {
        "create": [("triage", 1.0, wait("4h", 1.0))],
        "triage": [("pick", 0.85, wait("1d", 1.0)), ("bounce", 0.15, wait("6h"))],
        "bounce": [("bounce_pick", 0.6, wait("1d")), ("bounce_back", 0.4, wait("8h"))],
        "bounce_pick": [("bounce_back", 0.7, wait("4h")), ("start", 0.3, wait("2h"))],
        "bounce_back": [("repick", 1.0, wait("6h"))],
        "repick": [("start", 1.0, wait("4h"))],
        "pick": [("start", 1.0, wait("6h", 1.0))],
        "start": [("review", 0.68, wait("1.5d")), ("blocked", 0.1, wait("1d")), ("done", 0.1, wait("1d")), ("bounce", 0.12, wait("1d"))],
        "review": [("done", 0.7, wait("8h")), ("review_fail", 0.3, wait("6h"))],
        "review_fail": [("review", 1.0, wait("1d"))],
        "blocked": [("unblock", 1.0, wait("4d", 0.7))],
        "unblock": [("review", 0.85, wait("1d")), ("done", 0.15, wait("1d"))],
        "done": [("end", 0.88, wait("1s")), ("reopen", 0.12, wait("3d", 1.0))],
        "reopen": [("start", 1.0, wait("1d"))],
    }
    return Flow("Bug", 0.3, "create", _dev_steps(), moves, resolvers=("Backend", "Frontend", "Mobile"),
                detours=("Backend", "Frontend", "Mobile", "Platform"))


def _story() -> Flow:
    moves = {
        "create": [("triage", 1.0, wait("1d", 1.0))],
        "triage": [("pick", 1.0, wait("5d", 0.8))],
        "pick": [("start", 1.0, wait("1d"))],
        "start": [("review", 0.75, wait("3d", 0.7)), ("blocked", 0.12, wait("2d")), ("bounce", 0.13, wait("2d"))],
        "review": [("testing", 0.7, wait("1d")), ("review_fail", 0.3, wait("1d"))],
        "review_fail": [("review", 1.0, wait("2d"))],
        "testing": [("done", 0.72, wait("2d")), ("test_fail", 0.28, wait("1.5d"))],
        "test_fail": [("review", 1.0, wait("2d"))],
        "blocked": [("unblock", 1.0, wait("5d", 0.7))],
        "unblock": [("review", 1.0, wait("2d"))],
        "bounce": [("bounce_pick", 1.0, wait("1d"))],
        "bounce_pick": [("bounce_back", 1.0, wait("2d"))],
        "bounce_back": [("repick", 1.0, wait("1d"))],
        "repick": [("review", 0.7, wait("2d")), ("bounce", 0.3, wait("2d"))],
        "done": [("end", 0.92, wait("1s")), ("reopen", 0.08, wait("5d", 1.0))],
        "reopen": [("start", 1.0, wait("2d"))],
    }
    return Flow("Story", 0.3, "create", _dev_steps(), moves, resolvers=("Backend", "Frontend", "Mobile", "Platform", "Data"),
                detours=("Backend", "Frontend", "Mobile", "Platform", "Data"))


def _task() -> Flow:
    moves = {
        "create": [("triage", 1.0, wait("6h", 1.0))],
        "triage": [("pick", 1.0, wait("2d", 1.0))],
        "pick": [("start", 1.0, wait("1d"))],
        "start": [("done", 0.85, wait("2d", 0.9)), ("blocked", 0.15, wait("1d"))],
        "blocked": [("unblock", 1.0, wait("3d"))],
        "unblock": [("done", 1.0, wait("1d"))],
        "done": [("end", 0.95, wait("1s")), ("reopen", 0.05, wait("2d"))],
        "reopen": [("start", 1.0, wait("1d"))],
    }
    return Flow("Task", 0.2, "create", _dev_steps(), moves, resolvers=("Platform", "Data"), detours=("Platform", "Data", "Backend"))


def _service_request() -> Flow:
    steps = {
        "create": Step("Waiting for support", actor=REQUESTER),
        "triage": Step(group="IT Support", actor=SYSTEM),
        "pick": Step(pick=True, actor=PICKER),
        "start": Step("In Progress"),
        "wait_customer": Step("Waiting for customer"),
        "reply": Step("In Progress", actor=REQUESTER),
        "pending": Step("Pending"),
        "unpend": Step("In Progress"),
        "escalate": Step(group=DETOUR),
        "esc_pick": Step(pick=True, actor=PICKER),
        "esc_back": Step(group=RETURN),
        "esc_repick": Step(pick=True, actor=PICKER),
        "resolve": Step("Resolved"),
        "reopen": Step("In Progress", actor=REQUESTER),
        "close": Step("Closed", actor=SYSTEM),
    }
    moves = {
        "create": [("triage", 1.0, wait("2m", 0.5))],
        "triage": [("pick", 1.0, wait("20m", 1.0))],
        "pick": [("start", 1.0, wait("5m"))],
        "start": [("resolve", 0.62, wait("25m", 1.0)), ("wait_customer", 0.2, wait("15m")), ("pending", 0.1, wait("1h")), ("escalate", 0.08, wait("1h"))],
        "wait_customer": [("reply", 1.0, wait("8h", 1.1))],
        "reply": [("resolve", 0.8, wait("30m")), ("wait_customer", 0.2, wait("20m"))],
        "pending": [("unpend", 1.0, wait("2d", 0.8))],
        "unpend": [("resolve", 1.0, wait("1h"))],
        "escalate": [("esc_pick", 1.0, wait("4h"))],
        "esc_pick": [("esc_back", 1.0, wait("1d"))],
        "esc_back": [("esc_repick", 1.0, wait("30m"))],
        "esc_repick": [("resolve", 1.0, wait("1h"))],
        "resolve": [("close", 0.85, wait("1s", 0.0, fixed="2d", jitter="30m")), ("reopen", 0.15, wait("6h", 1.0))],
        "reopen": [("resolve", 0.8, wait("1h")), ("wait_customer", 0.2, wait("30m"))],
    }
    return Flow("Service Request", 0.2, "create", steps, moves, resolvers=("IT Support",), detours=("Platform", "Backend"))


def flows() -> list[Flow]:
    """Return the flows of the four issue types."""
    return [_bug(), _story(), _task(), _service_request()]


# --------------------------------------------------------------------------
# The export


@dataclass
class Issues:
    """A simulated Jira site: the trace, its changelog histories and item rows."""

    trace: Trace
    rows: Rows
    help_desk: np.ndarray  # per ticket: in project HELP (else SHOP)
    number: np.ndarray  # per ticket: the number in its project's keys
    assignee: np.ndarray  # per row, after takeovers
    actor: np.ndarray  # per row: who made an event's update (-1 for noise rows)
    kind: np.ndarray  # per row noise kind (-1 event)
    priority: np.ndarray  # per row, index into PRIORITIES
    labels: np.ndarray  # per row, index into LABEL_SETS
    sprint: np.ndarray  # per row, sprint number (0: none)
    summary: np.ndarray  # per ticket


def simulate_issues(tickets: int, seed: int) -> Issues:
    """Run the Jira process and lay out its histories."""
    process = compile_process(flows(), labels=list(STATUSES), groups=list(TEAMS))
    people = make_people(process.groups, tickets, np.random.default_rng([seed, 1]))
    rng = np.random.default_rng([seed, 2])
    trace = simulate(process, people, tickets, rng)
    n = tickets
    ttype = trace.ticket_type
    names = process.type_names
    project = np.array([ISSUE_TYPES[t][1] == "HELP" for t in names])[ttype]
    numbers = np.empty(n, np.int64)
    for p in (False, True):
        at = np.flatnonzero(project == p)
        numbers[at] = np.arange(1, len(at) + 1)
    summary = (rng.random(n) * 6).astype(np.int64)

    rows = interleave(trace, rng, NOISE_COUNTS, NOISE_KINDS)
    m = len(rows)
    u = rng.random((m, 3))
    kind = rows.kind.astype(np.int64)
    help_desk = project[rows.ticket]
    # Service requests are not in sprints and not ranked: their noise is priority, labels or a takeover.
    kind = np.where(help_desk & ((kind == SPRINT) | (kind == RANK)), PRIORITY, kind)
    assignee, takeover = with_takeovers(trace, rows, kind == TAKEOVER, u[:, 0])
    kind = np.where((kind == TAKEOVER) & ~takeover, RANK, kind)
    kind = np.where(help_desk & (kind == RANK), PRIORITY, kind)
    kind = np.where(rows.is_event, -1, kind)
    priority0 = rng.choice(5, size=n, p=[0.05, 0.2, 0.5, 0.2, 0.05])
    priority = changed_value(rows, priority0, kind == PRIORITY, 5, u[:, 1])
    labels = changed_value(rows, np.zeros(n, np.int64), kind == LABELS, len(LABEL_SETS), u[:, 2])
    sprint_no = (rows.time - rows.time.min()) // (SPRINT_DAYS * 86_400) + 20
    sprint = rows.carry(rows.first | (kind == SPRINT), np.where(kind == SPRINT, sprint_no, 0))
    # Moving an issue to the sprint it is already in changes nothing: rank it instead.
    unchanged = (kind == SPRINT) & (sprint == sprint[np.maximum(np.arange(m) - 1, 0)])
    kind = np.where(unchanged, RANK, kind)
    sprint = rows.carry(rows.first | (kind == SPRINT), np.where(kind == SPRINT, sprint_no, 0))
    return Issues(trace, rows, project, numbers, assignee, actors(trace, rows, assignee), kind.astype(np.int8), priority, labels,
                  sprint, summary)


def _account(i: int, salt: str) -> str:
    digest = hashlib.sha1(f"{salt}:{i}".encode()).hexdigest()
    return f"712020:{digest[:8]}-{digest[8:12]}-{digest[12:16]}-{digest[16:20]}-{digest[20:32]}"


def keys(issues: Issues) -> pa.Array:
    """Return each issue's key, e.g. SHOP-12."""
    return concat(pick(issues.help_desk.astype(np.int64), ["SHOP-", "HELP-"]), render.numbers(issues.number))


def _people_json(trace: Trace, seed: int) -> tuple[list[str], list[str]]:
    """Return each person's user object as JSON (plus the automation app and null), and their display names."""
    people = trace.people
    names = [*people.names, AUTOMATION[1]]
    out = []
    for i, name in enumerate(people.names):
        account = _account(i, f"jira{seed}")
        kind = "atlassian" if i < people.agents else "customer"
        out.append(js({"accountId": account, "displayName": name, "active": True, "accountType": kind}))
    out.append(js({"accountId": AUTOMATION[0], "displayName": AUTOMATION[1], "active": True, "accountType": "app"}))
    out.append("null")
    return out, names


def _field_parts(field: str, fieldtype: str, field_id: str, values: list[tuple[str | None, str | None]]) -> tuple[str, list[str], list[str]]:
    """Return an item's head and the from/to texts of each value (the last value is 'none')."""
    head = f'{{"field":{js(field)},"fieldtype":{js(fieldtype)},"fieldId":{js(field_id)},'
    frm = [f'"from":{js(v)},"fromString":{js(s)}' for v, s in values]
    to = [f'"to":{js(v)},"toString":{js(s)}' for v, s in values]
    return head, frm, to


ITEM_KINDS = ("status", "resolution", "assignee", "team", "priority", "labels", "sprint", "rank")
TICKET_CHUNK = 20_000


def write(issues: Issues, path: str | os.PathLike[str], seed: int) -> tuple[int, int]:
    """Write the search response, a chunk of issues at a time; return (issues, changelog items)."""
    trace, rows = issues.trace, issues.rows
    process, people = trace.process, trace.people
    labels = process.labels
    n = trace.tickets
    rec = rows.record
    person_json, _ = _people_json(trace, seed)
    system_code = len(people.names)
    null_person = system_code + 1
    offsets = render.zone_offsets(rows.time, ZONE)

    def stamps(at: np.ndarray) -> pa.Array:
        return render.timestamps(rows.time[at], TIME_FORMAT, offset_minutes=offsets[at])

    # Histories: every row but the creation records.
    hist = np.flatnonzero(~(rows.is_event & (trace.kind[rec] == CREATE)))
    h_id = np.empty(len(hist), np.int64)
    h_id[np.argsort(rows.time[hist], kind="stable")] = 10_000 + np.arange(len(hist))
    ev_kind = np.where(rows.is_event[hist], trace.kind[rec[hist]], -1)
    noise = issues.kind[hist].astype(np.int64)
    prev = hist - 1  # the row before a history is always of the same ticket
    state_now = trace.state[rec[hist]]
    state_before = trace.state[rec[prev]]
    is_done = np.array([STATUSES[x][1] == "done" if x in STATUSES else False for x in labels])
    assignee_before = issues.assignee[prev]
    none_person = len(people.names)
    none_team = len(process.groups)
    g_now, g_before = trace.group[rec[hist]], trace.group[rec[prev]]

    # Items: (history, position in it, kind, from code, to code), in file order.
    h_all = np.ones(len(hist), bool)
    specs = [
        (ev_kind == STATE, 0, "status", state_before, state_now),
        ((ev_kind == STATE) & is_done[state_now] & ~is_done[state_before], 1, "resolution", 1, 0),
        ((ev_kind == STATE) & ~is_done[state_now] & is_done[state_before], 1, "resolution", 0, 1),
        ((ev_kind == HANDOFF) & (assignee_before >= 0), 0, "assignee", assignee_before, none_person),
        (ev_kind == HANDOFF, 1, "team", np.where(g_before >= 0, g_before, none_team), g_now),
        (ev_kind == PICKUP, 0, "assignee", none_person, issues.assignee[hist]),
        (noise == TAKEOVER, 0, "assignee", assignee_before, issues.assignee[hist]),
        (noise == PRIORITY, 0, "priority", issues.priority[prev], issues.priority[hist]),
        (noise == LABELS, 0, "labels", issues.labels[prev], issues.labels[hist]),
        (noise == SPRINT, 0, "sprint", issues.sprint[prev], issues.sprint[hist]),
        (noise == RANK, 0, "rank", 0, 1 + h_id % 2),
    ]
    parts_ = [np.flatnonzero(mask & h_all) for mask, *_ in specs]
    item_hist = np.concatenate(parts_)
    item_pos = np.concatenate([np.full(len(at), spec[1]) for at, spec in zip(parts_, specs, strict=True)])
    item_kind = np.concatenate([np.full(len(at), ITEM_KINDS.index(spec[2])) for at, spec in zip(parts_, specs, strict=True)])
    item_from = np.concatenate([np.broadcast_to(spec[3], len(hist))[at] for at, spec in zip(parts_, specs, strict=True)])
    item_to = np.concatenate([np.broadcast_to(spec[4], len(hist))[at] for at, spec in zip(parts_, specs, strict=True)])
    order = np.lexsort((item_pos, item_hist))
    item_hist, item_kind, item_from, item_to = item_hist[order], item_kind[order], item_from[order], item_to[order]
    item_offsets = np.searchsorted(item_hist, np.arange(len(hist) + 1))
    hist_offsets = np.searchsorted(rows.ticket[hist], np.arange(n + 1))

    status_values = [(STATUSES[x][0], x) if x in STATUSES else (None, None) for x in labels]
    person_values = [(_account(i, f"jira{seed}"), name) for i, name in enumerate(people.names)] + [(None, None)]
    team_values = [(str(_team_id(t)), t) for t in process.groups] + [(None, None)]
    sprint_values = [("", "")] + [(str(k), f"SHOP Sprint {k}") for k in range(1, int(issues.sprint.max()) + 2)]
    templates = {
        "status": _field_parts("status", "jira", "status", status_values),
        "resolution": _field_parts("resolution", "jira", "resolution", [("10000", "Done"), (None, None)]),
        "assignee": _field_parts("assignee", "jira", "assignee", person_values),
        "team": _field_parts("Team", "custom", "customfield_10001", team_values),
        "priority": _field_parts("priority", "jira", "priority", PRIORITIES),
        "labels": _field_parts("labels", "jira", "labels", [(None, x) for x in LABEL_SETS]),
        "sprint": _field_parts("Sprint", "custom", "customfield_10020", sprint_values),
        "rank": _field_parts("Rank", "custom", "customfield_10019", [("", ""), ("", "Ranked higher"), ("", "Ranked lower")]),
    }

    def item_builder(kind: str, base: int):  # type: ignore[no-untyped-def]
        head, frm, to = templates[kind]
        return lambda at: concat(head, pick(item_from[base + at], frm), ",", pick(item_to[base + at], to), "}")

    # Who made each history: events as simulated; other fields are edited by the assignee,
    # or by someone of the team (of the team-to-be before triage).
    actor = issues.actor[hist]
    team = np.where(g_now >= 0, g_now, trace.resolver[rows.ticket[hist]])
    noise_author = np.where(issues.assignee[hist] >= 0, issues.assignee[hist], people.member(team, (h_id % 97) / 97))
    author = np.where(rows.is_event[hist], np.where(actor == SYSTEM_ACTOR, system_code, actor), noise_author)

    # The issue as it stands at the export.
    first_row = np.flatnonzero(rows.first)
    last_row = np.r_[first_row[1:] - 1, len(rows) - 1]
    final_state = trace.state[rec[last_row]]
    row_state = trace.state[rec]
    row_state_before = row_state[np.maximum(np.arange(len(rows)) - 1, 0)]
    done_rows = rows.is_event & (trace.kind[rec] == STATE) & is_done[row_state] & ~is_done[row_state_before]
    resolved_row = rows.carry(rows.first | done_rows, np.where(done_rows, np.arange(len(rows)), -1))[last_row]
    resolution_row = np.where(is_done[final_state] & (resolved_row >= 0), resolved_row, -1)
    final_assignee = issues.assignee[last_row]
    final_group = trace.group[rec[last_row]]
    ttype = trace.ticket_type.astype(np.int64)
    vocab = _field_vocabulary(process.type_names, process.groups, labels)

    def issues_text(t0: int, t1: int) -> pa.Array:
        h0, h1 = int(hist_offsets[t0]), int(hist_offsets[t1])
        i0, i1 = int(item_offsets[h0]), int(item_offsets[h1])
        items = render.by_template(item_kind[i0:i1], [item_builder(k, i0) for k in ITEM_KINDS])
        h = np.arange(h0, h1)
        history_json = concat(
            '{"id":"', render.numbers(h_id[h]), '","author":', pick(author[h], person_json), ',"created":"',
            stamps(hist[h]), '","items":[', render.join_groups(items, item_offsets[h0 : h1 + 1] - i0), "]}",
        )
        t = np.arange(t0, t1)
        counts = render.numbers(np.diff(hist_offsets[t0 : t1 + 1]))
        resolution = resolution_row[t]
        fields = concat(
            '{"summary":', pick(ttype[t] * 6 + issues.summary[t], vocab["summary"]),
            ',"issuetype":', pick(ttype[t], vocab["issuetype"]),
            ',"project":', pick(ttype[t], vocab["project"]),
            ',"created":"', stamps(first_row[t]),
            '","updated":"', stamps(last_row[t]),
            '","status":', pick(final_state[t], vocab["status"]),
            ',"priority":', pick(issues.priority[last_row[t]], vocab["priority"]),
            ',"assignee":', pick(np.where(final_assignee[t] >= 0, final_assignee[t], null_person), person_json),
            ',"reporter":', pick(trace.requester[t], person_json),
            ',"creator":', pick(trace.requester[t], person_json),
            ',"resolution":', pick(np.where(resolution >= 0, 0, 1), vocab["resolution"]),
            ',"resolutiondate":', _optional_string(stamps(np.maximum(resolution, 0)), resolution >= 0),
            ',"labels":', pick(issues.labels[last_row[t]], vocab["labels"]),
            ',"customfield_10001":', pick(np.where(final_group[t] >= 0, final_group[t], len(process.groups)), vocab["team"]),
            "}",
        )
        issue_no = render.numbers(t + 10_100)
        return concat(
            pick((t > 0).astype(np.int64), ["", ","]),
            '{"expand":"operations,versionedRepresentations,editmeta,changelog,renderedFields","id":"', issue_no,
            '","self":"', concat(f"{SITE}/rest/api/3/issue/", issue_no),
            '","key":"', keys(issues).slice(t0, t1 - t0),
            '","changelog":{"startAt":0,"maxResults":', counts, ',"total":', counts,
            ',"histories":[', render.join_groups(history_json, hist_offsets[t0 : t1 + 1] - h0), ']},"fields":', fields, "}",
        )

    head = f'{{"expand":"schema,names","startAt":0,"maxResults":{n},"total":{n},"issues":['
    chunks = (issues_text(t0, min(t0 + TICKET_CHUNK, n)) for t0 in range(0, n, TICKET_CHUNK))
    render.write_text_parts(path, [head, *chunks, "]}\n"])
    return n, len(item_hist)


def _field_vocabulary(type_names: list[str], groups: list[str], labels: list[str]) -> dict[str, list[str]]:
    """Return the JSON of each value an issue's fields can take, by field."""
    projects = [ISSUE_TYPES[t][1] for t in type_names]
    return {
        "summary": [js(x) for t in type_names for x in SUMMARIES[t]],
        "issuetype": [js({"self": f"{SITE}/rest/api/3/issuetype/{ISSUE_TYPES[t][0]}", "id": ISSUE_TYPES[t][0], "name": t,
                          "subtask": False, "hierarchyLevel": 0}) for t in type_names],
        "project": [js({"self": f"{SITE}/rest/api/3/project/{PROJECTS[p][0]}", "id": PROJECTS[p][0], "key": p,
                        "name": PROJECTS[p][1], "projectTypeKey": "service_desk" if p == "HELP" else "software"}) for p in projects],
        "status": [
            js({"self": f"{SITE}/rest/api/3/status/{STATUSES[x][0]}", "name": x, "id": STATUSES[x][0],
                "statusCategory": {"id": CATEGORIES[STATUSES[x][1]][0], "key": STATUSES[x][1],
                                   "colorName": CATEGORIES[STATUSES[x][1]][1], "name": CATEGORIES[STATUSES[x][1]][2]}})
            if x in STATUSES else "null" for x in labels
        ],
        "priority": [js({"self": f"{SITE}/rest/api/3/priority/{i}", "name": name, "id": i}) for i, name in PRIORITIES],
        "resolution": [js({"self": f"{SITE}/rest/api/3/resolution/10000", "id": "10000", "name": "Done"}), "null"],
        "labels": [js(x.split()) for x in LABEL_SETS],
        "team": [js({"id": str(_team_id(g)), "name": g, "title": g, "isShared": True}) for g in groups] + ["null"],
    }


def _optional_string(text: pa.Array, present: np.ndarray) -> pa.Array:
    """Return each text as a JSON string, or null where not ``present``."""
    return pc.if_else(pa.array(present), concat('"', text, '"'), pa.scalar("null"))


def _team_id(team: str) -> str:
    digest = hashlib.sha1(team.encode()).hexdigest()
    return f"{digest[:8]}-{digest[8:12]}-{digest[12:16]}-{digest[16:20]}-{digest[20:32]}"


def events(issues: Issues) -> Events:
    """Return the events the Jira changelog gives, as the connector conventions define them."""
    trace = issues.trace
    at = np.flatnonzero(issues.rows.is_event)
    system_code = len(trace.people.names)
    actor = np.where(issues.actor[at] == SYSTEM_ACTOR, system_code, issues.actor[at])
    resource = np.where(trace.kind == PICKUP, issues.assignee[at], actor)
    resource = np.where(trace.kind == CREATE, trace.requester[trace.ticket], resource)
    return Events(
        case=trace.ticket.astype(np.int64),
        time=trace.time,
        label=trace.label,
        group=trace.group,
        resource=resource,
        labels=trace.process.labels,
        groups=trace.process.groups,
        resources=[*trace.people.names, AUTOMATION[1]],
        cases=trace.tickets,
        meanings=MEANINGS,
    )


def sample(tickets: int, seed: int, path: str | os.PathLike[str]) -> Export:
    """Write a search-with-changelog export; return what the truth needs."""
    issues = simulate_issues(tickets, seed)
    n_issues, n_items = write(issues, path, seed)
    notes = [
        "Jira Cloud search response (/rest/api/3/search/jql?expand=changelog) with every issue on one page; "
        "times as the API writes them for a user in America/Chicago (offset -0600, -0500 after 9 March 2025)",
        "an issue's first event is its first status at fields.created, by its reporter, with no team (issues are created "
        "without one); status items give events named by toString, by the history's author; a 'Team' item gives "
        "Reassigned ('Assigned to group' for the first team), by the author; an assignee item from nobody gives 'Picked up by assignee', "
        "whose resource is the new assignee",
        "folded rows are items of other fields: priority, labels, Sprint, Rank, the assignee within the team, resolution "
        "items beside status changes, and the assignee cleared beside each team change",
        "'Automation for Jira' (an app) triages service requests and closes resolved ones",
    ]
    return Export(n_issues + n_items, "changelog items plus one creation record per issue (the connector's rows)",
                  events(issues), lambda: keys(issues).to_pylist(), issues.trace.ticket_type,
                  issues.trace.process.type_names, notes, {"histories": int(len(issues.rows) - tickets)})
