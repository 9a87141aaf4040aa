"""``vsm pull servicenow``: tickets and their history from the Table API into a store.

* Records come from ``/api/now/table/{table}`` with ``sysparm_query`` (the
  user's query, the watermark, ordered by ``sys_updated_on`` then ``sys_id``),
  ``sysparm_fields``, ``sysparm_display_value=all`` (each field's code and
  label), ``sysparm_limit`` and ``sysparm_offset``. Pages follow the ``Link``
  header's ``next`` until there is none; a short page is not the end (ACLs
  filter rows after the query). ``X-Total-Count`` gives the progress estimate,
  and the offset when a proxy has stripped ``Link``.
* History comes from ``sys_audit`` (state, incident_state, hold_reason,
  assignment_group, assigned_to) for the pulled tickets, in batches of
  document keys; group and user sys_ids are named from the records' display
  values, then from ``sys_user_group`` and ``sys_user``.
* Incremental: ``state.json`` keeps the watermark, the newest ``sys_updated_on``
  pulled (UTC). The next pull asks for ``sys_updated_on>=`` a day before it, keeps
  what changed (a new ``sys_updated_on`` or ``sys_mod_count``), replaces
  those tickets' records and their whole audit history (dedup by ``sys_id``),
  and keeps the rest. The store changes in one rename of ``state.json``: a
  pull that fails or is killed leaves the previous store as it was, and the
  next pull starts again from its watermark, so nothing is lost or doubled.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from connectors.errors import BadOption, OutputError
from connectors.http import Client, PullError, check_base_url, quote
from connectors.store import STATE, VERSION, is_store, read_state

RECORD_FIELDS = (
    "sys_id", "number", "state", "incident_state", "hold_reason", "assignment_group", "assigned_to", "opened_at",
    "resolved_at", "closed_at", "sys_created_on", "sys_updated_on", "sys_mod_count", "priority", "category", "subcategory",
    "contact_type", "impact", "urgency", "short_description", "reassignment_count", "reopen_count",
)
AUDIT_FIELDS = ("sys_id", "tablename", "documentkey", "fieldname", "oldvalue", "newvalue", "user", "reason",
                "record_checkpoint", "sys_created_on")
AUDITED = ("state", "incident_state", "hold_reason", "assignment_group", "assigned_to")
KEYS_PER_BATCH = 100  # document keys per sys_audit query: keeps the URL well under 8 KB
TEMP = ".pull"
SERVICENOW_MARGIN = pd.Timedelta(days=1)

Progress = Callable[[str, int, int | None], None]


@dataclass
class Pulled:
    """What one pull did."""

    store: Path
    records: int  # records fetched in this pull
    audit_rows: int
    tickets: int  # tickets in the store after it
    pages: int
    watermark: str | None
    incremental: bool
    waits: list[float]


def instance_url(instance: str) -> str:
    """The instance's base URL: 'dev123' and 'dev123.service-now.com' become https URLs."""
    if "://" not in instance:
        instance = f"https://{instance if '.' in instance else instance + '.service-now.com'}"
    return check_base_url(instance, "--instance")


def signed_client(base_url: str, bearer: str, user: str, secret: str, *, hint: str, missing: str,
                  user_suffix: str = "", min_interval: float = 0.0) -> Client:
    """A client signed in from the environment: a bearer token in ``bearer``, else basic auth from ``user`` and
    ``secret`` (the user name followed by ``user_suffix``). Every secret it holds is scrubbed from its messages."""
    token = os.environ.get(bearer)
    name, password = os.environ.get(user), os.environ.get(secret)
    if token:
        return Client(base_url, f"Bearer {token}", [token], hint, min_interval=min_interval)
    if name and password:
        pair = base64.b64encode(f"{name}{user_suffix}:{password}".encode()).decode("ascii")
        return Client(base_url, f"Basic {pair}", [password, pair], hint, min_interval=min_interval)
    raise BadOption(missing)


