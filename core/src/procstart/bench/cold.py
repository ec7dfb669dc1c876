"""Figure: the first start + join in a fresh interpreter (cold).

Each sample is a new interpreter that starts its clock, imports the library,
gets the context and starts and joins one trivial child: so it includes
loading plugins, launching a fork server and a resource tracker.
"""

from __future__ import annotations

import time
from typing import Any

from ._children import noop
from ._contenders import Contender
from ._model import SECONDS, Figure
from ._runner import Plan, Sample, isolated, join_or_kill

ID = "start_cold"
TITLE = "start+join, cold"


def isolated_sample(contender: Contender, params: dict[str, Any]) -> Sample:
    """In the worker: time import + context + the first start + join."""
    started = time.perf_counter()
    ctx: Any = contender.context()
    proc = ctx.Process(target=noop)
    proc.start()
    join_or_kill(proc)
    return {"time": time.perf_counter() - started}


def measure(plan: Plan) -> Figure:
    """One row per method, each sample in a fresh interpreter."""
    figure = Figure(
        ID,
        TITLE,
        [SECONDS],
        how="a fresh interpreter per sample times: import the library, get the "
        "context, start and join the first child (server/tracker launch included; "
        "interpreter start-up excluded).",
    )
    for method in plan.methods:
        plan.interleave(
            figure,
            figure.row(method),
            plan.contenders(method),
            lambda contender: isolated("cold", contender, {})[0],
        )
    return figure
