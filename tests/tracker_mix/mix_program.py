"""One top-level program of the tracker matrix (run as a script, never imported by pytest).

Environment: ``MIX_KIND`` is ``procstart`` (a procstart context), ``stdlib``
(``multiprocessing.get_context``, with procstart imported and its plugins
loaded at module level), ``bridge`` (the same after
``procstart.bridge.install()``) or ``plain`` (procstart never imported: the
yardstick). ``MIX_METHOD`` is the start method, ``MIX_PREFIX`` starts every
segment name this program makes. Children inherit the environment, so a
spawned child re-importing this module makes the same choices.

For each scenario and each ending of the children (exits normally, is
SIGKILLed once it has done its work) the program records what it saw, one
step at a time, then prints the record as JSON. It unlinks nothing itself:
what is left is for the trackers to clean when it exits.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import sys
from multiprocessing import shared_memory
from typing import Any

KIND = os.environ["MIX_KIND"]
METHOD = os.environ["MIX_METHOD"]
PREFIX = os.environ["MIX_PREFIX"]

if KIND != "plain":
    import procstart

    CTX = procstart.get_context()  # procstart used at module level (plugins load)
    if KIND == "bridge":
        import procstart.bridge

        procstart.bridge.install()


def context() -> Any:
    if KIND == "procstart":
        return procstart.get_context(METHOD)
    return multiprocessing.get_context(METHOD)


def finish(conn: Any, hold: bool) -> None:
    conn.send("done")
    if hold:  # wait to be SIGKILLed by the parent
        conn.recv()


def attach_by_name(conn: Any, hold: bool, name: str, data: bytes) -> None:
    shm = shared_memory.SharedMemory(name)
    shm.buf[: len(data)] = data
    shm.close()
    finish(conn, hold)


def use_pickled(conn: Any, hold: bool, shm: Any, data: bytes) -> None:
    shm.buf[: len(data)] = data
    finish(conn, hold)


def create_here(conn: Any, hold: bool, name: str, data: bytes) -> None:
    shm = shared_memory.SharedMemory(name, create=True, size=64)
    shm.buf[: len(data)] = data
    shm.close()
    finish(conn, hold)


def release_sem(conn: Any, hold: bool, sem: Any, data: bytes) -> None:
    sem.release()
    finish(conn, hold)


def run_child(ctx: Any, target: Any, arg: Any, data: bytes, kill: bool) -> str:
    """Start a child on ``target``; let it finish or SIGKILL it after its work."""
    ours, theirs = ctx.Pipe()
    proc = ctx.Process(target=target, args=(theirs, kill, arg, data))
    proc.start()
    theirs.close()
    if not ours.poll(60):
        proc.kill()
        proc.join(30)
        return "no answer"
    ours.recv()
    if kill:
        os.kill(proc.pid, signal.SIGKILL)
    proc.join(30)
    ours.close()
    return "killed" if proc.exitcode == -signal.SIGKILL else f"exit {proc.exitcode}"


def read_segment(name: str) -> str:
    """What the top-level program finds under ``name`` now."""
    try:
        shm = shared_memory.SharedMemory(name)
    except OSError as exc:
        return type(exc).__name__
    data = bytes(shm.buf[:5])
    shm.close()
    return data.decode(errors="replace")


def scenario(ctx: Any, what: str, end: str, record: dict[str, Any]) -> None:
    kill = end == "kill"
    name = f"{PREFIX}{what}_{end}"
    steps: list[str] = []
    keep: list[Any] = []
    if what == "child-creates":
        steps.append(run_child(ctx, create_here, name, b"made1", kill))
        steps.append(read_segment(name))  # after the creator has gone
        steps.append(run_child(ctx, attach_by_name, name, b"agin2", kill))
        steps.append(read_segment(name))
    elif what == "semaphore":
        sem = ctx.Semaphore(0)
        keep.append(sem)
        sem_name = sem._semlock.name  # None under fork: unlinked at once
        record.setdefault("semaphores", []).append(sem_name)
        for _ in range(2):
            steps.append(run_child(ctx, release_sem, sem, b"", kill))
            path = f"/dev/shm/sem.{sem_name.lstrip('/')}" if sem_name else None
            steps.append("present" if path is None or os.path.exists(path) else "missing")
            steps.append("acquired" if sem.acquire(timeout=10) else "not released")
    else:
        shm = shared_memory.SharedMemory(name, create=True, size=64)
        keep.append(shm)
        target, arg = (attach_by_name, name) if what == "by-name" else (use_pickled, shm)
        steps.append(run_child(ctx, target, arg, b"first", kill))
        steps.append(read_segment(name))
        steps.append(run_child(ctx, target, arg, b"again", kill))
        steps.append(read_segment(name))
    record[f"{what}/{end}"] = steps


def main() -> None:
    ctx = context()
    record: dict[str, Any] = {"pid": os.getpid()}
    # the child creates first: whether a tracker runs yet is part of the test
    for what in ("child-creates", "by-name", "pickled", "semaphore"):
        for end in ("exit", "kill"):
            scenario(ctx, what, end, record)
    record["procstart imported"] = "procstart" in sys.modules
    print(json.dumps(record), flush=True)


if __name__ == "__main__":
    main()
