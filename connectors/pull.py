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
  values, then from ``sys_user_group`` and ``sys_user``. With ``--history
  metric`` it comes from ``metric_instance`` instead (intervals with a start
  and an end), read as the ``servicenow-metric`` connector reads an export.
* Incremental: ``state.json`` keeps the watermark, the newest ``sys_updated_on``
  pulled (UTC). The next pull asks for ``sys_updated_on>=`` a day before it, keeps
  what changed (a new ``sys_updated_on`` or ``sys_mod_count``), replaces
  those tickets' records and their whole audit history (dedup by ``sys_id``),
  and keeps the rest. The store changes in one rename of ``state.json``: a
  pull that fails or is killed leaves the previous store as it was.
* Resumable: each page goes to a part file in ``STORE/.pull`` and
  ``.pull/progress.json`` records how far each phase got (see ``_Progress``);
  the same command resumes there, with nothing lost or doubled.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from connectors.errors import BadOption, OutputError
from connectors.http import Client, PullError, check_base_url, query_value, quote
from connectors.store import STATE, VERSION, is_store, read_state

RECORD_FIELDS = (
    "sys_id", "number", "state", "incident_state", "hold_reason", "assignment_group", "assigned_to", "opened_at",
    "resolved_at", "closed_at", "sys_created_on", "sys_updated_on", "sys_mod_count", "priority", "category", "subcategory",
    "contact_type", "impact", "urgency", "short_description", "reassignment_count", "reopen_count",
)
AUDIT_FIELDS = ("sys_id", "tablename", "documentkey", "fieldname", "oldvalue", "newvalue", "user", "reason",
                "record_checkpoint", "sys_created_on")
AUDITED = ("state", "incident_state", "hold_reason", "assignment_group", "assigned_to")
METRIC_FIELDS = ("sys_id", "id", "table", "definition", "field", "field_value", "value", "start", "end", "duration",
                 "calculation_complete")
KEYS_PER_BATCH = 100  # document keys per sys_audit query: keeps the URL well under 8 KB
TEMP = ".pull"
PROGRESS = "progress.json"
MERGE_BATCH = 65_536  # rows per slice when the store's files are merged
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
    resumed: int | None = None  # parts an interrupted pull had kept, when this one resumed it


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


def table_pages(client: Client, table: str, params: dict[str, Any], progress: Progress | None, what: str,
                start_url: str | None = None) -> Iterator[tuple[list[dict], str | None]]:
    """Every page of a Table API query, following ``Link: rel=next`` to the end, each with the next page's URL
    (None after the last). ``start_url`` continues a query an interrupted pull left there."""
    url: str | None = start_url or client.url(f"/api/now/table/{quote(table)}", params)
    seen: set[str] = set()
    fetched = 0
    limit = int(params["sysparm_limit"])
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
        if "Link" in reply.headers or "link" in {k.lower() for k in reply.headers}:
            url = reply.links().get("next")
        else:  # no Link header at all (a proxy dropped it): the offset and the total count tell
            offset = int(query_value(url, "sysparm_offset") or 0) + limit
            url = client.url(f"/api/now/table/{quote(table)}", {**params, "sysparm_offset": offset}) \
                if total_n is not None and offset < total_n else None
        yield result, url


def _flatten(records: list[dict], fields: tuple[str, ...], display: bool, labels: tuple[str, ...] = ()) -> dict[str, pa.Array]:
    """Columns from Table API records: each field's value, and with ``display`` its label as ``field.display``;
    the fields in ``labels`` hold their label alone."""
    columns: dict[str, pa.Array] = {}
    for name in fields:
        cells = [r.get(name) for r in records]
        key = "display_value" if name in labels else "value"
        columns[name] = _strings([c.get(key) if c.__class__ is dict else c for c in cells])
        if display:
            columns[f"{name}.display"] = _strings([c.get("display_value") if c.__class__ is dict else c for c in cells])
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


