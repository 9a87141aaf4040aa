"""Names for the group and user ids of a Zendesk export.

Zendesk's exports hold ids (``group_id``, ``assignee_id``, ``author_id``,
``updater_id``). Names come from two places, and a names file wins where both
name one id:

* **Sideloads.** A page of the incremental export or of the audits API
  fetched with ``include=users,groups`` carries top-level ``users`` and
  ``groups`` arrays of ``{"id": …, "name": …}`` objects.
* **A names file** (``--names FILE``, repeatable), one of

  - a table (CSV, TSV or XLSX) with columns ``id`` and ``name`` and, to keep
    groups and people apart, ``kind`` (``group`` or ``user``); without a
    ``kind`` column a name applies to a group or a user of that id;
  - JSON in Zendesk's own list shape, ``{"groups": [{"id": …, "name": …}],
    "users": [...]}``: the saved response of ``GET /api/v2/groups.json`` or
    ``/api/v2/users.json`` (or both in one object, or an array of pages).

Ids without a name stay ids, and the load report says how many.
"""

from __future__ import annotations

import shlex
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from connectors.errors import BadOption, VsmError
from connectors.report import distinct, few
from connectors.textio import json_column, load_json, sniff

KINDS = {"group": "group", "groups": "group", "user": "user", "users": "user"}
# Zendesk's user id -1 is Zendesk itself (triggers and automations): it has no user record to name it.
SYSTEM_USER = "-1"


@dataclass
class Names:
    """Group and user names by id (ids as text), and where they came from."""

    groups: dict[str, str] = field(default_factory=dict)
    users: dict[str, str] = field(default_factory=dict)
    origins: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.origins)

    def update(self, other: Names) -> None:
        """Add ``other``'s names; where both name an id, ``other``'s win."""
        self.groups.update(other.groups)
        self.users.update(other.users)
        self.origins.extend(other.origins)


def from_sideloads(groups: list[object], users: list[object]) -> Names:
    """The names in an export's sideloaded ``groups`` and ``users`` arrays (entries without an id or a name are skipped)."""
    out = Names()
    for kind, entries, into in (("groups", groups, out.groups), ("users", users, out.users)):
        objects = [e for e in entries if isinstance(e, dict)]
        if objects:
            into.update(_pairs(json_column([e.get("id") for e in objects]), json_column([e.get("name") for e in objects])))
    if groups or users:
        out.origins.append("the export's sideloaded " + " and ".join(k for k, v in (("groups", groups), ("users", users)) if v))
    return out


def read_names(paths: Iterable[str]) -> Names:
    """The names in the ``--names`` files, later files winning; raise :class:`BadOption` naming the file and row."""
    out = Names()
    for path in paths:
        out.update(_read_one(Path(path)))
    return out


def _read_one(path: Path) -> Names:
    try:
        sniffed = sniff(path)
        if sniffed.kind == "json":
            encoding = "utf-8" if sniffed.encoding.startswith("utf-8") else sniffed.encoding
            names = _from_json(path, load_json(path, encoding, compressed=sniffed.compressed))
        elif sniffed.kind in ("text", "xlsx"):
            from connectors.generic import read_table, to_frame
            from connectors.options import LoadOptions

            text = read_table(sniffed, LoadOptions())
            names = _from_table(path, to_frame(text), text.source_rows)
        else:
            raise BadOption(f"{path}: a names file is CSV, TSV, XLSX or JSON, not {sniffed.kind}")
    except VsmError as exc:
        raise BadOption(f"--names {exc}") from exc
    names.origins.append(f"--names {shlex.quote(str(path))}")
    return names


def _from_table(path: Path, frame: pd.DataFrame, rows: np.ndarray) -> Names:
    columns = {str(c).strip().lower(): c for c in frame.columns}
    missing = [c for c in ("id", "name") if c not in columns]
    if missing:
        shown = ", ".join(repr(str(c)) for c in frame.columns[:8])
        raise BadOption(f"{path}: no {' or '.join(repr(m) for m in missing)} column (columns: {shown}); "
                        "a names file has columns kind, id, name (kind: group or user)")
    ids = _text(frame[columns["id"]])
    names = _text(frame[columns["name"]])
    _refuse_first(path, rows, ids.isna().to_numpy(), "no id")
    _refuse_first(path, rows, names.isna().to_numpy(), "no name for id {}", ids)
    if "kind" not in columns:
        both = _unique(path, rows, ids.to_numpy(dtype=object), names.to_numpy(dtype=object), "id")
        return Names(dict(both), dict(both))
    raw_kind = _text(frame[columns["kind"]])
    kind = raw_kind.str.lower().map(KINDS)
    _refuse_first(path, rows, kind.isna().to_numpy(), "kind {!r} is neither 'group' nor 'user'", raw_kind)
    out = Names()
    for which, into in (("group", out.groups), ("user", out.users)):
        mask = (kind == which).to_numpy()
        into.update(_unique(path, rows[mask], ids[mask].to_numpy(dtype=object), names[mask].to_numpy(dtype=object), which))
    return out


