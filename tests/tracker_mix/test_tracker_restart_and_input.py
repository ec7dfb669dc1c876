"""Restart keeps the books; bad input never blocks, loses or hides anything.

- The tracker SIGKILLed between two children that share a segment: the
  segment survives (the second child uses it), and is cleaned when the root
  dies; the first child's registration, made before the kill, is known to
  the new tracker.
- A burst of 10,000 registrations into a full pipe (the tracker stopped):
  the registering child does not block, says so once, and every one of them
  is cleaned when the root dies.
- Fork launches while the pipe is full: a parent other than the root
  queues its announcement of each child (not lost), the root writes
  nothing, no launch waits, and every child is ended when the root dies.
- A malformed line from a child: a clear warning, and the child's next
  registration still counts.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
from pathlib import Path
from typing import Any

import psutil
import pytest

from .mixlib import METHODS, SHM, clean_env, run_python, unique_prefix, wait_until

pytestmark = pytest.mark.timeout(240)

PRELUDE = """
import json, os, signal, sys, tempfile, time
import procstart, procstart_tracker
from multiprocessing import shared_memory

METHOD, OUT = sys.argv[1], sys.argv[2]


def report(info):
    with open(OUT + ".tmp", "w") as fh:
        json.dump(info, fh)
    os.replace(OUT + ".tmp", OUT)


def die():
    sys.stdout.flush(); sys.stderr.flush()
    os.kill(os.getpid(), signal.SIGKILL)
"""

KILLED_BETWEEN = """
def creator(name, conn):
    shm = shared_memory.SharedMemory(name, create=True, size=16)
    shm.buf[:5] = b"first"
    conn.send(os.getpid())
    conn.recv()  # hold it until the root dies (then die with it)


def user(name, conn):
    shm = shared_memory.SharedMemory(name)
    before = bytes(shm.buf[:5])
    shm.buf[:5] = b"again"
    shm.close()
    conn.send(before.decode())


if __name__ == "__main__":
    name = sys.argv[3]
    ctx = procstart.get_context(METHOD)
    ours, theirs = ctx.Pipe()
    first = ctx.Process(target=creator, args=(name, theirs))
    first.start()
    creator_pid = ours.recv()
    old = procstart_tracker.status()["pid"]
    os.kill(old, signal.SIGKILL)
    os.waitpid(old, 0)  # the tracker is this process's child
    second = ctx.Process(target=user, args=(name, theirs))  # the launch restarts it
    second.start()
    seen = ours.recv()
    second.join()
    report({"old": old, "new": procstart_tracker.status()["pid"], "seen": seen,
            "exists": os.path.exists("/dev/shm/" + name), "creator": creator_pid,
            "exitcode": second.exitcode})
    die()
"""


def run_root(tmp_path: Path, body: str, *args: str) -> tuple[dict[str, object], str]:
    (tmp_path / "root.py").write_text(PRELUDE + body)
    out = tmp_path / "out.json"
    result = run_python(["root.py", *args[:1], str(out), *args[1:]], env=clean_env(), cwd=tmp_path)
    assert result.returncode == -9, result.stderr
    return json.loads(out.read_text()), result.stderr


@pytest.mark.parametrize("method", METHODS)
def test_tracker_killed_between_two_children_sharing_a_segment(tmp_path: Path, method: str) -> None:
    name = unique_prefix("rs") + "seg"
    try:
        info, stderr = run_root(tmp_path, KILLED_BETWEEN, method, name)
        assert info["old"] != info["new"]
        assert (info["seen"], info["exists"], info["exitcode"]) == ("first", True, 0), stderr
        assert "took over its books" in stderr
        # the root is dead: the new tracker kills the creator and cleans the segment
        assert wait_until(lambda: not (SHM / name).exists(), 10), stderr
        assert wait_until(lambda: not psutil.pid_exists(int(str(info["creator"]))), 10)
    finally:
        (SHM / name).unlink(missing_ok=True)


#: a program body's helper: the standby ``tracker`` forked (after its first read)
STANDBY_OF = """
import psutil


