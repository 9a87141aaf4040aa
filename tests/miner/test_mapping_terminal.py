"""Terminal states the built-in rules must recognise, and names that must not become terminal.

* Verb-object actions that end a ticket ("reject request", the running
  example's) and the passive form ("Request rejected") are done; a bare
  "Reject" (an approver may send work back), "Cancellation requested" and
  "reinitiate request" are not.
* BPI-style object prefixes (``A_DECLINED``): the prefix is a separator for the
  ticket's own object only, the one its first event names. Another object's
  creation or end (``O_CREATED``, ``O_CANCELLED`` where tickets start with
  ``A_``) is news of a linked record (bookkeeping): an offer created mid-process
  is not the intake queue, and an offer cancelled does not end the application.
"""

from __future__ import annotations

import numpy as np
import pytest

import connectors
from connectors.errors import ConfigError
from miner.accounting import account
from miner.cases import case_arrays
from miner.mapping import ALL_KINDS, apply_mapping, builtin_mapping, parse_mapping_text
from tests.conftest import real_log
from tests.helpers import make_log
from tests.miner.test_vocabulary import expect, rule_classes


@pytest.mark.parametrize(
    "activity, want",
    [
        ("reject request", "deliver_support done"),
        ("Reject Request", "deliver_support done"),
        ("decline request", "deliver_support done"),
        ("withdraw request", "deliver_support done"),
        ("Reject the change", "deliver_support done"),
        ("cancel request", "deliver_support done"),
        ("Close ticket", "deliver_support done"),
        ("Request rejected", "deliver_support done"),
        ("Ticket closed", "deliver_support done"),
        ("Case closed", "deliver_support done"),
        ("Incident resolved", "deliver_support done"),
        # decoys
        ("reinitiate request", "engage work"),
        ("register request", "engage work"),
        ("Cancellation requested", "engage work"),
        ("Closed Loop Review", "design_transition work"),
        ("Closed-loop review", "design_transition work"),
        ("Problem closed", "inherit bookkeeping"),  # the linked problem, not the ticket
        ("Change closed", "inherit bookkeeping"),
        ("Closed Complete", "deliver_support done"),
    ],
)
def test_terminal_actions(activity, want):
    assert rule_classes([activity])[activity] == expect(want)


@pytest.mark.parametrize("activity", ["Reject", "Withdraw", "Decline"])
def test_a_bare_reject_is_not_terminal(activity):
    """Without its object, rejecting may be an approver sending work back: no rule guesses."""
    assert rule_classes([activity])[activity] == ("unmapped",)


def classes_in_tickets(tickets: dict[str, list[str]]) -> dict[tuple[str, str], tuple]:
    """Return, per (ticket, activity), the (rule stage, kind, wait) of the built-in rule that takes it."""
    rows = [(case, name, minute) for case, names in tickets.items() for minute, name in enumerate(names)]
    log = make_log(rows)
    mapping = builtin_mapping("xes")
    classes = apply_mapping(log, case_arrays(log), mapping)
    out = {}
    for case, name, r in zip(log["case_id"].astype(str), log["activity"].astype(str), classes.rule, strict=True):
        rule = mapping.rules[r] if r >= 0 else None
        out[(case, name)] = (rule.stage, rule.kind, rule.wait) if rule else ("unmapped",)
    return out


def test_object_prefixes_end_only_the_tickets_own_object():
    got = classes_in_tickets(
        {
            "app-declined": ["A_SUBMITTED", "A_PARTLYSUBMITTED", "O_CREATED", "O_CANCELLED", "O_CREATED", "O_DECLINED", "A_DECLINED"],
            "app-cancelled": ["A_SUBMITTED", "W_Completeren aanvraag", "A_CANCELLED", "O_CANCELLED"],
            "app-approved": ["A_SUBMITTED", "A_APPROVED", "A_REGISTERED", "A_ACTIVATED", "A_Complete"],
            "offer": ["O_CREATED", "O_SENT", "O_CANCELLED"],  # a log whose tickets are offers
        }
    )
    done = expect("deliver_support done")
    news = expect("inherit bookkeeping")
    assert got[("app-declined", "A_DECLINED")] == done
    assert got[("app-cancelled", "A_CANCELLED")] == done
    assert got[("offer", "O_CANCELLED")] == done
    # another object's states: not the ticket's end, nor its intake queue
    assert got[("app-declined", "O_CANCELLED")] == news
    assert got[("app-declined", "O_DECLINED")] == news
    assert got[("app-declined", "O_CREATED")] == news
    assert got[("app-cancelled", "O_CANCELLED")] == news
    # decoys that must not change
    assert got[("app-cancelled", "W_Completeren aanvraag")] == expect("deliver_support work")
    assert got[("app-approved", "A_APPROVED")] == expect("design_transition work")
    assert got[("app-approved", "A_REGISTERED")] == expect("engage work")
    assert got[("app-approved", "A_ACTIVATED")] == ("unmapped",)
    assert got[("app-approved", "A_Complete")] == expect("deliver_support work")  # BPIC 2017: the file is complete
    assert got[("app-declined", "A_SUBMITTED")] == expect("engage work")
    assert got[("offer", "O_CREATED")] == expect("engage work")  # the ticket's own creation, as before


def test_prefix_rules_match_nothing_in_a_log_without_prefixes():
    got = classes_in_tickets({"T1": ["New", "In Progress", "Closed"], "T2": ["New", "Cancelled"]})
    assert got[("T1", "Closed")] == expect("deliver_support done") and got[("T2", "Cancelled")] == expect("deliver_support done")
    assert got[("T1", "New")] == expect("engage wait queue")


