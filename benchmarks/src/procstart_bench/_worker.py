"""The measured process: one contender, one figure, a few samples, then exit.

Every sample of ``procstart bench`` is taken in a fresh interpreter running
this module, started in one of two *forms*::

    python .../procstart_bench/_script.py FIGURE COLUMN METHOD SAMPLES WARMUP [key=value ...]
    python -c "from procstart_bench._worker import main; main()" FIGURE COLUMN ...

so that the process's ``__main__`` is a small script file (children and fork
servers re-import it, as they do a user's program) or nothing at all. This
module imports only ``os``, ``sys`` and ``time`` (and
:mod:`procstart_bench._layout`, which imports nothing) until the contender's
library is imported, and never another contender's library: the stdlib's
side never has procstart loaded, procstart's never has loky or
multiprocess. It checks that before it reports, and records which
non-stdlib modules were loaded.

It prints one JSON line: ``{"samples": [{metric: value}, ...], "modules":
[...], "preloaded": [...], "main": ...}`` or ``{"error": ...}``.

This file must not import procstart, nor anything at module level beyond
``os``, ``sys`` and ``time``.
"""

from __future__ import annotations

import os
import sys
import time

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    #: metric name -> value
    Sample = dict[str, float]

#: a child that takes longer than this to start and exit is a hang
TIMEOUT = 300.0
#: top-level modules that must not be loaded in a column's process
FOREIGN = {
    "stdlib": ("procstart", "loky", "multiprocess"),
    "procstart": ("loky", "multiprocess"),
    "multiprocess": ("procstart", "loky"),
    "loky": ("procstart", "multiprocess"),
    "none": ("procstart", "loky", "multiprocess", "multiprocessing"),
}
#: modules procstart needs and the stdlib does not: the ``cold`` worker must
#: not have them before its sample (it would hide their import cost)
PROCSTART_ONLY = (
    "dataclasses",
    "inspect",
    "typing",
    "json",
    "re",
    "enum",
    "importlib.metadata",
    "pluggy",
    "tomllib",
)


def _foreign(column: str) -> list[str]:
    """Loaded modules that belong to another contender (``procstart_bench`` excepted)."""
    bad = FOREIGN.get(column, ())
    out = []
    for name in sys.modules:
        top = name.split(".")[0]
        if top == "procstart_bench":
            continue
        if top.startswith("procstart_"):
            top = "procstart"
        if top in bad:
            out.append(name)
    return sorted(out)


def _third_party() -> list[str]:
    """Top-level modules loaded that are not in the standard library."""
    names: frozenset[str] = getattr(sys, "stdlib_module_names", frozenset())
    tops = {name.split(".")[0] for name in sys.modules}
    return sorted(t for t in tops if t not in names and not t.startswith("_") and t != "__main__")


def context(column: str, method: str, params: dict[str, str]) -> Any:
    """The library's context for ``method``; imports the library (only it)."""
    if column == "stdlib":
        import multiprocessing

        return multiprocessing.get_context(method)
    if column == "procstart":
        import procstart

        return procstart.get_context(method)
    if column == "multiprocess":
        import importlib

        return importlib.import_module("multiprocess").get_context(method)
    if column == "loky":
        from loky.backend.context import get_context

        return get_context("loky")
    if column == "none":
        return None
    raise ValueError(f"unknown column {column!r}")


def join_or_kill(proc: Any, timeout: float = TIMEOUT) -> None:
    """Join a started process; a hung or failed one raises."""
    proc.join(timeout)
    if proc.exitcode is None:
        proc.kill()
        proc.join(5)
        raise TimeoutError(f"child {proc.pid} did not exit within {timeout:.0f} s")
    if proc.exitcode != 0:
        raise RuntimeError(f"child exited with code {proc.exitcode}")


def start_join(ctx: Any, target: Any = int) -> float:
    """Seconds to start a child running ``target`` and join it."""
    started = time.perf_counter()
    proc = ctx.Process(target=target)
    proc.start()
    join_or_kill(proc)
    return time.perf_counter() - started


# -- samplers: (ctx, params, state) -> sample ------------------------------


def sample_start(ctx: Any, params: dict[str, str], state: dict[str, Any]) -> Sample:
    """start + join of ``Process(target=int)`` (servers already up after warm-up)."""
    return {"time": start_join(ctx)}


