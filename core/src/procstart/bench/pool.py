"""Figure: ``Pool.map`` and ``ProcessPoolExecutor.map`` with 2 workers.

Each sample creates the pool, maps a trivial function over the items, maps
again on the now warm pool (up to 5 times within ~50 ms, median), then shuts
it down; it reports create + first map + shutdown, and the warm map.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any

from ._children import square
from ._contenders import Contender
from ._model import Figure, Metric
from ._runner import Plan, Sample

ID = "pool"
TITLE = "Pool / Executor map"
WORKERS = 2
ITEMS = 10_000
QUICK_ITEMS = 1_000
COLD = Metric("create_map_shutdown", "s", 1e3, "ms")
WARM = Metric("warm_map", "s", 1e3, "ms")
WARM_MAPS = 5
#: a map that takes longer is a hang (workers dying and being replaced...)
TIMEOUT = 120.0
WARM_BUDGET = 0.05


def warm_maps(run: Callable[[], object]) -> float:
    """Median time of up to :data:`WARM_MAPS` calls of ``run``, stopping after ~50 ms.

    A warm ``Pool.map`` of trivial items takes about a millisecond, where
    one reading is mostly noise; an ``Executor.map`` takes long enough alone.
    """
    times: list[float] = []
    deadline = time.perf_counter() + WARM_BUDGET
    while len(times) < WARM_MAPS:
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
        if time.perf_counter() >= deadline:
            break
    return statistics.median(times)


def pool_map(ctx: Any, items: int) -> Sample:
    """``ctx.Pool(2)``: create+map+close/join, and a second map."""
    data = range(items)
    started = time.perf_counter()
    pool = ctx.Pool(WORKERS)
    try:
        pool.map_async(square, data).get(TIMEOUT)
        first = time.perf_counter()
        warm = warm_maps(lambda: pool.map_async(square, data).get(TIMEOUT))
        second = time.perf_counter()
        pool.close()
        pool.join()
    finally:
        pool.terminate()
    done = time.perf_counter()
    return {COLD.name: (first - started) + (done - second), WARM.name: warm}


def executor_map(contender: Contender, items: int) -> Sample:
    """``ProcessPoolExecutor(2, mp_context=ctx)``: the same two numbers."""
    data = range(items)
    started = time.perf_counter()
    executor = contender.executor(WORKERS)
    try:
        list(executor.map(square, data, timeout=TIMEOUT))
        first = time.perf_counter()
        warm = warm_maps(lambda: list(executor.map(square, data, timeout=TIMEOUT)))
        second = time.perf_counter()
    except BaseException:
        executor.shutdown(wait=False, cancel_futures=True)
        raise
    executor.shutdown(wait=True)
    done = time.perf_counter()
    return {COLD.name: (first - started) + (done - second), WARM.name: warm}


def measure(plan: Plan) -> Figure:
    """Rows ``method, Pool.map`` and ``method, Executor.map``."""
    items = QUICK_ITEMS if plan.quick else ITEMS
    figure = Figure(
        ID,
        TITLE,
        [COLD, WARM],
        how=f"{WORKERS} workers, abs() over range({items}) with the default "
        "chunksize: create + map + shutdown, and a map on the warm pool (median of "
        f"up to {WARM_MAPS} within {WARM_BUDGET * 1e3:.0f} ms) "
        "(throughput is the inverse of these times).",
    )
    for method in plan.methods:
        contenders = plan.contenders(method)
        row = figure.row(method, "Pool.map")
        plan.interleave(figure, row, contenders, lambda c: pool_map(c.context(), items))
        row = figure.row(method, "Executor.map")
        plan.interleave(figure, row, contenders, lambda c: executor_map(c, items))
    return figure
