"""Figure: a child's own memory (USS) when the parent has numpy loaded.

Each sample is a fresh interpreter that imports numpy, asks the fork server
(where there is one) to preload it, starts a trivial child (so servers are
up and settled), then a child that imports numpy and waits, and reads that
child's unique set size with psutil: pages the child shares with its parent
or fork server do not count.
"""

from __future__ import annotations

import time
from typing import Any

from ._children import hold, noop
from ._contenders import Contender, installed
from ._memory import uss
from ._model import USS, Figure
from ._runner import Plan, Sample, isolated, join_or_kill

ID = "uss"
TITLE = "child USS"
MODULE = "numpy"
#: let the child finish what it does after saying it is ready
SETTLE = 0.2


def isolated_sample(contender: Contender, params: dict[str, Any]) -> Sample:
    """In the worker: preload, start a holding child, read its USS."""
    module = params["module"]
    ctx: Any = contender.context()
    if module:
        __import__(module)
        if contender.lib_method == "forkserver":
            ctx.set_forkserver_preload([module])
    # the first child of a fresh server may differ (a server can gc.freeze()
    # after it, as procstart's does): measure the steady state, the second
    first = ctx.Process(target=noop)
    first.start()
    join_or_kill(first)
    parent_end, child_end = ctx.Pipe()
    proc = ctx.Process(target=hold, args=(child_end, module))
    proc.start()
    try:
        if not parent_end.poll(120):
            raise TimeoutError("the child never said it was ready")
        parent_end.recv()
        time.sleep(SETTLE)
        assert proc.pid is not None
        size = uss(proc.pid)
        parent_end.send("exit")
    finally:
        join_or_kill(proc)
    return {"uss": float(size)}


def measure(plan: Plan) -> Figure:
    """One row per method (``numpy preloaded``, or ``plain`` without numpy)."""
    module = MODULE if installed(MODULE) else ""
    figure = Figure(
        ID,
        TITLE,
        [USS],
        how=(
            f"a fresh parent imports {module} and preloads it in the fork server; "
            f"after one trivial child, a child that imports {module} too; its USS "
            "read with psutil"
            if module
            else "numpy is not installed: a plain child's USS, read with psutil"
        ),
    )
    if not installed("psutil"):
        figure.how = "psutil is not installed: not measured"
        return figure
    param = f"{module} preloaded" if module else "plain"
    for method in plan.methods:
        plan.interleave(
            figure,
            figure.row(method, param),
            plan.contenders(method),
            lambda contender: isolated("uss", contender, {"module": module})[0],
            isolated=True,
            # USS barely varies (min = max above): --quick takes one sample
            repeat=1 if plan.quick else None,
        )
    return figure
