"""Rounds taken in turns (``Plan.workers_in_turns``): real measured processes, a failing one."""

from __future__ import annotations

import itertools
import tempfile
from pathlib import Path

from procstart_bench._contenders import Contender, Lineup
from procstart_bench._runner import Plan


def _plan(folder: str) -> Plan:
    return Plan(methods=["fork"], rounds=1, quick=True, lineup=Lineup(), workdir=Path(folder))


def test_two_stdlib_processes_take_one_sample_each_in_turn():
    first, second = Contender("a", "stdlib", "fork"), Contender("b", "stdlib", "fork")
    with tempfile.TemporaryDirectory() as folder:
        got = _plan(folder).workers_in_turns("start", [first, second], "-c", 4, 1, {"layout": "3"})
    taken = sorted(
        (sample["turn_began"], sample["time"], contender.column)
        for contender, report in got.items()
        for sample in report["samples"]  # type: ignore[index]
    )
    assert [column for _, _, column in taken] == ["a", "b"] * 4
    for (began, time, _), (next_began, _, _) in itertools.pairwise(taken):
        assert began + time <= next_began
    assert {report["layout"] for report in got.values()} == {3}  # type: ignore[index]


def test_a_process_that_fails_ends_the_round_and_the_others_samples_are_dropped():
    good, bad = Contender("good", "stdlib", "fork"), Contender("bad", "nonesuch", "fork")
    with tempfile.TemporaryDirectory() as folder:
        got = _plan(folder).workers_in_turns("start", [good, bad], "-c", 4, 1, {})
    assert got[good] is None
    assert isinstance(got[bad], RuntimeError)
    assert str(got[bad]) == "ValueError: unknown column 'nonesuch'"


def test_a_figure_without_page_faults_refuses_turns():
    one = Contender("a", "stdlib", "fork")
    with tempfile.TemporaryDirectory() as folder:
        got = _plan(folder).workers_in_turns("many", [one], "-c", 1, 1, {"count": "1"})
    assert str(got[one]) == "ValueError: the many figure does not take its samples in turns"