def servicenow_client(base_url: str) -> Client:
    """A client signed in from VSM_SERVICENOW_TOKEN, or VSM_SERVICENOW_USER and VSM_SERVICENOW_PASSWORD."""
    return signed_client(
        base_url, "VSM_SERVICENOW_TOKEN", "VSM_SERVICENOW_USER", "VSM_SERVICENOW_PASSWORD",
        hint=("check VSM_SERVICENOW_USER and VSM_SERVICENOW_PASSWORD (or VSM_SERVICENOW_TOKEN), and that the account may "
              "read the table and sys_audit"),
        missing=("no ServiceNow credentials: set VSM_SERVICENOW_USER and VSM_SERVICENOW_PASSWORD, "
                 "or VSM_SERVICENOW_TOKEN (an OAuth bearer token), in the environment"))


def since_value(text: str) -> str:
    """``--since`` as ServiceNow's UTC 'yyyy-MM-dd HH:mm:ss'."""
    try:
        when = pd.Timestamp(text)
    except ValueError:
        raise BadOption(f"--since {text!r} is not a date; give it as 2024-01-31 or 2024-01-31T08:00") from None
    when = when.tz_localize("UTC") if when.tzinfo is None else when.tz_convert("UTC")
    return when.strftime("%Y-%m-%d %H:%M:%S")


def table_pages(client: Client, table: str, params: dict[str, Any], progress: Progress | None, what: str) -> Iterator[list[dict]]:
    """Every page of a Table API query, following ``Link: rel=next`` to the end."""
    url: str | None = client.url(f"/api/now/table/{quote(table)}", params)
    seen: set[str] = set()
    fetched = 0
    limit, offset = int(params["sysparm_limit"]), int(params.get("sysparm_offset", 0))
    while url:
        if url in seen:
            raise PullError(f"{table}: the API's next page is a page already read; the pull stopped to avoid a loop")
        seen.add(url)
        reply = client.get(url)
        result = reply.body.get("result") if isinstance(reply.body, dict) else None
        if not isinstance(result, list):
            raise PullError(f"/api/now/table/{table}: the answer has no 'result' list; is this a ServiceNow Table API?")
        total = reply.headers.get("X-Total-Count")
        total_n = int(total) if total and total.isdigit() else None
        fetched += len(result)
        if progress:
            progress(what, fetched, total_n)
        yield result
        links = reply.links()
        if "Link" in reply.headers or "link" in {k.lower() for k in reply.headers}:
            url = links.get("next")
        else:  # no Link header at all (a proxy dropped it): the offset and the total count tell
            offset += limit
            url = client.url(f"/api/now/table/{quote(table)}", {**params, "sysparm_offset": offset}) \
                if total_n is not None and offset < total_n else None


def _flatten(records: list[dict], fields: tuple[str, ...], display: bool) -> dict[str, pa.Array]:
    """Columns from Table API records: each field's value, and with ``display`` its label as ``field.display``."""
    columns: dict[str, pa.Array] = {}
    for name in fields:
        cells = [r.get(name) for r in records]
        if display:
            columns[name] = _strings([c.get("value") if c.__class__ is dict else c for c in cells])
            columns[f"{name}.display"] = _strings([c.get("display_value") if c.__class__ is dict else c for c in cells])
        else:
            columns[name] = _strings([c.get("value") if c.__class__ is dict else c for c in cells])
    return columns


def _strings(values: list[object]) -> pa.Array:
    """Cells as a string array; '' (ServiceNow's empty) is missing, as in a file export."""
    try:
        array = pa.array(values, pa.string())
    except (pa.ArrowInvalid, pa.ArrowTypeError):  # numbers or objects where the API gives strings
        array = pa.array([_text(v) for v in values], pa.string())
    return pc.if_else(pc.equal(array, ""), pa.scalar(None, pa.string()), array)


def _text(value: object) -> str | None:
    if value is None or value == "":
        return None
    return value if isinstance(value, str) else json.dumps(value) if isinstance(value, (dict, list)) else str(value)


def _schema(columns: list[str]) -> pa.Schema:
    return pa.schema([pa.field(c, pa.string()) for c in columns])


