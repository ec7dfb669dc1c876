"""Figure: the first start + join in a fresh interpreter (cold).

Each sample is a new interpreter that starts and joins one trivial child:
the time includes launching a fork server and a resource tracker, and a
second metric adds importing the library and getting its context (for
procstart: loading the plugins through their entry points).
"""

from __future__ import annotations

import time
from typing import Any

from ._children import noop
from ._contenders import Contender
from ._model import SECONDS, Figure, Metric
from ._runner import Plan, Sample, isolated, join_or_kill

ID = "start_cold"
TITLE = "start+join, cold"
FIRST_USE = Metric("first_use", "s", 1e3, "ms")


def isolated_sample(contender: Contender, params: dict[str, Any]) -> Sample:
    """In the worker: time the first start + join, and with the set-up before it."""
    begun = time.perf_counter()
    ctx: Any = contender.context()
    started = time.perf_counter()
    proc = ctx.Process(target=noop)
    proc.start()
    join_or_kill(proc)
    done = time.perf_counter()
    return {"time": done - started, "first_use": done - begun}


def measure(plan: Plan) -> Figure:
    """One row per method, each sample in a fresh interpreter."""
    figure = Figure(
        ID,
        TITLE,
        [SECONDS, FIRST_USE],
        how="a fresh interpreter per sample: time = the first start + join "
        "(fork server / tracker launch included); first_use = that plus importing "
        "the library and getting its context (procstart: loading its plugins). "
        "Interpreter start-up is in neither.",
    )
    for method in plan.methods:
        plan.interleave(
            figure,
            figure.row(method),
            plan.contenders(method),
            lambda contender: isolated("cold", contender, {})[0],
            isolated=True,
        )
    return figure
