"""Figure: a child receiving one argument of 1 KB, 10 MB, 100 MB.

The argument is ``bytes`` (and a numpy array when numpy is installed); each
sample measures start + join and how far the parent's memory rises above
where it was while the child is launched (pickling buffers, copies).
"""

from __future__ import annotations

import gc
import time
from typing import Any

from ._children import receive
from ._contenders import Contender, installed
from ._memory import PeakTracker
from ._model import PEAK_RSS, SECONDS, Figure
from ._runner import Plan, Sample, join_or_kill

ID = "args"
TITLE = "child receiving an argument"
SIZES = ((1 << 10, "1 KB"), (10 << 20, "10 MB"), (100 << 20, "100 MB"))
QUICK_SIZES = ((1 << 10, "1 KB"), (10 << 20, "10 MB"))


def make_payload(kind: str, size: int) -> Any:
    """``size`` bytes, every page touched, as ``bytes`` or a numpy array."""
    if kind == "numpy":
        import numpy

        return numpy.ones(size, dtype=numpy.uint8)
    return b"x" * size


def send(ctx: Any, payload: Any, tracker: PeakTracker) -> Sample:
    """Start and join a child receiving ``payload``: time and parent's peak."""
    tracker.start()
    started = time.perf_counter()
    proc = ctx.Process(target=receive, args=(payload,))
    proc.start()
    join_or_kill(proc)
    elapsed = time.perf_counter() - started
    return {"time": elapsed, "peak_rss": float(tracker.peak())}


def measure(plan: Plan) -> Figure:
    """Rows ``method, bytes 10 MB`` (and ``numpy ...``)."""
    tracker = PeakTracker()
    how = (
        "Process(target=f, args=(payload,)).start(); join(); peak = the parent's "
        "high-water mark during the launch minus its RSS before it"
    )
    how += " (VmHWM reset per sample)." if tracker.resettable else " (ru_maxrss)."
    figure = Figure(ID, TITLE, [SECONDS, PEAK_RSS], how=how)
    # quick: bytes only (a numpy argument makes every non-fork child import numpy)
    kinds = ["bytes"] + (["numpy"] if installed("numpy") and not plan.quick else [])
    sizes = QUICK_SIZES if plan.quick else SIZES
    for method in plan.methods:
        contexts: dict[Contender, Any] = {}
        for kind in kinds:
            for size, label in sizes:
                payload = make_payload(kind, size)

                def sample(
                    contender: Contender,
                    payload: Any = payload,
                    contexts: dict[Contender, Any] = contexts,
                ) -> Sample:
                    ctx = contexts.get(contender)
                    if ctx is None:
                        ctx = contexts[contender] = contender.context()
                    return send(ctx, payload, tracker)

                row = figure.row(method, f"{kind} {label}")
                plan.interleave(figure, row, plan.contenders(method), sample)
                del payload, sample
                gc.collect()
    return figure
