"""Figure: ``Pool.map`` and ``ProcessPoolExecutor.map`` with 2 workers.

Each sample creates the pool, maps a trivial function over the items, maps
again on the now warm pool, then shuts it down; it reports create + first
map + shutdown, and the second map alone.
"""

from __future__ import annotations

import time
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


def pool_map(ctx: Any, items: int) -> Sample:
    """``ctx.Pool(2)``: create+map+close/join, and a second map."""
    data = range(items)
    started = time.perf_counter()
    pool = ctx.Pool(WORKERS)
    try:
        pool.map(square, data)
        first = time.perf_counter()
        pool.map(square, data)
        second = time.perf_counter()
        pool.close()
        pool.join()
    finally:
        pool.terminate()
    done = time.perf_counter()
    return {COLD.name: (first - started) + (done - second), WARM.name: second - first}


def executor_map(contender: Contender, items: int) -> Sample:
    """``ProcessPoolExecutor(2, mp_context=ctx)``: the same two numbers."""
    data = range(items)
    started = time.perf_counter()
    executor = contender.executor(WORKERS)
    try:
        list(executor.map(square, data))
        first = time.perf_counter()
        list(executor.map(square, data))
        second = time.perf_counter()
    finally:
        executor.shutdown(wait=True)
    done = time.perf_counter()
    return {COLD.name: (first - started) + (done - second), WARM.name: second - first}


def measure(plan: Plan) -> Figure:
    """Rows ``method, Pool.map`` and ``method, Executor.map``."""
    items = QUICK_ITEMS if plan.quick else ITEMS
    figure = Figure(
        ID,
        TITLE,
        [COLD, WARM],
        how=f"{WORKERS} workers, abs() over range({items}) with the default "
        "chunksize: create + map + shutdown, and a second map on the warm pool "
        "(throughput is the inverse of these times).",
    )
    for method in plan.methods:
        contenders = plan.contenders(method)
        row = figure.row(method, "Pool.map")
        plan.interleave(figure, row, contenders, lambda c: pool_map(c.context(), items))
        row = figure.row(method, "Executor.map")
        plan.interleave(figure, row, contenders, lambda c: executor_map(c, items))
    return figure