def standby_of(tracker):
    deadline = time.monotonic() + 30  # forked after the tracker's first read of the pipe
    while not psutil.Process(tracker).children():
        assert time.monotonic() < deadline, "the tracker never forked a standby"
        time.sleep(0.01)
    return psutil.Process(tracker).children()[0].pid
"""

STANDBY = (
    STANDBY_OF
    + """
def leak(name):
    shm = shared_memory.SharedMemory(name, create=True, size=16)
    shm.close()  # nobody unlinks it: the tracker must, when the root dies


if __name__ == "__main__":
    ctx = procstart.get_context("fork")
    p = ctx.Process(target=int); p.start(); p.join()
    old = procstart_tracker.status()["pid"]
    standby = standby_of(old)
    os.kill(old, signal.SIGKILL)
    if sys.argv[3] == "reaped":
        os.waitpid(old, 0)  # the tracker is this process's child
    else:  # dead, not reaped: nothing in a fork launch looks
        deadline = time.monotonic() + 10
        while psutil.Process(old).status() != psutil.STATUS_ZOMBIE:
            assert time.monotonic() < deadline, "the killed tracker never died"
            time.sleep(0.01)
    p = ctx.Process(target=leak, args=(sys.argv[4],)); p.start(); p.join()
    # the standby took over: it forks a standby of its own after its first read
    # (waited for here, so that the root's look below cannot come first)
    next_standby = standby_of(standby)
    new = procstart_tracker.status()["pid"]
    report({"old": old, "standby": standby, "new": new, "exitcode": p.exitcode,
            "next standby": next_standby})
    die()
"""
)


@pytest.mark.parametrize("reaped", ["reaped", "zombie"])
def test_a_killed_tracker_is_replaced_by_its_standby(tmp_path: Path, reaped: str) -> None:
    # no fork launch checks the tracker: its standby, waiting on the journal's
    # lock, takes over the same pipe and books the moment the kernel frees it;
    # a fork child's registration made after the kill is cleaned at the root's death
    name = unique_prefix("sb") + "seg"
    try:
        info, stderr = run_root(tmp_path, STANDBY, "fork", reaped, name)
        assert info["exitcode"] == 0, stderr
        assert info["new"] == info["standby"] != info["old"], stderr
        assert (
            f"the tracker process {info['old']} died; its standby (pid {info['standby']}) "
            "took over its books"
        ) in stderr
        assert "started a new one" not in stderr  # the root started none
        assert info["next standby"] not in (info["old"], info["standby"])
        assert wait_until(lambda: not (SHM / name).exists(), 10), stderr
        assert wait_until(lambda: not psutil.pid_exists(int(str(info["new"]))), 10)
    finally:
        (SHM / name).unlink(missing_ok=True)


STANDBY_KILLED = """
import psutil


if __name__ == "__main__":
    ctx = procstart.get_context("fork")
    p = ctx.Process(target=int); p.start(); p.join()
    tracker = procstart_tracker.status()["pid"]
    found = []
    deadline = time.monotonic() + 30
    while len(found) < 2 and time.monotonic() < deadline:
        kids = [kid.pid for kid in psutil.Process(tracker).children()
                if kid.status() != psutil.STATUS_ZOMBIE]
        if kids and kids[0] not in found:
            found.append(kids[0])
            if len(found) == 1:
                os.kill(kids[0], signal.SIGKILL)  # the next snapshot forks another
        time.sleep(0.01)
    report({"standbys": found, "tracker": tracker})
