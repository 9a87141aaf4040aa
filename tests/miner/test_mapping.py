"""Value-chain mapping rules: each matcher type, precedence, inheritance and errors."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from connectors.errors import ConfigError
from miner.cases import case_arrays
from miner.mapping import (
    _most_common_rule,
    apply_mapping,
    builtin_mapping,
    check_user_rules,
    parse_mapping_text,
    resolve_mapping,
)
from miner.valuechain import STAGES
from tests.helpers import make_log

LOG = make_log(
    [
        ("T1", "Log call", 0, "Service Desk", "incident"),
        ("T1", "On Hold - waiting for caller", 10, "Service Desk", "incident"),
        ("T1", "Reassigned", 20, "Network", "incident"),
        ("T1", "Fix router", 30, "Network", "incident"),
        ("T1", "Closed", 40, "Network", "incident"),
        ("T2", "Log call", 0, "Service Desk", "request"),
        ("T2", "Fix router", 5, "Network", "request"),
        ("T2", "Mystery step", 9, "Network", "request"),
    ],
    columns=("case_id", "activity", "minutes", "group", "category"),
)
ACTIVITIES = set(map(str, LOG["activity"].cat.categories))


def classify(text: str, log=LOG) -> list[tuple[str, str | None, str | None]]:
    rules, defaults = parse_mapping_text(text, "m.toml")
    from miner.mapping import Mapping

    mapping = Mapping(rules, "test", len(rules), "m.toml")
    classes = apply_mapping(log, case_arrays(log), mapping)
    kinds = ("work", "wait", "done", "unknown")
    waits = ("queue", "customer", "vendor", "internal", "handoff")
    return [
        (STAGES[s] if s >= 0 else "unmapped", kinds[k] if k >= 0 else None, waits[w] if w >= 0 else None)
        for s, k, w in zip(classes.stage, classes.kind, classes.wait, strict=True)
    ]


def test_exact_list_glob_regex_and_when():
    got = classify(
        """
version = 1
[[rule]]
activity = "Log call"
stage = "engage"
[[rule]]
activity = "re:(?i)waiting for (caller|customer)"
stage = "deliver and support"
kind = "wait"
wait = "customer"
[[rule]]
activity = "Fix router"
when = { category = "glob:req*" }
stage = "Deliver & Support"
[[rule]]
activity = ["Fix router", "Nothing"]
stage = "obtain_build"
[[rule]]
activity = "glob:Clo*"
stage = "deliver and support"
kind = "done"
"""
    )
    assert got[0] == ("engage", "work", None)
    assert got[1] == ("deliver_support", "wait", "customer")
    assert got[3] == ("obtain_build", "work", None)  # T1 is an incident: the request rule does not apply
    assert got[4] == ("deliver_support", "done", None)
    assert got[6] == ("deliver_support", "work", None)  # T2 is a request: first match wins
    assert got[7] == ("unmapped", None, None)
    assert got[2] == ("unmapped", None, None)


def test_first_match_wins():
    got = classify(
        """
[[rule]]
activity = "re:Fix"
stage = "improve"
[[rule]]
activity = "Fix router"
stage = "plan"
"""
    )
    assert got[3][0] == "improve"


def test_inherit_takes_next_mapped_stage_then_previous():
    got = classify(
        """
