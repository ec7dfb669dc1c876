"""The per-process side: start the tracker, hold its pipe, send messages.

The top-level parent (the *root*) starts the tracker on first need (its
first launch or registration) with ``subprocess`` in a new session, keeps the
pipe's write end and hands it to every child through the handle-inheritance
hook. A child re-attaches to it in its setup hook. Only holders of that
inherited fd can talk to the tracker: there is no named endpoint.

No psutil, no plugin manager here on the way of a registration: children
stay cheap. Every child that reports to the tracker imports this module (see
:mod:`procstart_tracker._child`), so it imports only what such a child has
loaded anyway; ``subprocess``, ``json``, ``warnings`` and the parser come in
only to start a tracker or report a problem.
"""

from __future__ import annotations

import atexit
import os
import stat
import sys
import threading

from ._wire import BUILTIN_KINDS, PATH_KINDS, encode_message

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs a child ~1.5 ms to import; annotations only
    import subprocess
    from typing import Any

__all__ = ["HANDLE_KEY", "ROOT_ENV", "Client", "TrackerWarning", "client", "supported"]

#: the key of the tracker's fd among a child's inherited handles
HANDLE_KEY = "procstart.tracker"
#: ``root_pid:root_create_time:tracker_pid``, set in every child's environment
ROOT_ENV = "PROCSTART_TRACKER_ROOT"
#: set in the tracker process itself (the plugin must not bridge the stdlib there)
SERVER_ENV = "PROCSTART_TRACKER_SERVER"

_BOOT = (
    "import json,os,sys;"
    f"os.environ[{SERVER_ENV!r}]='1';"
    "sys.path[:0]=json.loads(sys.argv[1]);"
    "from procstart_tracker._server import main;"
    "main(sys.argv[2:])"
)


class TrackerWarning(UserWarning):
    """The tracker had to be restarted, or could not be used."""


def supported() -> bool:
    """True where the tracker works (POSIX)."""
    return os.name == "posix"


def _reader_alive(fd: int) -> bool:
    """False once nobody can read the pipe ``fd`` writes to (the tracker died)."""
    import select

    poller = select.poll()
    poller.register(fd, select.POLLOUT)
    return not any(events & (select.POLLERR | select.POLLHUP) for _, events in poller.poll(0))


def _own_create_time() -> float | None:
    try:
        import psutil

        return float(psutil.Process().create_time())
    except Exception:  # noqa: BLE001 - only used to guard against pid reuse
        return None


def _die_with_parent() -> bool:
    import procstart.plugin

    value = procstart.plugin.config_value("children-die-with-parent", True)
    if not isinstance(value, bool):
        import warnings

        warnings.warn(
            f"{procstart.plugin.config_file()}: 'tool.procstart.children-die-with-parent' "
            f"must be true or false, got {value!r}; using true",
            TrackerWarning,
            stacklevel=4,
        )
        return True
    return value


def _tracker_popen(args: list[str], fd: int) -> subprocess.Popen[bytes]:
    """Start the tracker process, reading from ``fd``."""
    import subprocess

    class _TrackerPopen(subprocess.Popen):  # type: ignore[type-arg]
        """The tracker outlives this object by design: no "still running" warning."""

        def __del__(self) -> None:
            return

    return _TrackerPopen(
        args,
        pass_fds=(fd,),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        start_new_session=True,  # immune to ^C and to kills of our group
    )


def _normalise(kind: str, name: str) -> str:
    if kind not in PATH_KINDS:
        return name
    path = os.path.abspath(os.fspath(name))
    # resolve symlinks in the folders above, never in the last component
    return os.path.join(os.path.realpath(os.path.dirname(path)), os.path.basename(path))


