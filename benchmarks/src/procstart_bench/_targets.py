"""The targets of issues 11 and 12, each checked in both forms from one run's figures.

A target is met only when every one of its checks is: both forms (script
and ``-c``), every N, and every condition it names. Medians throughout. A
check of two columns of one row also gets its bootstrap interval over the
row's rounds where the row has enough of them (:mod:`._bootstrap`): the
verdict still reads the median, the interval says how firmly.
"""

from __future__ import annotations

from collections.abc import Callable

from . import _bootstrap
from ._model import BASELINE, SUBJECT, Check, Results, Row, Target

FORMS = ("script", "-c")
MIB = float(1 << 20)
#: per method: (limit in the script form, limit in the -c form) of start+join / stdlib
START_LIMITS = {"fork": (1.0, 1.0), "forkserver": (0.5, 1.0), "spawn": (0.7, 0.7)}


def _row(results: Results, figure_id: str, method: str, param: str) -> Row | None:
    figure = results.figure(figure_id)
    return figure.find(method, param) if figure else None


def _median(
    results: Results, figure_id: str, method: str, param: str, column: str, metric: str
) -> float | None:
    row = _row(results, figure_id, method, param)
    return row.median(column, metric) if row else None


def _ratio(
    results: Results,
    figure_id: str,
    method: str,
    param: str,
    metric: str = "time",
    over: str = "stdlib",
) -> float | None:
    row = _row(results, figure_id, method, param)
    return row.ratio(metric, over=over) if row else None


def _interval(
    results: Results,
    figure_id: str,
    method: str,
    param: str,
    metric: str,
    over: str,
    statistic: Callable[[float, float], float],
    scale: float = 1.0,
) -> tuple[float, float] | None:
    """The bootstrap interval of procstart's ``statistic`` against ``over`` in one row."""
    figure = results.figure(figure_id)
    row = figure.find(method, param) if figure else None
    if figure is None or row is None:
        return None
    mine = row.results.get(SUBJECT, {}).get(metric)
    theirs = row.results.get(over, {}).get(metric)
    if mine is None or theirs is None:
        return None
    found = _bootstrap.interval(mine.samples, theirs.samples, figure.per_process, statistic)
    return None if found is None else (found[0] * scale, found[1] * scale)


def _ratio_check(
    results: Results,
    label: str,
    figure_id: str,
    method: str,
    param: str,
    limit: float,
    metric: str = "time",
) -> Check:
    """procstart / stdlib of one row's ``metric``, with its interval."""
    return Check(
        label,
        _ratio(results, figure_id, method, param, metric),
        limit,
        interval=_interval(results, figure_id, method, param, metric, BASELINE, _bootstrap.ratio),
    )


def _quotient(top: float | None, bottom: float | None) -> float | None:
    return None if top is None or bottom is None or bottom <= 0 else top / bottom


def _difference(top: float | None, bottom: float | None, scale: float) -> float | None:
    return None if top is None or bottom is None else (top - bottom) * scale


def _fork(results: Results) -> Target:
    target = Target(
        "fork start+join",
        "<= 1.0x stdlib, joined with and without a timeout, and <= 1.5x raw fork+waitpid",
    )
    raw = _median(results, "limits", "limit", "os.fork() + waitpid", "machine", "time")
    for form in FORMS:
        target.checks.append(
            _ratio_check(results, f"{form} / stdlib", "start_warm", "fork", form, 1.0)
        )
        target.checks.append(
            _ratio_check(results, f"{form} join() / stdlib", "start_untimed", "fork", form, 1.0)
        )
        mine = _median(results, "start_warm", "fork", form, "procstart", "time")
        target.checks.append(Check(f"{form} / raw fork", _quotient(mine, raw), 1.5))
    return target


def _tracker_share(results: Results) -> Target:
    target = Target("the tracker's share per fork child", "<= +0.05 ms")
    for form in FORMS:
        with_it = _median(results, "tracker", "fork", form, "procstart", "time")
        without = _median(results, "tracker", "fork", form, "no tracker", "time")
        spread = _interval(
            results, "tracker", "fork", form, "time", "no tracker", _bootstrap.difference, 1e3
        )
        target.checks.append(
            Check(
                f"{form} with - without",
                _difference(with_it, without, 1e3),
                0.05,
                "ms",
                interval=spread,
            )
        )
    return target