def _from_json(path: Path, doc: object) -> Names:
    pages = doc if isinstance(doc, list) else [doc]
    found: dict[str, list[object]] = {"groups": [], "users": []}
    for page in pages:
        if not isinstance(page, dict) or not ({"groups", "users"} & set(page)):
            keys = ", ".join(repr(k) for k in sorted(page)[:8]) if isinstance(page, dict) else f"a {type(page).__name__}"
            raise BadOption(f"{path}: expected 'groups' or 'users' arrays of {{id, name}} objects, as Zendesk's "
                            f"/api/v2/groups.json and /api/v2/users.json return them (found {keys or 'an empty object'})")
        for key in found:
            entries = page.get(key, [])
            if not isinstance(entries, list):
                raise BadOption(f"{path}: '{key}' is a {type(entries).__name__}, not an array of {{id, name}} objects")
            found[key].extend(entries)
    out = Names()
    for key, into in (("groups", out.groups), ("users", out.users)):
        entries = found[key]
        objects = np.asarray([isinstance(e, dict) for e in entries], dtype=bool)
        ids = json_column([e.get("id") if isinstance(e, dict) else None for e in entries])
        names = json_column([e.get("name") if isinstance(e, dict) else None for e in entries])
        for what, values in (("id", ids), ("name", names)):
            missing = ~objects | _blank(values)
            if missing.any():
                raise BadOption(f"{path}: {key}[{int(np.flatnonzero(missing)[0])}] has no '{what}'; each entry needs an id and a name")
        into.update(_unique(path, np.arange(len(entries)), _as_text(ids), _as_text(names), key[:-1], json_key=key))
    return out


def _unique(path: Path, rows: np.ndarray, ids: np.ndarray, names: np.ndarray, what: str, json_key: str = "") -> dict[str, str]:
    """``id -> name``; raise if one id has two names (exact repeats are fine)."""
    frame = pd.DataFrame({"id": ids, "name": names, "row": rows}).drop_duplicates(["id", "name"])
    clash = frame.duplicated("id", keep=False).to_numpy()
    if clash.any():
        first = frame[clash].iloc[0]
        second = frame[clash & (frame["id"] == first["id"]).to_numpy()].iloc[1]
        where = (lambda r: f"{json_key}[{r}]") if json_key else (lambda r: f"row {r}")
        raise BadOption(f"{path}: {where(second['row'])}: {what} {first['id']} is named {second['name']!r} here but "
                        f"{first['name']!r} at {where(first['row'])}; give each id one name")
    return _pairs(frame["id"].to_numpy(dtype=object), frame["name"].to_numpy(dtype=object))


def _refuse_first(path: Path, rows: np.ndarray, bad: np.ndarray, what: str, values: pd.Series | None = None) -> None:
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise BadOption(f"{path}: row {int(rows[i])}: {what.format(values.iloc[i] if values is not None else '')}; "
                        "each row needs a kind (group or user), an id and a name")


def _pairs(ids: np.ndarray, names: np.ndarray) -> dict[str, str]:
    keep = pd.notna(ids) & pd.notna(names)
    return dict(zip(_as_text(ids[keep]), _as_text(names[keep]), strict=True))


def _as_text(values: np.ndarray) -> np.ndarray:
    """Ids and names as the connector writes them: str() of the JSON value, stripped."""
    return pd.Series(values, dtype=object).astype(str).str.strip().to_numpy(dtype=object)


def _blank(values: np.ndarray) -> np.ndarray:
    return np.asarray(pd.isna(values), dtype=bool) | (_as_text(values) == "")


def _text(column: pd.Series) -> pd.Series:
    text = column.astype("str").where(column.notna(), None).str.strip()
    return text.where(text != "", None)


# --------------------------------------------------------------------------
# Naming the ids of an event table


@dataclass
class Named:
    """The ids met in an event table's columns, named or not."""

    named: set[str] = field(default_factory=set)
    unnamed: set[str] = field(default_factory=set)


def name_categorical(values: pd.Categorical, names: dict[str, str], seen: Named) -> pd.Categorical:
    """``values`` with each id that has a name replaced by it (two ids of one name become one category)."""
    categories = np.asarray(values.categories, dtype=object)
    used = categories[np.unique(values.codes[values.codes >= 0])]
    _tally_ids(used, names, seen)
    renamed = np.asarray([names.get(c, c) for c in categories], dtype=object)  # a loop over distinct ids
    codes, uniques = pd.factorize(renamed)
    new_codes = np.where(values.codes >= 0, codes[values.codes.clip(0)] if len(codes) else -1, -1)
    return pd.Categorical.from_codes(new_codes, categories=pd.Index(uniques, dtype="str"))


def name_values(values: np.ndarray, names: dict[str, str], seen: Named) -> np.ndarray:
    """An object array of ids (None for none) with each id that has a name replaced by it."""
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    uniques = np.asarray(uniques, dtype=object)
    _tally_ids(uniques, names, seen)
    renamed = np.asarray([names.get(str(u), u) for u in uniques], dtype=object)
    out = np.full(len(values), None, dtype=object)
    out[codes >= 0] = renamed[codes[codes >= 0]]
    return out


def _tally_ids(ids: np.ndarray, names: dict[str, str], seen: Named) -> None:
    for i in (str(v) for v in ids):
        if i != SYSTEM_USER:
            (seen.named if i in names else seen.unnamed).add(i)


def names_note(names: Names, groups: Named, users: Named) -> str:
    """The load note: how many group and user ids were named, and which were not (marked to merge over partitions)."""
    text = (f"names from {' and '.join(names.origins)}: group ids named {distinct(groups.named)} of "
            f"{distinct(groups.named | groups.unnamed)}, user ids {distinct(users.named)} of {distinct(users.named | users.unnamed)}")
    if groups.unnamed or users.unnamed:
        left = []
        if groups.unnamed:
            left.append(f"group ids {few(groups.unnamed)}")
        if users.unnamed:
            left.append(f"user ids {few(users.unnamed)}")
        text += "; with no name given, these stay ids: " + "; ".join(left)
    return text
