"""Zendesk group and user ids become names: from sideloaded groups and users, or from --names FILE."""

from __future__ import annotations

import json

import pandas as pd
import pytest

import connectors
from tests.conftest import DATA, run_cli

ZD = DATA / "zendesk"
SYSTEM = "-1"  # Zendesk itself: no user record names it


@pytest.fixture(scope="module")
def export(tmp_path_factory):
    """A generated Zendesk ticket events export (no sideloads) and its ground truth."""
    folder = tmp_path_factory.mktemp("zendesk")
    path = folder / "events.json"
    result = run_cli("sample", "--source", "zendesk", "--tickets", "40", "--seed", "11", "-o", path, "--quiet")
    assert result.exit_code == 0, result.stderr
    return path, json.loads((folder / "events.json.truth.json").read_text())


def truth_events(truth, groups, users):
    """The truth's events, (case, activity, time, group, resource), with the ids in ``groups``/``users`` named."""
    out = []
    for case, c in truth["cases"].items():
        for activity, time, group, resource in c["events"]:
            out.append((case, activity, pd.Timestamp(time).isoformat(), groups.get(group, group), users.get(resource, resource)))
    return sorted(out)


def loaded_events(log):
    return sorted(zip(log["case_id"].astype(str), log["activity"].astype(str), log["timestamp"].map(pd.Timestamp.isoformat),
                      log["group"].astype(object).where(log["group"].notna(), None),
                      log["resource"].astype(object).where(log["resource"].notna(), None), strict=True))


def people(truth):
    return {k: v for k, v in truth["legend"]["people"].items() if k != SYSTEM}


def with_sideloads(tmp_path, export, leave_out=()):
    """The export with Zendesk's sideloaded 'groups' and 'users' (include=users,groups), less the user ids in ``leave_out``."""
    path, truth = export
    doc = json.loads(path.read_text())
    doc["groups"] = [{"id": int(k), "name": v, "url": f"https://acme.zendesk.com/api/v2/groups/{k}.json"}
                     for k, v in truth["legend"]["groups"].items()]
    doc["users"] = [{"id": int(k), "name": v, "email": f"{k}@example.com", "role": "agent"}
                    for k, v in people(truth).items() if k not in leave_out]
    out = tmp_path / "sideloaded.json"
    out.write_text(json.dumps(doc))
    return out


def test_without_names_the_ids_stay_and_the_report_says_how_to_name_them(export):
    path, truth = export
    log, report = connectors.load(path)
    assert loaded_events(log) == truth_events(truth, {}, {})
    assert report.columns["group"].reason == "the ticket's group id after the audit (Zendesk exports ids, not names: --names FILE names them)"
    assert not [n for n in report.notes if n.startswith("names from")]


def test_sideloaded_groups_and_users_name_the_ids(tmp_path, export):
    _, truth = export
    users = people(truth)
    left_out = sorted(users)[:2]
    path = with_sideloads(tmp_path, export, left_out)
    log, report = connectors.load(path)
    named_users = {k: v for k, v in users.items() if k not in left_out}
    assert loaded_events(log) == truth_events(truth, truth["legend"]["groups"], named_users)
    assert set(log["group"].dropna()) <= set(truth["legend"]["groups"].values())
    met_groups = {g for c in truth["cases"].values() for _, _, g, _ in c["events"] if g}
    met_users = {r for c in truth["cases"].values() for *_, r in c["events"] if r and r != SYSTEM}
    met_users |= set(connectors.load(export[0])[0]["assignee"].dropna().astype(str))  # the ticket's assignee, an attribute
    still_ids = sorted(set(left_out) & met_users)
    assert still_ids, "the decoy: users left out of the sideload must occur in the log"
    note = next(n for n in report.notes if n.startswith("names from"))
    assert note == (f"names from the export's sideloaded groups and users: group ids named {len(met_groups)} of {len(met_groups)}, "
                    f"user ids {len(met_users) - len(still_ids)} of {len(met_users)}; "
                    f"with no name given, these stay ids: user ids {', '.join(still_ids)}")
    assert report.columns["group"].reason == "the ticket's group after the audit, named where a name is known (see the notes)"
    assert report.rows_read == report.rows_loaded + report.rows_rejected
    assert not [f for f in report.flags if f.startswith("--names")]  # the export itself names them


@pytest.mark.parametrize("form", ["csv", "json", "csv-without-kind"])
def test_a_names_file_names_the_ids_of_an_export_without_sideloads(tmp_path, export, form):
    path, truth = export
    groups, users = truth["legend"]["groups"], people(truth)
    if form == "json":
        names = tmp_path / "names.json"
        names.write_text(json.dumps([{"groups": [{"id": int(k), "name": v} for k, v in groups.items()]},
                                     {"users": [{"id": int(k), "name": v} for k, v in users.items()]}]))
    else:
        rows = [("group", k, v) for k, v in groups.items()] + [("user", k, v) for k, v in users.items()]
        names = tmp_path / "names.csv"
        if form == "csv":
            frame = pd.DataFrame(rows, columns=["kind", "id", "name"])
        else:
            frame = pd.DataFrame([r[1:] for r in rows], columns=["id", "name"])
        frame.to_csv(names, index=False)
    log, report = connectors.load(path, names=(str(names),))
    assert loaded_events(log) == truth_events(truth, groups, users)
    assert f"--names {names}" in report.flags
    note = next(n for n in report.notes if n.startswith("names from"))
    assert note.startswith(f"names from --names {names}: ") and "stay ids" not in note
    # The sideloaded export with the same names reads the same events.
    sideloaded, _ = connectors.load(with_sideloads(tmp_path, export))
    assert loaded_events(sideloaded) == loaded_events(log)


