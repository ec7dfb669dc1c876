"""Targets of the every-method tests (light: children import it)."""

from __future__ import annotations

import os
import signal
import sys
import time
from typing import Any


def noop() -> None:
    """Nothing."""


def exit_with(code: object) -> None:
    """``sys.exit(code)``."""
    sys.exit(code)


def fail(message: str) -> None:
    """Raise ``ValueError(message)``."""
    raise ValueError(message)


def kill_self() -> None:
    """Die by SIGKILL."""
    os.kill(os.getpid(), signal.SIGKILL)


def sleep(seconds: float) -> None:
    """``time.sleep(seconds)``."""
    time.sleep(seconds)


def report(queue: Any) -> None:
    """Send back what this child knows about itself and its parent."""
    import procstart

    me = procstart.current_process()
    parent = procstart.parent_process()
    queue.put(
        {
            "start_method": procstart.get_start_method(),
            "pid": os.getpid(),
            "parent_pid": parent.pid if parent else None,
            "parent_alive": parent.is_alive() if parent else None,
            "name": me.name,
            "daemon": me.daemon,
            "authkey": bytes(me.authkey),
            "cwd": os.getcwd(),
        }
    )


def put(queue: Any, value: Any) -> None:
    """``queue.put(value)``."""
    queue.put(value)


def locked_add(lock: Any, value: Any, array: Any, n: int) -> None:
    """Add to a shared Value and Array under ``lock``."""
    for _ in range(n):
        with lock:
            value.value += 1
            array[0] += 1


def semaphore_release(sem: Any, queue: Any) -> None:
    """Acquire without blocking (the parent left one), release twice."""
    queue.put(sem.acquire(timeout=10))
    sem.release()
    sem.release()


def write_shm(shm: Any, data: bytes) -> None:
    """Write ``data`` at the start of a SharedMemory passed as an object."""
    shm.buf[: len(data)] = data
    shm.close()


def fill_proxies(mapping: Any, items: Any, event: Any) -> None:
    """Use Manager proxies, then set an Event."""
    mapping["child"] = os.getpid()
    items.append("from child")
    event.set()


def square(x: int) -> int:
    """x * x."""
    return x * x