"""


def run_root_to_end(
    tmp_path: Path, body: str
) -> tuple[dict[str, Any], subprocess.CompletedProcess[str]]:
    """Run ``body`` as a fork program that exits normally; its report and the finished run."""
    (tmp_path / "root.py").write_text(PRELUDE + body)
    out = tmp_path / "out.json"
    result = run_python(["root.py", "fork", str(out)], env=clean_env(), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    return json.loads(out.read_text()), result


def test_a_killed_standby_is_replaced(tmp_path: Path) -> None:
    info, result = run_root_to_end(tmp_path, STANDBY_KILLED)
    assert len(info["standbys"]) == 2, info
    assert "warning" not in result.stderr, result.stderr


ENDS_NORMALLY = (
    STANDBY_OF
    + """
if __name__ == "__main__":
    ctx = procstart.get_context("fork")
    p = ctx.Process(target=int); p.start(); p.join()
    tracker = procstart_tracker.status()["pid"]
    report({"tracker": tracker, "standby": standby_of(tracker)})
"""
)


def test_the_standby_ends_with_the_tracker_at_a_normal_exit(tmp_path: Path) -> None:
    # the tracker marks its journal done: the standby gets the lock, finds
    # the mark, and exits instead of taking over (nothing left running)
    info, result = run_root_to_end(tmp_path, ENDS_NORMALLY)
    # run_python read stderr to its end: every holder of it (the standby too) has closed it
    for pid in (info["tracker"], info["standby"]):
        assert wait_until(lambda pid=pid: not _running(pid), 10), pid
    assert "warning" not in result.stderr, result.stderr


DONE_THEN_RESTART = (
    STANDBY_OF
    + """
import psutil
from procstart_tracker._client import client


def gone(pid):
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


if __name__ == "__main__":
    first, second = sys.argv[3], sys.argv[4]
    os.mkdir(first)
    procstart.register_resource("folder", first)
    tracker = procstart_tracker.status()["pid"]
    standby = standby_of(tracker)
    os.close(client.fd)  # the program closes the pipe's only write end: the tracker ends
    os.waitpid(tracker, 0)  # (it is this process's child)
    deadline = time.monotonic() + 10  # its standby finds the journal done and exits
    while not gone(standby):
        assert time.monotonic() < deadline, "the standby did not end with the tracker"
        time.sleep(0.01)
    first_left = os.path.exists(first)
    os.mkdir(second)
    procstart.register_resource("folder", second)  # a new tracker on the same journal
    report({"tracker": tracker, "standby": standby, "first left": first_left,
            "new": procstart_tracker.status()["pid"]})
    die()
"""
)


def test_a_tracker_started_after_one_ended_normally_serves_the_same_root(
    tmp_path: Path,
) -> None:
    # the program closed the pipe: the tracker cleaned up, marked its journal
    # done and ended, and so did its standby. The root's next registration
    # starts a new tracker on the same journal, which finds the done mark: it
    # must serve all the same (one that took the mark for "nothing left to
    # do" and exited would leave the second folder behind the root's SIGKILL)
    first, second = tmp_path / "first", tmp_path / "second"
    info, stderr = run_root(tmp_path, DONE_THEN_RESTART, "fork", str(first), str(second))
    assert info["first left"] is False, stderr  # "all processes closed the pipe": cleaned
    assert info["new"] not in (info["tracker"], info["standby"]), info
    assert f"started a new one (pid {info['new']})" in stderr
    assert "took over its books" in stderr
    assert wait_until(lambda: not second.exists(), 10), stderr
    assert wait_until(lambda: not _running(int(str(info["new"]))), 10), stderr


def _running(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


FD_REUSED = """
from procstart_tracker._client import client


def leak(name):
    shm = shared_memory.SharedMemory(name, create=True, size=16)
    shm.close()  # nobody unlinks it: the tracker must, when the root dies


if __name__ == "__main__":
    name, other = sys.argv[3], sys.argv[4]
    ctx = procstart.get_context("fork")
    p = ctx.Process(target=int); p.start(); p.join()
    fd = client.fd
    os.close(fd)  # as a program that closes fds it does not own
    reused = os.open(other, os.O_WRONLY | os.O_CREAT | os.O_NONBLOCK)
    p = ctx.Process(target=leak, args=(name,)); p.start(); p.join()
    report({"fd": fd, "reused": reused, "exitcode": p.exitcode})
    die()