class _Writer:
    """Pages appended to one Parquet file: memory holds one page at a time."""

    def __init__(self, path: Path, columns: list[str]) -> None:
        self.path, self.schema, self.rows = path, _schema(columns), 0
        self.writer = pq.ParquetWriter(path, self.schema)

    def add(self, columns: dict[str, pa.Array]) -> None:
        if columns and len(next(iter(columns.values()))):
            batch = pa.table({c: columns[c] for c in self.schema.names}, schema=self.schema)
            self.writer.write_table(batch)
            self.rows += batch.num_rows

    def close(self) -> None:
        self.writer.close()


def pull_servicenow(
    instance: str, output: str | os.PathLike[str], *, table: str = "incident", query: str | None = None,
    since: str | None = None, page_size: int = 1000, progress: Progress | None = None,
) -> Pulled:
    """Pull ``table``'s records and their sys_audit history into the store at ``output``."""
    base = instance_url(instance)
    client = servicenow_client(base)
    store, previous, temp = _open_store(output, base, table, query or "")

    watermark = previous.get("watermark") if previous else None
    # Whether an encoded query's date is read in UTC or in the account's time zone depends on the
    # instance: ask from a day before the watermark, and drop what comes back unchanged (_changed).
    start = (pd.Timestamp(watermark) - SERVICENOW_MARGIN).strftime("%Y-%m-%d %H:%M:%S") if watermark else (
        since_value(since) if since else None)
    parts = [query] if query else []
    if start:
        parts.append(f"sys_updated_on>={start}")
    parts.append("ORDERBYsys_updated_on^ORDERBYsys_id")
    params = {
        "sysparm_query": "^".join(parts),
        "sysparm_fields": ",".join(RECORD_FIELDS),
        "sysparm_display_value": "all",
        "sysparm_exclude_reference_link": "true",
        "sysparm_limit": page_size,
        "sysparm_offset": 0,
    }
    record_columns = [c for f in RECORD_FIELDS for c in (f, f"{f}.display")]
    records = _Writer(temp / "records.parquet", record_columns)
    newest = None
    for page in table_pages(client, table, params, progress, "records"):
        columns = _flatten(page, RECORD_FIELDS, display=True)
        latest = pc.max(columns["sys_updated_on"]).as_py()
        if latest:
            newest = max(newest or "", latest)
        records.add(columns)
    records.close()
    new_records = pq.read_table(records.path).to_pandas()
    new_records = new_records.dropna(subset=["sys_id"]).drop_duplicates("sys_id", keep="last")
    old_files = previous.get("files", {}) if previous else {}
    old_records = pd.read_parquet(store / old_files["records"]) if old_files.get("records") else new_records.iloc[:0]
    new_records = _changed(new_records, old_records)
    ids = new_records["sys_id"].tolist()

    audit = _Writer(temp / "sys_audit.parquet", list(AUDIT_FIELDS))
    for lo in range(0, len(ids), KEYS_PER_BATCH):
        keys = ",".join(ids[lo:lo + KEYS_PER_BATCH])
        audit_params = {
            "sysparm_query": f"tablename={table}^documentkeyIN{keys}^fieldnameIN{','.join(AUDITED)}"
                             "^ORDERBYsys_created_on^ORDERBYsys_id",
            "sysparm_fields": ",".join(AUDIT_FIELDS),
            "sysparm_display_value": "false",
            "sysparm_limit": page_size,
            "sysparm_offset": 0,
        }
        for page in table_pages(client, "sys_audit", audit_params, progress, "audit rows"):
            audit.add(_flatten(page, AUDIT_FIELDS, display=False))
    audit.close()
    new_audit = pq.read_table(audit.path).to_pandas()

    old_audit = pd.read_parquet(store / old_files["history"]) if old_files.get("history") else new_audit.iloc[:0]
    old_names = pd.read_parquet(store / old_files["names"]) if old_files.get("names") else pd.DataFrame({"sys_id": [], "name": []}, dtype=object)
    changed = pd.Index(ids)
    all_records = pd.concat([old_records[~old_records["sys_id"].isin(changed)], new_records], ignore_index=True)
    all_audit = pd.concat([old_audit[~old_audit["documentkey"].isin(changed)], new_audit], ignore_index=True)
    all_audit = all_audit.drop_duplicates("sys_id", keep="last")
    # One order whatever the pulls were: a store updated twice equals one pulled at once.
    all_records = all_records.sort_values(["sys_updated_on", "sys_id"], kind="stable", na_position="first", ignore_index=True)
    all_audit = all_audit.sort_values(["sys_created_on", "sys_id"], kind="stable", na_position="first", ignore_index=True)
    names = _names(client, new_records, new_audit, old_names, page_size, progress)

    serial = int(previous.get("pulls", 0)) + 1 if previous else 1
    files = {"records": f"records-{serial}.parquet", "history": f"sys_audit-{serial}.parquet", "names": f"names-{serial}.parquet"}
    pq.write_table(pa.Table.from_pandas(all_records, schema=_schema(record_columns), preserve_index=False), store / files["records"])
    pq.write_table(pa.Table.from_pandas(all_audit[list(AUDIT_FIELDS)], schema=_schema(list(AUDIT_FIELDS)), preserve_index=False),
                   store / files["history"])
    pq.write_table(pa.Table.from_pandas(names, schema=_schema(["sys_id", "name"]), preserve_index=False), store / files["names"])
    watermark = max(filter(None, [watermark, newest]), default=None)
    state = {
        "vsm_store": VERSION, "source": "servicenow", "instance": base, "table": table, "query": query or "",
        "history": "sys_audit", "since": since_value(since) if since and not previous else (previous or {}).get("since"),
        "watermark": watermark, "pulled_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "pulls": serial, "files": files,
        "counts": {"tickets": len(all_records), "audit_rows": len(all_audit), "names": len(names)},
    }
    _commit(store, temp, state, old_files)  # the pull takes effect here, at once
    return Pulled(store, len(new_records), len(new_audit), len(all_records), client.pages, watermark, previous is not None, client.waits)


