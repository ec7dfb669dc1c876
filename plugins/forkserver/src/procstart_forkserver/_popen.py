"""The forkserver Popen: the child is forked by the server, not by us.

Per child the parent holds three fds:

- ``sentinel``: read end of a pipe whose write end only the child holds.
  It becomes readable when the child exits (whatever killed it), or just
  before, when the child writes its exit code there;
- the status pipe (its write end is the server's): the server writes the
  exit code when it reaps the child (the exact code, ``-N`` for signal N);
- the payload pipe's write end, kept open while the child runs so that the
  child's ``parent_process().is_alive()`` works (EOF: the parent is gone).

If the server dies, children keep running; their exit code then comes from
what the child wrote to its sentinel pipe, or is :data:`SERVER_DIED_EXITCODE`
(255, as ``multiprocessing`` reports) when the child could not write it
(killed by a signal while the server was gone).
"""

from __future__ import annotations

import contextlib
import os
import select
import threading
import time
from multiprocessing import util
from multiprocessing.process import BaseProcess

import procstart.plugin as psp
from procstart.plugin import ChildPopen, IndexedFd, payload

from . import _client
from . import _protocol as proto

__all__ = ["SERVER_DIED_EXITCODE", "ForkServerPopen"]

#: exit code reported when neither the server nor the child could report one
SERVER_DIED_EXITCODE = 255
#: how long ``poll()`` waits for the server's report once the sentinel fired
_STATUS_GRACE = 1.0


def _readable(fd: int, timeout: float = 0.0) -> bool:
    return bool(select.select([fd], [], [], timeout)[0])


def _close_owned(owned: list[int]) -> None:
    while owned:
        fd = owned.pop()
        with contextlib.suppress(OSError):
            os.close(fd)


def _read_exact(fd: int, size: int) -> bytes:
    data = b""
    while len(data) < size:
        try:
            chunk = os.read(fd, size - len(data))
        except OSError:
            return data
        if not chunk:
            return data
        data += chunk
    return data


def _write_ahead(fd: int, chunks: list[bytes]) -> list[memoryview]:
    """Write what the empty pipe ``fd`` takes without blocking; the rest, to write later.

    The rest is views, never copies: a big argument must not be copied again.
    """
    os.set_blocking(fd, False)
    try:
        for index, chunk in enumerate(chunks):
            view = memoryview(chunk)
            while view:
                try:
                    written = os.write(fd, view)
                except BlockingIOError:
                    return [view, *(memoryview(c) for c in chunks[index + 1 :])]
                view = view[written:]
        return []
    finally:
        os.set_blocking(fd, True)


def _write_rest(fd: int, views: list[memoryview]) -> None:
    for chunk in views:
        view = chunk
        while view:
            view = view[os.write(fd, view) :]


