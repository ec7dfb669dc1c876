"""Targets for forkserver children (imported by name in the server: keep it light)."""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import time
from typing import Any

#: set when the module is imported: in the server when preloaded
IMPORTED_IN = os.getpid()


def noop() -> None:
    """Do nothing."""


def exit_with(code: Any) -> None:
    """``sys.exit(code)``."""
    sys.exit(code)


def fail(message: str) -> None:
    """Raise ValueError(message)."""
    raise ValueError(message)


def sleep(seconds: float) -> None:
    """Sleep (the parent kills or terminates us)."""
    time.sleep(seconds)


def kill_self() -> None:
    """Die of SIGKILL."""
    os.kill(os.getpid(), signal.SIGKILL)


def put(queue: Any, value: Any) -> None:
    """``queue.put(value)``."""
    queue.put(value)


def report(queue: Any) -> None:
    """Send back facts about this child."""
    import multiprocessing.process as mp_process

    parent = mp_process.parent_process()
    queue.put(
        {
            "pid": os.getpid(),
            "parent_pid": parent.pid if parent else None,
            "parent_alive": parent.is_alive() if parent else None,
            "name": mp_process.current_process().name,
            "fds": open_fds(),
        }
    )


def open_fds() -> dict[int, str]:
    """This process's fds and what they point to."""
    out = {}
    for name in os.listdir("/proc/self/fd"):
        with contextlib.suppress(OSError):
            out[int(name)] = os.readlink(f"/proc/self/fd/{name}")
    return out


def preload_probe(queue: Any, module: str) -> None:
    """Where ``module`` was imported (its IMPORTED_IN), without importing it anew."""
    was_there = module in sys.modules
    mod = __import__(module)
    queue.put((was_there, mod.IMPORTED_IN, os.getpid()))


def wait_event(event: Any, code: int) -> None:
    """Wait for ``event`` (bounded), then exit with ``code``."""
    event.wait(60)
    sys.exit(code)


def use_objects(lock: Any, conn: Any, shm_name: str, value: Any, proxy: Any, queue: Any) -> None:
    """Touch one of each stdlib object and report back."""
    from multiprocessing import shared_memory

    with lock:
        value.value += 1
    conn.send("via pipe")
    shm = shared_memory.SharedMemory(name=shm_name)
    shm.buf[0] = 42
    shm.close()
    proxy.append("from child")
    queue.put("via queue")


def nested(queue: Any, depth: int) -> None:
    """Start a forkserver child from this child, ``depth`` levels down."""
    import procstart

    if depth == 0:
        queue.put(os.getpid())
        return
    ctx = procstart.get_context("forkserver")
    child = ctx.Process(target=nested, args=(queue, depth - 1))
    child.start()
    child.join(60)
    if child.exitcode != 0:
        sys.exit(10 + depth)


def put_env(queue: Any, *names: str) -> None:
    """Send back the values of environment variables ``names``."""
    queue.put([os.environ.get(name) for name in names])


def freeze_count(queue: Any) -> None:
    """How many objects this child's garbage collector never visits."""
    import gc

    queue.put(gc.get_freeze_count())


def send(conn: Any, value: Any) -> None:
    """``conn.send(value)`` on a Pipe end."""
    conn.send(value)
