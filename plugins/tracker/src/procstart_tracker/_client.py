"""The per-process side: start the tracker, hold its pipe, send messages.

Ownership: a tracker serves one *tree*, the processes procstart started from
one top-level parent (the *root*). The root starts the tracker on first need
(its first procstart launch, or a ``procstart.register_resource`` call) and
hands the pipe's write end to every child through the handle-inheritance
hook; a child re-attaches to it in its setup hook. A process procstart did not
start (a child of the stdlib's contexts, of ``subprocess``, of another
library) never starts a tracker on a registration and never has anything
unlinked on its behalf: it is not attached, so its registrations go where the
stdlib sends them (see :func:`may_start`).

Restart keeps the books. The root keeps the pipe's read end open and gives
the tracker a journal (a ``memfd``) where the tracker appends every byte it
reads before acting on it. So when the tracker dies, writers never see an
error (their messages wait in the pipe), and the root, on its next launch or
registration, starts a new tracker with the same pipe and journal: it replays
the journal and reads on, knowing every live process's resources.

Writes never block: the write end is non-blocking (one ``write()`` of at most
4096 bytes, atomic). If the pipe is full (a busy or stopped tracker) the line
is queued in this process, with one warning, and a thread (started only
then) sends the queue as the tracker reads; the process waits for it at exit.

No psutil, no plugin manager on the way of a registration: children stay
cheap. Every child that reports to the tracker imports this module (see
:mod:`procstart_tracker._child`), so it imports only what such a child has
loaded anyway; ``json``, ``warnings``, ``select`` and the parser come in only
to start a tracker or report a problem.
"""

from __future__ import annotations

import atexit
import os
import stat
import sys
import threading
import time

from ._wire import BUILTIN_KINDS, DRAIN_EVERY, PATH_KINDS, ROOT_ENV, encode_message

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs a child ~1.5 ms to import; annotations only
    from typing import Any

__all__ = [
    "HANDLE_KEY",
    "ROOT_ENV",
    "Client",
    "TrackerWarning",
    "client",
    "may_start",
    "supported",
]

#: the key of the tracker's fd among a child's inherited handles
HANDLE_KEY = "procstart.tracker"
#: set in the tracker process itself (the plugin must not route the stdlib's registrations there)
SERVER_ENV = "PROCSTART_TRACKER_SERVER"
#: the config key this plugin declares (``[tool.procstart]``)
DIE_WITH_PARENT_KEY = "children-die-with-parent"
#: fd numbers of the pipe's read end and the journal in the tracker process
TRACKER_PIPE_FD, TRACKER_JOURNAL_FD = 3, 4
#: seconds the flusher waits for a full pipe to take any of its queued lines
EXIT_FLUSH_TIMEOUT = 5.0

#: the tracker's command line: ``-c _BOOT <main's arguments> -- <the parent's sys.path>``
#: (entries as arguments: encoding them as JSON would cost the root ``json``)
_BOOT = (
    "import os,sys;"
    f"os.environ[{SERVER_ENV!r}]='1';"
    "i=sys.argv.index('--');"
    "sys.path[:0]=sys.argv[i+1:];"
    "from procstart_tracker._server import main;"
    "main(sys.argv[1:i])"
)


#: how long the root, finding the tracker it started dead, waits for a standby
#: to take the journal's lock before it starts a new tracker (a standby wakes
#: within a millisecond or two of the death on an idle machine)
TAKEOVER_WAIT = 0.05


class TrackerWarning(UserWarning):
    """The tracker had to be restarted, or could not be used."""


def supported() -> bool:
    """True where the tracker works (POSIX)."""
    return os.name == "posix"


def may_start() -> bool:
    """True if this process may start a tracker for a registration.

    Only a top-level program does: not a child of the stdlib's (or anyone's)
    ``multiprocessing`` contexts, not a process in a procstart tree that
    procstart did not start itself (a ``subprocess`` of a tree member inherits
    ``ROOT_ENV``). A procstart launch always may (the launching process is
    then the root of the tree it starts).
    """
    if os.environ.get(ROOT_ENV):
        return False
    from multiprocessing import process

    if process.parent_process() is not None:
        return False
    return not getattr(process.current_process(), "_inheriting", False)