def _changed(new: pd.DataFrame, old: pd.DataFrame) -> pd.DataFrame:
    """The records of ``new`` that the store does not hold as they are.

    The query asks from a day before the watermark, so that neither an update
    in the watermark's own second nor the instance's reading of the date in
    another time zone loses one; the records it returns again unchanged (same
    ``sys_updated_on`` and ``sys_mod_count``) are dropped here.
    """
    if old.empty or new.empty:
        return new
    keys = ["sys_id", "sys_updated_on", "sys_mod_count"]
    seen = new[keys].merge(old[keys].drop_duplicates("sys_id"), on=keys, how="left", indicator=True)["_merge"] == "both"
    return new[~seen.to_numpy()]


def _names(client: Client, records: pd.DataFrame, audit: pd.DataFrame, old: pd.DataFrame, page_size: int,
           progress: Progress | None) -> pd.DataFrame:
    """Names of the groups and users that the history holds as sys_ids."""
    pairs = [old]
    for field in ("assignment_group", "assigned_to"):
        known = records[[field, f"{field}.display"]].dropna()
        pairs.append(pd.DataFrame({"sys_id": known[field].to_numpy(), "name": known[f"{field}.display"].to_numpy()}))
    names = pd.concat(pairs, ignore_index=True).drop_duplicates("sys_id", keep="last")
    for field, table in (("assignment_group", "sys_user_group"), ("assigned_to", "sys_user")):
        rows = audit[audit["fieldname"] == field]
        wanted = pd.unique(pd.concat([rows["oldvalue"], rows["newvalue"]]).dropna())
        have = set(names["sys_id"])
        missing = [i for i in wanted if i not in have]
        for lo in range(0, len(missing), KEYS_PER_BATCH):
            params = {"sysparm_query": f"sys_idIN{','.join(missing[lo:lo + KEYS_PER_BATCH])}", "sysparm_fields": "sys_id,name",
                      "sysparm_display_value": "false", "sysparm_limit": page_size, "sysparm_offset": 0}
            try:
                for page in table_pages(client, table, params, progress, "names"):
                    got = _flatten(page, ("sys_id", "name"), display=False)
                    names = pd.concat([names, pa.table(got).to_pandas()], ignore_index=True)
            except PullError:
                break  # no right to read the names: the sys_ids stay, as sys_audit gives them
    return names.dropna(subset=["sys_id"]).drop_duplicates("sys_id", keep="last").reset_index(drop=True)


# --- Zendesk ------------------------------------------------------------------

