"""The fork server: a fresh interpreter that preloads modules and forks children.

The parent (see :mod:`procstart_forkserver._client`) starts it as::

    python -c 'from procstart_forkserver._server import main; main(L, C, A, R)'

with four fds: ``L`` the listening socket (bound by the parent in a private
folder), ``C`` a pipe carrying the configuration and the secret key, ``A`` a
pipe whose other end only the parent holds (EOF: the parent is gone, the
server exits), ``R`` a pipe for the start-up report (preloads done/failed).

The server never runs user targets: for each authenticated request it forks,
and the child closes everything of the server's and becomes the process
through :func:`procstart.child.run`. It reaps children on ``SIGCHLD`` and
reports each exit code on the status fd of the request (the connection
itself for a one-shot request, a pipe sent along on a session; see
:mod:`procstart_forkserver._protocol`).
"""

from __future__ import annotations

import contextlib
import gc
import os
import select
import signal
import socket
import sys

from procstart.plugin import child_modules, fork_atexit

from . import _protocol as proto

TYPE_CHECKING = False  # no typing import: the server must start fast
if TYPE_CHECKING:
    from typing import Any

__all__ = ["HANDSHAKE_TIMEOUT", "Server", "main", "preload"]

#: seconds a client may take to answer the challenge before it is dropped
HANDSHAKE_TIMEOUT = 10.0

#: imported here once instead of in every child (each child needs them)
MACHINERY = (
    "pickle",
    "threading",
    "multiprocessing.process",
    "multiprocessing.util",
    "multiprocessing.context",
    "multiprocessing.reduction",
    # procstart's own: the core's list of what a child may import
    *child_modules(),
)

#: imported before the fork of the first child whose payload carries fds (a
#: Pipe or Queue end is a Connection; the parent says so in the request): the
#: stdlib's server has it from the start; a child that imports it itself holds
#: ~1 MiB more private memory, and the next one would import it again
ON_DEMAND = "multiprocessing.connection"

#: imported when the server is idle (see :data:`QUIET`), never before its first
#: child has been reaped (so they never delay the first start): most real
#: children use some of them (Queue, Event, Lock, Pipe); the parent adds the
#: submodules of the plugins whose child setup every child runs
WHEN_IDLE = (
    "multiprocessing.connection",
    "multiprocessing.synchronize",
    "multiprocessing.queues",
    "multiprocessing.resource_tracker",
    "multiprocessing.heap",
    "multiprocessing.sharedctypes",
    "multiprocessing.shared_memory",
    "multiprocessing.managers",
)

#: seconds without a request or an exit, and with no child alive, before the
#: server imports :data:`WHEN_IDLE`. An import takes CPU a child starting on
#: a busy machine would need (multiprocessing.managers alone is ~15 ms), and
#: every page the server writes while a child lives stops being shared: the
#: child's copy becomes its private memory.
QUIET = 0.1


def _read_all(fd: int) -> bytes:
    chunks: list[bytes] = []
    while True:
        chunk = os.read(fd, 1 << 16)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)