def _own_create_time() -> float | None:
    """This process's start time for the tracker's command line; None where it reads it.

    With ``/proc`` (Linux) the tracker reads the root's start time itself when
    it starts, while the root is provably its parent (``_server.main``): the
    root then skips reading ``/proc/stat``, which costs a short program about
    0.1 ms. Elsewhere psutil says it here (the tracker compares them to guard
    against a reused pid).
    """
    if os.path.exists("/proc/self/stat"):
        return None
    try:
        import psutil

        return float(psutil.Process().create_time())
    except Exception:  # noqa: BLE001 - only used to guard against pid reuse
        return None


def _die_with_parent() -> bool:
    """``[tool.procstart] children-die-with-parent`` (declared with its type and
    default by this plugin, so a wrong value is a ConfigError when the table is read)."""
    from procstart import plugin

    if plugin.config_file() is None:
        # the key has no PROCSTART_* variable: without a [tool.procstart] table
        # it has its default, and nobody's declarations need reading for that
        return True
    return bool(plugin.config_value(DIE_WITH_PARENT_KEY, True))


def _high_fd(fd: int) -> int:
    """A close-on-exec copy of ``fd`` numbered above the tracker's fixed fds."""
    import fcntl

    return fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10)


def _spawn_tracker(args: list[str], read_fd: int, journal_fd: int) -> int:
    """Start the tracker process with ``read_fd``/``journal_fd`` as fds 3/4; its pid.

    ``os.posix_spawn`` (no ``subprocess``: no import, no Popen object whose
    ``__del__`` would warn "still running" in a fork child), in a new session
    (immune to ^C and to kills of our process group). Nothing waits for it.
    """
    import os as _os

    null = "/dev/null"
    actions = [
        (_os.POSIX_SPAWN_OPEN, 0, null, _os.O_RDONLY, 0),
        (_os.POSIX_SPAWN_OPEN, 1, null, _os.O_WRONLY, 0),
        (_os.POSIX_SPAWN_DUP2, read_fd, TRACKER_PIPE_FD),
        (_os.POSIX_SPAWN_DUP2, journal_fd, TRACKER_JOURNAL_FD),
    ]
    env = dict(_os.environ)
    try:
        return _os.posix_spawn(args[0], args, env, file_actions=actions, setsid=True)
    except NotImplementedError:  # no POSIX_SPAWN_SETSID here: its own process group will do
        return _os.posix_spawn(args[0], args, env, file_actions=actions, setpgroup=0)


#: machines whose Linux uses the generic ioctl numbers (FIONREAD = 0x541B); on
#: others (alpha, mips, powerpc, sparc) ``termios`` says (importing it costs
#: about half a millisecond at a program's exit)
_GENERIC_IOCTLS = frozenset(
    {"x86_64", "i386", "i686", "aarch64", "armv7l", "armv6l", "riscv64", "s390x", "loongarch64"}
)


def _unread(fd: int) -> int:
    """Bytes waiting in the pipe whose read end is ``fd`` (``FIONREAD``; -1 if unknown)."""
    import fcntl

    if sys.platform == "linux" and os.uname().machine in _GENERIC_IOCTLS:
        request = 0x541B
    else:
        import termios

        request = termios.FIONREAD
    try:
        answer = fcntl.ioctl(fd, request, b"\0\0\0\0")
    except OSError:
        return -1
    return int.from_bytes(answer, sys.byteorder, signed=True)