ZENDESK_EVENTS = "/api/v2/incremental/ticket_events.json"
# The incremental exports allow 10 requests a minute: one every 6 seconds never meets a 429.
ZENDESK_INTERVAL_S = 6.0


def zendesk_url(subdomain: str | None, url: str | None) -> str:
    """The account's base URL, from ``--subdomain NAME`` or ``--url``."""
    if bool(subdomain) == bool(url):
        raise BadOption("give one of --subdomain NAME or --url https://NAME.zendesk.com")
    return check_base_url(url or f"https://{subdomain}.zendesk.com", "--url" if url else "--subdomain")


def zendesk_client(base_url: str, min_interval: float) -> Client:
    """A client signed in from VSM_ZENDESK_OAUTH_TOKEN, or VSM_ZENDESK_EMAIL and VSM_ZENDESK_TOKEN."""
    return signed_client(
        base_url, "VSM_ZENDESK_OAUTH_TOKEN", "VSM_ZENDESK_EMAIL", "VSM_ZENDESK_TOKEN", user_suffix="/token",
        min_interval=min_interval,
        hint=("check VSM_ZENDESK_EMAIL and VSM_ZENDESK_TOKEN (or VSM_ZENDESK_OAUTH_TOKEN), and that the account is "
              "an admin (the incremental export needs one)"),
        missing=("no Zendesk credentials: set VSM_ZENDESK_EMAIL and VSM_ZENDESK_TOKEN (an API token), "
                 "or VSM_ZENDESK_OAUTH_TOKEN, in the environment"))


def pull_zendesk(
    output: str | os.PathLike[str], *, subdomain: str | None = None, url: str | None = None, since: str | None = None,
    min_interval: float = ZENDESK_INTERVAL_S, progress: Progress | None = None,
) -> Pulled:
    """Pull the incremental ticket events export into the store at ``output``.

    Pages follow ``next_page`` until ``end_of_stream``; the watermark is the
    last page's ``end_time``. The export repeats events that share a second
    at a page's edge: events are kept once by ``id``.
    """
    base = zendesk_url(subdomain, url)
    client = zendesk_client(base, min_interval)
    store, previous, temp = _open_store(output, base, "ticket_events", "")
    start = int(previous["watermark"]) if previous and previous.get("watermark") is not None else (
        int(pd.Timestamp(since_value(since), tz="UTC").timestamp()) if since else 0)
    events: dict[object, tuple[int, str]] = {}
    old_files = previous.get("files", {}) if previous else {}
    if old_files.get("history"):
        with open(store / old_files["history"], encoding="utf-8") as fh:
            for line in fh:
                event = json.loads(line)
                events[event.get("id")] = (int(event.get("timestamp") or 0), line.rstrip("\n"))
    before = len(events)
    next_url: str | None = client.url(ZENDESK_EVENTS, {"start_time": start})
    watermark, fetched, seen = start, 0, set()
    while next_url:
        if next_url in seen:
            raise PullError(f"{ZENDESK_EVENTS}: the export's next page is a page already read; the pull stopped to avoid a loop")
        seen.add(next_url)
        body = client.get(next_url).body
        page = body.get("ticket_events") if isinstance(body, dict) else None
        if not isinstance(page, list):
            raise PullError(f"{ZENDESK_EVENTS}: the answer has no 'ticket_events' list; is this a Zendesk account's API?")
        for event in page:
            events[event.get("id")] = (int(event.get("timestamp") or 0), json.dumps(event, separators=(",", ":")))
        fetched += len(page)
        if progress:
            progress("ticket events", fetched, None)
        if body.get("end_time") is not None:
            watermark = int(body["end_time"])
        next_url = None if body.get("end_of_stream") else body.get("next_page")
    serial = int(previous.get("pulls", 0)) + 1 if previous else 1
    files = {"history": f"ticket_events-{serial}.jsonl"}
    ordered = sorted(events.items(), key=lambda item: (item[1][0], str(item[0])))
    with open(store / files["history"], "w", encoding="utf-8") as fh:
        fh.writelines(line + "\n" for _, (_, line) in ordered)
    tickets = len({json.loads(line).get("ticket_id") for _, (_, line) in ordered})
    state = {
        "vsm_store": VERSION, "source": "zendesk", "instance": base, "table": "ticket_events", "query": "",
        "history": "ticket_events", "watermark": watermark,
        "pulled_at": datetime.now(timezone.utc).isoformat(timespec="seconds"), "pulls": serial, "files": files,
        "counts": {"tickets": tickets, "events": len(events), "new_events": len(events) - before},
    }
    _commit(store, temp, state, old_files)
    return Pulled(store, fetched, 0, tickets, client.pages, str(watermark), previous is not None, client.waits)


