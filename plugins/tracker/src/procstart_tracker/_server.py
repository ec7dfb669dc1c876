"""The tracker process: one per top-level parent, reading the pipe all descendants share.

It watches the top-level parent (the *root*) with a pidfd where the kernel
has one (Linux 5.3+), else by polling. While the root lives it records the
pids of its descendants (messages from launches and child setup, plus a
psutil snapshot of the tree every half second), because they are reparented
the moment the root dies. When the root dies:

1. every message still in the pipe is read;
2. with ``children-die-with-parent`` on (the default) the recorded
   descendants still alive, and their children, get SIGTERM, then SIGKILL
   after :data:`TERM_GRACE` seconds (after a normal exit they first get
   :data:`EXIT_GRACE` seconds to finish on their own, and only processes
   procstart started are terminated: a ``subprocess`` the program left
   running on purpose is not its business);
3. every resource whose holders are all dead is cleaned, and *one* warning
   lists what was cleaned and which processes were terminated;
4. with the option off, descendants live on: they inherit the root's
   references (a child still starting may open the root's semaphores by
   name), so a resource is cleaned once every process holding it, and for
   the root's own the last descendant, has gone, at the latest when the pipe
   reaches end of file.

Run as ``python -c ...; main(argv)`` by :mod:`procstart_tracker._client`.
"""

from __future__ import annotations

import errno
import os
import select
import sys
import time

from . import _journal_lock
from ._protocol import IPC_KINDS, MAX_LINE, Message, ProtocolError, parse_hello, parse_message
from ._wire import DRAIN_EVERY, ROOT_ENV, encode_line

# The tracker starts while the program runs and holds the program's stderr
# until it exits: until it has work to do it imports next to nothing (no
# typing, contextlib, signal/enum, psutil; see the test
# test_tracker_startup.py). psutil comes in when processes must be found or
# terminated (Tracker.psutil).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable
    from typing import Any, NoReturn, TextIO

__all__ = ["EXIT_GRACE", "TERM_GRACE", "Tracker", "TrackerState", "main"]

#: seconds between SIGTERM and SIGKILL for orphaned descendants
TERM_GRACE = 0.3
#: seconds to wait for processes to vanish after SIGKILL
KILL_WAIT = 0.3
#: after a normal exit of the root: seconds its remaining descendants get to exit
EXIT_GRACE = 0.3
#: after a normal exit: seconds the stdlib's tracker gets to clean names it shares with us
STDLIB_FIRST = 0.2
#: seconds a root that closed the pipe gets to be seen dead (it exits, or lives on)
ROOT_EXIT_WAIT = 0.5
#: a journal this long is rewritten as a snapshot of the state (when that halves it)
JOURNAL_COMPACT_AT = 8 << 20
#: seconds between snapshots of the root's process tree
SNAPSHOT_EVERY = 0.5
#: at most this many names are listed in one warning
LIST_AT_MOST = 20

WARNING_PREFIX = "procstart-tracker: warning:"

Key = tuple[str, str]


class TrackerState:
    """What the tracker knows, updated by messages (no I/O; fuzzable).

    ``resources`` maps ``(kind, name)`` to the pids holding a reference and
    how many each holds; an ``UNREG`` forgets the resource whoever holds it
    (it was released for good: unlinked, deleted).
    """

    def __init__(self, root_pid: int) -> None:
        self.root_pid = root_pid
        self.resources: dict[Key, dict[int, int]] = {}
        self.types: dict[str, str] = {}
        self.root_exiting = False
        #: pids procstart started (CHILD, or HELLO: written by a parent other than
        #: the root after the launch, or by the root with its BYE for children
        #: still running); the tracker forgets those that ended holding nothing
        #: (``Tracker._forget_dead``), so this follows the live tree
        self.started: set[int] = set()
        self.rejected = 0
        self.rejections: list[str] = []
        self._partial = b""
        self._skipping = False

    def feed(self, data: bytes) -> list[int]:
        """Apply every complete line in ``data``; return the pids the lines mention."""
        new: list[int] = []
        buf = self._partial + data
        lines = buf.split(b"\n")
        self._partial = lines.pop()
        started = self.started
        for line in lines:
            if self._skipping:  # the tail of an overlong line
                self._skipping = False
                continue
            pid = parse_hello(line)  # one per child: no Message for it
            if pid is not None:
                started.add(pid)
                new.append(pid)
                continue
            try:
                message = parse_message(line)
            except ProtocolError as exc:
                self._reject(str(exc))
                continue
            new.extend(self.apply(message))
        if len(self._partial) > MAX_LINE:
            self._reject(f"message longer than {MAX_LINE} bytes")
            self._partial = b""
            self._skipping = True
        return new

    def _reject(self, reason: str) -> None:
        self.rejected += 1
        if len(self.rejections) < 3:
            self.rejections.append(reason)

    def apply(self, message: Message) -> list[int]:
        """Apply one message; return the pids it mentions (sender, child)."""
        op = message.op
        if op == "REG":
            holders = self.resources.setdefault((message.kind, message.name), {})
            holders[message.pid] = holders.get(message.pid, 0) + 1
        elif op == "UNREG":
            self.resources.pop((message.kind, message.name), None)
        elif op == "TYPE":
            self.types[message.kind] = message.name
        elif op == "BYE" and message.pid == self.root_pid:
            self.root_exiting = True
        elif op == "HELLO":
            self.started.add(message.pid)
        if op == "CHILD":
            self.started.add(message.child)
            return [message.pid, message.child]
        return [message.pid]

    def held_only_by(self, dead: Callable[[int], bool]) -> list[Key]:
        """Resources none of whose holders is alive."""
        return [key for key, holders in self.resources.items() if all(map(dead, holders))]

    def snapshot(self, alive: Callable[[int], bool]) -> bytes:
        """Lines that rebuild this state (for pids that matter) when fed to a new one.

        ``alive(pid)`` filters the started pids worth keeping; holders are all
        kept (a dead holder's resource is still to be cleaned).
        """
        lines = [encode_line("TYPE", self.root_pid, kind, ref) for kind, ref in self.types.items()]
        for (kind, name), holders in self.resources.items():
            for pid, count in holders.items():
                lines.extend([encode_line("REG", pid, kind, name)] * count)
        lines.extend(encode_line("HELLO", pid) for pid in sorted(self.started) if alive(pid))
        if self.root_exiting:
            lines.append(encode_line("BYE", self.root_pid))
        return b"".join(lines)


