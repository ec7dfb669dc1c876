"""The goals of issue 7, each as a ratio of medians against its limit."""

from __future__ import annotations

from ._model import Results, Target

STDLIB = ("fork", "forkserver", "spawn")


def _ratio(
    results: Results,
    figure_id: str,
    method: str,
    metric: str,
    *,
    param: str = "",
    over: str = "stdlib",
) -> float | None:
    figure = results.figure(figure_id)
    row = figure.find(method, param) if figure else None
    return row.ratio(metric, over=over) if row else None


def _uss_ratio(results: Results) -> float | None:
    figure = results.figure("uss")
    if figure is None:
        return None
    medians = {}
    for method in ("forkserver", "spawn"):
        rows = [row for row in figure.rows if row.method == method]
        medians[method] = rows[0].median("procstart", "uss") if rows else None
    server, spawn = medians["forkserver"], medians["spawn"]
    if server is None or spawn is None or spawn <= 0:
        return None
    return server / spawn


def evaluate(results: Results) -> list[Target]:
    """Every target whose figures ran (a missing method gives ratio None)."""
    targets = [
        Target(
            "fork start+join (warm) <= 1.0x stdlib fork",
            1.0,
            _ratio(results, "start_warm", "fork", "time"),
            "start_warm fork: procstart / stdlib",
        ),
        Target(
            "forkserver start+join warm <= 0.5x stdlib forkserver",
            0.5,
            _ratio(results, "start_warm", "forkserver", "time"),
            "start_warm forkserver: procstart / stdlib",
        ),
        Target(
            "forkserver start+join cold <= 1.0x stdlib forkserver",
            1.0,
            _ratio(results, "start_cold", "forkserver", "time"),
            "start_cold forkserver: procstart / stdlib",
        ),
        Target(
            "spawn start+join (warm) <= 0.8x stdlib spawn",
            0.8,
            _ratio(results, "start_warm", "spawn", "time"),
            "start_warm spawn: procstart / stdlib",
        ),
        Target(
            "spawn start+join (warm) <= 0.4x loky's default method",
            0.4,
            _ratio(results, "start_warm", "spawn", "time", over="loky"),
            "start_warm spawn: procstart / loky",
        ),
    ]
    pool = results.figure("pool")
    # a custom method has no stdlib namesake: nothing to be within 5% of
    methods = sorted({row.method for row in pool.rows if row.method in STDLIB}) if pool else []
    for method in methods:
        for param in ("Pool.map", "Executor.map"):
            for metric, what in (
                ("create_map_shutdown", "create+map+shutdown"),
                ("warm_map", "warm map"),
            ):
                targets.append(
                    Target(
                        f"{method} {param} {what} within 5% of stdlib",
                        1.05,
                        _ratio(results, "pool", method, metric, param=param),
                        f"pool {method}, {param}, {metric}: procstart / stdlib (time)",
                    )
                )
    targets.append(
        Target(
            "forkserver child USS (numpy preloaded) <= 0.3x spawn's",
            0.3,
            _uss_ratio(results),
            "uss: procstart forkserver / procstart spawn",
        )
    )
    return targets
