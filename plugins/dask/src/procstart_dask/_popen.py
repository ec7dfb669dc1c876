"""The parent's handle of a child running on a Dask worker.

``start()`` pickles the process object here (so what cannot travel fails in
the parent) and submits one task; the worker runs the child in a process
of its own (:mod:`procstart_dask._remote`). The handle's ``sentinel`` is
the read end of a local pipe whose write end is closed once the task has
finished and the child's output has been written to this process's
stdout/stderr: ``join()``, ``multiprocessing.connection.wait`` and
``is_alive()`` work as for a local child. ``terminate()``/``kill()`` reach
the child on its worker through ``Client.run``.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
import time
import uuid
from multiprocessing import util
from multiprocessing.process import BaseProcess
from typing import Any

import procstart.plugin as psp

from . import _cluster, _pickle, _remote
from ._unsupported import refuse

__all__ = ["DaskPopen", "launch"]

_live_lock = threading.Lock()
_live: set[DaskPopen] = set()


class DaskPopen:
    """Popen-like handle (``pid``, ``sentinel``, ``poll``, ``wait``, signals) of a remote child."""

    method = "dask"

    def __init__(self, process_obj: BaseProcess, request: psp.LaunchRequest) -> None:
        self.returncode: int | None = None
        self.key = f"procstart-{process_obj.name}-{uuid.uuid4().hex}"
        self.host = ""
        self.daemon = bool(process_obj.daemon)
        self._name = process_obj.name
        self._pid: int | None = None
        self._signal: int | None = None
        self._finishing = threading.Lock()
        prep = psp.payload.preparation_data(request, handles={}, by_index=False)
        # __main__'s functions travel by value (cloudpickle): the worker need
        # not have the parent's script; child-setup hooks expect local handles
        prep.main_name = prep.main_path = None
        prep.child_setup = []
        process_bytes = _pickle.dumps(process_obj, self)  # fails here, in the parent
        self._client = _cluster.client()
        self.sentinel, write_end = os.pipe()
        #: the write end, closed exactly once (a closed number is soon reused
        #: by someone else's socket): by _finished, or by the finalizer
        self._write_end = [write_end]
        self.finalizer = util.Finalize(self, _close_pipe, (self.sentinel, self._write_end))
        with _live_lock:
            _live.add(self)
        self._future = self._client.submit(
            _remote.run_child, self.key, prep, process_bytes, key=self.key, pure=False
        )
        self._future.add_done_callback(self._finished)

    # -- completion (runs in distributed's callback thread) -----------------
    def _outcome(self, future: Any) -> tuple[int, bytes, bytes]:
        status = future.status
        if status == "finished":
            result = future.result()
            self._pid = result["pid"] or self._pid
            self.host = result["host"]
            return result["exitcode"], result["stdout"], result["stderr"]
        if status == "cancelled" and self._signal is not None:
            return -self._signal, b"", b""
        try:
            error: Any = future.exception(timeout=10)
        except Exception as exc:  # noqa: BLE001 - cancelled, lost: say what we know
            error = exc
        message = (
            f"procstart-dask: process {self._name!r} was lost: the worker running it "
            f"died or the cluster went away ({type(error).__name__}: {error})\n"
        )
        return -signal.SIGKILL, b"", message.encode()

    def _finished(self, future: Any) -> None:
        # from distributed's callback thread, or from wait(): once
        with self._finishing:
            if self.returncode is None:
                self._finish(future)

    def _finish(self, future: Any) -> None:
        try:
            code, out, err = self._outcome(future)
        except BaseException as exc:  # noqa: BLE001 - the sentinel must close anyway
            code, out, err = -signal.SIGKILL, b"", f"procstart-dask: {exc!r}\n".encode()
        for data, stream in ((out, sys.stdout), (err, sys.stderr)):
            if data and stream is not None:
                try:
                    stream.write(data.decode(errors="replace"))
                    stream.flush()
                except (OSError, ValueError):
                    pass
        self.returncode = code
        _close_pipe(None, self._write_end)
        with _live_lock:
            _live.discard(self)
        try:
            from distributed import Event

            Event(f"{self.key}-ran", client=self._client).clear()
        except Exception:  # noqa: BLE001 - bookkeeping on a closing cluster
            pass

    # -- the Popen interface -------------------------------------------------
    @property
    def pid(self) -> int:
        """The child's pid on its worker (waits until the worker has started it)."""
        while self._pid is None and self.returncode is None:
            found = self._client.run(_remote.child_pid, self.key, on_error="return")
            pids = [p for p in found.values() if isinstance(p, int)]
            if pids:
                self._pid = pids[0]
            else:
                time.sleep(0.02)
        return self._pid or 0

    def poll(self, flag: int = os.WNOHANG) -> int | None:
        """The exit code, or None while the child runs (``flag=0`` waits)."""
        if self.returncode is None and flag == 0:
            return self.wait()
        return self.returncode

    def wait(self, timeout: float | None = None) -> int | None:
        """Wait up to ``timeout`` seconds (forever if None) for the exit code."""
        if self.returncode is None:
            # wait for the task itself, not only for the sentinel: at exit
            # distributed's callback thread is gone (concurrent.futures stops
            # its pools before atexit runs), so finish here if need be
            import asyncio

            from distributed import wait

            try:
                with self._client.as_current():
                    wait([self._future], timeout=timeout)
            except Exception as exc:  # noqa: BLE001 - a closed client, see below
                if isinstance(exc, (TimeoutError, asyncio.TimeoutError)):
                    return None
                # a closed client: the callback has run or will close the sentinel
                from multiprocessing.connection import wait as wait_fds

                wait_fds([self.sentinel], timeout)
                return self.returncode
            self._finished(self._future)
        return self.returncode

    def _send_signal(self, signum: int) -> None:
        if self.returncode is not None:
            return
        self._signal = signum
        reached = self._client.run(_remote.signal_child, self.key, signum, on_error="return")
        if not any(value is True for value in reached.values()):
            # not started on any worker yet: never start it (a worker that
            # starts it anyway has the signal queued and sends it at once)
            self._future.cancel()

    def terminate(self) -> None:
        """Send SIGTERM to the child on its worker."""
        self._send_signal(signal.SIGTERM)

    def kill(self) -> None:
        """Send SIGKILL to the child on its worker."""
        self._send_signal(signal.SIGKILL)

    def close(self) -> None:
        """Release the sentinel pipe."""
        self.finalizer()

    def duplicate_for_child(self, fd: int) -> int:
        """File descriptors cannot reach another machine."""
        refuse("a file descriptor")

    def DupFd(self, fd: int) -> int:  # noqa: N802 - the stdlib's name
        """File descriptors cannot reach another machine."""
        refuse("a file descriptor")


_pipe_lock = threading.Lock()


def _close_pipe(read_end: int | None, write_end: list[int]) -> None:
    with _pipe_lock:
        fds = [*write_end, *([] if read_end is None else [read_end])]
        write_end.clear()
    psp.close_fds(*fds)


def launch(request: psp.LaunchRequest) -> DaskPopen:
    """The ``dask`` method's launcher."""
    return DaskPopen(request.process, request)


def _stop_children() -> None:
    """At exit: stop daemon children, wait for the others (as multiprocessing does)."""
    with _live_lock:
        live = list(_live)
    for popen in live:
        if popen.daemon:
            with contextlib.suppress(Exception):  # a closing cluster: nothing to stop
                popen.terminate()
    for popen in live:
        if popen.wait(30 if popen.daemon else None) is None and popen.daemon:
            with contextlib.suppress(Exception):
                popen.kill()
            popen.wait(10)


_cluster.on_shutdown(_stop_children)