def _describe(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def preload(config: dict[str, Any]) -> tuple[list[str], list[tuple[str, str]]]:
    """Become like the parent (sys.path, cwd, argv), then import the preloads.

    Returns (preloaded modules, [(module, error)]). ``"__main__"`` imports
    the parent's main module as ``__mp_main__`` (its ``if __name__ ==
    "__main__"`` block does not run), so children need not re-run it.
    """
    import importlib

    sys.path[:] = config.get("sys_path", sys.path)
    sys.argv[:] = config.get("argv", sys.argv)
    with contextlib.suppress(OSError):
        os.chdir(config.get("dir", os.getcwd()))
    for name in (*MACHINERY, *config.get("extra", ())):
        # optional speed-up only: a child that needs a missing one reports it
        with contextlib.suppress(Exception):
            importlib.import_module(name)
    done: list[str] = []
    failed: list[tuple[str, str]] = []
    for name in config.get("preload", ()):
        try:
            if name == "__main__":
                if not _preload_main(config.get("main", {})):
                    continue
            else:
                importlib.import_module(name)
        except (Exception, SystemExit) as exc:  # noqa: BLE001 - reported to the parent
            failed.append((name, _describe(exc)))
        else:
            done.append(name)
    return done, failed


def _preload_main(main_ref: dict[str, str]) -> bool:
    """Import the parent's ``__main__`` as ``__mp_main__``; False if it has none."""
    if not main_ref:
        return False
    from multiprocessing import process

    from procstart.plugin import child

    me: Any = process.current_process()
    saved = {name: sys.modules.get(name) for name in ("__main__", "__mp_main__")}
    me._inheriting = True  # starting processes here is an error, as in any child
    try:
        child.import_main(main_ref.get("main_name"), main_ref.get("main_path"))
    except BaseException:
        # a half-run module must not stay: children would take it for the
        # preloaded main module and skip their own (failing) import of it
        for name, module in saved.items():
            if module is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = module
        raise
    finally:
        del me._inheriting
    return True


def _freeze() -> None:
    """Keep the garbage collector of the next child off the server's objects.

    A collection in a child writes to the header of every tracked object it
    visits, copying the server's pages one by one; frozen objects are never
    visited, so they stay shared (copy-on-write) with the server. Freezing is
    a constant-time list splice, so it runs before every fork; there is no
    ``gc.collect()`` first, which would itself write to every object's header.
    """
    gc.freeze()


def _ignore_signal(signum: int, frame: object) -> None:
    """SIGCHLD handler: the wakeup fd does the work."""


def _exit_on_signal(signum: int, frame: object) -> None:
    """SIGTERM/SIGHUP: leave the loop so that the socket folder is removed."""
    raise SystemExit(128 + signum)


#: signals the server handles; a forked child restores their defaults
_HANDLED = (signal.SIGINT, signal.SIGCHLD, signal.SIGTERM, signal.SIGHUP)


class Server:
    """The accept/fork/reap loop; one instance per server process."""

    def __init__(self, listener_fd: int, alive_fd: int, key: bytes, address: str = "") -> None:
        self.listener = socket.socket(fileno=listener_fd)
        self.listener.setblocking(False)
        self.alive_fd = alive_fd
        self.key = key
        self.address = address
        self.pid = os.getpid()
        self.wake_r, self.wake_w = os.pipe()
        os.set_blocking(self.wake_r, False)
        os.set_blocking(self.wake_w, False)
        #: pid -> fd of the connection that asked for it (its exit code goes there)
        self.children: dict[int, int] = {}
        #: modules to import once the server is quiet (:data:`QUIET`)
        self.idle_imports: list[str] = []
        #: modules to import at the next pause between requests once a child
        #: has been reaped, children alive or not (cloudpickle, once a parent
        #: sends targets by value)
        self.soon_imports: list[str] = []
        self.forked = 0
        self.reaped = 0
        #: fd -> authenticated connection that asks for children (see _protocol)
        self.sessions: dict[int, socket.socket] = {}

    # -- the loop -----------------------------------------------------------
    def serve_forever(self) -> None:
        """Serve until the parent's end of the alive pipe closes."""
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is for the parent
        signal.signal(signal.SIGCHLD, _ignore_signal)
        signal.signal(signal.SIGTERM, _exit_on_signal)
        signal.signal(signal.SIGHUP, _exit_on_signal)
        signal.set_wakeup_fd(self.wake_w)
        watched = [self.listener.fileno(), self.alive_fd, self.wake_r]
        try:
            while True:
                # one import per pass, between requests and exits
                readable = select.select([*watched, *self.sessions], [], [], self._timeout())[0]
                if not readable:
                    self._import_one()
                    continue
                if self.alive_fd in readable:
                    return
                for fd in readable:
                    if fd in self.sessions:
                        self.serve_session(fd)
                if self.wake_r in readable:
                    self._drain_wakeup()
                    self.reap()
                if self.listener.fileno() in readable:
                    self.accept_one()
        finally:
            self.shutdown()

    def _timeout(self) -> float | None:
        """How long the loop may wait for a request before importing something."""
        if self.soon_imports and self.reaped:
            return 0.0
        if self.idle_imports and self.reaped and not self.children:
            return QUIET
        return None

    def _import_one(self) -> None:
        _import_quietly((self.soon_imports or self.idle_imports).pop(0))

    def _drain_wakeup(self) -> None:
        try:
            while os.read(self.wake_r, 4096):
                pass
        except BlockingIOError:
            pass

    def shutdown(self) -> None:
        """Reap what has exited, drop the socket and its folder."""
        if os.getpid() != self.pid:
            return  # a forked child on its way out: the socket is not its to remove
        signal.set_wakeup_fd(-1)
        self.reap()
        for fd in self.children.values():
            _close(fd)
        self.children.clear()
        for conn in self.sessions.values():
            conn.close()
        self.sessions.clear()
        self.listener.close()
        if self.address:
            for remove in (os.unlink, os.rmdir):
                target = self.address if remove is os.unlink else os.path.dirname(self.address)
                with contextlib.suppress(OSError):
                    remove(target)

    # -- one connection -----------------------------------------------------
    def accept_one(self) -> None:
        """Authenticate one connection and fork for it, or close it without forking."""
        try:
            conn, _ = self.listener.accept()
        except (BlockingIOError, InterruptedError, ConnectionAbortedError):
            return
        fds: list[int] = []
        try:
            conn.settimeout(HANDSHAKE_TIMEOUT)
            nonce = os.urandom(proto.NONCE_LEN)
            conn.sendall(proto.encode_challenge(nonce))
            message, fds = _receive(conn)
            if not proto.verify_request(self.key, nonce, message):
                raise proto.ProtocolError("authentication failed")
            if proto.parse_session_open(message, len(fds)):
                self.sessions[conn.fileno()] = conn  # asks for children from now on
                return
            proto.parse_request(message, len(fds))
        except (OSError, proto.ProtocolError):
            for fd in fds:
                _close(fd)
            conn.close()
            return
        conn.setblocking(True)
        status_fd = conn.detach()
        self._fork(status_fd, status_fd, fds)

    def serve_session(self, fd: int) -> None:
        """One fork request on an authenticated session; a bad one ends the session."""
        conn = self.sessions[fd]
        fds: list[int] = []
        try:
            message, fds = _receive(conn, proto.REQUEST_LEN, eof_ok=True)
            if not message:  # the parent closed it (it exits, or forked and dropped it)
                raise EOFError
            request = proto.parse_session_fork(message, len(fds))
        except (OSError, EOFError, proto.ProtocolError):
            for got in fds:
                _close(got)
            del self.sessions[fd]
            conn.close()
            return
        payload_r, sentinel_w, status_fd, *inherited = fds
        if request.hold_connection and ON_DEMAND not in sys.modules:
            # the child would import it itself (the same time, before its
            # target): imported here, it is shared with this child and the next
            _import_quietly(ON_DEMAND)
        if (
            request.hold_cloudpickle
            and "cloudpickle" not in sys.modules
            and "cloudpickle" not in self.soon_imports
        ):
            # the parent sends targets by value: the next children find it imported
            # (two lookups: listing sys.modules would write to the refcount of
            # every module name, copying their pages shared with live children)
            self.soon_imports.append("cloudpickle")
        self._fork(fd, status_fd, [payload_r, sentinel_w, *inherited])

    def _fork(self, reply_fd: int, status_fd: int, fds: list[int]) -> None:
        """Fork for ``fds``: the pid goes to ``reply_fd``, its exit code to ``status_fd``."""
        for fd in fds:
            os.set_inheritable(fd, False)
        # A signal for the new child (Pool.terminate() sends SIGTERM at once)
        # must not run the server's handlers in it: block them across fork();
        # the child unblocks once it has the default handlers back.
        mask = signal.pthread_sigmask(signal.SIG_BLOCK, _HANDLED)
        _freeze()
        try:
            pid = _fork_quietly()
        except OSError as exc:
            signal.pthread_sigmask(signal.SIG_SETMASK, mask)
            _send(reply_fd, proto.encode_reply(errno=exc.errno or 1))
            for fd in (*fds, status_fd):
                _close(fd)
            return
        if pid == 0:
            self._become_child(status_fd, fds, mask)  # never returns
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)
        for fd in fds:
            _close(fd)
        self.children[pid] = status_fd
        self.forked += 1
        _send(reply_fd, proto.encode_reply(pid=pid))

    def reap(self) -> None:
        """Collect every exited child and send its exit code to its parent."""
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            self.reaped += 1
            fd = self.children.pop(pid, None)
            if fd is not None:
                _send(fd, proto.encode_status(os.waitstatus_to_exitcode(status)))
                _close(fd)

    # -- in the forked child ------------------------------------------------
    def _become_child(
        self, status_fd: int, fds: list[int], mask: set[int | signal.Signals]
    ) -> None:
        try:
            # 3.13+: the child runs multiprocessing's exit function
            if fork_atexit.RUNS_CHILD_ATEXIT:
                fork_atexit.child_started()
            self._reset_in_child(status_fd)
            # a signal sent to the child meanwhile is delivered now, as the child's
            signal.pthread_sigmask(signal.SIG_SETMASK, mask)
        except BaseException:  # noqa: BLE001 - e.g. SIGINT's KeyboardInterrupt right here
            os._exit(1)
        payload_fd, sentinel_w, *inherited = fds
        os._exit(run_child(payload_fd, sentinel_w, inherited))

    def _reset_in_child(self, status_fd: int) -> None:
        for fd in (
            self.listener.fileno(),
            self.alive_fd,
            self.wake_r,
            self.wake_w,
            status_fd,
            *self.children.values(),
            *self.sessions,
        ):
            _close(fd)
        self.children.clear()
        # the session objects stay referenced until os._exit: dropping them
        # would close their (already closed, maybe reused) fd numbers again
        signal.set_wakeup_fd(-1)
        for signum in _HANDLED:
            signal.signal(signum, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)