@dataclass(frozen=True)
class History:
    """Where a ServiceNow store's history comes from, and how the store reads it."""

    table: str
    fields: tuple[str, ...]
    key: str  # the ticket's sys_id
    order: str  # the row's time
    labels: tuple[str, ...]  # fields kept as their display value
    source: str  # the file connector that reads it

    def query(self, table: str, keys: list[str]) -> dict[str, Any]:
        if self.table == "sys_audit":
            where = f"tablename={table}^documentkeyIN{','.join(keys)}^fieldnameIN{','.join(AUDITED)}"
        else:
            where = f"table={table}^idIN{','.join(keys)}"
        return {"sysparm_query": f"{where}^ORDERBY{self.order}^ORDERBYsys_id", "sysparm_fields": ",".join(self.fields),
                "sysparm_display_value": "all" if self.labels else "false",
                **({"sysparm_exclude_reference_link": "true"} if self.labels else {})}


HISTORIES = {
    "sys_audit": History("sys_audit", AUDIT_FIELDS, "documentkey", "sys_created_on", (), "servicenow-sys-audit"),
    # metric_instance's definition is a reference: its label ("Incident State Duration") says what the row measures.
    "metric": History("metric_instance", METRIC_FIELDS, "id", "start", ("definition",), "servicenow-metric"),
}


class _Progress:
    """An unfinished pull in ``STORE/.pull``: the parts it wrote, one per page, and ``progress.json``, which names
    the pull's parameters and, per phase, how many parts are good and where to go on from.

    A part is renamed into place before ``progress.json`` counts it, and ``progress.json`` is replaced in one
    rename: a pull killed at any point leaves a state that the same command resumes, with no page lost or
    counted twice. Other parameters than those of the unfinished pull are a one-line error.
    """

    def __init__(self, store: Path, temp: Path, params: dict[str, Any], flags: dict[str, str]) -> None:
        self.temp, self.path = temp, temp / PROGRESS
        saved = None
        if self.path.is_file():
            try:
                saved = json.loads(self.path.read_text(encoding="utf-8"))
            except ValueError:
                saved = None  # cut short: start over
        if saved is not None and (saved.get("params") or {}).get("base") != params["base"]:
            saved = None  # the store moved on since: that pull's parts are stale
        if saved is not None and saved.get("params") != params:
            old = saved.get("params") or {}
            key = next((k for k in params if old.get(k) != params[k]), "")
            raise BadOption(
                f"{store}: an interrupted pull with {flags.get(key, key)} {old.get(key)!r} (not {params.get(key)!r}) "
                f"waits to be resumed; run it again with the same options, or delete {temp} to start over")
        self.resumed = saved is not None
        self.data = saved or {"params": params, "phases": {}}
        self.kept = sum(p["parts"] for p in self.data["phases"].values())
        if not self.resumed:
            shutil.rmtree(temp, ignore_errors=True)
            temp.mkdir()
            self.save()

    def phase(self, name: str) -> dict[str, Any]:
        return self.data["phases"].setdefault(name, {"parts": 0, "rows": 0, "done": False})

    def parts(self, name: str, ext: str = "parquet") -> list[Path]:
        return [self.temp / f"{name}-{i:05d}.{ext}" for i in range(1, self.phase(name)["parts"] + 1)]

    def add(self, name: str, columns: dict[str, pa.Array], schema: pa.Schema, **cursor: Any) -> None:
        """Keep one page's rows as the phase's next part, and where the phase goes on from after it."""
        rows = len(next(iter(columns.values()))) if columns else 0
        table = pa.table({c: columns[c] for c in schema.names}, schema=schema) if rows else None
        self._keep(name, "parquet", rows, lambda path: pq.write_table(table, path), cursor)

    def add_lines(self, name: str, lines: list[str], **cursor: Any) -> None:
        """Keep one page's JSON documents, one a line, as the phase's next part; and where it goes on from."""
        self._keep(name, "jsonl", len(lines), lambda path: path.write_text("".join(x + "\n" for x in lines), encoding="utf-8"),
                   cursor)

    def lines(self, name: str) -> Iterator[str]:
        """The lines of the phase's parts, in order."""
        for path in self.parts(name, "jsonl"):
            with open(path, encoding="utf-8") as fh:
                yield from (line.rstrip("\n") for line in fh)

    def _keep(self, name: str, ext: str, rows: int, write: Callable[[Path], None], cursor: dict[str, Any]) -> None:
        phase = self.phase(name)
        if rows:
            path = self.temp / f"{name}-{phase['parts'] + 1:05d}.{ext}"
            write(path.with_suffix(".tmp"))
            os.replace(path.with_suffix(".tmp"), path)
            phase["parts"] += 1
            phase["rows"] += rows
        phase.update(cursor)
        self.save()

    def save(self) -> None:
        self.path.with_suffix(".tmp").write_text(json.dumps(self.data), encoding="utf-8")
        os.replace(self.path.with_suffix(".tmp"), self.path)