def test_snake_case_is_no_object_prefix():
    """'re_opened' is not the state of an object 're' (the rules that ask for an object skip it)."""
    got = classes_in_tickets({"T1": ["to_do", "re_opened", "in_progress", "done"], "T2": ["A_SUBMITTED", "RE_OPENED", "un_resolved"]})
    assert got[("T1", "re_opened")] == ("unmapped",) and got[("T2", "RE_OPENED")] == ("unmapped",)
    assert got[("T2", "un_resolved")] != expect("inherit bookkeeping")
    assert got[("T1", "done")] == expect("deliver_support done")


def test_delivery_at_the_tickets_own_end_not_at_an_offers():
    """An offer cancelled and replaced mid-process: no delivery, no reopen; the application declined: delivered."""
    log = make_log(
        [
            ("A1", "A_SUBMITTED", 0),
            ("A1", "O_CREATED", 10),
            ("A1", "O_CANCELLED", 20),
            ("A1", "O_CREATED", 20),
            ("A1", "W_Completeren aanvraag", 30),
            ("A1", "A_DECLINED", 60),
            ("A2", "A_SUBMITTED", 0),
            ("A2", "O_CANCELLED", 5),
            ("A2", "W_Completeren aanvraag", 30),
        ]
    )
    arrays = case_arrays(log)
    classes = apply_mapping(log, arrays, builtin_mapping("xes"))
    acc = account(arrays, classes)
    assert acc.delivered.tolist() == [True, False]
    assert (acc.lead_time // 60_000_000).tolist()[0] == 60
    assert not acc.reopen.any()


def test_object_key_in_a_mapping_file():
    rules, _ = parse_mapping_text('version = 1\n[[rule]]\nactivity = "re:^O_"\nobject = "other"\nstage = "inherit"\nkind = "bookkeeping"\n', "m.toml")
    assert [m.column for m in rules[0].matchers][1:] == ["\x00object"]
    with pytest.raises(ConfigError, match="object must be one of ticket, other"):
        parse_mapping_text('version = 1\n[[rule]]\nactivity = "x"\nobject = "offer"\nstage = "engage"\n', "m.toml")


@pytest.mark.real_logs
def test_bpic2012_ends_at_the_applications_decline_or_cancellation():
    log, report = connectors.load(real_log("bpic2012.xes.gz"))
    arrays = case_arrays(log)
    mapping = builtin_mapping(report.source)
    classes = apply_mapping(log, arrays, mapping)
    kinds = classes.activities.set_index("activity")["kind"]
    assert kinds["A_DECLINED"] == "done" and kinds["A_CANCELLED"] == "done"
    assert {kinds[a] for a in ("O_CREATED", "O_CANCELLED", "O_DECLINED")} == {"bookkeeping"}
    assert kinds["W_Completeren aanvraag"] == "work"
    assert all(kinds[a] != "done" for a in ("A_APPROVED", "A_REGISTERED", "A_ACTIVATED", "A_FINALIZED"))
    done = classes.kind == ALL_KINDS.index("done")
    names = arrays.activity_names.astype(str)[arrays.activity]
    assert set(np.unique(names[done])) == {"A_DECLINED", "A_CANCELLED"}


def test_the_complete_of_work_begun_before_delivery_is_no_reopen():
    """XES events kept apart (BPIC 2012): a work item scheduled or started before the ticket ends is
    completed (closed) after it. That ends work; a new start after the end is a return to work."""
    from miner.accounting import instance_ends

    rows = [
        ("T1", "Submitted", 0, "complete"),
        ("T1", "Investigate", 1, "schedule"),
        ("T1", "Investigate", 2, "start"),
        ("T1", "Declined", 10, "complete"),
        ("T1", "Investigate", 11, "complete"),  # closes the item begun at 2: no reopen
        ("T2", "Submitted", 0, "complete"),
        ("T2", "Investigate", 1, "schedule"),
        ("T2", "Investigate", 2, "start"),
        ("T2", "Investigate", 3, "complete"),
        ("T2", "Declined", 10, "complete"),
        ("T2", "Investigate", 11, "complete"),  # the system closes the scheduled item: no reopen
        ("T3", "Submitted", 0, "complete"),
        ("T3", "Investigate", 2, "start"),
        ("T3", "Declined", 10, "complete"),
        ("T3", "Investigate", 20, "start"),  # work again after the end: a reopen
        ("T3", "Investigate", 25, "complete"),
        ("T4", "Submitted", 0, "complete"),  # a log of completes only: work after the end is a reopen, as before
        ("T4", "Declined", 10, "complete"),
        ("T4", "Investigate", 20, "complete"),
    ]
    log = make_log(rows, columns=("case_id", "activity", "minutes", "lifecycle:transition"))
    arrays = case_arrays(log)
    classes = apply_mapping(log, arrays, builtin_mapping("xes"))
    ends = instance_ends(arrays, log["lifecycle:transition"])
    assert np.flatnonzero(ends).tolist() == [4, 8, 10, 15]
    acc = account(arrays, classes, None, ends)
    assert acc.delivered.tolist() == [True, True, False, False]
    reopened = np.bincount(arrays.case[acc.reopen], minlength=4).tolist()
    assert reopened == [0, 0, 1, 1]
    without = account(arrays, classes)  # the old reading: every complete after the end was a return to work
    assert np.bincount(arrays.case[without.reopen], minlength=4).tolist() == [1, 1, 1, 1]
