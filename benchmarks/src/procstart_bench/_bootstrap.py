"""How far a target's median could move: a bootstrap over a row's rounds.

A target reads one number from two columns of a row: a ratio or a
difference of their medians. The rounds alternate the columns (A B, B A,
...), so the i-th process of one column ran next to the i-th of the other,
at the same speed of a machine whose speed drifts over minutes. Resampling
whole rounds with replacement (both columns' processes of a round
together, each with all its samples) and recomputing the number each time
gives its spread from round to round; the 2.5th and 97.5th percentiles of
:data:`RESAMPLES` resamples are the interval shown beside it.

The interval says what this run can tell, not what the next run will read:
a run on a quieter or busier machine moves every round alike. Rows with
fewer than :data:`MIN_ROUNDS` rounds get none (a handful of rounds says
little about their spread). Seeded: the same stored run always gives the
same interval.

    >>> interval([2.0, 2.2] * 20, [1.0, 1.0] * 20, 2, ratio)
    (2.1, 2.1)
"""

from __future__ import annotations

import random
import statistics
from collections.abc import Callable, Sequence

#: resamples per interval
RESAMPLES = 1000
#: the least number of rounds a row needs for an interval
MIN_ROUNDS = 20
#: the interval's share of the resamples (95%)
LEVEL = 0.95


def ratio(subject: float, baseline: float) -> float:
    """``subject / baseline`` (the statistic of a ratio target).

    >>> ratio(3.0, 2.0)
    1.5
    """
    return subject / baseline


def difference(subject: float, baseline: float) -> float:
    """``subject - baseline`` (the statistic of a difference target).

    >>> difference(3.0, 2.0)
    1.0
    """
    return subject - baseline


def _rounds(samples: Sequence[float], per_process: int) -> list[list[float]] | None:
    if per_process < 1 or not samples or len(samples) % per_process:
        return None
    return [
        sorted(samples[start : start + per_process])
        for start in range(0, len(samples), per_process)
    ]


def _median(rounds: list[list[float]], picked: list[int]) -> float:
    # each round is sorted: the median's sort merges runs (fast), not 3600 loose values
    values: list[float] = []
    for index in picked:
        values.extend(rounds[index])
    return statistics.median(values)


def interval(
    subject: Sequence[float],
    baseline: Sequence[float],
    per_process: int,
    statistic: Callable[[float, float], float],
    *,
    resamples: int = RESAMPLES,
    seed: int = 0,
) -> tuple[float, float] | None:
    """The 95% bootstrap interval of ``statistic(median(subject), median(baseline))``.

    ``subject`` and ``baseline`` are one column's samples each, in the order
    they were taken, ``per_process`` from each measured process. None when
    the two do not split into the same number of rounds, or into fewer than
    :data:`MIN_ROUNDS`.
    """
    mine, theirs = _rounds(subject, per_process), _rounds(baseline, per_process)
    if mine is None or theirs is None or len(mine) != len(theirs) or len(mine) < MIN_ROUNDS:
        return None
    count = len(mine)
    rng = random.Random(seed)
    values = []
    for _ in range(resamples):
        picked = [rng.randrange(count) for _ in range(count)]
        values.append(statistic(_median(mine, picked), _median(theirs, picked)))
    values.sort()
    tail = (1.0 - LEVEL) / 2
    low = values[int(tail * resamples)]
    high = values[min(resamples - 1, int((1.0 - tail) * resamples))]
    return low, high
