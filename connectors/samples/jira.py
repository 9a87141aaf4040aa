"""Jira Cloud samples: the response of ``/rest/api/3/search/jql?expand=changelog``.

Two projects: SHOP (a web shop's development: Bug, Story, Task) and HELP (a
service desk: Service Request). Issues are created without a team; a triage
sets the "Team" field (``Assigned to group``), someone of the team picks the
issue up (``Assigned``), and status changes follow each type's workflow.
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
    "Reopened": Meaning("queue", stage=0),
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


def write(issues: Issues, path: str | os.PathLike[str], seed: int) -> tuple[int, int]:
    """Write the search response; return (issues, changelog items)."""
    trace, rows = issues.trace, issues.rows
    process, people = trace.process, trace.people
    labels = process.labels
    n = trace.tickets
    rec = rows.record
    person_json, _ = _people_json(trace, seed)
    system_code = len(people.names)
    null_person = system_code + 1
    offsets = render.zone_offsets(rows.time, ZONE)
    stamp = render.timestamps(rows.time, TIME_FORMAT, offset_minutes=offsets)

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
    resolution_set = (ev_kind == STATE) & is_done[state_now] & ~is_done[state_before]
    resolution_clear = (ev_kind == STATE) & ~is_done[state_now] & is_done[state_before]
    assignee_before = issues.assignee[prev]
    clear_first = (ev_kind == HANDOFF) & (assignee_before >= 0)

    # Items, as (history, kind, from code, to code); kinds index ITEM_PARTS below.
    status_values = [(STATUSES[x][0], x) if x in STATUSES else (None, None) for x in labels]
    person_values = [(_account(i, f"jira{seed}"), name) for i, name in enumerate(people.names)] + [(None, None)]
    team_values = [(str(_team_id(t)), t) for t in process.groups] + [(None, None)]
    sprint_values = [("", "")] + [(str(k), f"SHOP Sprint {k}") for k in range(1, int(issues.sprint.max()) + 2)]
    parts = {
        "status": _field_parts("status", "jira", "status", status_values),
        "resolution": _field_parts("resolution", "jira", "resolution", [("10000", "Done"), (None, None)]),
        "assignee": _field_parts("assignee", "jira", "assignee", person_values),
        "team": _field_parts("Team", "custom", "customfield_10001", team_values),
        "priority": _field_parts("priority", "jira", "priority", PRIORITIES),
        "labels": _field_parts("labels", "jira", "labels", [(None, s) for s in LABEL_SETS]),
        "sprint": _field_parts("Sprint", "custom", "customfield_10020", sprint_values),
        "rank": _field_parts("Rank", "custom", "customfield_10019", [("", ""), ("", "Ranked higher"), ("", "Ranked lower")]),
    }
    none_person = len(people.names)
    none_team = len(process.groups)
    g_now, g_before = trace.group[rec[hist]], trace.group[rec[prev]]
    items: list[tuple[np.ndarray, str, np.ndarray, np.ndarray, int]] = []  # (history idx, kind, from, to, position)
    h = np.arange(len(hist))

    def add(mask: np.ndarray, kind: str, frm: np.ndarray, to: np.ndarray, position: int) -> None:
        at = np.flatnonzero(mask)
        items.append((at, kind, np.asarray(frm)[at], np.asarray(to)[at], position))

    add(ev_kind == STATE, "status", state_before, state_now, 0)
    add(resolution_set, "resolution", np.ones(len(h), np.int64), np.zeros(len(h), np.int64), 1)
    add(resolution_clear, "resolution", np.zeros(len(h), np.int64), np.ones(len(h), np.int64), 1)
    add(clear_first, "assignee", assignee_before, np.full(len(h), none_person), 0)
    add(ev_kind == HANDOFF, "team", np.where(g_before >= 0, g_before, none_team), g_now, 1)
    add(ev_kind == PICKUP, "assignee", np.full(len(h), none_person), issues.assignee[hist], 0)
    add(noise == TAKEOVER, "assignee", assignee_before, issues.assignee[hist], 0)
    add(noise == PRIORITY, "priority", issues.priority[prev], issues.priority[hist], 0)
    add(noise == LABELS, "labels", issues.labels[prev], issues.labels[hist], 0)
    add(noise == SPRINT, "sprint", issues.sprint[prev], issues.sprint[hist], 0)
    rank_dir = 1 + (h_id % 2)
    add(noise == RANK, "rank", np.zeros(len(h), np.int64), rank_dir, 0)

    item_hist = np.concatenate([x[0] for x in items])
    item_pos = np.concatenate([np.full(len(x[0]), x[4]) for x in items])
    texts = pa.concat_arrays([
        concat(parts[k][0], pick(f, parts[k][1]), ",", pick(t, parts[k][2]), "}").cast(pa.string())
        for _, k, f, t, _ in items
    ])
    order = np.lexsort((item_pos, item_hist))
    texts = texts.take(pa.array(order))
    item_hist = item_hist[order]
    n_items = len(item_hist)
    item_offsets = np.searchsorted(item_hist, np.arange(len(hist) + 1))
    items_json = render.join_groups(texts, item_offsets)

    actor = issues.actor[hist]
    # Other fields are edited by the assignee, or by someone of the team (of the team-to-be before triage).
    team = np.where(g_now >= 0, g_now, trace.resolver[rows.ticket[hist]])
    noise_author = np.where(issues.assignee[hist] >= 0, issues.assignee[hist], people.member(team, (h_id % 97) / 97))
    author = np.where(rows.is_event[hist], np.where(actor == SYSTEM_ACTOR, system_code, actor), noise_author)
    history_json = concat(
        '{"id":"', render.numbers(h_id), '","author":', pick(author, person_json), ',"created":"',
        stamp.take(pa.array(hist)), '","items":[', items_json, "]}",
    )
    h_ticket = rows.ticket[hist]
    hist_offsets = np.searchsorted(h_ticket, np.arange(n + 1))
    histories = render.join_groups(history_json, hist_offsets)
    h_count = np.diff(hist_offsets)

    # Fields: the issue as it stands at the export.
    last_row = np.r_[np.flatnonzero(rows.first)[1:] - 1, len(rows) - 1]
    final_state = trace.state[rec[last_row]]
    done_now = is_done[final_state]
    row_state = trace.state[rec]
    row_state_before = row_state[np.maximum(np.arange(len(rows)) - 1, 0)]
    done_rows = rows.is_event & (trace.kind[rec] == STATE) & is_done[row_state] & ~is_done[row_state_before]
    resolved_row = rows.carry(rows.first | done_rows, np.where(done_rows, np.arange(len(rows)), -1))[last_row]
    resolution_date = np.where(done_now & (resolved_row >= 0), resolved_row, -1)
    type_json = [js({"self": f"{SITE}/rest/api/3/issuetype/{ISSUE_TYPES[t][0]}", "id": ISSUE_TYPES[t][0], "name": t,
                     "subtask": False, "hierarchyLevel": 0}) for t in process.type_names]
    project_json = [js({"self": f"{SITE}/rest/api/3/project/{PROJECTS[p][0]}", "id": PROJECTS[p][0], "key": p,
                        "name": PROJECTS[p][1], "projectTypeKey": "service_desk" if p == "HELP" else "software"})
                    for p in (ISSUE_TYPES[t][1] for t in process.type_names)]
    status_json = [
        js({"self": f"{SITE}/rest/api/3/status/{STATUSES[x][0]}", "name": x, "id": STATUSES[x][0],
            "statusCategory": {"id": CATEGORIES[STATUSES[x][1]][0], "key": STATUSES[x][1],
                               "colorName": CATEGORIES[STATUSES[x][1]][1], "name": CATEGORIES[STATUSES[x][1]][2]}})
        if x in STATUSES else "null" for x in labels
    ]
    priority_json = [js({"self": f"{SITE}/rest/api/3/priority/{i}", "name": name, "id": i}) for i, name in PRIORITIES]
    team_json = [js({"id": str(_team_id(t)), "name": t, "title": t, "isShared": True}) for t in process.groups] + ["null"]
    labels_json = [js(s.split()) for s in LABEL_SETS]
    ttype = trace.ticket_type
    summaries = [js(s) for t in process.type_names for s in SUMMARIES[t]]
    issue_no = np.arange(n) + 10_100
    final_assignee = issues.assignee[last_row]
    final_group = trace.group[rec[last_row]]
    created = stamp.take(pa.array(np.flatnonzero(rows.first)))
    resolution = np.where(resolution_date >= 0, 0, 1)
    fields = concat(
        '{"summary":', pick(ttype.astype(np.int64) * 6 + issues.summary, summaries),
        ',"issuetype":', pick(ttype, type_json),
        ',"project":', pick(ttype, project_json),
        ',"created":"', created,
        '","updated":"', stamp.take(pa.array(last_row)),
        '","status":', pick(final_state, status_json),
        ',"priority":', pick(issues.priority[last_row], priority_json),
        ',"assignee":', pick(np.where(final_assignee >= 0, final_assignee, null_person), person_json),
        ',"reporter":', pick(trace.requester, person_json),
        ',"creator":', pick(trace.requester, person_json),
        ',"resolution":', pick(resolution, [js({"self": f"{SITE}/rest/api/3/resolution/10000", "id": "10000", "name": "Done"}), "null"]),
        ',"resolutiondate":', _optional_string(stamp, resolution_date),
        ',"labels":', pick(issues.labels[last_row], labels_json),
        ',"customfield_10001":', pick(np.where(final_group >= 0, final_group, len(process.groups)), team_json),
        "}",
    )
    issue_json = concat(
        '{"expand":"operations,versionedRepresentations,editmeta,changelog,renderedFields","id":"', render.numbers(issue_no),
        '","self":"', concat(f"{SITE}/rest/api/3/issue/", render.numbers(issue_no)),
        '","key":"', keys(issues),
        '","changelog":{"startAt":0,"maxResults":', render.numbers(h_count), ',"total":', render.numbers(h_count),
        ',"histories":[', histories, "]},\"fields\":", fields, "}",
    )
    separators = np.full(n, ",", dtype=object)
    if n:
        separators[-1] = ""
    body = concat(issue_json, pa.array(separators.tolist(), pa.string()))
    head = f'{{"expand":"schema,names","startAt":0,"maxResults":{n},"total":{n},"issues":['
    render.write_text_parts(path, [head, body, "]}\n"])
    return n, n_items


def _optional_string(stamp: pa.Array, at: np.ndarray) -> pa.Array:
    quoted = concat('"', stamp.take(pa.array(np.maximum(at, 0))), '"')
    return pc.if_else(pa.array(at >= 0), quoted, pa.scalar("null"))


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
        "Reassigned ('Assigned to group' for the first team), by the author; an assignee item from nobody gives Assigned, "
        "whose resource is the new assignee",
        "folded rows are items of other fields: priority, labels, Sprint, Rank, the assignee within the team, resolution "
        "items beside status changes, and the assignee cleared beside each team change",
        "'Automation for Jira' (an app) triages service requests and closes resolved ones",
    ]
    return Export(n_issues + n_items, "changelog items plus one creation record per issue (the connector's rows)",
                  events(issues), lambda: keys(issues).to_pylist(), issues.trace.ticket_type,
                  issues.trace.process.type_names, notes, {"histories": int(len(issues.rows) - tickets)})
