"""Figure: N children started at once, then all joined; time per child."""

from __future__ import annotations

import time
from typing import Any

from ._children import noop
from ._contenders import Contender
from ._model import PER_CHILD, Figure
from ._runner import Plan, Sample, join_or_kill

ID = "many"
TITLE = "N children at once"
COUNTS = (1, 8, 64)
QUICK_COUNTS = (1, 4)


def start_many(ctx: Any, count: int) -> float:
    """Seconds per child to start ``count`` children and join them all."""
    started = time.perf_counter()
    procs = [ctx.Process(target=noop) for _ in range(count)]
    for proc in procs:
        proc.start()
    for proc in procs:
        join_or_kill(proc)
    return (time.perf_counter() - started) / count


def measure(plan: Plan) -> Figure:
    """Rows ``method, N=n`` for each N."""
    figure = Figure(
        ID,
        TITLE,
        [PER_CHILD],
        how="start N trivial children back to back, then join them all; "
        "total time / N (warm: servers already up).",
    )
    counts = QUICK_COUNTS if plan.quick else COUNTS
    for method in plan.methods:
        contexts: dict[Contender, Any] = {}
        for count in counts:

            def sample(
                contender: Contender, count: int = count, contexts: dict[Contender, Any] = contexts
            ) -> Sample:
                ctx = contexts.get(contender)
                if ctx is None:
                    ctx = contexts[contender] = contender.context()
                return {"time_per_child": start_many(ctx, count)}

            row = figure.row(method, f"N={count}")
            plan.interleave(figure, row, plan.contenders(method), sample)
    return figure