def _open_store(output: str | os.PathLike[str], base: str, table: str, query: str) -> tuple[Path, dict | None, Path]:
    """The store folder, its state (None for a new store) and a fresh temporary folder in it."""
    store = Path(output)
    if store.exists() and not store.is_dir():
        raise OutputError(f"{store}: a file, not a store folder; give a new folder or an existing store")
    previous = read_state(store) if is_store(store) else None
    if store.is_dir() and previous is None and any(p.name != TEMP for p in store.iterdir()):
        raise OutputError(f"{store}: a folder that is not a vsm store and not empty; give a new folder")
    if previous is not None:
        for key, value in (("instance", base), ("table", table), ("query", query)):
            if previous.get(key) != value:
                raise BadOption(f"{store}: a store pulled with {key} {previous.get(key)!r}, not {value!r}; "
                                "pull into another folder, or give the same options")
    store.mkdir(parents=True, exist_ok=True)
    temp = store / TEMP
    shutil.rmtree(temp, ignore_errors=True)  # what a killed pull left
    temp.mkdir()
    return store, previous, temp


def _commit(store: Path, temp: Path, state: dict, old_files: dict) -> None:
    """Make the new files the store's, in one rename of the state file; then drop the old files."""
    (temp / STATE).write_text(json.dumps(state, indent=2) + "\n", encoding="utf-8")
    os.replace(temp / STATE, store / STATE)
    for name in set(old_files.values()) - set(state["files"].values()):
        (store / name).unlink(missing_ok=True)
    shutil.rmtree(temp, ignore_errors=True)


# --- Jira -----------------------------------------------------------------------

JIRA_PAGE = 100
# JQL compares dates to the minute in the account's own time zone: ask from a day before the
# watermark, and drop what comes back unchanged (same 'updated').
JIRA_MARGIN = pd.Timedelta(days=1)


def jira_client(base_url: str) -> Client:
    """A client signed in from VSM_JIRA_PAT (Data Center), or VSM_JIRA_EMAIL and VSM_JIRA_TOKEN (Cloud)."""
    return signed_client(
        base_url, "VSM_JIRA_PAT", "VSM_JIRA_EMAIL", "VSM_JIRA_TOKEN",
        hint=("check VSM_JIRA_EMAIL and VSM_JIRA_TOKEN (or VSM_JIRA_PAT), and that the account has the Browse "
              "projects permission"),
        missing=("no Jira credentials: set VSM_JIRA_EMAIL and VSM_JIRA_TOKEN (an API token, Cloud), "
                 "or VSM_JIRA_PAT (a personal access token, Data Center), in the environment"))


def _updated(issue: dict) -> pd.Timestamp | None:
    value = (issue.get("fields") or {}).get("updated")
    try:
        return pd.Timestamp(value).tz_convert("UTC") if value else None
    except (ValueError, TypeError):
        return None