class Client:
    """This process's connection to the tracker."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.fd: int | None = None
        self._ident: tuple[int, int] | None = None
        self.proc: subprocess.Popen[bytes] | None = None
        self.tracker_pid: int | None = None
        #: (pid, create time) of the top-level parent
        self.root: tuple[int, float | None] | None = None
        self.die_with_parent: bool | None = None
        self.types_sent: set[str] = set()
        #: registrations made by this process, replayed to a restarted tracker
        self.mine: dict[tuple[str, str], int] = {}
        #: children this process started, replayed to a restarted tracker
        self.children: dict[int, None] = {}
        self.restarts = 0
        self._restarting = False
        self._pending: list[bytes] = []

    # -- identity -----------------------------------------------------------
    def root_token(self) -> str:
        """What a child needs to find the root again (``ROOT_ENV``)."""
        root_pid, ctime = self.root or (os.getpid(), None)
        return f"{root_pid}:{'-' if ctime is None else repr(ctime)}:{self.tracker_pid or 0}"

    def _adopt_token(self, token: str | None) -> None:
        if not token:
            return
        try:
            pid_text, ctime_text, tracker_text = token.split(":")
            ctime = None if ctime_text == "-" else float(ctime_text)
            self.root = (int(pid_text), ctime)
            self.tracker_pid = int(tracker_text) or self.tracker_pid
        except ValueError:
            pass

    def after_fork_in_child(self) -> None:
        """A fork child shares the fd but not the parent's bookkeeping."""
        self.lock = threading.RLock()
        self.mine = {}
        self.children = {}
        self.proc = None
        self._restarting = False
        self._pending = []

    # -- the pipe -----------------------------------------------------------
    def attach(self, fd: int, token: str | None = None) -> None:
        """In a child: talk to the tracker through inherited ``fd``."""
        with self.lock:
            self._adopt_token(token)
            try:
                st = os.fstat(fd)
            except OSError:
                return  # lost on the way: the next message starts a tracker
            if not stat.S_ISFIFO(st.st_mode):
                return
            self.fd = fd
            self._ident = (st.st_dev, st.st_ino)
            try:  # noqa: SIM105 - contextlib is one import more for every child
                os.set_inheritable(fd, False)  # passed on only when asked for
            except OSError:
                pass

    def _is_ours(self, fd: int) -> bool:
        try:
            st = os.fstat(fd)
        except OSError:
            return False
        return (st.st_dev, st.st_ino) == self._ident

    def _start(self) -> int:
        if not sys.executable:
            raise RuntimeError(
                "procstart-tracker: sys.executable is unknown; cannot start the tracker"
            )
        if self.root is None:
            self.root = (os.getpid(), _own_create_time())
        if self.die_with_parent is None:
            self.die_with_parent = _die_with_parent()
        root_pid, ctime = self.root
        import json

        r, w = os.pipe()
        try:
            args = [
                sys.executable,
                "-c",
                _BOOT,
                json.dumps(sys.path),
                str(r),
                str(root_pid),
                "-" if ctime is None else repr(ctime),
                "1" if self.die_with_parent else "0",
            ]
            self.proc = _tracker_popen(args, r)
        except BaseException:
            os.close(w)
            raise
        finally:
            os.close(r)
        st = os.fstat(w)
        self.fd, self._ident = w, (st.st_dev, st.st_ino)
        self.tracker_pid = self.proc.pid
        self.types_sent.clear()
        return w

    def _restart(self) -> None:
        old = self.tracker_pid
        if self.fd is not None and self._is_ours(self.fd):
            try:  # noqa: SIM105 - contextlib is one import more for every child
                os.close(self.fd)
            except OSError:
                pass
        self.fd = None
        if self.proc is not None:
            self.proc.poll()  # reap it
        self._restarting = True
        try:
            self._start()
            self.restarts += 1
            import warnings

            warnings.warn(
                f"procstart-tracker: the tracker process{f' {old}' if old else ''} died; "
                f"started a new one (pid {self.tracker_pid}). Resources registered from "
                f"now on are tracked; this process re-registered {sum(self.mine.values())} "
                "of its own.",
                TrackerWarning,
                stacklevel=5,
            )
            replay = [encode_message("CHILD", os.getpid(), child) for child in self.children]
            for (kind, name), count in self.mine.items():
                replay.extend(self._type_lines(kind))
                replay.extend([encode_message("REG", os.getpid(), kind, name)] * count)
            replay.extend(self._pending)
            self._pending = []
            assert self.fd is not None
            for line in replay:
                os.write(self.fd, line)
        finally:
            self._restarting = False

    def ensure_running(self) -> int:
        """The tracker's fd, starting (or restarting) the tracker if needed.

        Called on every launch, so it sends nothing while the tracker lives:
        a pipe whose reader is gone reports POLLERR on its write end, which
        is checked without waking the tracker.
        """
        with self.lock:
            fd = self.fd
            if fd is None or not self._is_ours(fd) or not _reader_alive(fd):
                self.send("PING")  # starts or restarts it (with the usual warning)
            assert self.fd is not None
            return self.fd

    def _write(self, line: bytes) -> None:
        with self.lock:
            if self._restarting:  # re-entered from a finalizer during a restart
                self._pending.append(line)
                return
            if self.fd is None:
                self._start()
            for attempt in range(2):
                fd = self.fd
                try:
                    if fd is None or not self._is_ours(fd):
                        raise BrokenPipeError("tracker fd lost")
                    os.write(fd, line)
                    return
                except (BrokenPipeError, OSError):
                    if attempt:
                        raise
                    self._restart()

    def send(self, op: str, *fields: str | int) -> None:
        """Send one message (starting or restarting the tracker if needed)."""
        self._write(encode_message(op, os.getpid(), *fields))

    # -- what the hooks call ----------------------------------------------
    def _type_lines(self, kind: str) -> list[bytes]:
        if kind in BUILTIN_KINDS or kind in self.types_sent:
            return []
        from procstart import _manager

        for resource_type in _manager.plugins().resource_types():
            if resource_type.kind == kind:
                self.types_sent.add(kind)
                return [encode_message("TYPE", os.getpid(), kind, resource_type.cleanup)]
        return []

    def register(self, kind: str, name: str) -> None:
        """Hold a reference to ``name`` of ``kind``."""
        name = _normalise(kind, name)
        line = encode_message("REG", os.getpid(), kind, name)  # validates first
        with self.lock:
            for type_line in self._type_lines(kind):
                self._write(type_line)
            self._write(line)
            self.mine[(kind, name)] = self.mine.get((kind, name), 0) + 1

    def unregister(self, kind: str, name: str) -> None:
        """``name`` was released for good (unlinked, deleted): never clean it."""
        name = _normalise(kind, name)
        line = encode_message("UNREG", os.getpid(), kind, name)
        with self.lock:
            self.mine.pop((kind, name), None)
            if self.fd is None:
                return  # no tracker ever: nothing to forget (and none to start now)
            self._write(line)

    def child_started(self, pid: int) -> None:
        """Record a child this process started (it may outlive us)."""
        with self.lock:
            self.children[pid] = None
            if len(self.children) > 256:
                for child in list(self.children):
                    try:
                        os.kill(child, 0)
                    except OSError:
                        del self.children[child]
            self.send("CHILD", pid)

    def hello(self) -> None:
        """In a child: tell the tracker this process exists."""
        self.send("HELLO")

    def bye(self) -> None:
        """At the root's normal exit: its remaining descendants get a grace period."""
        if self.fd is not None and self.root is not None and self.root[0] == os.getpid():
            try:  # noqa: SIM105 - contextlib is one import more for every child
                os.write(self.fd, encode_message("BYE", os.getpid()))
            except OSError:
                pass

    def status(self) -> dict[str, Any]:
        """State for ``procstart methods``."""
        state = "not started"
        if self.proc is not None:
            state = "running" if self.proc.poll() is None else "not running"
        elif self.tracker_pid:
            try:
                os.kill(self.tracker_pid, 0)
                state = "running"
            except OSError:
                state = "not running"
        out: dict[str, Any] = {"tracker": state}
        if self.tracker_pid:
            out["pid"] = self.tracker_pid
        if self.root is not None:
            out["root"] = self.root[0]
        out["children-die-with-parent"] = (
            self.die_with_parent if self.die_with_parent is not None else _die_with_parent()
        )
        if self.restarts:
            out["restarts"] = self.restarts
        return out


client = Client()
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=client.after_fork_in_child)
atexit.register(client.bye)
