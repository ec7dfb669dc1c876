"""The worker side: run one child process per task, and signal it on request.

A task (:func:`run_child`) starts ``python -c "...procstart_dask._child..."``
on the worker, writes it the launch payload (the same format every procstart
child reads) through a pipe it keeps open while the child runs, waits for
it and returns its exit code with what it wrote to stdout and stderr.
:func:`signal_child` and :func:`child_pid` run on workers through
``Client.run`` (no polling, no per-child scheduler state).

This module is imported on the workers (by reference), so it stays small.
"""

from __future__ import annotations

import contextlib
import copy
import os
import pickle
import subprocess
import sys
import tempfile
import threading
from typing import Any

import procstart.plugin as psp  # the core's payload format

__all__ = ["LOST", "child_pid", "run_child", "signal_child"]

#: exit code :func:`run_child` reports when its child was already started
#: by an earlier attempt on a worker that died (the scheduler retried it)
LOST = -9

_lock = threading.Lock()
_running: dict[str, subprocess.Popen[bytes]] = {}
#: signals asked for before the child existed, applied when it starts
_pending: dict[str, int] = {}

_COMMAND = "from procstart_dask._child import main; main({fd}, {ppid})"


def _localise(prep: psp.Preparation) -> psp.Preparation:
    """Keep what makes sense on this machine from the parent's preparation data."""
    prep = copy.copy(prep)
    for key in ("dir", "orig_dir"):
        value = getattr(prep, key)
        if not (isinstance(value, str) and os.path.isdir(value)):
            setattr(prep, key, None)
    parent_path = [p for p in prep.sys_path or [] if not p or os.path.exists(p)]
    prep.sys_path = parent_path + [p for p in sys.path if p not in parent_path]
    if prep.executable and not os.path.exists(prep.executable):
        prep.executable = None
    return prep


def _payload(prep: psp.Preparation, process_bytes: bytes) -> bytes:
    MAGIC = psp.child.MAGIC  # noqa: N806
    prep_bytes = pickle.dumps(prep, protocol=pickle.HIGHEST_PROTOCOL)
    return b"".join(
        [
            MAGIC,
            len(prep_bytes).to_bytes(8, "big"),
            prep_bytes,
            len(process_bytes).to_bytes(8, "big"),
            process_bytes,
        ]
    )


def _first_attempt(key: str) -> bool:
    """False if an earlier attempt of this task started the child (its worker died)."""
    try:
        from distributed import Event
    except ImportError:  # pragma: no cover - the worker has distributed
        return True
    ran = Event(f"{key}-ran")
    if ran.is_set():
        return False
    ran.set()
    return True


def _leave_the_thread_pool() -> None:
    """Free this task's worker thread slot while the child runs.

    A child is a process, not a computation: children that wait for each
    other (a queue, an event) must all run at once, as local processes do,
    however few threads the workers have (``distributed.secede``).
    """
    with contextlib.suppress(ImportError, ValueError):
        from distributed import secede

        secede()


def _write(fd: int, data: bytes) -> None:
    view = memoryview(data)
    try:
        while view:
            view = view[os.write(fd, view) :]
    except BrokenPipeError:
        pass  # the child died before reading it all: its exit code tells


def run_child(key: str, prep: psp.Preparation, process_bytes: bytes) -> dict[str, Any]:
    """Run one child to completion on this worker (a Dask task).

    Returns ``{"exitcode", "stdout", "stderr", "pid", "host"}``.
    """
    import socket

    host = socket.gethostname()
    if not _first_attempt(key):
        with _lock:
            _pending.pop(key, None)
        message = (
            f"procstart-dask: the worker running this child died; the scheduler "
            f"retried the task on {host}, which does not run a process twice\n"
        )
        return {"exitcode": LOST, "stdout": b"", "stderr": message.encode(), "pid": 0, "host": host}
    _leave_the_thread_pool()
    payload = _payload(_localise(prep), process_bytes)
    read_end, write_end = os.pipe()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        try:
            child = subprocess.Popen(
                [sys.executable, "-c", _COMMAND.format(fd=read_end, ppid=os.getpid())],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                pass_fds=(read_end,),
                close_fds=True,
            )
        finally:
            os.close(read_end)
        with _lock:
            _running[key] = child
            early = _pending.pop(key, None)
        try:
            if early is not None:
                child.send_signal(early)
            # kept open while the child runs: parent_process().is_alive() in
            # the child watches it, and it closes if this worker dies
            writer = threading.Thread(target=_write, args=(write_end, payload), daemon=True)
            writer.start()
            code = child.wait()
            writer.join()
        finally:
            os.close(write_end)
            with _lock:
                _running.pop(key, None)
        out.seek(0)
        err.seek(0)
        return {
            "exitcode": code,
            "stdout": out.read(),
            "stderr": err.read(),
            "pid": child.pid,
            "host": host,
        }


def signal_child(key: str, signum: int) -> bool:
    """Send ``signum`` to the child of task ``key`` if it runs here (``Client.run``).

    A signal for a child not started yet is kept and sent when it starts.
    """
    with _lock:
        child = _running.get(key)
        if child is None:
            _pending[key] = signum
            return False
    with contextlib.suppress(ProcessLookupError):
        child.send_signal(signum)
    return True


def forget(key: str) -> None:
    """Drop a pending signal for ``key`` (its task finished elsewhere)."""
    with _lock:
        _pending.pop(key, None)


def child_pid(key: str) -> int | None:
    """The pid of the child of task ``key`` on this worker, or None (``Client.run``)."""
    with _lock:
        child = _running.get(key)
    return None if child is None else child.pid
