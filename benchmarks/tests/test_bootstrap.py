"""The bootstrap interval beside a target's median: what it covers and what it pairs."""

from __future__ import annotations

import random
import statistics

from procstart_bench import _bootstrap
from procstart_bench._bootstrap import difference, interval, ratio


def _column(rounds: int, per_process: int, level: float, drift: list[float], seed: int) -> list:
    """Samples in the order taken: each round's process adds the round's drift and noise."""
    rng = random.Random(seed)
    return [
        level + drift[index] + rng.gauss(0.0, 0.05)
        for index in range(rounds)
        for _ in range(per_process)
    ]


def test_the_interval_holds_the_median_and_narrows_with_more_rounds():
    def width(rounds: int) -> float:
        drift = [0.0] * rounds
        mine = _column(rounds, 5, 1.10, drift, seed=1)
        theirs = _column(rounds, 5, 1.00, drift, seed=2)
        found = interval(mine, theirs, 5, difference)
        assert found is not None
        low, high = found
        assert low <= statistics.median(mine) - statistics.median(theirs) <= high
        return high - low

    few, many = width(20), width(320)
    assert many < few / 2  # 16 times the rounds: about a quarter of the width


def test_the_interval_covers_the_true_difference_about_as_often_as_it_says():
    # 40 runs of 20 rounds whose true difference is 0.1: a 95% interval holds
    # it in about 38 of them; a mispaired or mis-scaled one would in far fewer
    held = 0
    for run in range(40):
        drift = [0.0] * 20
        mine = _column(20, 5, 1.10, drift, seed=2 * run + 100)
        theirs = _column(20, 5, 1.00, drift, seed=2 * run + 101)
        found = interval(mine, theirs, 5, difference, resamples=200)
        assert found is not None
        held += found[0] < 0.1 < found[1]
    assert held >= 32, held


def test_a_round_keeps_its_two_columns_together():
    # the machine's speed moves each round by up to +-0.5, both columns alike; the
    # subject is 0.1 slower in every round. Paired by round, the drift cancels
    rounds = 40
    rng = random.Random(3)
    drift = [rng.uniform(-0.5, 0.5) for _ in range(rounds)]
    mine = [1.1 + shift for shift in drift for _ in range(4)]
    theirs = [1.0 + shift for shift in drift for _ in range(4)]
    found = interval(mine, theirs, 4, difference)
    assert found is not None
    low, high = found
    assert high - low < 0.1, found  # unpaired, the drift alone would span about 0.5

    # the same samples with the subject's rounds shuffled: no longer paired, wide
    shuffled = [
        value
        for index in rng.sample(range(rounds), rounds)
        for value in mine[index * 4 : index * 4 + 4]
    ]
    found = interval(shuffled, theirs, 4, difference)
    assert found is not None
    assert found[1] - found[0] > 0.2, found


def test_the_same_samples_always_give_the_same_interval():
    drift = [0.0] * 30
    mine, theirs = _column(30, 2, 2.0, drift, 4), _column(30, 2, 1.0, drift, 5)
    assert interval(mine, theirs, 2, ratio) == interval(list(mine), list(theirs), 2, ratio)


def test_no_interval_for_too_few_rounds_or_rounds_that_do_not_match():
    few = _bootstrap.MIN_ROUNDS - 1
    assert interval([1.0] * few, [1.0] * few, 1, ratio) is None
    enough = _bootstrap.MIN_ROUNDS
    assert interval([1.0] * enough, [1.0] * enough, 1, ratio) == (1.0, 1.0)
    # a column that lost a process, or samples that are not whole processes
    assert interval([1.0] * (2 * enough), [1.0] * (2 * enough - 2), 2, ratio) is None
    assert interval([1.0] * (2 * enough + 1), [1.0] * (2 * enough + 1), 2, ratio) is None
    assert interval([1.0] * enough, [1.0] * enough, 0, ratio) is None