def sample_untimed(ctx: Any, params: dict[str, str], state: dict[str, Any]) -> Sample:
    """start + ``join()`` without a timeout (the run's own timeout ends a hang)."""
    started = time.perf_counter()
    proc = ctx.Process(target=int)
    proc.start()
    proc.join()
    elapsed = time.perf_counter() - started
    if proc.exitcode != 0:
        raise RuntimeError(f"child exited with code {proc.exitcode}")
    return {"time": elapsed}


def sample_many(ctx: Any, params: dict[str, str], state: dict[str, Any]) -> Sample:
    """N children started back to back, then all joined: time per child."""
    count = int(params["n"])
    started = time.perf_counter()
    procs = [ctx.Process(target=int) for _ in range(count)]
    for proc in procs:
        proc.start()
    for proc in procs:
        join_or_kill(proc)
    return {"time_per_child": (time.perf_counter() - started) / count}


def _make_lambda() -> Callable[[], None]:
    return lambda: None  # pickle cannot send this: procstart sends it by value


def sample_lambda(ctx: Any, params: dict[str, str], state: dict[str, Any]) -> Sample:
    """A plain function (``int``) and a lambda, one start + join each, in turn."""
    flip = state["flip"] = not state.get("flip", False)
    fn = _make_lambda()
    if flip:
        function = start_join(ctx, int)
        by_value = start_join(ctx, fn)
    else:
        by_value = start_join(ctx, fn)
        function = start_join(ctx, int)
    return {"function": function, "lambda": by_value}


def sample_args(ctx: Any, params: dict[str, str], state: dict[str, Any]) -> Sample:
    """start + join of a child receiving one argument; the parent's peak memory."""
    from ._memory import PeakTracker

    payload = state.get("payload")
    if payload is None:
        size = int(params["size"])
        if params.get("kind") == "numpy":
            import numpy

            payload = numpy.ones(size, dtype=numpy.uint8)
        else:
            payload = b"x" * size
        state["payload"] = payload
        state["tracker"] = PeakTracker()
    tracker = state["tracker"]
    tracker.start()
    started = time.perf_counter()
    proc = ctx.Process(target=len, args=(payload,))
    proc.start()
    join_or_kill(proc)
    elapsed = time.perf_counter() - started
    return {"time": elapsed, "peak_rss": float(tracker.peak())}