def _forkserver(results: Results, form: str, limit: float) -> Target:
    where = "from `-c`" if form == "-c" else "as a script"
    target = Target(f"forkserver warm start+join, {where}", f"<= {limit:.1f}x stdlib")
    target.checks.append(
        _ratio_check(results, f"{form} / stdlib", "start_warm", "forkserver", form, limit)
    )
    return target


def _ratio_in_both_forms(
    results: Results, target: Target, figure_id: str, method: str, limit: float
) -> Target:
    """``target`` checks procstart / stdlib of ``figure_id``'s ``method`` row, script and ``-c``."""
    for form in FORMS:
        target.checks.append(
            _ratio_check(results, f"{form} / stdlib", figure_id, method, form, limit)
        )
    return target


def _program(results: Results) -> Target:
    target = Target(
        "one-child program, import to exit (fork)", "<= 1.3x stdlib wall, <= +2 MiB peak RSS"
    )
    for form in FORMS:
        target.checks.append(
            _ratio_check(results, f"{form} wall / stdlib", "program", "fork", form, 1.3, "wall")
        )
        mine = _median(results, "program", "fork", form, "procstart", "peak_rss")
        theirs = _median(results, "program", "fork", form, "stdlib", "peak_rss")
        target.checks.append(
            Check(f"{form} peak RSS - stdlib", _difference(mine, theirs, 1 / MIB), 2.0, "MiB")
        )
    return target


def _uss(results: Results) -> Target:
    target = Target(
        "forkserver child USS, numpy preloaded, vs a spawn child", "<= 0.3x procstart spawn's"
    )
    for form in FORMS:
        param = f"numpy preloaded, {form}"
        server = _median(results, "uss", "forkserver", param, "procstart", "uss")
        spawn = _median(results, "uss", "spawn", param, "procstart", "uss")
        target.checks.append(Check(f"{form} / spawn", _quotient(server, spawn), 0.3))
    return target


def _many(results: Results) -> Target:
    target = Target("N children at once", "each method's start+join target at every N")
    figure = results.figure("many")
    for row in figure.rows if figure else []:
        limits = START_LIMITS.get(row.method)
        if limits is None:
            continue
        form = row.param.rsplit(", ", 1)[-1]
        limit = limits[FORMS.index(form)] if form in FORMS else limits[0]
        target.checks.append(Check(f"{row.label} / stdlib", row.ratio("time_per_child"), limit))
    return target


def _lambda(results: Results) -> Target:
    target = Target("a lambda target vs a plain function, warm", "forkserver +0.5 ms, spawn +5 ms")
    for method, limit in (("forkserver", 0.5), ("spawn", 5.0)):
        for form in FORMS:
            by_value = _median(results, "lambda", method, form, "procstart", "lambda")
            plain = _median(results, "lambda", method, form, "procstart", "function")
            target.checks.append(
                Check(
                    f"{method} {form} lambda - function",
                    _difference(by_value, plain, 1e3),
                    limit,
                    "ms",
                )
            )
    return target


def evaluate(results: Results) -> list[Target]:
    """Every target of issues 11 and 12 (a check whose figure did not run has value None)."""
    return [
        _fork(results),
        _tracker_share(results),
        _forkserver(results, "-c", 1.0),
        _forkserver(results, "script", 0.5),
        _ratio_in_both_forms(
            results,
            Target("spawn start+join", "<= 0.7x stdlib in both forms"),
            "start_warm",
            "spawn",
            0.7,
        ),
        _program(results),
        _ratio_in_both_forms(
            results,
            Target("first start of a fork server (cold)", "<= 1.0x stdlib"),
            "start_cold",
            "forkserver",
            1.0,
        ),
        _uss(results),
        _many(results),
        _lambda(results),
    ]
