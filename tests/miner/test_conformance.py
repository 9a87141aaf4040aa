"""Alignments of ticket paths with designed streams: exact, bounded, and equal to pm4py's."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from miner.conformance import align, step_symbols
from miner.design import DesignedStream, Step

STAGES = ["engage", "design_transition", "obtain_build", "deliver_support", "improve"]

designs = st.lists(
    st.tuples(st.sampled_from(STAGES), st.booleans(), st.booleans()), min_size=1, max_size=5, unique_by=lambda t: t[0]
).filter(lambda steps: not all(opt for _, opt, _ in steps))


def stream_of(steps) -> DesignedStream:
    return DesignedStream("s", None, tuple(Step(stage, optional=opt, repeat=rep) for stage, opt, rep in steps))


def brute_force_cost(path: list[str], stream: DesignedStream) -> int:
    """The cheapest alignment of ``path`` with any run of the design's workflow net, by exhaustive search.

    The search runs over (net position j, path position i), 0..m and 0..n. A
    run emits step j and moves to j+1, skips an optional step j to j+1, or
    loops back from j to j-1 after a repeatable step j-1. An alignment pairs
    an emitted step with the next path event when they are equal (cost 0),
    or takes a path event alone or an emitted step alone (cost 1 each): the
    cost of a run r is len(path) + len(r) - 2 * LCS(path, r), minimised over
    every run at once. (Listing the runs instead grows exponentially once
    loops chain back over several repeatable steps.)
    """
    steps, n = stream.steps, len(path)
    best = {(0, 0): 0}
    frontier = [(0, 0, 0)]
    while frontier:
        frontier.sort()
        cost, j, i = frontier.pop(0)
        if best.get((j, i), cost + 1) < cost:
            continue
        moves = []
        if i < n:
            moves.append((j, i + 1, 1))  # a path event alone
        if j < len(steps):
            moves.append((j + 1, i, 1))  # a designed step alone
            if steps[j].optional:
                moves.append((j + 1, i, 0))
            if i < n and path[i] == steps[j].stage:
                moves.append((j + 1, i + 1, 0))
        if j > 0 and steps[j - 1].repeat:
            moves.append((j - 1, i, 0))
        for j2, i2, c in moves:
            if cost + c < best.get((j2, i2), cost + c + 1):
                best[(j2, i2)] = cost + c
                frontier.append((cost + c, j2, i2))
    return best[(len(steps), n)]


@settings(max_examples=150, deadline=None)
@given(designs, st.lists(st.sampled_from(STAGES), max_size=7))
def test_alignment_cost_is_the_brute_force_optimum(steps, path):
    stream = stream_of(steps)
    got = align(path, stream, step_symbols(stream))
    assert got.cost == brute_force_cost(path, stream)
    assert 0.0 <= got.fitness <= 1.0


@settings(max_examples=150, deadline=None)
@given(designs, st.data())
def test_a_ticket_that_follows_its_design_fits_perfectly(steps, data):
    stream = stream_of(steps)
    path = []
    for step in stream.steps:
        times = data.draw(st.integers(0 if step.optional else 1, 3 if step.repeat else 1))
        path += [step.stage] * times
    got = align(path, stream, step_symbols(stream))
    assert got.fitness == 1.0
    assert got.deviations == []


@pytest.mark.parametrize(
    "path, deviations",
    [
        pytest.param(["engage", "deliver_support"], [], id="conforming"),
        pytest.param(["deliver_support"], [("skipped", "engage")], id="skipped"),
        pytest.param(["engage", "obtain_build", "deliver_support"], [("extra", "obtain/build")], id="extra"),
        pytest.param(["engage", "deliver_support", "engage", "deliver_support"], [("repeated", "engage"), ("repeated", "deliver and support")], id="repeated"),
        pytest.param(["deliver_support", "engage"], [("out of order", "engage")], id="out-of-order"),
        pytest.param(["engage", "deliver_support", "improve"], [], id="optional-taken"),
    ],
)
def test_deviation_names(path, deviations):
    stream = stream_of([("engage", False, False), ("deliver_support", False, False), ("improve", True, False)])
    assert align(path, stream, step_symbols(stream)).deviations == deviations


def _petri_net(stream: DesignedStream):
    from pm4py.objects.petri_net.obj import Marking, PetriNet
    from pm4py.objects.petri_net.utils.petri_utils import add_arc_from_to

    net = PetriNet("design")
    places = [PetriNet.Place(f"p{i}") for i in range(len(stream.steps) + 1)]
    for p in places:
        net.places.add(p)
    for j, step in enumerate(stream.steps):
        t = PetriNet.Transition(f"t{j}", step.stage)
        net.transitions.add(t)
        add_arc_from_to(places[j], t, net)
        add_arc_from_to(t, places[j + 1], net)
        if step.optional:
            skip = PetriNet.Transition(f"skip{j}", None)
            net.transitions.add(skip)
            add_arc_from_to(places[j], skip, net)
            add_arc_from_to(skip, places[j + 1], net)
        if step.repeat:
            back = PetriNet.Transition(f"back{j}", None)
            net.transitions.add(back)
            add_arc_from_to(places[j + 1], back, net)
            add_arc_from_to(back, places[j], net)
    return net, Marking({places[0]: 1}), Marking({places[-1]: 1})


@pytest.mark.real_logs
@pytest.mark.parametrize("name", ["helpdesk.xes.gz", "bpic2013_closed_problems.csv"])
@pytest.mark.parametrize(
    "steps",
    [
        pytest.param([("engage", False, False), ("deliver_support", False, False), ("improve", True, False)], id="incident"),
        pytest.param([("engage", True, False), ("obtain_build", False, True), ("deliver_support", False, True)], id="optional-repeat"),
    ],
)
def test_fitness_equals_pm4py_alignments_on_real_logs(name, steps):
    import connectors
    import miner
    from miner.pm4py_adapter import _pm4py
    from tests.conftest import real_log

    pm4py = _pm4py()
    log, report = connectors.load(real_log(name))
    found = miner.discover(log, source=report.source)
    stream = stream_of(steps)
    paths = [list(p) for p in found.vc_variants["path"]]
    by_label = {"engage": "engage", "design and transition": "design_transition", "obtain/build": "obtain_build",
                "deliver and support": "deliver_support", "improve": "improve", "plan": "plan"}
    paths = [[by_label[s] for s in p] for p in paths]
    ours = [align(p, stream, step_symbols(stream)).fitness for p in paths]
    rows = [(f"c{i:06d}", act, pd.Timestamp("2020-01-01", tz="UTC") + pd.Timedelta(minutes=k))
            for i, p in enumerate(paths) for k, act in enumerate(p)]
    frame = pd.DataFrame(rows, columns=["case:concept:name", "concept:name", "time:timestamp"])
    net, im, fm = _petri_net(stream)
    import warnings

    with warnings.catch_warnings():
        # pm4py's soundness check trips over third-party deprecation warnings.
        warnings.simplefilter("ignore")
        aligned = pm4py.conformance_diagnostics_alignments(frame, net, im, fm)
    theirs = [a["fitness"] for a in aligned]
    # Traces of empty paths (tickets with nothing mapped) are absent from pm4py's log.
    ours_nonempty = [f for f, p in zip(ours, paths, strict=True) if p]
    assert ours_nonempty == pytest.approx(theirs, abs=1e-9)
