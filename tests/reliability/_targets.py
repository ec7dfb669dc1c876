"""Child-side functions for the reliability tests.

They live in an importable module of their own so that every start method
sends them by reference (``tests.reliability._targets.<name>``), exactly as
a user's module-level function would travel.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Any


def noop() -> None:
    """The cheapest possible target."""


def exit_with(code: int) -> None:
    sys.exit(code)


def sleep_forever() -> None:
    time.sleep(3600)


def raise_keyboard_interrupt() -> None:
    raise KeyboardInterrupt


def raise_system_exit_text() -> None:
    raise SystemExit("stopped with a text reason")


def flood_queue(queue: Any, item_size: int) -> None:
    """Put big items until killed: the feeder thread blocks mid-write on the pipe."""
    blob = b"x" * item_size
    while True:
        queue.put(blob)


def hold_lock(lock: Any, held: Any) -> None:
    """Take ``lock``, say so, then wait to be killed with it held."""
    lock.acquire()
    held.set()
    time.sleep(3600)


def mark_and_sleep(marker: str) -> int:
    """A pool task: leave a file naming our pid, then run until killed."""
    tmp = marker + ".tmp"
    Path(tmp).write_text(str(os.getpid()))
    os.replace(tmp, marker)
    time.sleep(3600)
    return 0


def square(x: int) -> int:
    return x * x


def nest(method: str, depth: int, max_depth: int, queue: Any) -> None:
    """Report, then start the next level with the same method; exit with its code."""
    import procstart

    parent = procstart.parent_process()
    queue.put(
        (
            depth,
            os.getpid(),
            os.getppid(),
            parent.pid if parent is not None else None,
            procstart.get_start_method(),
        )
    )
    if depth == max_depth:
        sys.exit(40 + depth)
    child = procstart.get_context(method).Process(
        target=nest, args=(method, depth + 1, max_depth, queue)
    )
    child.start()
    child.join(60)
    if child.exitcode is None:
        child.kill()
        child.join(10)
        sys.exit(99)
    sys.exit(child.exitcode)


def fd_identities(conn: Any) -> None:
    """Send back (fd, st_dev, st_ino) of every fd this child holds."""
    seen = []
    for name in os.listdir("/proc/self/fd"):
        fd = int(name)
        try:
            st = os.fstat(fd)
        except OSError:  # the listdir handle itself, closed by now
            continue
        seen.append((fd, st.st_dev, st.st_ino))
    conn.send(seen)
    conn.close()


def make_own_resources(report: Any, folder: str) -> None:
    """In a child: create a shared memory segment and a registered folder, report, wait."""
    from multiprocessing import shared_memory

    import procstart

    shm = shared_memory.SharedMemory(create=True, size=4096)
    os.makedirs(folder)
    procstart.register_resource("folder", folder)
    report.put({"pid": os.getpid(), "shm": shm.name, "folder": folder})
    time.sleep(3600)


def report_size_and_peak(blob: bytes, conn: Any) -> None:
    """Send back the argument's length, a checksum and this process's peak RSS (bytes)."""
    import resource

    conn.send(
        (len(blob), blob[:1] + blob[-1:], resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)
    )
    conn.close()