class ForkServerPopen(ChildPopen):
    """A child forked by this process's fork server."""

    method = "forkserver"

    def __init__(self, process_obj: BaseProcess, request: psp.LaunchRequest) -> None:
        self._status_fd = -1
        self._server_gone = False
        self._owned: list[int] = []
        # poll() runs in several threads at once (``start()`` elsewhere polls
        # every child); one of them collects the exit code
        self._collecting = threading.Lock()
        super().__init__(process_obj, request)

    # -- handles: by index, the child finds them in the order they were sent --
    def duplicate_for_child(self, fd: int) -> int:
        """Send ``fd`` to the child; returns its index among the fds sent."""
        self._fds.append(fd)
        return len(self._fds) - 1

    def DupFd(self, fd: int) -> IndexedFd:  # type: ignore[override] # noqa: N802
        """``fd`` is the index :meth:`duplicate_for_child` returned."""
        return IndexedFd(fd)

    # -- launch -------------------------------------------------------------
    def _launch(self, process_obj: BaseProcess, request: psp.LaunchRequest) -> None:
        handles = {handle.key: self.duplicate_for_child(handle.fd) for handle in request.handles}
        drift = _client.environment_drift(_client.ensure_running())
        if drift:  # os.environ changed since the server started: as spawn would see it
            request.env = {**drift, **request.env}
        process_bytes = payload.pickle_process(self, request)  # fails here, before any fork
        # fds asked for while pickling: a Pipe or Queue end (a Connection)
        carries_fds = len(self._fds) > len(handles)
        chunks = payload.build(request, process_bytes, handles=handles, by_index=True)
        del process_bytes
        payload_r, payload_w = os.pipe()
        try:
            sentinel_r, sentinel_w = os.pipe()
        except BaseException:
            _close_owned([payload_r, payload_w])
            raise
        try:
            # what fits in the pipe goes before the fork: the child reads it at
            # once instead of waiting for our next turn on the CPU
            rest = _write_ahead(payload_w, chunks)
            self.pid, self._status_fd = _client.connect_and_fork(
                [payload_r, sentinel_w, *self._fds], carries_fds=carries_fds
            )
        except BaseException:
            _close_owned([payload_w, sentinel_r])
            raise
        finally:  # the child has its own copies now (or there is no child)
            _close_owned([payload_r, sentinel_w])
        self.sentinel = sentinel_r
        self._owned = [payload_w, self._status_fd, sentinel_r]
        self.finalizer = util.Finalize(self, _close_owned, (self._owned,))
        if rest:
            # BrokenPipeError: the child died before reading it; its exit code tells why
            with contextlib.suppress(BrokenPipeError):
                _write_rest(payload_w, rest)

    # -- status ---------------------------------------------------------------
    def _from_server(self) -> bool:
        """Read the exit code the server reports; False if the server is gone.

        The status fd stays open until :meth:`close`: another thread may be
        waiting on its fd right now, and a closed number can be reused.
        """
        data = _read_exact(self._status_fd, proto.REPLY_LEN)
        self._server_gone = True  # either way, it has nothing more to say
        try:
            self.returncode = proto.parse_status(data)
        except proto.ProtocolError:
            return False
        return True

    def _from_child(self, block: bool) -> None:
        """The server is gone: the code the child wrote, else SERVER_DIED_EXITCODE."""
        if not block and not _readable(self.sentinel):
            return
        data = _read_exact(self.sentinel, proto.CHILD_CODE.size)
        if len(data) == proto.CHILD_CODE.size:
            self.returncode = proto.CHILD_CODE.unpack(data)[0]
        else:
            self.returncode = SERVER_DIED_EXITCODE

    def poll(self, flag: int = os.WNOHANG) -> int | None:
        """The exit code (``-signal`` if killed), or None while running."""
        if self.returncode is not None:
            return self.returncode
        block = flag == 0
        if not self._collecting.acquire(blocking=block):
            return None  # another thread is collecting it right now
        try:
            return self._poll(block)
        finally:
            self._collecting.release()

    def _poll(self, block: bool) -> int | None:
        if self.returncode is not None:
            return self.returncode
        if not self._server_gone:
            ready = (
                block
                or _readable(self._status_fd)
                # the child is (about to be) gone: the server's report is imminent
                or (_readable(self.sentinel) and _readable(self._status_fd, _STATUS_GRACE))
            )
            if not ready:
                return None
            if self._from_server():
                return self.returncode
        self._from_child(block)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int | None:
        """Wait up to ``timeout`` seconds (forever if None) for the exit code."""
        if self.returncode is not None or timeout is None:
            return self.poll(0)
        from multiprocessing.connection import wait

        deadline = time.monotonic() + timeout
        while self.returncode is None:
            # the server's report; once the server is gone, the child's own
            fd = self.sentinel if self._server_gone else self._status_fd
            if not wait([fd], max(deadline - time.monotonic(), 0.0)):
                return None
            if not self._collecting.acquire(timeout=max(deadline - time.monotonic(), 0.0)):
                return None
            try:
                self._poll(False)  # fd is readable: nothing here blocks
            finally:
                self._collecting.release()
        return self.returncode

    def _send_signal(self, sig: int) -> None:
        if self.returncode is None and self.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, sig)