def _describe(keys: Iterable[Key]) -> str:
    items = [f"{kind} {name!r}" for kind, name in keys]
    if len(items) > LIST_AT_MOST:
        items = [*items[:LIST_AT_MOST], f"... and {len(items) - LIST_AT_MOST} more"]
    return ", ".join(items)


_PROC_CHILDREN = os.path.exists(f"/proc/self/task/{os.getpid()}/children")
_PROC_STAT = os.path.exists("/proc/self/stat")
_boot_time: list[float] = []


def _start_time(pid: int) -> float | None:
    """``pid``'s start time as psutil computes it on Linux; None if gone or a zombie.

    Read from ``/proc`` (no psutil): the same process always gives the same
    float, so comparing two readings tells whether a pid still names the
    process noted earlier.
    """
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            fields = fh.read().rpartition(b")")[2].split()
        if fields[0] in (b"Z", b"X"):
            return None
        if not _boot_time:
            with open("/proc/stat", "rb") as fh:
                _boot_time.append(
                    float(next(int(line.split()[1]) for line in fh if line.startswith(b"btime")))
                )
        return _boot_time[0] + int(fields[19]) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError, StopIteration):
        return None


def _exists(pid: int) -> bool:
    """False if no process (zombies included) has ``pid``: one ``kill(pid, 0)``."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # another user's: it exists
        pass
    return True


#: a start time no process has (``_start_time`` is the boot time plus a count)
_NO_PROCESS = -1.0


def _runs_stdlib_tracker(pid: int) -> bool:
    """``/proc`` version of :func:`_is_stdlib_tracker` (no psutil)."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            return b"multiprocessing.resource_tracker" in fh.read()
    except OSError:
        return False


def _children_of(pid: int) -> list[int] | None:
    """Direct children of ``pid`` from ``/proc/PID/task/*/children`` (None: unsupported).

    Cheap (reads only this process's entries, not the whole process table);
    needs Linux with CONFIG_PROC_CHILDREN, which mainstream distributions have.
    Children of every thread are included (a pool's workers are forked by
    its management thread).
    """
    if not _PROC_CHILDREN:
        return None
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return []
    children: list[int] = []
    for task in tasks:
        try:
            with open(f"/proc/{pid}/task/{task}/children", "rb") as fh:
                children.extend(int(field) for field in fh.read().split())
        except (OSError, ValueError):
            continue  # the thread (or the process) just ended
    return children


def _is_stdlib_tracker(proc: Any) -> bool:
    """True for ``multiprocessing``'s resource tracker process.

    Never terminated: it holds the top-level program's own stdlib objects and
    exits by itself, cleaning them, once the last process holding its pipe
    (the tree) is gone.
    """
    try:
        return any("multiprocessing.resource_tracker" in part for part in proc.cmdline())
    except Exception:  # noqa: BLE001 - gone or not ours to inspect: treat as any process
        return False