def run_child(payload_fd: int, sentinel_w: int, inherited: list[int]) -> int:
    """In a forked child: read the payload, run the process; return the exit code.

    The exit code is also written to ``sentinel_w`` just before exiting, so
    the parent learns it even if the server is gone by then.
    """
    code = 1
    try:
        from procstart.plugin import child

        try:
            code = child.run(payload_fd, inherited=inherited, parent_sentinel=payload_fd)
        except child.PayloadError as exc:  # the parent went away before sending it
            sys.stderr.write(f"procstart forkserver child {os.getpid()}: {exc}\n")
    except SystemExit as exc:  # e.g. sys.exit() in __main__ while re-importing it
        code = exc.code if isinstance(exc.code, int) else 1
    except BaseException:  # noqa: BLE001 - a failed start must be visible
        import traceback

        traceback.print_exc()
    finally:
        if fork_atexit.RUNS_CHILD_ATEXIT:  # flushes Queue feeders, runs finalizers (3.13+)
            with contextlib.suppress(BaseException):
                fork_atexit.child_exiting()
        for stream in (sys.stdout, sys.stderr):
            try:
                if stream is not None:
                    stream.flush()
            except (OSError, ValueError):
                pass
        with contextlib.suppress(OSError):
            os.write(sentinel_w, proto.CHILD_CODE.pack(code & 0xFF))
    return code


