"""Popen handles for launchers: subclass, implement ``_launch``, done.

``ChildPopen`` is the handle of a direct child of this process (fork, spawn,
anything that calls ``fork``/``exec`` here): exit status comes from
``waitpid``, ``sentinel`` is the read end of a pipe whose write end only the
child holds, so it becomes readable when the child exits, whatever killed it.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from multiprocessing import util
from multiprocessing.process import BaseProcess

from ._fds import IndexedFd, PassedFd
from ._request import LaunchRequest

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: a launch must not import typing
if TYPE_CHECKING:
    from typing import Any

__all__ = ["ChildPopen", "IndexedFd", "PassedFd", "close_fds"]


def close_fds(*fds: int) -> None:
    """Close each fd, ignoring ones already closed."""
    for fd in fds:
        with contextlib.suppress(OSError):
            os.close(fd)


class ChildPopen:
    """Base Popen for a direct child: ``poll``/``wait``/signals/``close``.

    Subclasses implement ``_launch(process_obj, request)`` and set ``pid``,
    ``sentinel`` and ``finalizer`` (an ``multiprocessing.util.Finalize`` that
    closes the parent's fds).
    """

    method = "child"

    def __init__(self, process_obj: BaseProcess, request: LaunchRequest) -> None:
        util._flush_std_streams()  # type: ignore[attr-defined]
        self.returncode: int | None = None
        self.finalizer: Any = None
        # one reaper at a time: join() in one thread and multiprocessing's
        # _cleanup() in another must not both waitpid() this pid
        self._reaping = threading.Lock()
        self.pid = 0
        self.sentinel = -1
        self._fds: list[int] = []
        self._launch(process_obj, request)

    def _launch(self, process_obj: BaseProcess, request: LaunchRequest) -> None:
        raise NotImplementedError

    # -- handles the pickled arguments ask for ----------------------------
    def duplicate_for_child(self, fd: int) -> int:
        """Pass ``fd`` to the child under the same number."""
        self._fds.append(fd)
        return fd

    def DupFd(self, fd: int) -> PassedFd:  # noqa: N802 - the stdlib's name
        """A picklable stand-in for ``fd`` that the child turns back into an fd."""
        return PassedFd(self.duplicate_for_child(fd))

    def requested_fds(self) -> list[int]:
        """The fds asked for so far, without duplicates, in order."""
        return list(dict.fromkeys(self._fds))

    # -- status -----------------------------------------------------------
    def poll(self, flag: int = os.WNOHANG) -> int | None:
        """The exit code (``-signal`` if killed), or None while running.

        Thread-safe: a non-blocking poll while another thread is reaping the
        child returns None instead of racing it for the status.
        """
        if self.returncode is not None:
            return self.returncode
        if not self._reaping.acquire(blocking=flag == 0):
            return None
        try:
            if self.returncode is None:
                try:
                    pid, status = os.waitpid(self.pid, flag)
                except ChildProcessError:
                    return None
                if pid == self.pid:
                    self.returncode = os.waitstatus_to_exitcode(status)
        finally:
            self._reaping.release()
        return self.returncode

    def wait(self, timeout: float | None = None) -> int | None:
        """Wait up to ``timeout`` seconds (forever if None) for the exit code."""
        if self.returncode is not None:
            return self.returncode
        if timeout is not None:
            from multiprocessing.connection import wait

            if not wait([self.sentinel], timeout):
                return None
        return self.poll(os.WNOHANG if timeout == 0.0 else 0)

    def _send_signal(self, sig: int) -> None:
        if self.returncode is not None:
            return
        try:
            os.kill(self.pid, sig)
        except ProcessLookupError:
            pass
        except OSError:
            if self.wait(timeout=0.1) is None:
                raise

    def terminate(self) -> None:
        """Send SIGTERM."""
        self._send_signal(signal.SIGTERM)

    def kill(self) -> None:
        """Send SIGKILL."""
        self._send_signal(signal.SIGKILL)

    def close(self) -> None:
        """Release the parent's fds for this child."""
        if self.finalizer is not None:
            self.finalizer()
