"""Targets for the dask tests, imported by name on the workers (keep it light)."""

from __future__ import annotations

import os
import sys
import time
from typing import Any

#: set by :func:`init_pool` in each worker process of a pool
INITIALISED: Any = None


def exit_with(code: int) -> None:
    sys.exit(code)


def fail(message: str) -> None:
    raise RuntimeError(message)


def spin(seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        time.sleep(0.01)


def identity(queue: Any) -> None:
    import multiprocessing

    import procstart

    parent = multiprocessing.parent_process()
    queue.put(
        (
            multiprocessing.current_process().name,
            os.getpid(),
            procstart.get_start_method(),
            parent.pid if parent is not None else None,
        )
    )


def echo(inbox: Any, outbox: Any) -> None:
    item = inbox.get(timeout=60)
    outbox.put(("echo", item))


def wait_then_set(go: Any, done: Any) -> None:
    if go.wait(60):
        done.set()


def add_under_lock(lock: Any, value: Any, times: int) -> None:
    for _ in range(times):
        with lock:
            value.value = value.value + 1


def square(x: int) -> int:
    return x * x


def nap_square(x: int) -> int:
    time.sleep(0.05)
    return x * x


def init_pool(marker: str) -> None:
    global INITIALISED
    INITIALISED = marker


def initialised(_x: Any) -> Any:
    return INITIALISED


def divide(a: int, b: int) -> float:
    return a / b


def program(ctx: Any) -> dict[str, Any]:
    """One small multiprocessing program: processes, a queue, a lock, a pool."""
    queue = ctx.Queue()
    lock = ctx.Lock()
    value = ctx.Value("i", 0)
    procs = [ctx.Process(target=_worker, args=(queue, lock, value, n)) for n in range(3)]
    for proc in procs:
        proc.start()
    got = sorted(queue.get(timeout=120) for _ in procs)
    for proc in procs:
        proc.join(120)
    with ctx.Pool(2) as pool:
        mapped = pool.map(square, range(20), chunksize=3)
        star = pool.starmap(divmod, [(7, 2), (9, 4)])
    return {
        "got": got,
        "exitcodes": [proc.exitcode for proc in procs],
        "value": value.value,
        "mapped": mapped,
        "star": star,
    }


def _worker(queue: Any, lock: Any, value: Any, n: int) -> None:
    with lock:
        value.value = value.value + n
    queue.put((n, square(n)))
    if n == 2:
        sys.exit(2)


def daemon_parent(address: str, pid_file: str) -> None:
    """Run as a separate parent: start a daemon child that never ends, then exit."""
    import procstart

    ctx = procstart.get_context("dask")
    queue = ctx.Queue()
    proc = ctx.Process(target=_report_and_sleep, args=(queue,), daemon=True)
    proc.start()
    pid = queue.get(timeout=120)
    with open(pid_file, "w") as fh:
        fh.write(str(pid))


def _report_and_sleep(queue: Any) -> None:
    queue.put(os.getpid())
    time.sleep(600)


def check_in_then_wait(arrived: Any, go: Any, n: int) -> None:
    arrived.put(n)
    if not go.wait(120):
        sys.exit(7)


def meet(barrier: Any, out: Any) -> None:
    out.put(barrier.wait(60))


def set_and_notify(cond: Any, state: Any) -> None:
    with cond:
        state.value = 1
        cond.notify_all()


def hold(gate: str, started: str, timeout: float) -> None:
    """A plain Dask task: occupy this worker's one thread until ``gate`` is set."""
    from distributed import Event, Queue

    Queue(started).put(os.getpid())
    Event(gate).wait(timeout)