"""


def test_a_fork_child_whose_pipe_fd_was_reused_reaches_the_tracker_again(
    tmp_path: Path,
) -> None:
    # no fork launch checks the fd: the child, before its first message, sees
    # by the pipe's identity (not its number) that the fd is another file, and
    # opens the pipe again from the root's read end; nothing goes to the file
    name = unique_prefix("ru") + "seg"
    other = tmp_path / "other-file"
    try:
        info, stderr = run_root(tmp_path, FD_REUSED, "fork", name, str(other))
        assert info["reused"] == info["fd"]
        assert info["exitcode"] == 0, stderr
        assert other.read_bytes() == b""  # nothing of the tracker's went there
        assert wait_until(lambda: not (SHM / name).exists(), 10), stderr
    finally:
        (SHM / name).unlink(missing_ok=True)


BURST = """
def burst(folder, count, conn):
    start = time.monotonic()
    for i in range(count):
        procstart.register_resource("file", os.path.join(folder, str(i)))
    conn.send(time.monotonic() - start)
    conn.recv()  # the tracker reads again: let the queue drain, then exit


if __name__ == "__main__":
    count = int(sys.argv[3])
    folder = tempfile.mkdtemp(prefix="pst-burst-", dir=os.path.dirname(OUT))
    for i in range(count):
        open(os.path.join(folder, str(i)), "w").close()
    ctx = procstart.get_context(METHOD)
    procstart.register_resource("folder", folder + "-never")  # starts the tracker
    tracker = procstart_tracker.status()["pid"]
    os.kill(tracker, signal.SIGSTOP)  # the pipe fills up
    ours, theirs = ctx.Pipe()
    proc = ctx.Process(target=burst, args=(folder, count, theirs))
    proc.start()
    took = ours.recv()  # the child got through without the tracker reading
    os.kill(tracker, signal.SIGCONT)
    ours.send("go")
    proc.join(120)
    report({"folder": folder, "took": took, "exitcode": proc.exitcode, "tracker": tracker})
    die()
"""


@pytest.mark.parametrize("method", ["fork", "spawn"])
def test_burst_into_a_full_pipe_blocks_nothing_and_loses_nothing(
    tmp_path: Path, method: str
) -> None:
    count = 10_000
    info, stderr = run_root(tmp_path, BURST, method, str(count))
    assert info["exitcode"] == 0, stderr
    assert "the tracker's pipe is full" in stderr
    assert "were not sent" not in stderr
    folder = Path(str(info["folder"]))
    # every registration reached the tracker: the root's death removes all of them
    assert wait_until(lambda: not any(folder.iterdir()), 60), (
        f"{len(list(folder.iterdir()))} of {count} files left",
        stderr[-2000:],
    )
    warnings = [line for line in stderr.splitlines() if "cleaned up" in line]
    assert warnings and f"cleaned up {count} leaked" in warnings[0]
    folder.rmdir()


FORKS_INTO_A_FULL_PIPE = """
def sleeper():
    time.sleep(60)  # ended by the tracker when the root dies


def start_three():
    kids = [ctx.Process(target=sleeper) for _ in range(3)]
    start = time.monotonic()
    for kid in kids:
        kid.start()
    return kids, time.monotonic() - start


def middle(conn):
    # not the root: it announces its children, and a full pipe queues that
    kids, took = start_three()
    queued = [b"HELLO %d\\n" % kid.pid in client._pending for kid in kids]
    conn.send({"took": took, "queued": queued, "kids": [kid.pid for kid in kids]})
    conn.recv()  # the tracker reads again
    deadline = time.monotonic() + 30
    while client._pending and time.monotonic() < deadline:
        time.sleep(0.01)
    conn.send(len(client._pending))
    time.sleep(60)