def _warm_maps(run: Callable[[], object], count: int = 5, budget: float = 0.05) -> float:
    times: list[float] = []
    deadline = time.perf_counter() + budget
    while len(times) < count:
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
        if time.perf_counter() >= deadline:
            break
    times.sort()
    return times[len(times) // 2]


def sample_pool(ctx: Any, params: dict[str, str], state: dict[str, Any]) -> Sample:
    """``Pool(2)`` or ``ProcessPoolExecutor(2)``: create+map+shutdown, and a warm map."""
    items = range(int(params["items"]))
    started = time.perf_counter()
    if params["kind"] == "Pool.map":
        pool = ctx.Pool(2)
        try:
            pool.map_async(abs, items).get(TIMEOUT)
            first = time.perf_counter()
            warm = _warm_maps(lambda: pool.map_async(abs, items).get(TIMEOUT))
            second = time.perf_counter()
            pool.close()
            pool.join()
        finally:
            pool.terminate()
    else:
        if state["column"] == "multiprocess":
            raise NotImplementedError("multiprocess has no ProcessPoolExecutor")
        if state["column"] == "loky":
            import loky

            executor = loky.ProcessPoolExecutor(max_workers=2)
        else:
            from concurrent.futures import ProcessPoolExecutor

            executor = ProcessPoolExecutor(max_workers=2, mp_context=ctx)
        try:
            list(executor.map(abs, items, timeout=TIMEOUT))
            first = time.perf_counter()
            warm = _warm_maps(lambda: list(executor.map(abs, items, timeout=TIMEOUT)))
            second = time.perf_counter()
        except BaseException:
            executor.shutdown(wait=False, cancel_futures=True)
            raise
        executor.shutdown(wait=True)
    done = time.perf_counter()
    return {"create_map_shutdown": (first - started) + (done - second), "warm_map": warm}


def sample_uss(ctx: Any, params: dict[str, str], state: dict[str, Any]) -> Sample:
    """After one trivial child, a child that imports ``module`` and waits: its USS."""
    from ._children import hold
    from ._memory import uss

    module = params.get("module", "")
    if module:
        __import__(module)
        if state["method"] == "forkserver":
            ctx.set_forkserver_preload([module])
    start_join(ctx)  # the steady state: a server may gc.freeze() after its first child
    parent_end, child_end = ctx.Pipe()
    proc = ctx.Process(target=hold, args=(child_end, module))
    proc.start()
    try:
        if not parent_end.poll(120):
            raise TimeoutError("the child never said it was ready")
        before, loaded = parent_end.recv()
        if module and not loaded:
            raise RuntimeError(f"the child does not have {module} loaded")
        state["report"] = {"child_had_module_before_import": before}
        time.sleep(0.2)
        size = uss(proc.pid)
        parent_end.send("exit")
    finally:
        join_or_kill(proc)
    return {"uss": float(size)}


#: seconds between the warm-up and the samples (a server's interpreter start-up
#: would otherwise compete for the CPUs with the first samples)
WARM_SETTLE = 0.3
#: seconds the dropped starts after the settle may take at most (a few of
#: spawn's, ten of fork's)
REWARM_BUDGET = 0.1

BEGIN = "@@procstart-bench-child-begin@@"
END = "@@procstart-bench-child-end@@"


def sample_imports(ctx: Any, params: dict[str, str], state: dict[str, Any]) -> Sample:
    """Under ``-X importtime``: warm up, settle, then mark the second child on stderr."""
    start_join(ctx)
    time.sleep(float(params.get("settle", "0.5")))
    os.write(2, f"{BEGIN}\n".encode())
    start_join(ctx)
    os.write(2, f"{END}\n".encode())
    return {}


def sample_limit(ctx: Any, params: dict[str, str], state: dict[str, Any]) -> Sample:
    """What the machine allows: a raw ``os.fork()`` + ``waitpid``, or a bare interpreter."""
    kind = params["kind"]
    started = time.perf_counter()
    if kind == "fork":
        pid = os.fork()
        if pid == 0:
            os._exit(0)
    else:
        argv = [sys.executable, kind, "-c", "pass"]
        pid = os.posix_spawn(sys.executable, argv, dict(os.environ))
    _, status = os.waitpid(pid, 0)
    elapsed = time.perf_counter() - started
    if status != 0:
        raise RuntimeError(f"{kind} child exited with status {status}")
    return {"time": elapsed}


def sample_cold(column: str, method: str, params: dict[str, str]) -> Sample:
    """Import the library, get its context, start + join one child (fresh process)."""
    begun = time.perf_counter()
    ctx = context(column, method, params)
    started = time.perf_counter()
    start_join(ctx)
    done = time.perf_counter()
    return {"time": done - started, "first_use": done - begun}


SAMPLERS: dict[str, Callable[[Any, dict[str, str], dict[str, Any]], Sample]] = {
    "start": sample_start,
    "untimed": sample_untimed,
    "tracker": sample_start,
    "many": sample_many,
    "lambda": sample_lambda,
    "args": sample_args,
    "pool": sample_pool,
    "uss": sample_uss,
    "imports": sample_imports,
    "limits": sample_limit,
}


#: figures whose samples also count page faults: the warm single-child starts,
#: where the tracker's share is hundredths of a millisecond and the machine's
#: speed drifts by more; fault counts do not drift
COUNTS_FAULTS = frozenset({"start", "untimed", "tracker"})


class Turns:
    """This process's place in a round whose columns take their samples in turns.

    Every column's process of such a round runs at once
    (``_runner.Plan.workers_in_turns``), and the turn goes round them like a
    token: a byte on ``go`` starts this process's sample, and when it is
    taken this process writes a byte on ``next``, the following process's
    ``go``. The coordinator hands out nothing mid-round (a go-between's own
    wake-up between two samples cost the columns their common moments),
    only the first turn and the end; on ``done`` this process says it is
    warm and, after its last sample, that it has finished. It reports only
    once the coordinator has seen every column finish, so that no column's
    exit runs beside another's sample.
    """

    def __init__(self, spec: str, samples: int) -> None:
        go, next_go, done = spec.split(",")
        self.go, self.next, self.done = int(go), int(next_go), int(done)
        self.left = samples
        self.next_died = False

    def ready(self) -> None:
        """Warm: the coordinator may hand out the first turn."""
        os.write(self.done, b"r")

    def begin(self) -> None:
        """Wait for this process's turn."""
        got = os.read(self.go, 1)
        if got != b"g":
            raise RuntimeError(f"the turns ended before the last sample (got {got!r})")

    def end(self) -> None:
        """Hand the turn on; after the last sample, say this process has finished."""
        self.left -= 1
        try:
            os.write(self.next, b"g")
        except BrokenPipeError:  # it has died: the coordinator sees it and ends the round
            self.next_died = True
        if not self.left:
            os.write(self.done, b"e")

    def finish(self) -> None:
        """Wait for the round's end (a turn handed on to this process now is dropped)."""
        while os.read(self.go, 1) not in (b"q", b""):
            pass


def _with_faults(
    sampler: Callable[[Any, dict[str, str], dict[str, Any]], Sample],
    ctx: Any,
    params: dict[str, str],
    state: dict[str, Any],
    samples: int,
    turns: Turns | None = None,
) -> list[Sample]:
    """``samples`` samples, each with the minor page faults it took.

    ``parent_faults``: this process's; ``child_faults``: its reaped children's
    (the started child for fork and spawn; a fork server's children are not
    this process's). Counted around the sample, outside its timed part, and
    inside its turn (``turns``: the round takes its samples in turns; then
    ``turn_began`` is when the turn came, ``time.monotonic()``: the clock
    every process of the machine shares).
    """
    import resource

    usage, me, children = resource.getrusage, resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN
    out: list[Sample] = []
    for _ in range(samples):
        if turns is not None:
            turns.begin()
            began = time.monotonic()
        parent, child = usage(me).ru_minflt, usage(children).ru_minflt
        sample = sampler(ctx, params, state)
        sample["parent_faults"] = usage(me).ru_minflt - parent
        sample["child_faults"] = usage(children).ru_minflt - child
        if turns is not None:
            turns.end()
            sample["turn_began"] = began
        out.append(sample)
    return out


def _main_form() -> str:
    main = sys.modules.get("__main__")
    path = getattr(main, "__file__", None)
    return os.path.basename(path) if path else "-c"


def run(argv: list[str]) -> dict[str, Any]:
    """Take the samples ``argv`` asks for; the report as a dict."""
    figure, column, method, samples_text, warmup_text, *rest = argv
    params = dict(item.split("=", 1) for item in rest)
    samples, warmup = int(samples_text), int(warmup_text)
    preloaded = [name for name in PROCSTART_ONLY if name in sys.modules]
    out: list[Sample] = []
    state: dict[str, Any] = {"column": column, "method": method}
    turns = Turns(params["turns"], samples) if "turns" in params else None
    if turns is not None and figure not in COUNTS_FAULTS:
        raise ValueError(f"the {figure} figure does not take its samples in turns")
    if figure == "cold":
        out.append(sample_cold(column, method, params))
    else:
        if "layout" in params:  # before the library: its objects land elsewhere
            from ._layout import pad

            state["padding"] = pad(int(params["layout"]))
        ctx = context(column, method, params)
        sampler = SAMPLERS[figure]
        for _ in range(warmup):
            sampler(ctx, params, state)
        if warmup:
            # what the warm-up started (a fork server, a tracker) finishes its own
            # start-up before the samples: warm means up and idle, for every column
            time.sleep(WARM_SETTLE)
            # the settle let the CPUs idle: the first samples after it are slower
            # for every column; those the figure asks to drop are taken and dropped
            deadline = time.perf_counter() + REWARM_BUDGET
            for _ in range(int(params.get("rewarm", "0"))):
                sampler(ctx, params, state)
                if time.perf_counter() > deadline:
                    break
        if turns is not None:
            turns.ready()
        if figure in COUNTS_FAULTS:
            out.extend(_with_faults(sampler, ctx, params, state, samples, turns))
        else:
            for _ in range(samples):
                out.append(sampler(ctx, params, state))
        if turns is not None:
            turns.finish()
    foreign = _foreign(column)
    if foreign:
        raise RuntimeError(f"{column} worker has other contenders' modules: {foreign[:5]}")
    if figure == "cold" and preloaded:
        raise RuntimeError(f"cold worker had {preloaded} before its sample")
    return {
        **state.get("report", {}),
        "samples": out,
        "layout": int(params.get("layout", "0")),
        "modules": _third_party(),
        "preloaded": preloaded,
        "main": _main_form(),
    }


def main() -> None:
    """Entry point of both forms: run, print one JSON line, exit."""
    try:
        report = run(sys.argv[1:])
    except Exception as exc:  # reported to the parent, which records it
        text = str(exc).strip().replace("\n", " ")
        report = {"error": f"{type(exc).__name__}: {text[:300]}" if text else type(exc).__name__}
    import json

    sys.stdout.write(json.dumps(report) + "\n")
    sys.stdout.flush()