def test_a_names_file_wins_over_a_sideload(tmp_path, export):
    _, truth = export
    group_id, old = next(iter(truth["legend"]["groups"].items()))
    names = tmp_path / "names.csv"
    names.write_text(f"kind,id,name\ngroup,{group_id},Service Desk EMEA\n")
    log, _ = connectors.load(with_sideloads(tmp_path, export), names=(str(names),))
    assert "Service Desk EMEA" in set(log["group"].dropna())
    assert old not in set(log["group"].dropna())


def test_audits_with_sideloads_name_authors_assignees_and_groups(tmp_path):
    doc = json.loads((ZD / "audits.json").read_text())
    doc["groups"] = [{"id": 30, "name": "Network"}]
    doc["users"] = [{"id": 700, "name": "Ann Requester"}, {"id": 701, "name": "Bo Agent"}]
    path = tmp_path / "audits.json"
    path.write_text(json.dumps(doc))
    plain, _ = connectors.load(ZD / "audits.json")
    log, report = connectors.load(path)
    assert report.source == "zendesk-audits"
    rename = {"30": "Network", "700": "Ann Requester", "701": "Bo Agent"}
    expected = [tuple(rename.get(v, v) if isinstance(v, str) else v for v in e) for e in loaded_events(plain)]
    assert loaded_events(log) == expected
    assert set(log["assignee"].dropna()) == {rename.get(a, a) for a in plain["assignee"].dropna()}


def test_field_history_takes_names_from_a_file(tmp_path):
    names = tmp_path / "names.csv"
    names.write_text("kind,id,name\ngroup,40,Desk\nuser,800,Ann\nuser,802,Bo\n")
    plain, _ = connectors.load(ZD / "ticket_field_history.csv")
    log, report = connectors.load(ZD / "ticket_field_history.csv", names=(str(names),))
    assert report.source == "zendesk-history"
    rename = {"40": "Desk", "800": "Ann", "802": "Bo"}
    assert loaded_events(log) == [tuple(rename.get(v, v) if isinstance(v, str) else v for v in e) for e in loaded_events(plain)]
    assert "group ids named 1 of" in next(n for n in report.notes if n.startswith("names from"))


# ---- the command line ------------------------------------------------------------------


def test_inspect_shows_the_names_and_the_flags_reproduce_them(tmp_path, export):
    path, truth = export
    names = tmp_path / "names.csv"
    group_id, group = next(iter(truth["legend"]["groups"].items()))
    names.write_text(f"kind,id,name\ngroup,{group_id},{group}\n")
    result = run_cli("inspect", path, "--names", names, "--json", "-")
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["flags"] == ["--source zendesk-events", f"--names {names}"]
    assert any(n.startswith(f"names from --names {names}: group ids named 1 of ") and "stay ids: group ids " in n for n in doc["notes"])
    again = json.loads(run_cli("inspect", path, *" ".join(doc["flags"]).split(), "--json", "-").stdout)
    assert again.pop("source_reason") == "given with --source"
    doc.pop("source_reason")
    assert again == doc


def bad_names(tmp_path):
    files = {
        "kind.csv": "kind,id,name\ngroup,1,Desk\nteam,2,Network\n",
        "no_name.csv": "kind,id,name\ngroup,1,Desk\nuser,2,\n",
        "no_id.csv": "kind,id,name\nuser,,Ann\n",
        "columns.csv": "who,label\n1,Desk\n",
        "clash.csv": "kind,id,name\ngroup,1,Desk\nuser,1,Ann\ngroup,1,Network\n",
        "shape.json": json.dumps({"people": []}),
        "entry.json": json.dumps({"users": [{"id": 1, "name": "Ann"}, {"id": 2}]}),
        "broken.json": '{"users": [',
        "binary.parquet": "PAR1",
    }
    for name, text in files.items():
        (tmp_path / name).write_text(text)


@pytest.mark.parametrize("name, message", [
    ("kind.csv", "row 3: kind 'team' is neither 'group' nor 'user'; each row needs a kind (group or user), an id and a name"),
    ("no_name.csv", "row 3: no name for id 2; each row needs a kind (group or user), an id and a name"),
    ("no_id.csv", "row 2: no id; each row needs a kind (group or user), an id and a name"),
    ("columns.csv", "no 'id' or 'name' column (columns: 'who', 'label'); a names file has columns kind, id, name (kind: group or user)"),
    ("clash.csv", "row 4: group 1 is named 'Network' here but 'Desk' at row 2; give each id one name"),
    ("shape.json", "expected 'groups' or 'users' arrays of {id, name} objects, as Zendesk's /api/v2/groups.json "
                   "and /api/v2/users.json return them (found 'people')"),
    ("entry.json", "users[1] has no 'name'; each entry needs an id and a name"),
    ("broken.json", "is truncated (line 1, column 12: Expecting value); export it again in full"),
    ("binary.parquet", "a names file is CSV, TSV, XLSX or JSON, not parquet"),
    ("missing.csv", "no such file"),
])
def test_a_bad_names_file_is_one_line_naming_the_file_and_row(tmp_path, export, name, message):
    bad_names(tmp_path)
    result = run_cli("inspect", export[0], "--names", tmp_path / name)
    assert result.exit_code == 2
    assert result.stderr == f"Error: --names {tmp_path / name}: {message}\n"


def test_names_for_an_export_that_is_not_zendesk_is_refused(tmp_path):
    names = tmp_path / "names.csv"
    names.write_text("kind,id,name\ngroup,1,Desk\n")
    csv = DATA.parent.parent / "sample_logs" / "service_desk_events.csv"
    result = run_cli("mine", csv, "--names", names)
    assert result.exit_code == 2
    assert result.stderr == (f"Error: {csv}: --names names the group and user ids of a Zendesk export, but this is csv; "
                             "leave --names out\n")