class Tracker:
    """The tracker's event loop (pipe + root watch + psutil)."""

    def __init__(
        self,
        fd: int,
        root_pid: int,
        root_ctime: float | None,
        *,
        die_with_parent: bool = True,
        out: TextIO | None = None,
        journal: int | None = None,
        root_sid: int | None = None,
    ) -> None:
        self._psutil: Any = None
        self.fd = fd
        #: the root's start time as given (a standby passes on what it found)
        self.root_ctime = root_ctime
        #: the forked process that takes over if this one dies (0: none could
        #: be started; None: not yet, see :meth:`_keep_standby`)
        self.standby: int | None = None
        #: the root's pidfd while :meth:`run` watches it (a standby closes its copy)
        self.pidfd: int | None = None
        self.state = TrackerState(root_pid)
        self.root_pid = root_pid
        self.die_with_parent = die_with_parent
        self.out = out if out is not None else sys.stderr
        self.me = os.getpid()
        self.eof = False
        self.procs: dict[int, Any] = {}
        #: pids noted but not yet made psutil.Process objects: pid -> start time
        #: (None: gone); made into ``procs`` when psutil is needed (``_resolve``)
        self.pending: dict[int, float | None] = {}
        #: descendants that are not the tree's (the stdlib's tracker)
        self.ignored: set[int] = set()
        self.debug = bool(os.environ.get("PROCSTART_TRACKER_DEBUG"))
        self.t0 = time.monotonic()
        #: the root's start time as found now (None: gone already, or not the
        #: process expected); non-Linux: the psutil.Process in ``root``
        self.root: Any = None
        self.root_seen: float | None = None
        if _PROC_STAT:
            seen = _start_time(root_pid)
            if seen is not None and root_ctime is not None and abs(seen - root_ctime) > 0.1:
                seen = None
            self.root_seen = seen
        else:
            self.root = self._process(root_pid, root_ctime)
            self.root_seen = 0.0 if self.root is not None else None
        #: the root's session (given by the root: it may be gone already)
        self.root_sid = root_sid
        if root_sid is None:
            try:
                self.root_sid = os.getsid(root_pid)
            except OSError:
                self.root_sid = None
        os.set_blocking(fd, False)
        self.journal = journal
        if journal is not None:
            self._replay(journal)
        #: rejections seen before (replayed) were reported by the previous tracker
        self.reported_rejections = len(self.state.rejections)
        self.rejected_before = self.state.rejected

    @property
    def psutil(self) -> Any:
        """The psutil module, imported on first need (finding or ending processes)."""
        if self._psutil is None:
            import psutil

            self._psutil = psutil
            self._log("psutil imported")
        return self._psutil

    # -- the journal ------------------------------------------------------
    def _replay(self, journal: int) -> None:
        """Take over the books of a tracker that died (every byte it read, in order)."""
        offset = 0
        while True:
            data = os.pread(journal, 1 << 20, offset)
            if not data:
                break
            offset += len(data)
            self._note(self.state.feed(data))
        os.lseek(journal, offset, os.SEEK_SET)
        self._log(f"replayed {offset} journal bytes: {len(self.state.resources)} resources")

    def _record(self, data: bytes) -> None:
        """Append what was read to the journal before acting on it."""
        if self.journal is None:
            return
        try:
            os.write(self.journal, data)
        except OSError as exc:
            self._say(f"{WARNING_PREFIX} journal write failed ({exc}); a restart may forget")
            self.journal = None

    def compact(self) -> None:
        """Rewrite a journal past :data:`JOURNAL_COMPACT_AT` bytes as a snapshot.

        In place (the root holds the same file for the next tracker): the
        snapshot is written at offset 0, then the file is cut after it. Only
        a kill between those two calls would leave old lines after the
        snapshot (counted twice by a restarted tracker).
        """
        journal = self.journal
        if journal is None or self.state._partial:
            return  # compact between whole lines only
        size = os.lseek(journal, 0, os.SEEK_CUR)
        if size < JOURNAL_COMPACT_AT:
            return
        self._resolve()
        snapshot = self.state.snapshot(
            lambda pid: self._alive(self.procs.get(pid) or self._process(pid))
        )
        if len(snapshot) > size // 2:
            return  # not worth it (yet)
        os.pwrite(journal, snapshot, 0)
        os.ftruncate(journal, len(snapshot))
        os.lseek(journal, len(snapshot), os.SEEK_SET)
        self._log(f"journal compacted: {size} -> {len(snapshot)} bytes")

    def _log(self, text: str) -> None:
        if self.debug:
            self._say(f"procstart-tracker: debug: +{time.monotonic() - self.t0:.3f}s {text}")

    # -- processes --------------------------------------------------------
    def _process(self, pid: int, ctime: float | None = None) -> Any:
        """A psutil.Process for ``pid`` (None if gone or not the one expected)."""
        try:
            proc = self.psutil.Process(pid)
            if ctime is not None and abs(proc.create_time() - ctime) > 0.1:
                return None
            return proc
        except (self.psutil.Error, OSError):
            return None

    def _alive(self, proc: Any) -> bool:
        if proc is None:
            return False
        try:
            return bool(proc.is_running() and proc.status() != self.psutil.STATUS_ZOMBIE)
        except (self.psutil.Error, OSError):
            return False

    def _root_alive(self) -> bool:
        """True while the root found at start runs (and is not a zombie)."""
        if self.root_seen is None:
            return False
        if _PROC_STAT:
            return _start_time(self.root_pid) == self.root_seen
        return self._alive(self.root)

    def _known_alive(self, pid: int) -> bool | None:
        """Whether the noted process ``pid`` runs, without psutil (None: not known)."""
        proc = self.procs.get(pid)
        if proc is not None:
            return self._alive(proc)
        if pid in self.pending:
            ctime = self.pending[pid]
            return ctime is not None and _start_time(pid) == ctime
        return False if pid in self.procs else None

    def _dead_check(self) -> Callable[[int], bool]:
        """``dead(pid)`` for holders, as of now.

        The root's references pass to its descendants while any still runs
        (option off): a child starting up may still open the root's
        semaphores by name.
        """
        self._resolve()
        survivors = any(self._alive(proc) for proc in self.procs.values())

        def dead(pid: int) -> bool:
            if pid == self.root_pid:
                return not survivors and not self._root_alive()
            if pid not in self.procs:
                self._note([pid])
                self._resolve()
            return not self._alive(self.procs.get(pid))

        return dead

    def _note(self, pids: Iterable[int]) -> None:
        """Remember ``pids`` (with their start time: a reused pid is not them).

        Most are children announced after they ended (the pipe is read every
        :data:`DRAIN_EVERY` seconds): ``kill(pid, 0)`` tells those in one
        system call, where reading ``/proc/<pid>/stat`` takes a path lookup
        (about 2 against 7 us per child).
        """
        for pid in pids:
            if self.procs.get(pid) is None and pid not in (self.me, self.root_pid):
                if not _PROC_STAT:
                    self.procs[pid] = self._process(pid)
                elif self.pending.get(pid) is None:
                    self.pending[pid] = _start_time(pid) if _exists(pid) else None

    def _resolve(self) -> None:
        """Make the noted pids psutil.Process objects (psutil is needed now)."""
        for pid, ctime in self.pending.items():
            if self.procs.get(pid) is None:
                self.procs[pid] = self._process(pid, ctime) if ctime is not None else None
        self.pending.clear()

    def _descendant_pids(self, pid: int) -> list[int]:
        """Every pid below ``pid`` now, from ``/proc`` only (needs ``_PROC_CHILDREN``)."""
        found: list[int] = []
        seen = {self.me}
        todo = [pid]
        while todo:
            for child in _children_of(todo.pop()) or ():
                if child not in seen:
                    seen.add(child)
                    found.append(child)
                    todo.append(child)
        return found

    def _descendants(self, pids: Iterable[int]) -> dict[int, Any]:
        """Every process below ``pids`` now, as psutil.Process objects."""
        found: dict[int, Any] = {}
        todo = list(pids)
        while todo:
            pid = todo.pop()
            children = _children_of(pid)
            if children is None:  # no /proc children files: ask psutil (scans all)
                proc = self._process(pid)
                try:
                    kids = proc.children(recursive=True) if proc is not None else []
                except (self.psutil.Error, OSError):
                    kids = []
                for kid in kids:
                    found.setdefault(kid.pid, kid)
                continue
            for child in children:
                if child not in found and child != self.me:
                    proc = self.procs.get(child) or self._process(child)
                    if proc is not None:
                        found[child] = proc
                        todo.append(child)
        found.pop(self.me, None)
        return found

    def _snapshot(self) -> None:
        """Record the root's current descendants (same session only)."""
        if self.root_seen is None:
            return
        if _PROC_CHILDREN and _PROC_STAT:  # from /proc alone: pids and start times, no psutil
            for pid in self._descendant_pids(self.root_pid):
                new = pid not in self.procs and pid not in self.pending
                if new and self._member(pid, _runs_stdlib_tracker, pid):
                    self.pending[pid] = _start_time(pid)
        else:
            self._resolve()
            for pid, proc in self._descendants([self.root_pid]).items():
                if pid not in self.procs and self._member(pid, _is_stdlib_tracker, proc):
                    self.procs[pid] = proc
        self._forget_dead()

    def _member(self, pid: int, runs_stdlib_tracker: Callable[[Any], bool], about: Any) -> bool:
        """True if descendant ``pid`` is to be recorded as a member of the tree.

        Not a process that left the root's session on purpose (a daemon), nor
        a stdlib tracker (``runs_stdlib_tracker(about)``, asked last; remembered
        in ``ignored``: not a survivor, never a victim, it ends with the tree).
        """
        if pid in self.ignored:
            return False
        try:
            if self.root_sid is not None and os.getsid(pid) != self.root_sid:
                return False
        except OSError:
            return False
        if runs_stdlib_tracker(about):
            self.ignored.add(pid)
            return False
        return True

    def _forget_dead(self) -> None:
        """Forget recorded processes that died holding nothing.

        And the announced children among them (``started``): what the
        tracker keeps stays in proportion to the live tree, not to every
        child the program ever started, and the exit check
        (:meth:`_nothing_to_do`) reads nothing for those long gone. A pid
        forgotten here and later reused names a stranger.
        """
        holders = {pid for holders in self.state.resources.values() for pid in holders}
        for pid in [pid for pid in self.pending if not self._known_alive(pid)]:
            if pid not in holders:
                del self.pending[pid]
        for pid in [pid for pid, proc in self.procs.items() if not self._alive(proc)]:
            if pid not in holders:
                del self.procs[pid]
        started = self.state.started
        if started:
            started.intersection_update(self.pending.keys() | self.procs.keys())

    def _victims(self, *, started_only: bool = False) -> list[Any]:
        self._resolve()
        victims = {
            proc.pid: proc
            for proc in self.procs.values()
            if self._alive(proc) and (not started_only or proc.pid in self.state.started)
        }
        for pid, proc in self._descendants(list(victims)).items():
            victims.setdefault(pid, proc)
        victims.pop(self.me, None)
        victims.pop(self.root_pid, None)
        return [proc for proc in victims.values() if not _is_stdlib_tracker(proc)]

    def _strays(self) -> list[Any]:
        """Exec'd children of this tree the tracker never heard of.

        A spawn child nobody announced (the root's own, which it does not
        announce on Linux; another parent's, killed between the launch and
        its ``HELLO``) carries ``ROOT_ENV`` naming this
        root in the environment it was exec'd with: one look at every
        process, only after a death (the root's ``subprocess`` children carry
        it too, and die with the tree then, as its other descendants do).
        """
        token = f"{self.root_pid}:"
        found: list[Any] = []
        for proc in self.psutil.process_iter():
            if proc.pid in (self.me, self.root_pid) or proc.pid in self.ignored:
                continue
            try:
                if (
                    proc.environ().get(ROOT_ENV, "").startswith(token)
                    # a daemon left the session on purpose: spared
                    and (self.root_sid is None or os.getsid(proc.pid) == self.root_sid)
                    and not _is_stdlib_tracker(proc)
                ):
                    found.append(proc)
            except (self.psutil.Error, OSError):
                continue
        return found

    def _pipe_holders(self) -> list[int]:
        """Processes of the root's session that hold this tracker's pipe, not yet known.

        Every process procstart started holds the pipe's write end (a fork
        copy from ``fork()`` on, before it runs any code). This is how the
        root's own children are found (on Linux the root does not announce
        them: ``_plugin.ROOT_CHILDREN_FOUND``); another parent announces a
        child (``HELLO``) right after the launch returns, and one killed
        between the two leaves a child nobody announced, possibly
        reparented already: this finds it, once, when the root is gone
        (``/proc/<pid>/fd``: Linux; elsewhere the root announces its
        children too, and the tree snapshots find the rest).
        """
        try:
            target = f"pipe:[{os.fstat(self.fd).st_ino}]"
            pids = [int(name) for name in os.listdir("/proc") if name.isdigit()]
        except OSError:
            return []
        found: list[int] = []
        self._resolve()
        for pid in pids:
            if pid in (self.me, self.root_pid) or pid in self.procs or pid in self.ignored:
                continue
            try:
                if self.root_sid is not None and os.getsid(pid) != self.root_sid:
                    continue  # left the session on purpose (a daemon): not ours
                fd_dir = f"/proc/{pid}/fd"
                if any(os.readlink(f"{fd_dir}/{fd}") == target for fd in os.listdir(fd_dir)):
                    found.append(pid)
            except OSError:  # gone, or another user's
                continue
        return found

    def _wait_gone(self, procs: list[Any], timeout: float) -> list[Any]:
        deadline = time.monotonic() + timeout
        alive = [p for p in procs if self._alive(p)]
        while alive and time.monotonic() < deadline:
            time.sleep(0.01)
            alive = [p for p in alive if self._alive(p)]
        return alive

    def _signal(self, procs: list[Any], sig: int) -> None:
        for proc in procs:
            try:  # noqa: SIM105 - contextlib is one import more for the tracker
                proc.send_signal(sig)
            except (self.psutil.Error, OSError):
                pass

    def terminate_descendants(self, *, grace: float = 0.0, started_only: bool = False) -> list[int]:
        """SIGTERM, then SIGKILL, every recorded descendant still alive.

        ``started_only``: only processes procstart started, and what they
        started (after a normal exit: a program may leave a ``subprocess``
        running on purpose).
        """
        victims = self._victims(started_only=started_only)
        if not started_only:  # after a normal exit: announced, or named with BYE
            known = {proc.pid for proc in victims}
            victims += [proc for proc in self._strays() if proc.pid not in known]
        if victims and grace:
            self.drain()
            victims = self._wait_gone(victims, grace)
        if not victims:
            return []
        import signal

        pids = sorted(proc.pid for proc in victims)
        self._log(f"SIGTERM {pids}")
        self._signal(victims, signal.SIGTERM)
        alive = self._wait_gone(victims, TERM_GRACE)
        self._log(f"still alive after SIGTERM: {[proc.pid for proc in alive]}")
        if alive:
            self._signal(alive, signal.SIGKILL)
            self._wait_gone(alive, KILL_WAIT)
        return pids

    # -- pipe -------------------------------------------------------------
    def drain(self) -> int:
        """Read and apply everything in the pipe now; the number of bytes read."""
        read = 0
        while not self.eof:
            try:
                data = os.read(self.fd, 65536)
            except BlockingIOError:
                return read
            except OSError as exc:
                if exc.errno == errno.EINTR:
                    continue
                self.eof = True
                return read
            if not data:
                self.eof = True
                return read
            read += len(data)
            self._record(data)
            self._note(self.state.feed(data))
            self._report_rejections()
            self.compact()
        return read

    def _report_rejections(self) -> None:
        """Say (once per reason, at most three times) that a malformed line was ignored."""
        state = self.state
        while self.reported_rejections < len(state.rejections):
            reason = state.rejections[self.reported_rejections]
            self.reported_rejections += 1
            self._say(
                f"{WARNING_PREFIX} ignored a malformed message on the tracker's pipe: {reason}"
            )

    # -- cleanup ----------------------------------------------------------
    def clean(self, keys: list[Key], *, why: str, terminated: list[int] | None = None) -> None:
        """Clean ``keys``, forget them, print one warning (if anything happened)."""
        from ._cleanup import cleanup

        cleaned: list[Key] = []
        failed: list[str] = []
        for key in keys:
            self.state.resources.pop(key, None)
            try:
                if cleanup(key[0], key[1], self.state.types):
                    cleaned.append(key)  # already gone (released elsewhere): not a leak
            except Exception as exc:  # noqa: BLE001 - reported, the others still run
                failed.append(f"{key[0]} {key[1]!r} ({type(exc).__name__}: {exc})")
        self._log(f"cleaned {len(cleaned)}, failed {len(failed)}")
        if not (cleaned or failed or terminated):
            return
        parts = [f"{WARNING_PREFIX} {why}"]
        if cleaned:
            parts.append(f"cleaned up {len(cleaned)} leaked resource(s): {_describe(cleaned)}")
        if failed:
            parts.append(f"could not clean {len(failed)}: {', '.join(failed[:LIST_AT_MOST])}")
        if terminated:
            listed = ", ".join(map(str, terminated[:LIST_AT_MOST]))
            parts.append(f"terminated {len(terminated)} orphaned process(es): {listed}")
        self._say("; ".join(parts))

    def _say(self, text: str) -> None:
        try:
            self.out.write(text + "\n")
            self.out.flush()
        except (OSError, ValueError):
            pass

    # -- main loop ----------------------------------------------------------
    def _watch_root(self) -> int | None:
        if self.root_seen is None:
            return None
        try:
            return os.pidfd_open(self.root_pid)  # type: ignore[attr-defined,no-any-return]
        except (AttributeError, OSError):
            return None

    def run(self) -> int:
        """Serve until the root dies (or the pipe ends); return the exit code.

        The pipe is read at most every :data:`DRAIN_EVERY` seconds, not when
        a line arrives: while children keep coming, a launch's write lands in
        the pipe and wakes nobody (on a busy machine, waking the tracker per
        child cost the parent its CPU slice). Only after a read found the
        pipe empty does a line wake it (:meth:`_sleep_while_quiet`). The
        root's death wakes it at once (pidfd); it then reads everything
        before acting. The first read comes after a full
        :data:`DRAIN_EVERY` or the root's death, never sooner: the root's
        quiet exit (``Client._quiet_exit``) counts on it.
        """
        pidfd = self.pidfd = self._watch_root()
        self._log(f"watching root {self.root_pid} ({'pidfd' if pidfd is not None else 'polling'})")
        self.log_modules("watch")
        poller = select.poll()  # the root's pidfd
        either = select.poll()  # the root's pidfd and the pipe
        either.register(self.fd, select.POLLIN)
        if pidfd is not None:
            poller.register(pidfd, select.POLLIN)
            either.register(pidfd, select.POLLIN)
        next_snapshot = 0.0
        root_dead = not self._root_alive()
        quiet = False  # the last read found the pipe empty
        while not root_dead and not self.eof:
            if quiet and pidfd is not None:
                root_dead = self._sleep_while_quiet(either, poller, pidfd, next_snapshot)
            elif poller.poll(DRAIN_EVERY * 1000):
                root_dead = True
            quiet = self.drain() == 0
            if pidfd is None:
                root_dead = not self._root_alive()
            now = time.monotonic()
            if not root_dead and now >= next_snapshot:
                self._keep_standby()
                self._snapshot()
                next_snapshot = now + SNAPSHOT_EVERY
        if not root_dead:
            root_dead = self._root_ends_after_eof(poller if pidfd is not None else None)
        if pidfd is not None:
            os.close(pidfd)
            self.pidfd = None
        self.drain()
        return self._after_root(root_dead)

    # -- the standby ----------------------------------------------------------
    def _keep_standby(self) -> None:
        """Make sure a standby waits to take over (:mod:`._journal_lock`).

        Forked after the first read of the pipe, not at start-up: a short
        program's tracker is ended before it reads (``Client._quiet_exit``),
        and a tracker that never read needs nobody to take over. A standby
        that died is replaced at the next snapshot. Without a journal there
        are no books to take over.
        """
        if self.journal is None or self.standby == 0:
            return
        if self.standby is not None:
            try:
                if os.waitpid(self.standby, os.WNOHANG)[0] == 0:
                    return  # still waiting
            except ChildProcessError:
                pass
            self._log(f"standby {self.standby} died")
        try:
            pid = os.fork()
        except OSError as exc:
            self.standby = 0
            self._say(
                f"{WARNING_PREFIX} no standby for the tracker ({exc}): if it dies, "
                "the root starts a new one at its next registration or exit"
            )
            return
        if pid == 0:  # pragma: no cover - the standby; measured by the takeover tests
            _stand_by(self)
        self.standby = pid
        self.ignored.add(pid)
        self._log(f"standby {pid} forked")

    def successor_ctime(self) -> float | None:
        """The root's start time for a tracker that takes over from this one.

        What this one found (on Linux the root sent none, and only its own
        child can read it safely); :data:`_NO_PROCESS` if the root was gone.
        """
        if not _PROC_STAT:
            return self.root_ctime
        return self.root_seen if self.root_seen is not None else _NO_PROCESS

    def _sleep_while_quiet(
        self, either: select.poll, root_only: select.poll, pidfd: int, next_snapshot: float
    ) -> bool:
        """The pipe was empty at the last read: sleep until a line, the root's death or a snapshot.

        An idle program's tracker then wakes only for the tree's snapshots
        (every :data:`SNAPSHOT_EVERY` seconds), not every :data:`DRAIN_EVERY`.
        A line wakes it, and it reads only once :data:`DRAIN_EVERY` has passed
        since the last read (waiting on the root alone meanwhile): a busy
        program's children keep writing without waking it per line, as
        before. ``either`` polls the root's ``pidfd`` and the pipe,
        ``root_only`` the pidfd alone. True if the root died.
        """
        last_read = time.monotonic()
        ready = either.poll(max(0.0, next_snapshot - last_read) * 1000)
        if any(fd == pidfd for fd, _ in ready):
            return True
        if not ready:
            return False  # a snapshot is due
        rest = last_read + DRAIN_EVERY - time.monotonic()
        return rest > 0 and bool(root_only.poll(rest * 1000))

    def _root_ends_after_eof(self, poller: select.poll | None) -> bool:
        """The pipe ended before the root was seen dead: wait (bounded) for its death.

        A process closes its files before its parent can see it exit, so a
        root that exits (or is killed) can leave EOF in the pipe while it
        still counts as running, for microseconds, or longer on a loaded
        machine. Judged at that instant, a normal exit would look like "every
        process closed the pipe" and a killed root's descendants would be left
        running. A root that closed the pipe on purpose and lives on is taken
        as alive after :data:`ROOT_EXIT_WAIT` seconds. True if the root died.
        """
        if poller is not None:  # only the root's pidfd is registered
            return bool(poller.poll(ROOT_EXIT_WAIT * 1000))
        deadline = time.monotonic() + ROOT_EXIT_WAIT
        while self._root_alive():
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.005)
        return True

    def _after_root(self, root_dead: bool) -> int:
        known = len(self.procs.keys() | self.pending.keys())
        self._log(f"root dead={root_dead} eof={self.eof}; {known} known processes")
        if self._nothing_to_do(root_dead):
            self._log("nothing to clean, no process to end: exit")
            return 0
        how = "exited" if self.state.root_exiting else "died"
        why = (
            f"parent process {self.root_pid} {how}"
            if root_dead
            else "all processes closed the pipe"
        )
        terminated: list[int] = []
        if root_dead and not self.state.root_exiting:
            # children the root started but had no time to announce: victims
            # or, with the option off, survivors that still hold references
            self._note(self._pipe_holders())
        if root_dead and self.die_with_parent:
            exiting = self.state.root_exiting
            terminated = self.terminate_descendants(
                grace=EXIT_GRACE if exiting else 0.0, started_only=exiting
            )
            self.drain()
        keys = (
            self.state.held_only_by(self._dead_check())
            if not self.eof
            else list(self.state.resources)
        )
        if self.state.root_exiting and any(kind in IPC_KINDS for kind, _ in keys):
            # a normal exit: the stdlib's tracker (which the top-level program
            # keeps) may hold the same names and cleans them now; let it go first
            time.sleep(STDLIB_FIRST)
        self.clean(keys, why=why, terminated=terminated)
        if self.die_with_parent and root_dead and not self.state.resources:
            return 0
        # survivors (option off) may still use and register resources
        while not self.eof:
            ready = select.select([self.fd], [], [], SNAPSHOT_EVERY)[0]
            if ready:
                self.drain()
            if not self.eof:
                orphaned = self.state.held_only_by(self._dead_check())
                if orphaned:
                    self.clean(orphaned, why="their last holder died")
        self.clean(list(self.state.resources), why="the last process using the tracker exited")
        return 0

    def _nothing_to_do(self, root_dead: bool) -> bool:
        """The root exited normally, nothing is registered, no child it started runs.

        Exactly when the full path below would clean nothing and terminate
        nobody (after a normal exit only processes procstart started are
        ended), decided without psutil or a scan of every process: the
        common end of a program, which waits for this process's exit to see
        its stderr closed.
        """
        state = self.state
        if not (root_dead and state.root_exiting and self.die_with_parent) or state.resources:
            return False
        for pid in state.started:
            alive = self._known_alive(pid)
            # not known any more: a snapshot forgot it dead (a running one is a stranger)
            if alive or (alive is None and _start_time(pid) is not None):
                return False
        return True

    def log_modules(self, where: str) -> None:
        """Debug: the modules this process has imported (tests check the start-up's)."""
        if self.debug:
            self._log(f"modules at {where}: {' '.join(sorted(sys.modules))}")

    def summary(self) -> None:
        """At exit: how many malformed messages were ignored in all, if more than listed."""
        rejected = self.state.rejected - self.rejected_before
        if rejected > len(self.state.rejections):
            self._say(f"{WARNING_PREFIX} ignored {rejected} malformed message(s) in all")