def pull_jira(
    site: str, jql: str, output: str | os.PathLike[str], *, deployment: str = "auto", fields: str = "*navigable",
    page_size: int = JIRA_PAGE, progress: Progress | None = None,
) -> Pulled:
    """Pull the issues a JQL query finds, with their whole changelogs, into the store at ``output``.

    Cloud: ``/rest/api/3/search/jql`` with ``nextPageToken`` and
    ``expand=changelog``; a changelog the search cut short is read whole from
    ``/rest/api/3/issue/{key}/changelog`` (``startAt``, ``isLast``). Data
    Center: ``/rest/api/2/search`` with ``startAt``. An issue is replaced
    whole when its ``updated`` changed.
    """
    base = check_base_url(site if "://" in site else f"https://{site}", "--site")
    cloud = deployment == "cloud" or (deployment == "auto" and base.lower().endswith(".atlassian.net"))
    client = jira_client(base)
    store, previous, temp = _open_store(output, base, "issues", jql)
    old_files = previous.get("files", {}) if previous else {}
    issues: dict[str, dict] = {}
    if old_files.get("history"):
        for issue in json.loads((store / old_files["history"]).read_text(encoding="utf-8"))["issues"]:
            issues[str(issue.get("id"))] = issue
    query = f"({jql})"
    if previous and previous.get("watermark"):
        since = pd.Timestamp(previous["watermark"]) - JIRA_MARGIN
        query += f' AND updated >= "{since.strftime("%Y-%m-%d %H:%M")}"'
    query += " ORDER BY updated ASC"
    params = {"jql": query, "fields": fields, "expand": "changelog", "maxResults": page_size}
    fetched = changed = 0
    for page in _jira_pages(client, cloud, params):
        for issue in page:
            fetched += 1
            if progress:
                progress("issues", fetched, None)
            key = str(issue.get("id"))
            old = issues.get(key)
            if old is not None and _updated(old) == _updated(issue):
                continue  # asked again for the margin, unchanged
            if cloud:
                _complete_changelog(client, issue)
            issues[key] = issue
            changed += 1
    newest = max((u for u in map(_updated, issues.values()) if u is not None), default=None)
    serial = int(previous.get("pulls", 0)) + 1 if previous else 1
    files = {"history": f"issues-{serial}.json"}
    ordered = sorted(issues.values(), key=lambda i: (len(str(i.get("id"))), str(i.get("id"))))
    (store / files["history"]).write_text(json.dumps({"issues": ordered}, separators=(",", ":")), encoding="utf-8")
    state = {
        "vsm_store": VERSION, "source": "jira", "instance": base, "table": "issues", "query": jql,
        "history": "changelog", "deployment": "cloud" if cloud else "datacenter",
        "watermark": newest.isoformat() if newest is not None else (previous or {}).get("watermark"),
        "pulled_at": datetime.now(timezone.utc).isoformat(timespec="seconds"), "pulls": serial, "files": files,
        "counts": {"tickets": len(issues)},
    }
    _commit(store, temp, state, old_files)
    return Pulled(store, changed, 0, len(issues), client.pages, state["watermark"], previous is not None, client.waits)


def _jira_pages(client: Client, cloud: bool, params: dict[str, Any]) -> Iterator[list[dict]]:
    """The search's pages: by nextPageToken (Cloud) or startAt (Data Center)."""
    token: str | None = None
    start = 0
    while True:
        if cloud:
            body = client.get(client.url("/rest/api/3/search/jql", {**params, "nextPageToken": token})).body
        else:
            body = client.get(client.url("/rest/api/2/search", {**params, "startAt": start})).body
        page = body.get("issues") if isinstance(body, dict) else None
        if not isinstance(page, list):
            raise PullError("the Jira search answered without an 'issues' list; check --site")
        yield page
        if cloud:
            token = body.get("nextPageToken")
            if body.get("isLast") or not token:
                return
        else:
            start += len(page)
            if not page or start >= int(body.get("total") or 0):
                return


def _complete_changelog(client: Client, issue: dict) -> None:
    """Read the rest of a changelog the search cut short (it gives at most 100 histories)."""
    log = issue.get("changelog")
    if not isinstance(log, dict):
        return
    histories = log.get("histories") or []
    if int(log.get("total") or 0) <= len(histories):
        return
    key = quote(str(issue.get("key") or issue.get("id")))
    whole: list[dict] = []
    start = 0
    while True:
        body = client.get(client.url(f"/rest/api/3/issue/{key}/changelog", {"startAt": start, "maxResults": 100})).body
        values = body.get("values") if isinstance(body, dict) else None
        if not isinstance(values, list):
            raise PullError(f"/rest/api/3/issue/{key}/changelog answered without 'values'")
        whole += values
        start += len(values)
        if body.get("isLast") or not values or start >= int(body.get("total") or 0):
            break
    issue["changelog"] = {"startAt": 0, "maxResults": len(whole), "total": len(whole), "histories": whole}
