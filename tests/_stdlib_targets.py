"""Targets of the every-method stdlib-object tests (light: children import it)."""

from __future__ import annotations

import os
from typing import Any


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