def pull_servicenow(
    instance: str, output: str | os.PathLike[str], *, table: str = "incident", query: str | None = None,
    since: str | None = None, history: str = "sys_audit", page_size: int = 1000, progress: Progress | None = None,
) -> Pulled:
    """Pull ``table``'s records and their history (``sys_audit``, or ``metric`` for metric_instance) into the
    store at ``output``; an interrupted pull of the same options resumes."""
    base = instance_url(instance)
    source = HISTORIES[history]
    client = servicenow_client(base)
    store, previous, temp = _open_store(output, base, table, query or "", history=source.table)
    if previous and since and since_value(since) != previous.get("since"):
        first = f"--since {previous['since']!r}" if previous.get("since") else "without --since"
        raise BadOption(f"{store}: a store first pulled {first}; leave out --since (later pulls start from the "
                        "store's watermark) or pull into another folder")
    watermark = previous.get("watermark") if previous else None
    # Whether an encoded query's date is read in UTC or in the account's time zone depends on the
    # instance: ask from a day before the watermark, and drop what comes back unchanged (_changed).
    start = _margin_before(watermark) if watermark else (since_value(since) if since else None)
    run = _Progress(store, temp, {
        "instance": base, "table": table, "query": query or "", "history": source.table, "start": start,
        "page_size": page_size, "base": previous.get("pulls", 0) if previous else 0,
    }, {"instance": "--instance", "table": "--table", "query": "--query", "history": "--history", "start": "--since",
        "page_size": "--page-size"})
    with _resumable(store):
        _fetch_records(client, run, table, query, start, page_size, progress)
        old_files = previous.get("files", {}) if previous else {}
        keys = ["sys_id", "sys_updated_on", "sys_mod_count"]
        new_keys = _read(run.parts("records"), _schema(keys))
        old_keys = _read([store / old_files["records"]], _schema(keys)) if old_files.get("records") else new_keys.slice(0, 0)
        ids = sorted(_changed(new_keys.to_pandas(), old_keys.to_pandas())["sys_id"].dropna().unique())
        _fetch_history(client, run, source, table, ids, page_size, progress)
        old_names = pd.read_parquet(store / old_files["names"]) if old_files.get("names") else pd.DataFrame(
            {"sys_id": [], "name": []}, dtype=object)
        holders = [f for f in ("assignment_group", "assigned_to") for f in (f, f"{f}.display")]
        named = _audited_ids(run.parts("history")) if source.table == "sys_audit" else {}
        names = _names(client, _read(run.parts("records"), _schema(holders)).to_pandas(), named, old_names, page_size, progress)

    serial = int(previous.get("pulls", 0)) + 1 if previous else 1
    files = {"records": f"records-{serial}.parquet", "history": f"{source.table}-{serial}.parquet", "names": f"names-{serial}.parquet"}
    changed = pa.array(ids, pa.string())
    record_columns = [c for f in RECORD_FIELDS for c in (f, f"{f}.display")]
    # One order whatever the pulls were: a store updated twice, or resumed, equals one pulled at once.
    tickets = _merge(store / old_files["records"] if old_files.get("records") else None, run.parts("records"),
                     _schema(record_columns), "sys_id", changed, ["sys_updated_on", "sys_id"], store / files["records"], temp)
    rows = _merge(store / old_files["history"] if old_files.get("history") else None, run.parts("history"),
                  _schema(list(source.fields)), source.key, changed, [source.order, "sys_id"], store / files["history"], temp)
    pq.write_table(pa.Table.from_pandas(names, schema=_schema(["sys_id", "name"]), preserve_index=False), store / files["names"])
    newest = run.phase("records").get("newest")
    watermark = max(filter(None, [watermark, newest]), default=None)
    state = {
        "vsm_store": VERSION, "source": "servicenow", "instance": base, "table": table, "query": query or "",
        "history": source.table, "since": since_value(since) if since and not previous else (previous or {}).get("since"),
        "watermark": watermark, "pulled_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "pulls": serial, "files": files,
        "counts": {"tickets": tickets, "history_rows": rows, "names": len(names)},
    }
    _commit(store, temp, state, old_files)  # the pull takes effect here, at once
    return Pulled(store, len(ids), run.phase("history")["rows"], tickets, client.pages, watermark, previous is not None,
                  client.waits, resumed=run.kept if run.resumed else None)


