"""Figure: start + join of a trivial child, warm (servers already running)."""

from __future__ import annotations

import time
from typing import Any

from ._children import noop
from ._contenders import Contender
from ._model import SECONDS, Figure
from ._runner import Plan, Sample, join_or_kill

ID = "start_warm"
TITLE = "start+join, warm"


def start_join(ctx: Any) -> float:
    """Seconds to start a trivial child of ``ctx`` and join it."""
    started = time.perf_counter()
    proc = ctx.Process(target=noop)
    proc.start()
    join_or_kill(proc)
    return time.perf_counter() - started


def measure(plan: Plan) -> Figure:
    """One row per method; every column warmed up (servers started) first."""
    figure = Figure(
        ID,
        TITLE,
        [SECONDS],
        how="Process(target=int).start(); join() in this process, after one "
        "warm-up start per column (so a fork server or tracker is already up).",
    )
    for method in plan.methods:
        contexts: dict[Contender, Any] = {}

        def sample(contender: Contender, contexts: dict[Contender, Any] = contexts) -> Sample:
            ctx = contexts.get(contender)
            if ctx is None:
                ctx = contexts[contender] = contender.context()
            return {"time": start_join(ctx)}

        plan.interleave(figure, figure.row(method), plan.contenders(method), sample)
    return figure