if __name__ == "__main__":
    from procstart_tracker._client import client
    ctx = procstart.get_context("fork")
    first = ctx.Process(target=int)
    first.start()
    first.join()  # the tracker runs: later fork launches take the fast path
    tracker = procstart_tracker.status()["pid"]
    os.kill(tracker, signal.SIGSTOP)
    line = b"HELLO %d\\n" % os.getpid()  # as long as a child's (harmless: the root)
    try:
        while True:  # fill the pipe: a line that long no longer fits
            os.write(client.fd, line)
    except BlockingIOError:
        pass
    # the root announces nothing: nothing to write, nothing queued
    root_kids, root_took = start_three()
    ours, theirs = ctx.Pipe()
    mid = ctx.Process(target=middle, args=(theirs,))
    mid.start()
    info = ours.recv()
    root_pending = len(client._pending)
    os.kill(tracker, signal.SIGCONT)
    ours.send("go")
    info["left"] = ours.recv()
    info.update(root_took=root_took, root_pending=root_pending,
                others=[kid.pid for kid in root_kids] + [mid.pid])
    report(info)
    die()
"""


def test_fork_launches_into_a_full_pipe_never_wait_and_queue_their_announcements(
    tmp_path: Path,
) -> None:
    # a parent other than the root announces a fork child with one write
    # after the launch: a full pipe queues it (nothing blocks, nothing is
    # lost); the root writes nothing. Every child is ended when the root
    # dies, the root's own found by the pipe they hold
    info, stderr = run_root(tmp_path, FORKS_INTO_A_FULL_PIPE, "fork")
    kids = [int(pid) for pid in [*info["kids"], *info["others"]]]  # type: ignore[union-attr]
    try:
        assert info["queued"] == [True, True, True], stderr
        assert info["left"] == 0, stderr
        assert info["root_pending"] == 0, stderr
        assert float(info["took"]) < 10, info  # type: ignore[arg-type]
        assert float(info["root_took"]) < 10, info  # type: ignore[arg-type]
        assert wait_until(lambda: not any(psutil.pid_exists(pid) for pid in kids), 10), stderr
        assert "terminated 7 orphaned process(es)" in stderr, stderr
    finally:
        for pid in kids:
            with contextlib.suppress(psutil.Error):
                psutil.Process(pid).kill()


MALFORMED = """
def child(folder, conn):
    import procstart_tracker._client as c
    os.write(c.client.fd, b"GARBAGE no newline soon" + b"x" * 5000 + b"\\n")
    os.write(c.client.fd, b"REG notapid folder /tmp\\n")
    procstart.register_resource("folder", folder)
    conn.send("done")
    conn.recv()


if __name__ == "__main__":
    folder = tempfile.mkdtemp(prefix="pst-malformed-", dir=os.path.dirname(OUT))
    ctx = procstart.get_context(METHOD)
    ours, theirs = ctx.Pipe()
    proc = ctx.Process(target=child, args=(folder, theirs))
    proc.start()
    ours.recv()
    report({"folder": folder, "tracker": procstart_tracker.status()["pid"]})
    time.sleep(0.3)  # the tracker has read the lines
    die()
"""


@pytest.mark.parametrize("method", ["fork", "spawn"])
def test_malformed_line_warns_and_the_next_registration_counts(tmp_path: Path, method: str) -> None:
    # stderr is read to its end: the tracker (which shares it) has exited too
    info, stderr = run_root(tmp_path, MALFORMED, method)
    assert not Path(str(info["folder"])).exists(), stderr
    warning = "procstart-tracker: warning: ignored a malformed message on the tracker's pipe: "
    assert warning + "message longer than 4096 bytes" in stderr
    assert warning + "sender is not a pid: 'notapid'" in stderr
    cleaned = [line for line in stderr.splitlines() if "cleaned up" in line]
    assert len(cleaned) == 1 and str(info["folder"]) in cleaned[0], stderr