@contextmanager
def _resumable(store: Path) -> Iterator[None]:
    """Errors and Ctrl-C while pages are fetched: one line that says the same command resumes."""
    try:
        yield
    except KeyboardInterrupt:
        raise PullError(f"{store}: interrupted; the store is as it was, and the same command resumes the pull") from None
    except PullError as exc:
        raise PullError(f"{exc}; the store is as it was, and the same command resumes the pull") from None


def _margin_before(when: str) -> str:
    return (pd.Timestamp(when) - SERVICENOW_MARGIN).strftime("%Y-%m-%d %H:%M:%S")


def _fetch_records(client: Client, run: _Progress, table: str, query: str | None, start: str | None, page_size: int,
                   progress: Progress | None) -> None:
    """The records phase: pages in ``sys_updated_on`` order into parts.

    A resumed phase asks again from a margin before the newest record it kept,
    not from an offset: a record updated while the pull stood still moves to
    the end of the order, and an offset would then skip the one after it.
    What comes twice is kept once (the last fetched) by the merge.
    """
    phase = run.phase("records")
    if phase["done"]:
        return
    window = max(filter(None, [start, _margin_before(phase["newest"]) if phase.get("newest") else None]), default=None)
    parts = [query] if query else []
    if window:
        parts.append(f"sys_updated_on>={window}")
    parts.append("ORDERBYsys_updated_on^ORDERBYsys_id")
    params = {
        "sysparm_query": "^".join(parts), "sysparm_fields": ",".join(RECORD_FIELDS), "sysparm_display_value": "all",
        "sysparm_exclude_reference_link": "true", "sysparm_limit": page_size, "sysparm_offset": 0,
    }
    schema = _schema([c for f in RECORD_FIELDS for c in (f, f"{f}.display")])
    for page, _ in table_pages(client, table, params, progress, "records"):
        columns = _flatten(page, RECORD_FIELDS, display=True)
        latest = pc.max(columns["sys_updated_on"]).as_py()
        run.add("records", columns, schema, newest=max(filter(None, [phase.get("newest"), latest]), default=None))
    phase["done"] = True
    run.save()