def _import_quietly(name: str) -> None:
    import importlib

    with contextlib.suppress(Exception):  # an optimisation only
        importlib.import_module(name)


def _fork_quietly() -> int:
    # preloaded libraries may have started native threads (OpenBLAS, ...);
    # Python 3.12+ warns about forking then, which is this server's whole job.
    # It warns only when the process has more than one thread (on Linux it
    # counts them in /proc): with one, no catch_warnings(), whose copy of the
    # filters writes to pages shared with the children (~16 copy-on-write
    # faults per fork, 3.13)
    if sys.version_info >= (3, 12) and not _single_threaded():
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            return os.fork()
    return os.fork()


def _single_threaded() -> bool:
    """True when this process surely runs one thread (False when unsure)."""
    try:
        return len(os.listdir("/proc/self/task")) == 1
    except OSError:
        return False


def _receive(
    conn: socket.socket, size: int = proto.MESSAGE_LEN, *, eof_ok: bool = False
) -> tuple[bytes, list[int]]:
    """Read exactly one message of ``size`` bytes and every fd sent with it.

    With ``eof_ok``, a connection closed before the first byte gives ``b""``.
    """
    data = b""
    fds: list[int] = []
    try:
        while len(data) < size:
            chunk, got, flags, _ = socket.recv_fds(conn, size - len(data), proto.MAX_FDS + 1)
            fds.extend(got)
            if flags & socket.MSG_CTRUNC:
                raise proto.ProtocolError("too many fds")
            if not chunk and not data and not fds and eof_ok:
                return b"", []
            if not chunk:
                raise proto.ProtocolError("connection closed during the request")
            data += chunk
    except BaseException:
        for fd in fds:
            _close(fd)
        raise
    if len(fds) > proto.MAX_FDS:
        for fd in fds:
            _close(fd)
        raise proto.ProtocolError("too many fds")
    return data, fds


def _send(fd: int, data: bytes) -> None:
    # OSError: the parent is gone; the child still gets reaped
    with contextlib.suppress(OSError):
        os.write(fd, data)


def _close(fd: int) -> None:
    with contextlib.suppress(OSError):
        os.close(fd)


def main(listener_fd: int, config_fd: int, alive_fd: int, report_fd: int) -> None:
    """Entry point of the server process (see the module docstring)."""
    import importlib
    import pickle

    # what every child needs does not depend on the configuration: import it
    # while the parent is still writing that
    for name in MACHINERY:
        with contextlib.suppress(Exception):
            importlib.import_module(name)
    config: dict[str, Any] = pickle.loads(_read_all(config_fd))
    os.close(config_fd)
    key: bytes = config["key"]
    server = Server(listener_fd, alive_fd, key, config.get("address", ""))
    server.idle_imports = [
        name for name in (*WHEN_IDLE, *config.get("idle", ())) if name not in sys.modules
    ]
    done, failed = preload(config)
    with contextlib.suppress(OSError):
        os.write(report_fd, proto.encode_report(done, failed))
    os.close(report_fd)
    server.serve_forever()