def _new_journal() -> int:
    """An anonymous file for the tracker's books (``memfd``; else an unlinked temp file)."""
    if hasattr(os, "memfd_create"):
        try:
            return os.memfd_create("procstart-tracker-journal", os.MFD_CLOEXEC)
        except OSError:
            pass
    import tempfile

    fd, path = tempfile.mkstemp(prefix="procstart-tracker-")
    os.unlink(path)
    return fd


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
        #: the pipe's write end (every tree member), non-blocking
        self.fd: int | None = None
        #: ``(st_dev, st_ino)`` of that pipe: the fd number may come to name another file
        self.pipe_ident: tuple[int, int] | None = None
        #: root only: the pipe's read end and the journal, kept for a restart
        self.read_fd: int | None = None
        self.journal_fd: int | None = None
        #: root only: pid of the tracker process this process started (its child)
        self.spawned: int | None = None
        self.tracker_pid: int | None = None
        #: (pid, create time) of the top-level parent
        self.root: tuple[int, float | None] | None = None
        self.die_with_parent: bool | None = None
        self.types_sent: set[str] = set()
        #: registrations made by this process (status, tests)
        self.mine: dict[tuple[str, str], int] = {}
        self.restarts = 0
        #: lines a full pipe did not take yet, sent before the next one
        self._pending: list[bytes] = []
        self._warned_full = False
        self._flusher: threading.Thread | None = None
        self._token: tuple[tuple[int, float | None, int | None], str] | None = None
        #: root only: when the tracker was started (monotonic), the bytes of
        #: HELLO lines written since (``announced``, which every HELLO writer
        #: adds to; none where the root announces nothing, see
        #: ``_plugin.ROOT_CHILDREN_FOUND``), and whether anything else was written
        self._spawned_at: float | None = None
        self.announced = 0
        self._wrote_other = False
        #: the process this state belongs to: a fork copy notices it is not
        #: that process on its first use (no ``os.register_at_fork`` handler:
        #: a fork child that never talks to the tracker touches none of this)
        self._pid = os.getpid()

    def _here(self) -> None:
        """In a fork copy, on first use: drop the parent's role and bookkeeping."""
        if self._pid != os.getpid():
            self.after_fork_in_child()

    # -- identity -----------------------------------------------------------
    def root_token(self) -> str:
        """What a child needs to find the root again (``ROOT_ENV``)."""
        root_pid, ctime = self.root or (os.getpid(), None)
        key = (root_pid, ctime, self.tracker_pid)
        if self._token is None or self._token[0] != key:
            text = f"{root_pid}:{'-' if ctime is None else repr(ctime)}:{self.tracker_pid or 0}"
            self._token = (key, text)
        return self._token[1]

    def publish_token(self) -> None:
        """Put :meth:`root_token` in this process's ``os.environ`` (if it changed).

        Called when the root starts or restarts a tracker. Children inherit
        it as they inherit any variable (every start method gives a child
        the parent's ``os.environ``), so a launch sets nothing, a fork copy
        does nothing for it, and this process's ``subprocess`` children, not
        procstart's, know they belong to a tree (they never start a tracker;
        see :func:`may_start`).
        """
        text = self.root_token()
        if os.environ.get(ROOT_ENV) != text:
            os.environ[ROOT_ENV] = text

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

    def is_root(self) -> bool:
        """True in the process that started the tracker (and holds its books)."""
        return self.read_fd is not None

    def after_fork_in_child(self) -> None:
        """A fork child shares the write end but not the root's role or bookkeeping.

        If the program closed the write end it inherited (and the number now
        names another file), the child opens the pipe again from the root's
        read end before closing that (:meth:`_reattach`).
        """
        self._pid = os.getpid()
        self.lock = threading.RLock()
        if self.fd is not None and not self.holds_pipe():
            self._reattach()
        for fd in (self.read_fd, self.journal_fd):
            if fd is not None:
                try:  # noqa: SIM105 - contextlib is one import more for every child
                    os.close(fd)
                except OSError:
                    pass
        self.read_fd = self.journal_fd = self.spawned = None
        self._spawned_at = None
        self.announced = 0
        self._wrote_other = False
        self.mine = {}
        self._pending = []
        self._warned_full = False
        self._flusher = None

    # -- the pipe -----------------------------------------------------------
    def attach(self, fd: int, token: str | None = None) -> None:
        """In a child: talk to the tracker through inherited ``fd``."""
        self._here()
        if fd == self.fd and self.pipe_ident is not None:
            return  # a fork child: the parent's pipe and root, already set up
        with self.lock:
            self._adopt_token(token)
            try:
                st = os.fstat(fd)
            except OSError:
                return  # lost on the way: this process is then not tracked
            if not stat.S_ISFIFO(st.st_mode):
                return
            self.fd = fd
            self.pipe_ident = (st.st_dev, st.st_ino)
            try:  # noqa: SIM105 - contextlib is one import more for every child
                os.set_inheritable(fd, False)  # passed on only when asked for
            except OSError:
                pass

    def _spawn(self) -> None:
        """Start a tracker process on this process's pipe and journal."""
        assert self.read_fd is not None and self.journal_fd is not None
        assert self.root is not None
        if not sys.executable:
            raise RuntimeError(
                "procstart-tracker: sys.executable is unknown; cannot start the tracker"
            )
        root_pid, ctime = self.root
        args = [
            sys.executable,
            # no site: the parent's sys.path comes whole as arguments, so the
            # tracker skips .pth processing (it starts while the program runs)
            "-S",
            "-c",
            _BOOT,
            str(TRACKER_PIPE_FD),
            str(root_pid),
            "-" if ctime is None else repr(ctime),
            "1" if self.die_with_parent else "0",
            str(TRACKER_JOURNAL_FD),
            str(os.getsid(0)),
            "--",
            *(os.fspath(entry) for entry in sys.path),
        ]
        self.spawned = self.tracker_pid = _spawn_tracker(args, self.read_fd, self.journal_fd)
        self._spawned_at = time.monotonic()
        self.publish_token()

    def _start(self) -> int:
        """Become the root of a tree: make the pipe and the journal, start the tracker."""
        if self.root is None:
            self.root = (os.getpid(), _own_create_time())
        if self.die_with_parent is None:
            self.die_with_parent = _die_with_parent()
        r, w = os.pipe()
        fds = [r, w]
        try:
            journal = _new_journal()
            fds.append(journal)
            self.read_fd, self.journal_fd = _high_fd(r), _high_fd(journal)
            os.close(r)
            os.close(journal)
            fds = [w]
            os.set_blocking(w, False)
            self._spawn()
        except BaseException:
            for fd in (*fds, self.read_fd, self.journal_fd):
                if fd is not None:
                    os.close(fd)
            self.read_fd = self.journal_fd = None
            raise
        st = os.fstat(w)
        self.fd, self.pipe_ident = w, (st.st_dev, st.st_ino)
        self.types_sent.clear()
        return w

    def _restart(self) -> None:
        """Root only: a new tracker on the same pipe and journal (nothing is lost)."""
        old = self.tracker_pid
        self._spawn()
        self.restarts += 1
        import warnings

        warnings.warn(
            f"procstart-tracker: the tracker process{f' {old}' if old else ''} died; "
            f"started a new one (pid {self.tracker_pid}) that took over its books: "
            "every live process's resources are still tracked",
            TrackerWarning,
            stacklevel=4,  # the registration, or the launch's hook
        )

    def _reattach(self) -> bool:
        """The fd no longer names the pipe: open the pipe again from its read end (Linux).

        The root holds the read end, and a fork copy of it until its first
        use (:meth:`after_fork_in_child`): ``/proc/self/fd/<read end>``
        opened for writing is a new write end of the same pipe, so the same
        tracker keeps hearing from this process. True if it worked.
        """
        read_fd = self.read_fd
        if read_fd is None or self.pipe_ident is None or sys.platform != "linux":
            return False
        try:
            st = os.fstat(read_fd)
            if (st.st_dev, st.st_ino) != self.pipe_ident:
                return False
            self.fd = os.open(
                f"/proc/self/fd/{read_fd}", os.O_WRONLY | os.O_NONBLOCK | os.O_CLOEXEC
            )
        except OSError:
            return False
        return True

    def holds_pipe(self) -> bool:
        """True if this process's fd for the tracker is still the tracker's pipe.

        The fd's number may have come to name another file (closed by the
        program, then reused): the pipe's ``(st_dev, st_ino)`` tells.
        """
        fd = self.fd
        if fd is None:
            return False
        try:
            st = os.fstat(fd)
        except OSError:
            return False
        return (st.st_dev, st.st_ino) == self.pipe_ident

    def check_alive(self) -> None:
        """Root only: start a new tracker if no tracker process runs (no message sent).

        Usually one ``waitpid`` on the tracker this process started. Once that
        one has died, the journal's lock tells whether its standby took over
        (:mod:`._journal_lock`): then this process only learns the new
        tracker's pid; if nobody holds the lock (the tracker died before it
        forked a standby, or both died), it starts a new tracker. A child
        launched meanwhile loses nothing: its messages wait in the pipe,
        which the root keeps open, for whichever tracker takes over. Only
        after a death does it wait, :data:`TAKEOVER_WAIT` at most, for a
        standby to take the lock.
        """
        spawned = self.spawned
        if spawned is not None:
            try:
                if os.waitpid(spawned, os.WNOHANG)[0] == 0:
                    return  # the usual case: it runs
            except ChildProcessError:  # somebody else reaped it: ask the kernel
                try:
                    os.kill(spawned, 0)
                except ProcessLookupError:
                    pass
                else:
                    return
        elif self.journal_fd is None or self.tracker_pid is None:
            return  # not the root, or no tracker started
        with self.lock:
            journal = self.journal_fd
            if self.spawned != spawned or journal is None:
                return  # another thread dealt with it
            self.spawned = None  # reaped or gone: from now on the lock tells
            from . import _journal_lock  # only now: fcntl is one import more at start-up

            # the kernel wakes a standby when the tracker dies: give it the time to take over
            deadline = time.monotonic() + TAKEOVER_WAIT
            holder = _journal_lock.holder(journal)
            while holder is None and time.monotonic() < deadline:
                time.sleep(0.001)
                holder = _journal_lock.holder(journal)
            if holder is None:
                self._restart()
            elif holder and holder != self.tracker_pid:
                self.tracker_pid = holder  # its standby, or a later one
                self.publish_token()

    def ensure_running(self) -> int:
        """The tracker's fd, starting the tracker (this process becomes the root) if needed.

        Called on every launch, so it sends nothing and waits for nobody.
        """
        self._here()
        fd = self.fd
        if fd is not None and self.holds_pipe():  # the usual case: no lock to take
            self.check_alive()
            return fd
        with self.lock:
            if not self.holds_pipe() and not self._reattach():
                self.fd = None
                self._start()
            else:
                self.check_alive()
            assert self.fd is not None
            return self.fd

    def _write(self, line: bytes) -> bool:
        """Send ``line`` (queued if the pipe is full); False if there is no tracker."""
        self._here()
        self._wrote_other = True
        with self.lock:
            if self.fd is None or (not self.holds_pipe() and not self._reattach()):
                return False
            fd = self.fd
            if self._pending and not self._flush():
                self._queue(line)
                return True
            try:
                os.write(fd, line)
            except BlockingIOError:
                self._queue(line)
            except OSError:  # nobody reads any more: the root and its tracker are gone
                return False
            return True

    def _queue(self, line: bytes) -> None:
        """Keep ``line`` for the flusher thread (started now if it is not running)."""
        self._pending.append(line)
        if self._flusher is None or not self._flusher.is_alive():
            self._flusher = threading.Thread(
                target=self._flush_loop, name="procstart-tracker-flush", daemon=False
            )
            self._flusher.start()
        if not self._warned_full:
            self._warned_full = True
            import warnings

            warnings.warn(
                "procstart-tracker: the tracker's pipe is full (the tracker is busy or "
                "stopped); this process queues its messages and a thread sends them "
                "as the tracker reads",
                TrackerWarning,
                stacklevel=5,
            )

    def _flush(self) -> bool:
        """Send queued lines in order without waiting; True once none is left."""
        fd = self.fd
        while self._pending and fd is not None:
            try:
                os.write(fd, self._pending[0])
            except BlockingIOError:
                return False
            except OSError:  # nobody reads any more: nothing to deliver to
                self._pending.clear()
                return True
            self._pending.pop(0)
        return True

    def _flush_loop(self) -> None:
        """The flusher: send what a full pipe held back, as room appears.

        Not a daemon: the interpreter (and ``multiprocessing``'s child
        bootstrap, through ``threading._shutdown``) waits for it at exit, so
        queued registrations are not lost; it gives up after
        :data:`EXIT_FLUSH_TIMEOUT` seconds without progress, saying so.
        """
        import select
        import time

        last_progress = time.monotonic()
        while True:
            with self.lock:
                before = len(self._pending)
                if self._flush():
                    return
                if len(self._pending) < before:
                    last_progress = time.monotonic()
                fd = self.fd
            if time.monotonic() - last_progress > EXIT_FLUSH_TIMEOUT or fd is None:
                break
            poller = select.poll()
            poller.register(fd, select.POLLOUT)
            poller.poll(100)
        with self.lock:
            lost, self._pending = len(self._pending), []
        sys.stderr.write(
            f"procstart-tracker: warning: the tracker's pipe stayed full for "
            f"{EXIT_FLUSH_TIMEOUT:g} s; {lost} message(s) of process {os.getpid()} "
            "were not sent\n"
        )

    def send(self, op: str, *fields: str | int) -> bool:
        """Send one message; False if this process has no tracker."""
        return self._write(encode_message(op, os.getpid(), *fields))

    # -- what the hooks call ----------------------------------------------
    def _type_lines(self, kind: str) -> list[bytes]:
        if kind in BUILTIN_KINDS or kind in self.types_sent:
            return []
        from procstart import plugin

        # procstart_resource_types is this plugin's own hook (_plugin.TrackerSpecs)
        types = [t for batch in plugin.hook().procstart_resource_types() for t in batch or ()]
        for resource_type in types:
            if resource_type.kind == kind:
                self.types_sent.add(kind)
                return [encode_message("TYPE", os.getpid(), kind, resource_type.cleanup)]
        return []

    def register(self, kind: str, name: str) -> bool:
        """Hold a reference to ``name`` of ``kind``; False if no tracker took it.

        A top-level program starts the tracker here if none runs yet; any
        other process not attached to a tree leaves it to the stdlib.
        """
        name = _normalise(kind, name)
        line = encode_message("REG", os.getpid(), kind, name)  # validates first
        self._here()
        with self.lock:
            if self.fd is None:
                if not may_start():
                    return False
                self._start()
            else:
                self.check_alive()
            for type_line in self._type_lines(kind):
                self._write(type_line)
            if not self._write(line):
                return False
            self.mine[(kind, name)] = self.mine.get((kind, name), 0) + 1
            return True

    def unregister(self, kind: str, name: str) -> bool:
        """``name`` was released for good (unlinked, deleted): never clean it."""
        name = _normalise(kind, name)
        line = encode_message("UNREG", os.getpid(), kind, name)
        self._here()
        with self.lock:
            self.mine.pop((kind, name), None)
            if self.fd is None:
                return False  # no tracker: nothing to forget (and none to start now)
            return self._write(line)

    def announce_launch(self, request: Any, popen: Any) -> None:
        """After a launch, in the parent: ``HELLO <child pid>`` (one non-blocking write).

        Registered as is with ``procstart.plugin.after_launch`` (no function
        of the plugin runs in between), in every launching process but the
        root on Linux (``_plugin.ROOT_CHILDREN_FOUND``). The tracker learns the child's pid
        even if the child outlives this process; the child writes nothing. A
        parent killed between ``fork()`` and this write leaves a child the
        tracker was not told about: the tracker finds it by the pipe it holds
        (``_server``'s look for strays). Nothing else happens here: after a
        fork each page the parent writes is a copy-on-write fault (about 5 us
        against 2 us before it, measured), and the parent's work there
        lengthens a start+join as much as work before the fork does; so the
        tracker's life is checked before the launch. Queued only when the
        pipe is full. A remote method's children (a cluster) are not announced,
        and their ``popen.pid`` is never read (it waits until a worker has
        started the child: the launch would wait for the cluster).
        """
        if request.method.remote:  # first: its pid waits until a worker started it
            return
        try:
            pid = popen.pid  # not getattr: its "pid" constant is one more page written
        except AttributeError:
            return
        fd = self.fd
        if not pid or fd is None:
            return
        try:  # the program may have closed the fd (its number may name another file)
            st = os.fstat(fd)
        except OSError:
            return
        if (st[2], st[1]) != self.pipe_ident:  # (st_dev, st_ino)
            return  # the child reattaches on its first use; the tracker finds it by the pipe
        line = b"HELLO %d\n" % pid  # always valid: no need for the encoder
        try:
            self.announced += os.write(fd, line)
        except BlockingIOError:
            self._here()  # its lock, in a fork copy
            with self.lock:
                self._queue(line)
        except OSError:
            pass  # never fail a child for the tracker's sake

    def at_exit(self) -> None:
        """At the root's normal exit: its remaining descendants get a grace period."""
        if self.fd is not None and self.root is not None and self.root[0] == os.getpid():
            with self.lock:
                self.check_alive()  # a dead tracker is replaced: someone must clean up
                if self._pending:
                    return  # the flusher sends BYE's predecessors first; BYE is a nicety
                if self._quiet_exit():
                    return
            # a child still running now was not announced as it started (the
            # root announces none on Linux, _plugin.ROOT_CHILDREN_FOUND):
            # multiprocessing joins it after this, but one left running at the
            # root's end is procstart's, and the tracker's to end
            hello = b"".join(encode_message("HELLO", pid) for pid in _children_running())
            try:  # noqa: SIM105 - contextlib is one import more for every child
                os.write(self.fd, hello + encode_message("BYE", os.getpid()))
            except OSError:
                pass

    def _quiet_exit(self) -> bool:
        """Root, normal exit: end a tracker that has not read yet and would find nothing.

        The tracker first reads the pipe :data:`DRAIN_EVERY` seconds after it
        started (or when the root dies): until then everything any process
        sent is still in the pipe. If that is exactly the HELLO lines this
        process wrote, if any (no child wrote anything, this process registered
        nothing), no child this process started still runs and children die
        with their root, the tracker would clean nothing and end nobody
        (``Tracker._nothing_to_do``) once its interpreter has started. It is
        stopped, checked and ended now instead: a caller reading the
        program's stderr to its end (the tracker holds it) waited for that
        start-up, up to a few milliseconds after a short program's exit.
        The root does not wait for the killed tracker to be torn down (about
        half a millisecond): that happens while the interpreter finalizes,
        and the zombie is reaped once the root has exited (by its parent's
        reaper: init, or a subreaper), as the stdlib's tracker is (a program
        never waits for it at exit; checked in 3.11.7 and 3.13.0).
        Called under the lock; True if the tracker was ended.
        """
        pid, started = self.spawned, self._spawned_at
        if (
            pid is None
            or started is None
            or self.read_fd is None
            or self.restarts
            or self._wrote_other
            or not self.die_with_parent
            or time.monotonic() - started >= DRAIN_EVERY
        ):
            return False
        from multiprocessing import active_children

        if active_children():
            return False
        import signal

        try:
            os.kill(pid, signal.SIGSTOP)
            os.waitpid(pid, os.WUNTRACED)  # stopped (it is this process's child)
        except OSError:
            return False
        ended = False
        try:
            # stopped before its first read, and only our HELLO lines in the pipe
            if time.monotonic() - started < DRAIN_EVERY and _unread(self.read_fd) == (
                self.announced
            ):
                os.kill(pid, signal.SIGKILL)  # not waited for: see above
                self.spawned = None
                ended = True
                if os.environ.get("PROCSTART_TRACKER_DEBUG"):
                    sys.stderr.write(
                        f"procstart-tracker: debug: ended tracker {pid} at the root's exit, "
                        "before its first read: nothing for it\n"
                    )
        except OSError:
            pass
        finally:
            if not ended:
                try:  # noqa: SIM105 - contextlib is one import more for every child
                    os.kill(pid, signal.SIGCONT)
                except OSError:
                    pass
        return ended

    def status(self) -> dict[str, Any]:
        """State for ``procstart methods``."""
        self._here()
        state = "not started"
        if self.tracker_pid:
            if self.is_root():
                with self.lock:
                    self.check_alive()
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


def _children_running() -> list[int]:
    """Pids of this process's children procstart started that still run (not a cluster's).

    ``multiprocessing.active_children`` (it reaps the finished ones): those
    of the stdlib's own contexts are not procstart's, and a remote method's
    pid is not this host's (reading it would wait for the cluster).
    """
    try:
        from multiprocessing import active_children

        import procstart
        from procstart import plugin

        pids = []
        for proc in active_children():
            method = plugin.started_with(proc)
            # the method first: a remote child's pid is never read
            if method is not None and not procstart.get_context(method).method.remote:
                pid = proc.pid
                if pid:
                    pids.append(pid)
        return pids
    except Exception:  # noqa: BLE001 - never fail the program's exit for the tracker
        return []


def _at_exit() -> None:
    """``client.at_exit``, registered as a plain function.

    Not the bound method: a fork child on 3.13+ clears the atexit list it
    inherited (as ``multiprocessing``'s fork does), and freeing a bound
    method writes to three objects (the method, the client, the function),
    each a copy-on-write fault in every child; a function only loses a
    reference (two faults fewer per child, ``perf`` on 3.13).
    """
    client.at_exit()


atexit.register(_at_exit)