def _exit_after(work: Callable[[], int]) -> NoReturn:
    """Run ``work``, this process's whole job, and exit with its code (1 after a printed crash)."""
    code = 1
    try:
        code = work()
    except BaseException:  # noqa: BLE001 - a crash must be visible, then exit
        import traceback

        traceback.print_exc()
    finally:
        try:
            sys.stderr.flush()
        finally:
            os._exit(code)


def _books_to_take_over(journal: int) -> bool:
    """As a standby: wait for the journal's lock; False if its tracker ended normally.

    The kernel releases the lock when the tracker dies. A tracker that ended
    normally left :data:`_journal_lock.DONE` at the journal's end: nothing
    to take over.
    """
    _journal_lock.hold(journal, wait=True)
    return not _journal_lock.finished(journal)


def _stand_by(tracker: Tracker) -> NoReturn:
    """The forked standby: wait for ``tracker`` to end, then take over its books or exit.

    It holds the pipe and the journal but reads neither until it holds the
    journal's lock (:func:`_books_to_take_over`). Never returns.
    """
    journal = tracker.journal
    assert journal is not None

    def work() -> int:
        if tracker.pidfd is not None:
            os.close(tracker.pidfd)
        if not _books_to_take_over(journal):
            return 0
        return _serve(
            tracker.fd,
            tracker.root_pid,
            tracker.successor_ctime(),
            die_with_parent=tracker.die_with_parent,
            journal=journal,
            root_sid=tracker.root_sid,
            predecessor=tracker.me,
        )

    _exit_after(work)


