"""Popen handles for launchers: subclass, implement ``_launch``, done.

``ChildPopen`` is the handle of a direct child of this process (fork, spawn,
anything that calls ``fork``/``exec`` here): exit status comes from
``waitpid``, ``sentinel`` is the read end of a pipe whose write end only the
child holds, so it becomes readable when the child exits, whatever killed it.
"""

from __future__ import annotations

import os
import select
import signal
import threading
from multiprocessing import util
from multiprocessing.process import BaseProcess

from ._fds import IndexedFd, PassedFd
from ._request import LaunchRequest

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: a launch must not import typing
if TYPE_CHECKING:
    from typing import Any

__all__ = ["ChildPopen", "IndexedFd", "PassedFd", "close_fds", "wait_readable"]


def close_fds(*fds: int) -> None:
    """Close each fd, ignoring ones already closed.

    >>> r, w = os.pipe()
    >>> close_fds(r, w, r)  # r twice: the second close is ignored
    """
    # try/except, not contextlib.suppress: this runs for every child a fork
    # parent releases, and each suppress() is an object and three calls more
    for fd in fds:
        try:  # noqa: SIM105
            os.close(fd)
        except OSError:
            pass


#: poll(2) takes at most this many milliseconds at once
_POLL_MAX_MS = 2**31 - 1


def wait_readable(fd: int, timeout: float) -> bool:
    """True once ``fd`` is readable or hung up, False after ``timeout`` seconds.

    What ``multiprocessing.connection.wait([fd], timeout)`` answers for one
    sentinel, with one ``poll(2)`` and no selector: a parent joining a fork
    child with a timeout touches a few objects instead of a selector's, and
    every object it touches while the child shares its pages is a
    copy-on-write fault.

    >>> r, w = os.pipe()
    >>> wait_readable(r, 0.0)
    False
    >>> os.close(w)
    >>> wait_readable(r, 1.0)
    True
    """
    poller = select.poll()
    poller.register(fd, select.POLLIN)
    milliseconds = max(0.0, timeout * 1000)
    if milliseconds <= _POLL_MAX_MS:
        return bool(poller.poll(milliseconds))  # rounds up, retries on EINTR (PEP 475)
    import time

    deadline = time.monotonic() + timeout
    while True:  # longer than poll(2) takes at once (about 24 days): in slices
        left = (deadline - time.monotonic()) * 1000
        if poller.poll(min(max(0.0, left), _POLL_MAX_MS)):
            return True
        if left <= _POLL_MAX_MS:
            return False


class ChildPopen:
    """Base Popen for a direct child: ``poll``/``wait``/signals/``close``.

    Subclasses implement ``_launch(process_obj, request)`` and set ``pid`` and
    ``sentinel``, and hand the parent's fds for the child to :meth:`own_fds`
    (or set ``finalizer``, a ``multiprocessing.util.Finalize`` that closes them).
    """

    method = "child"

    def __init__(self, process_obj: BaseProcess, request: LaunchRequest) -> None:
        util._flush_std_streams()  # type: ignore[attr-defined]
        self.returncode: int | None = None
        self.finalizer: Any = None
        #: (owner pid, fds) from own_fds
        self.__owned: tuple[int, tuple[int, ...]] | None = None
        # one reaper at a time: join() in one thread and multiprocessing's
        # _cleanup() in another must not both waitpid() this pid
        self._reaping = threading.Lock()
        self.pid = 0
        self.sentinel = -1
        self._fds: list[int] = []
        self._launch(process_obj, request)

    def _launch(self, process_obj: BaseProcess, request: LaunchRequest) -> None:
        raise NotImplementedError

    def own_fds(self, *fds: int) -> None:
        """Close ``fds``, this process's ends for the child, when the handle is released.

        That is on :meth:`close` or when the handle is garbage-collected, as
        the ``multiprocessing.util.Finalize`` of the stdlib's Popen does, and
        never in an ``os.fork()`` copy of this process (whose fd numbers may
        mean other files by then), as the stdlib's finalizer registry, cleared
        in every child, ensures. Lighter than a finalizer: nothing is
        registered, which a fork parent would pay for in copy-on-write faults.

        >>> class MinePopen(ChildPopen):  # doctest: +SKIP
        ...     def _launch(self, process_obj, request):
        ...         parent_r, child_w = os.pipe()
        ...         ...
        ...         self.own_fds(parent_r)
        """
        self.__owned = (os.getpid(), fds)

    def _release_fds(self) -> None:
        owned = self.__owned
        if owned is not None:
            self.__owned = None
            if owned[0] == os.getpid():
                close_fds(*owned[1])

    def __del__(self) -> None:
        # late in interpreter shutdown a module may be gone: nothing to do then
        try:  # noqa: SIM105 - see close_fds
            self._release_fds()
        except Exception:  # noqa: BLE001
            pass

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
        if timeout is not None and not wait_readable(self.sentinel, timeout):
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
        self._release_fds()