def _fetch_history(client: Client, run: _Progress, source: History, table: str, ids: list[str], page_size: int,
                   progress: Progress | None) -> None:
    """The history phase: the changed tickets' history in batches of document keys; ``progress.json`` keeps the
    batch and the next page's URL (history rows are only ever added, at the end of a batch's order)."""
    phase = run.phase("history")
    schema = _schema(list(source.fields))
    start_url = phase.get("next")
    for batch in range(phase.get("batch", 0), -(-len(ids) // KEYS_PER_BATCH)):
        params = {**source.query(table, ids[batch * KEYS_PER_BATCH:(batch + 1) * KEYS_PER_BATCH]),
                  "sysparm_limit": page_size, "sysparm_offset": 0}
        for page, next_url in table_pages(client, source.table, params, progress, f"{source.table} rows", start_url):
            cursor = {"batch": batch, "next": next_url} if next_url else {"batch": batch + 1, "next": None}
            run.add("history", _flatten(page, source.fields, display=False, labels=source.labels), schema, **cursor)
        start_url = None
    phase["done"] = True
    run.save()


def _batches(paths: list[Path], schema: pa.Schema) -> Iterator[pa.Table]:
    """The ``schema`` columns of Parquet files, a file's row group at a time (a dataset scan reads ahead, and
    holds many batches at once)."""
    for path in paths:
        for batch in pq.ParquetFile(path).iter_batches(batch_size=MERGE_BATCH, columns=schema.names):
            yield pa.Table.from_batches([batch]).cast(schema)


def _read(paths: list[Path], schema: pa.Schema) -> pa.Table:
    """The ``schema`` columns of Parquet files, as one Arrow table."""
    if not paths:
        return schema.empty_table()
    return ds.dataset([str(p) for p in paths], format="parquet").to_table(columns=schema.names).cast(schema)


def _merge(old: Path | None, parts: list[Path], schema: pa.Schema, key: str, changed: pa.Array, order: list[str],
           output: Path, temp: Path) -> int:
    """Write the store's rows: the old file's, but for the changed tickets (``key`` in ``changed``), then the
    parts'; each ``sys_id`` once (the last), in ``order``. Return the number of rows.

    The rows stream from the Parquet files into one uncompressed Arrow file
    that is memory-mapped, not read: only the sort keys and the row positions
    are in memory, and the output is written a slice at a time.
    """
    spill = temp / "merge.arrow"
    with pa.OSFile(str(spill), "wb") as sink, pa.ipc.new_file(sink, schema) as writer:
        for batch in _batches([old] if old is not None else [], schema):
            writer.write_table(batch.filter(pc.invert(pc.is_in(batch[key], value_set=changed))))
        for batch in _batches(parts, schema):
            writer.write_table(batch)
    with pa.memory_map(str(spill)) as source:
        rows = pa.ipc.open_file(source).read_all()
        keys = rows.select(list(dict.fromkeys(["sys_id", *order]))).append_column("_row", pa.array(np.arange(rows.num_rows)))
        if keys["sys_id"].null_count:
            keys = keys.filter(pc.is_valid(keys["sys_id"]))
        repeated = _repeated(keys)
        if repeated is not None:  # a sys_id twice (a record updated during the pull): the last fetched stays
            keys = keys.filter(pc.invert(repeated))
        positions = keys["_row"].take(pc.sort_indices(keys, sort_keys=[(c, "ascending", "at_start") for c in order]))
        del keys
        with pq.ParquetWriter(output, schema) as out:
            for lo in range(0, len(positions), MERGE_BATCH):
                out.write_table(rows.take(positions[lo:lo + MERGE_BATCH]))
        del rows
    spill.unlink()
    return len(positions)


def _repeated(keys: pa.Table) -> pa.Array | None:
    """Which rows a later row of the same ``sys_id`` (by ``_row``) replaces, or None if every id comes once.
    A sort and a look at the next row's id: a hash group-by of a million ids takes twice the memory."""
    n = keys.num_rows
    by_id = pc.sort_indices(keys, sort_keys=[("sys_id", "ascending"), ("_row", "ascending")])
    ids = keys["sys_id"].take(by_id)
    same = pc.equal(ids.slice(0, n - 1), ids.slice(1)).combine_chunks() if n > 1 else pa.array([], pa.bool_())
    if not pc.any(same).as_py():
        return None
    replaced = np.zeros(n, dtype=bool)
    replaced[by_id.to_numpy()] = np.append(same.to_numpy(zero_copy_only=False), False)
    return pa.array(replaced)


def _changed(new: pd.DataFrame, old: pd.DataFrame) -> pd.DataFrame:
    """The records of ``new`` that the store does not hold as they are.

    The query asks from a day before the watermark, so that neither an update
    in the watermark's own second nor the instance's reading of the date in
    another time zone loses one; the records it returns again unchanged (same
    ``sys_updated_on`` and ``sys_mod_count``) are dropped here.
    """
    new = new.dropna(subset=["sys_id"]).drop_duplicates("sys_id", keep="last")
    if old.empty or new.empty:
        return new
    keys = ["sys_id", "sys_updated_on", "sys_mod_count"]
    seen = new[keys].merge(old[keys].drop_duplicates("sys_id"), on=keys, how="left", indicator=True)["_merge"] == "both"
    return new[~seen.to_numpy()]


def _audited_ids(parts: list[Path]) -> dict[str, list[str]]:
    """The group and user sys_ids that sys_audit rows name, per field, in order of appearance; the rows stream
    through a filter a batch at a time."""
    fields = ("assignment_group", "assigned_to")
    found: dict[str, dict[str, None]] = {field: {} for field in fields}
    for batch in _batches(parts, _schema(["fieldname", "oldvalue", "newvalue"])):
        for field in fields:
            mine = batch.filter(pc.equal(batch["fieldname"], field))
            both = pa.chunked_array(mine["oldvalue"].chunks + mine["newvalue"].chunks, pa.string())
            found[field].update(dict.fromkeys(pc.unique(both).drop_null().to_pylist()))
    return {field: list(ids) for field, ids in found.items()}


def _names(client: Client, records: pd.DataFrame, wanted: dict[str, list[str]], old: pd.DataFrame, page_size: int,
           progress: Progress | None) -> pd.DataFrame:
    """Names of the groups and users that the history holds as sys_ids (``wanted``, per field)."""
    pairs = [old]
    for field in ("assignment_group", "assigned_to"):
        known = records[[field, f"{field}.display"]].dropna()
        pairs.append(pd.DataFrame({"sys_id": known[field].to_numpy(), "name": known[f"{field}.display"].to_numpy()}))
    names = pd.concat(pairs, ignore_index=True).drop_duplicates("sys_id", keep="last")
    for field, table in (("assignment_group", "sys_user_group"), ("assigned_to", "sys_user")):
        have = set(names["sys_id"])
        missing = [i for i in wanted.get(field, []) if i not in have]
        for lo in range(0, len(missing), KEYS_PER_BATCH):
            params = {"sysparm_query": f"sys_idIN{','.join(missing[lo:lo + KEYS_PER_BATCH])}", "sysparm_fields": "sys_id,name",
                      "sysparm_display_value": "false", "sysparm_limit": page_size, "sysparm_offset": 0}
            try:
                for page, _ in table_pages(client, table, params, progress, "names"):
                    got = _flatten(page, ("sys_id", "name"), display=False)
                    names = pd.concat([names, pa.table(got).to_pandas()], ignore_index=True)
            except PullError:
                break  # no right to read the names: the sys_ids stay, as sys_audit gives them
    names = names.dropna(subset=["sys_id"]).drop_duplicates("sys_id", keep="last")
    return names.sort_values("sys_id", kind="stable", ignore_index=True)  # one order, however the pull went


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
    store, previous, temp = _open_store(output, base, "ticket_events", "", history="ticket_events")
    start = int(previous["watermark"]) if previous and previous.get("watermark") is not None else (
        int(pd.Timestamp(since_value(since), tz="UTC").timestamp()) if since else 0)
    run = _Progress(store, temp, {"instance": base, "start": start, "base": previous.get("pulls", 0) if previous else 0},
                    {"instance": "--url", "start": "--since"})
    phase = run.phase("events")
    with _resumable(store):
        next_url: str | None = None if phase["done"] else phase.get("next") or client.url(ZENDESK_EVENTS, {"start_time": start})
        seen: set[str] = set()
        while next_url:
            if next_url in seen:
                raise PullError(f"{ZENDESK_EVENTS}: the export's next page is a page already read; the pull stopped to avoid a loop")
            seen.add(next_url)
            body = client.get(next_url).body
            page = body.get("ticket_events") if isinstance(body, dict) else None
            if not isinstance(page, list):
                raise PullError(f"{ZENDESK_EVENTS}: the answer has no 'ticket_events' list; is this a Zendesk account's API?")
            if progress:
                progress("ticket events", phase["rows"] + len(page), None)
            next_url = None if body.get("end_of_stream") else body.get("next_page")
            end_time = int(body["end_time"]) if body.get("end_time") is not None else phase.get("end_time")
            run.add_lines("events", [json.dumps(e, separators=(",", ":")) for e in page], next=next_url, end_time=end_time,
                          done=not next_url)
    events: dict[object, tuple[int, str]] = {}
    old_files = previous.get("files", {}) if previous else {}
    if old_files.get("history"):
        with open(store / old_files["history"], encoding="utf-8") as fh:
            for line in fh:
                event = json.loads(line)
                events[event.get("id")] = (int(event.get("timestamp") or 0), line.rstrip("\n"))
    before = len(events)
    for line in run.lines("events"):
        event = json.loads(line)
        events[event.get("id")] = (int(event.get("timestamp") or 0), line)
    fetched = phase["rows"]
    watermark = phase.get("end_time") if phase.get("end_time") is not None else start
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
    return Pulled(store, fetched, 0, tickets, client.pages, str(watermark), previous is not None, client.waits,
                  resumed=run.kept if run.resumed else None)


def _open_store(output: str | os.PathLike[str], base: str, table: str, query: str, history: str | None = None,
                ) -> tuple[Path, dict | None, Path]:
    """The store folder, its state (None for a new store) and its temporary folder: fresh, unless ``history`` is
    given (a resumable pull, whose ``_Progress`` decides)."""
    store = Path(output)
    if store.exists() and not store.is_dir():
        raise OutputError(f"{store}: a file, not a store folder; give a new folder or an existing store")
    previous = read_state(store) if is_store(store) else None
    if store.is_dir() and previous is None and any(p.name != TEMP for p in store.iterdir()):
        raise OutputError(f"{store}: a folder that is not a vsm store and not empty; give a new folder")
    if previous is not None:
        given = [("instance", base), ("table", table), ("query", query)] + ([("history", history)] if history else [])
        for key, value in given:
            if previous.get(key) != value:
                raise BadOption(f"{store}: a store pulled with {key} {previous.get(key)!r}, not {value!r}; "
                                "pull into another folder, or give the same options")
    store.mkdir(parents=True, exist_ok=True)
    temp = store / TEMP
    if history is None:
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
    store, previous, temp = _open_store(output, base, "issues", jql, history="changelog")
    old_files = previous.get("files", {}) if previous else {}
    issues: dict[str, dict] = {}
    if old_files.get("history"):
        for issue in json.loads((store / old_files["history"]).read_text(encoding="utf-8"))["issues"]:
            issues[str(issue.get("id"))] = issue
    since = pd.Timestamp(previous["watermark"]) - JIRA_MARGIN if previous and previous.get("watermark") else None
    run = _Progress(store, temp, {
        "instance": base, "query": jql, "deployment": "cloud" if cloud else "datacenter", "page_size": page_size,
        "since": since.isoformat() if since is not None else None, "base": previous.get("pulls", 0) if previous else 0,
    }, {"instance": "--site", "query": "--jql", "page_size": "--page-size", "deployment": "--deployment"})
    phase = run.phase("issues")
    changed: set[str] = set()
    for line in run.lines("issues"):  # what an interrupted pull kept
        issue = json.loads(line)
        issues[str(issue.get("id"))] = issue
        changed.add(str(issue.get("id")))
    with _resumable(store):
        if not phase["done"]:
            # A resumed search starts from the newest issue kept, less the margin, not from a page token:
            # an issue updated while the pull stood still moves to the end of the order.
            newest_kept = pd.Timestamp(phase["newest"]) - JIRA_MARGIN if phase.get("newest") else None
            window = max((t for t in (since, newest_kept) if t is not None), default=None)
            query = f"({jql})" + (f' AND updated >= "{window.strftime("%Y-%m-%d %H:%M")}"' if window is not None else "")
            params = {"jql": query + " ORDER BY updated ASC", "fields": fields, "expand": "changelog", "maxResults": page_size}
            fetched = 0
            for page in _jira_pages(client, cloud, params):
                lines = []
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
                    changed.add(key)
                    lines.append(json.dumps(issue, separators=(",", ":")))
                latest = max((u for u in map(_updated, page) if u is not None), default=None)
                newest = max((t for t in (latest, pd.Timestamp(phase["newest"]) if phase.get("newest") else None) if t is not None),
                             default=None)
                run.add_lines("issues", lines, newest=newest.isoformat() if newest is not None else None)
            phase["done"] = True
            run.save()
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
    return Pulled(store, len(changed), 0, len(issues), client.pages, state["watermark"], previous is not None, client.waits,
                  resumed=run.kept if run.resumed else None)


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