def _serve(
    fd: int,
    root_pid: int,
    root_ctime: float | None,
    *,
    die_with_parent: bool,
    journal: int | None,
    root_sid: int | None,
    predecessor: int | None = None,
) -> int:
    """Be the tracker (this process holds the journal's lock): run, then mark the journal done.

    ``predecessor``: the tracker whose books this one takes over (``-1``:
    one this process waited for, pid unknown); it says so on stderr.
    """
    tracker = Tracker(
        fd,
        root_pid,
        root_ctime,
        die_with_parent=die_with_parent,
        journal=journal,
        root_sid=root_sid,
    )
    if predecessor is not None:
        which = f" {predecessor}" if predecessor > 0 else ""
        tracker._say(
            f"{WARNING_PREFIX} the tracker process{which} died; its standby (pid {tracker.me}) "
            "took over its books: every live process's resources are still tracked"
        )
    code = tracker.run()
    tracker.summary()
    tracker.log_modules("exit")
    if journal is not None:
        try:  # noqa: SIM105 - contextlib is one import more at the tracker's start
            os.pwrite(journal, _journal_lock.DONE, os.fstat(journal).st_size)
        except OSError:
            pass
    return code


def main(argv: list[str]) -> None:
    """``main([fd, root_pid, root_ctime, die_with_parent, journal, root_sid])``; never returns.

    The process holding the journal's lock is the tracker. The root's first
    tracker takes it at once; one the root starts while a standby takes
    over finds it held and waits as a standby itself (:mod:`._journal_lock`).
    """
    from ._signals import quiet_signals

    quiet_signals()
    fd, root_pid = int(argv[0]), int(argv[1])
    root_ctime = float(argv[2]) if argv[2] != "-" else None
    if root_ctime is None and _PROC_STAT and os.getppid() != root_pid:
        # the root sends no start time on Linux: Tracker reads it from /proc,
        # which names the root only while the root is our parent (it started
        # us). Reparented, the root has died and its pid may be a stranger's
        root_ctime = _NO_PROCESS
    die_with_parent = argv[3] == "1"
    journal = int(argv[4]) if len(argv) > 4 else None
    root_sid = int(argv[5]) if len(argv) > 5 else None
    os.set_inheritable(fd, False)
    if journal is not None:
        os.set_inheritable(journal, False)

    def work() -> int:
        predecessor = None
        if journal is not None:
            if _journal_lock.hold(journal, wait=False):
                _journal_lock.clear_done(journal)  # a tracker ended normally before: not the end
            elif _books_to_take_over(journal):  # a standby is taking over: wait as one
                predecessor = -1
            else:
                return 0
        return _serve(
            fd,
            root_pid,
            root_ctime,
            die_with_parent=die_with_parent,
            journal=journal,
            root_sid=root_sid,
            predecessor=predecessor,
        )

    _exit_after(work)