[[rule]]
activity = "Reassigned"
stage = "inherit"
kind = "wait"
wait = "handoff"
[[rule]]
activity = "Fix router"
stage = "obtain/build"
[[rule]]
activity = "Mystery step"
stage = "inherit"
[[rule]]
activity = "Log call"
stage = "engage"
"""
    )
    assert got[2] == ("obtain_build", "wait", "handoff")  # from the next event, Fix router
    assert got[7] == ("obtain_build", "work", None)  # last event: from the previous one


def test_coverage_and_unmapped_counts():
    rules, _ = parse_mapping_text('[[rule]]\nactivity = "Log call"\nstage = "engage"\n', "m.toml")
    from miner.mapping import Mapping

    classes = apply_mapping(LOG, case_arrays(LOG), Mapping(rules, "t"))
    assert classes.coverage == pytest.approx(2 / 8)
    assert classes.unmapped == {"Fix router": 2, "Closed": 1, "Mystery step": 1, "On Hold - waiting for caller": 1, "Reassigned": 1}


@pytest.mark.parametrize(
    "text, message",
    [
        pytest.param('[[rule]]\nactivity = "x"\nstage = "delivery"\n', "m.toml:3: rule 1: unknown stage 'delivery'", id="bad-stage"),
        pytest.param('[[rule]]\nactivity = "x"\nstage = "engage"\nkind = "wiat"\n', "m.toml:4: rule 1: kind must be one of work, wait, done, unknown, bookkeeping, not 'wiat'; did you mean 'wait'?", id="bad-kind"),
        pytest.param('\n[[rule]]\nactivty = "x"\nstage = "engage"\n', "m.toml:3: rule 1: unknown key 'activty'; did you mean 'activity'?", id="typo-key"),
        pytest.param('[[rule]]\nactivity = "x"\nstage = "engage"\nwait = "customer"\n', "m.toml:4: rule 1: 'wait' goes with kind = \"wait\"", id="wait-without-kind"),
        pytest.param('[[rule]]\nstage = "engage"\n', "m.toml:1: rule 1: a rule needs 'activity' or 'when'", id="no-matcher"),
        pytest.param('[[rule]]\nactivity = "re:("\nstage = "engage"\n', "m.toml:2: rule 1: activity: bad regular expression '('", id="bad-regex"),
        pytest.param('[[rule]\nactivity = "x"\n', "m.toml: not valid TOML", id="syntax"),
        pytest.param('defaults = "servicenw"\n', "m.toml:1: defaults = 'servicenw' is not one of", id="bad-defaults"),
    ],
)
def test_invalid_files_name_the_line(text, message):
    with pytest.raises(ConfigError) as err:
        parse_mapping_text(text, "m.toml")
    assert str(err.value).startswith(message)


def test_unknown_activity_gets_a_suggestion(tmp_path):
    path = tmp_path / "m.toml"
    path.write_text('version = 1\n\n[[rule]]\nactivity = "Fix ruoter"\nstage = "engage"\n')
    mapping = resolve_mapping(path, "csv")
    with pytest.raises(ConfigError, match=r"m.toml:3: activity 'Fix ruoter' does not occur in the log; did you mean 'Fix router'\?"):
        check_user_rules(mapping, ACTIVITIES, list(LOG.columns))


def test_unknown_far_activity_is_a_warning(tmp_path):
    path = tmp_path / "m.toml"
    path.write_text('[[rule]]\nactivity = "Completely different"\nstage = "engage"\n')
    mapping = resolve_mapping(path, "csv")
    check_user_rules(mapping, ACTIVITIES, list(LOG.columns))
    assert mapping.warnings == [f"{path}:1: activity 'Completely different' does not occur in the log"]


def test_defaults_none_turns_off_builtin_rules(tmp_path):
    path = tmp_path / "m.toml"
    path.write_text('defaults = "none"\n[[rule]]\nactivity = "Closed"\nstage = "engage"\n')
    mapping = resolve_mapping(path, "csv")
    assert len(mapping.rules) == 1
    path.write_text('[[rule]]\nactivity = "Closed"\nstage = "engage"\n')
    assert len(resolve_mapping(path, "servicenow-audit").rules) == 1 + len(builtin_mapping("servicenow-audit").rules)


@pytest.mark.parametrize(
    "source, activity, expected",
    [
        pytest.param("servicenow-audit", "On Hold (Awaiting Caller)", ("deliver_support", "wait", "customer"), id="snow-caller"),
        pytest.param("servicenow-audit", "On Hold (Awaiting Vendor)", ("deliver_support", "wait", "vendor"), id="snow-vendor"),
        pytest.param("servicenow-audit", "Awaiting User Info", ("deliver_support", "wait", "customer"), id="snow-pre-helsinki"),
        pytest.param("servicenow", "Authorize", ("deliver_support", "wait", "internal"), id="snow-change"),  # a wait takes the next work's stage
        pytest.param("servicenow", "Resolved", ("deliver_support", "done", None), id="snow-resolved"),
        pytest.param("zendesk-events", "pending", ("deliver_support", "wait", "customer"), id="zendesk-pending"),
        pytest.param("zendesk-events", "hold", ("deliver_support", "wait", "vendor"), id="zendesk-hold"),
        pytest.param("jira-changelog", "In Progress", ("obtain_build", "work", None), id="jira-in-progress"),
        pytest.param("csv", "Awaiting customer reply", ("deliver_support", "wait", "customer"), id="kw-customer"),
        pytest.param("csv", "Queued", ("deliver_support", "wait", "queue"), id="kw-queued"),
        pytest.param("csv", "Deploy to production", ("deliver_support", "work", None), id="kw-deploy"),
        pytest.param("csv", "CAB review", ("design_transition", "work", None), id="kw-cab"),
        pytest.param("csv", "Post-implementation review", ("improve", "work", None), id="kw-pir"),
        pytest.param("csv", "Build", ("obtain_build", "work", None), id="kw-build"),
        pytest.param("csv", "Log incident", ("engage", "work", None), id="kw-log"),
    ],
)
def test_builtin_defaults(source, activity, expected):
    log = make_log([("T", activity, 0), ("T", "Investigate", 5)])
    classes = apply_mapping(log, case_arrays(log), builtin_mapping(source))
    kinds = ("work", "wait", "done", "unknown")
    waits = ("queue", "customer", "vendor", "internal", "handoff")
    w = classes.wait[0]
    assert (STAGES[classes.stage[0]], kinds[classes.kind[0]], waits[w] if w >= 0 else None) == expected


def test_mapping_init_round_trips(tmp_path):
    from miner.mapping import render_mapping_file

    classes = apply_mapping(LOG, case_arrays(LOG), builtin_mapping("csv"))
    text = render_mapping_file(classes, "csv", "log.csv")
    path = tmp_path / "m.toml"
    path.write_text(text)
    again = apply_mapping(LOG, case_arrays(LOG), resolve_mapping(path, "csv"))
    mapped = classes.stage >= 0
    assert (again.stage[mapped] == classes.stage[mapped]).all()
    assert (again.kind[mapped] == classes.kind[mapped]).all()
    assert "UNMAPPED" in text.split('activity = "Mystery step"')[1].split("[[rule]]")[0]
    assert list(again.activities["activity"]) == list(classes.activities["activity"])


CODED = make_log(
    [
        ("T1", "1", 0),
        ("T1", "17", 5),
        ("T1", "18", 9),
        ("T1", "6", 20),
        ("T2", "1", 0),
        ("T2", "18", 3),
        ("T2", "Closed", 8),
        ("T2", "99", 9),
    ]
)
LABELS = '[labels]\n"1" = "New"\n"17" = "In Progress"\n18 = "In Progress"\n"6" = "Closed"\n'


def test_labels_rename_codes_and_merge_duplicates(tmp_path):
    from miner.mapping import apply_labels

    path = tmp_path / "m.toml"
    path.write_text('version = 1\n' + LABELS)
    mapping = resolve_mapping(path, "csv")
    assert mapping.labels == {"1": "New", "17": "In Progress", "18": "In Progress", "6": "Closed"}
    named = apply_labels(CODED, mapping)
    # 17 and 18 become one activity; 6 joins the existing "Closed"; 99 has no label and keeps its code
    assert list(named["activity"].astype(str)) == ["New", "In Progress", "In Progress", "Closed", "New", "In Progress", "Closed", "99"]
    assert list(named["activity"].cat.categories) == ["New", "In Progress", "Closed", "99"]
    assert list(CODED["activity"].astype(str))[:2] == ["1", "17"]  # the input is left as it was
    classes = apply_mapping(named, case_arrays(named), mapping)
    assert classes.unmapped == {"99": 1}
    assert apply_labels(CODED, builtin_mapping("csv")) is CODED


def test_user_rules_name_the_labels(tmp_path):
    path = tmp_path / "m.toml"
    path.write_text(LABELS + '\n[[rule]]\nactivity = "In Progress"\nstage = "obtain/build"\n')
    mapping = resolve_mapping(path, "csv")
    check_user_rules(mapping, set(map(str, CODED["activity"].cat.categories)), list(CODED.columns))
    assert mapping.warnings == []
    path.write_text(LABELS + '\n[[rule]]\nactivity = "17"\nstage = "obtain/build"\n')
    mapping = resolve_mapping(path, "csv")
    with pytest.raises(ConfigError, match=r"m.toml:7: activity '17' is a code that \[labels\] names 'In Progress'; rules see the names"):
        check_user_rules(mapping, set(map(str, CODED["activity"].cat.categories)), list(CODED.columns))


@pytest.mark.parametrize(
    "text, message",
    [
        pytest.param('[labels]\n"17" = 3\n', "m.toml:2: labels: code '17' must name a non-empty string, not 3", id="not-a-string"),
        pytest.param('version = 1\n[labels]\n17 = ""\n', "m.toml:3: labels: code '17' must name a non-empty string", id="empty"),
        pytest.param('labels = "17"\n', "m.toml:1: labels must be a table", id="not-a-table"),
        pytest.param('[lables]\n"17" = "x"\n', "m.toml:1: unknown setting 'lables'; did you mean 'labels'?", id="typo"),
    ],
)
def test_bad_labels_name_the_line(tmp_path, text, message):
    path = tmp_path / "m.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as err:
        resolve_mapping(path, "csv")
    assert str(err.value).startswith(f"{path}:{message.split(':', 1)[1]}")


def test_mapping_init_writes_bookkeeping_reopen_and_labels(tmp_path):
    from miner.mapping import apply_labels, render_mapping_file

    log = make_log([("T1", "1", 0), ("T1", "Add Comment", 1), ("T1", "Closed", 2), ("T1", "Reopened", 3), ("T1", "17", 4)])
    source = tmp_path / "m.toml"
    source.write_text('[labels]\n"1" = "New"\n"17" = "In Progress"\n')
    mapping = resolve_mapping(source, "csv")
    named = apply_labels(log, mapping)
    classes = apply_mapping(named, case_arrays(named), mapping)
    text = render_mapping_file(classes, "csv", "log.csv", mapping.labels)
    assert "# kind:  work, wait, done (delivered: resolved, closed), unknown, or bookkeeping" in text
    rule_of = {block.split("\n")[0].split(" = ", 1)[1].split("  #")[0]: block for block in text.split("[[rule]]\nactivity")[1:]}
    assert 'kind = "bookkeeping"' in rule_of['"Add Comment"'] and 'stage = "inherit"' in rule_of['"Add Comment"']
    assert "reopen = true" in rule_of['"Reopened"'] and "reopen" not in rule_of['"Closed"']
    written = tmp_path / "init.toml"
    written.write_text(text)
    again = resolve_mapping(written, "csv")
    assert again.labels == {"1": "New", "17": "In Progress"}
    relabelled = apply_labels(log, again)
    second = apply_mapping(relabelled, case_arrays(relabelled), again)
    assert (second.kind == classes.kind).all() and (second.stage == classes.stage).all()
    assert second.reopen.tolist() == classes.reopen.tolist() == [False, False, False, True, False]
    assert all(r.origin.startswith(str(written)) for r in (again.rules[i] for i in second.rule))  # every event by a written rule


@settings(max_examples=300, deadline=None)
@given(st.integers(1, 6), st.integers(1, 5), st.lists(st.tuples(st.integers(0, 5), st.integers(-1, 4), st.integers(-1, len(STAGES) - 1)),
                                                     min_size=1, max_size=120))
def test_most_common_rule_is_a_group_by_with_ties_to_the_first(n_activities, n_rules, events):
    """An activity's mapping row shows the (rule, stage) most of its events got; a tie goes to the pair seen first."""
    events = [(a % n_activities, r % n_rules if r >= 0 else -1, s) for a, r, s in events]
    frame = pd.DataFrame(events, columns=["a", "rule", "stage"])
    counts = frame.groupby(["a", "rule", "stage"], sort=False).size().reset_index(name="n")
    expected = counts.sort_values(["a", "n"], ascending=[True, False], kind="stable").drop_duplicates("a")
    got = _most_common_rule(*(frame[c].to_numpy() for c in ("a", "rule", "stage")), n_activities, n_rules)
    assert list(zip(*(x.tolist() for x in got), strict=True)) == [tuple(row) for row in expected[["a", "rule", "stage"]].to_numpy().tolist()]
