"""A parent with shared memory, a Lock and a folder, and a child with its own.

SIGKILLed: everything is gone within 1 s and one warning says what was
cleaned (the top-level program's own stdlib objects by the stdlib's tracker,
which it keeps; the rest by procstart's). Ending normally: no warning and
nothing left. For every installed start method.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from tracker_testlib import (
    DEADLINE,
    METHODS,
    alive,
    method_or_skip,
    record_timing,
    resource_paths,
    run_parent,
    shm_path,
    wait_until,
)

pytestmark = pytest.mark.timeout(90)

PARENT_AND_CHILD = """
def child(queue, mode):
    ctx = procstart.get_context(METHOD)
    made = make_resources(ctx, "child")
    stdlib_fd = resource_tracker._resource_tracker._fd
    queue.put(describe(*made) | {"pid": os.getpid(), "stdlib_tracker_fd": stdlib_fd})
    if mode == "kill":
        time.sleep(60)
    release(*made)


if __name__ == "__main__":
    import procstart_tracker

    ctx = procstart.get_context(METHOD)
    made = make_resources(ctx, "parent")
    queue = ctx.Queue()
    proc = ctx.Process(target=child, args=(queue, MODE))
    proc.start()
    child_info = queue.get(timeout=30)
    status = procstart_tracker.status()
    report({
        "parent": describe(*made) | {"pid": os.getpid()},
        "child": child_info,
        "tracker_pid": status.get("pid"),
        "status": status,
        "stdlib_tracker_fd": resource_tracker._resource_tracker._fd,
    })
    if MODE == "kill":
        die()
    proc.join(30)
    release(*made)
"""


@pytest.mark.parametrize("method", METHODS)
def test_sigkilled_parent_leaves_nothing(tmp_path: Path, method: str) -> None:
    method_or_skip(method)
    parent = run_parent(tmp_path, PARENT_AND_CHILD, method, "kill", expect_kill=True)
    info = parent.info
    paths = resource_paths(info["parent"]) + resource_paths(info["child"])
    child_pid = info["child"]["pid"]
    took = wait_until(lambda: not any(p.exists() for p in paths) and not alive(child_pid), DEADLINE)
    left = [str(p) for p in paths if p.exists()]
    assert took is not None, f"left after {DEADLINE} s: {left}, child alive: {alive(child_pid)}"
    record_timing(f"{method}: parent SIGKILL -> shm, lock, folders, child gone", took)
    warnings = parent.warnings()
    assert len(warnings) == 1, parent.stderr()
    # the top-level program keeps the stdlib's tracker, and its children share
    # it (their stdlib objects are gone above all the same); procstart's own
    # registrations are reported here
    assert info["parent"]["shm"] not in warnings[0]
    for entry in (info["parent"], info["child"]):
        assert entry["folder"] in warnings[0]
    assert info["stdlib_tracker_fd"] is not None, "the top-level program lost its stdlib tracker"
    assert info["status"]["tracker"] == "running"


@pytest.mark.parametrize("method", METHODS)
def test_clean_run_prints_nothing_and_leaves_nothing(tmp_path: Path, method: str) -> None:
    method_or_skip(method)
    parent = run_parent(tmp_path, PARENT_AND_CHILD, method, "clean", expect_kill=False)
    info = parent.info
    paths = resource_paths(info["parent"]) + resource_paths(info["child"])
    assert not [p for p in paths if p.exists()]
    assert parent.warnings() == [], parent.stderr()
    assert "Traceback" not in parent.stderr()
    assert "leaked" not in parent.stderr()  # neither tracker found anything to clean


REFCOUNT = """
def attach_and_leave(name):
    shm = SharedMemory(name=name)  # registers too (attach), as the stdlib does
    assert bytes(shm.buf[:5]) == b"hello"
    shm.close()


if __name__ == "__main__":
    ctx = procstart.get_context(METHOD)
    shm = SharedMemory(create=True, size=16)
    shm.buf[:5] = b"hello"
    proc = ctx.Process(target=attach_and_leave, args=(shm.name,))
    proc.start()
    proc.join(30)
    survived = os.path.exists("/dev/shm/" + shm._name.lstrip("/"))
    again = SharedMemory(name=shm.name)
    content = bytes(again.buf[:5])
    again.close()
    import procstart_tracker
    report({"exitcode": proc.exitcode, "survived": survived, "content": content.decode(),
            "shm": shm._name, "tracker_pid": procstart_tracker.status().get("pid")})
    shm.close()
    shm.unlink()
"""


@pytest.mark.parametrize("method", METHODS)
def test_segment_survives_the_attaching_process(tmp_path: Path, method: str) -> None:
    """gh-82300: a child that attached and exited must not take the segment along."""
    method_or_skip(method)
    parent = run_parent(tmp_path, REFCOUNT, method, "refcount", expect_kill=False)
    assert parent.info["exitcode"] == 0, parent.stderr()
    assert parent.info["survived"] is True
    assert parent.info["content"] == "hello"
    path = shm_path(parent.info["shm"])
    assert path is not None and not path.exists()
    assert parent.warnings() == [], parent.stderr()


#: the tracker and the standby it may have forked already (after its first
#: read): with neither left, the root itself starts a new tracker
KILL_WITH_STANDBY = """
import psutil


def kill_with_standby(tracker):
    os.kill(tracker, signal.SIGSTOP)  # it forks no standby from now on
    for kid in psutil.Process(tracker).children():
        kid.kill()
        kid.wait(10)
    os.kill(tracker, signal.SIGKILL)
    os.waitpid(tracker, 0)  # the tracker is this process's child
"""

RESTART = (
    KILL_WITH_STANDBY
    + """
if __name__ == "__main__":
    import procstart_tracker

    ctx = procstart.get_context(METHOD)
    before = tempfile.mkdtemp(prefix="pst-before-")
    procstart.register_resource("folder", before)
    first = procstart_tracker.status()["pid"]
    kill_with_standby(first)
    after = tempfile.mkdtemp(prefix="pst-after-")
    procstart.register_resource("folder", after)  # restarts it, with a warning
    shm = SharedMemory(create=True, size=16)
    second = procstart_tracker.status()["pid"]
    proc = ctx.Process(target=time.sleep, args=(60,))
    proc.start()
    report({"first": first, "tracker_pid": second, "before": before, "after": after,
            "shm": shm._name, "child": proc.pid})
    die()
"""
)


def test_killed_tracker_is_restarted_and_later_registrations_are_cleaned(tmp_path: Path) -> None:
    method_or_skip("fork")
    parent = run_parent(tmp_path, RESTART, "fork", "restart", expect_kill=True)
    info = parent.info
    assert info["first"] != info["tracker_pid"]
    paths = [Path(info["after"]), shm_path(info["shm"])]
    took = wait_until(
        lambda: not any(p.exists() for p in paths) and not alive(info["child"]), DEADLINE
    )
    assert took is not None, [str(p) for p in paths if p.exists()]
    record_timing("restarted tracker: parent SIGKILL -> later registrations gone", took)
    # what this process registered before the restart was replayed to the new tracker
    assert wait_until(lambda: not Path(info["before"]).exists(), DEADLINE) is not None
    err = parent.stderr()
    assert "TrackerWarning" in err and "died; started a new one" in err, err
    assert len(parent.warnings()) == 1, err


RESTART_ON_LAUNCH = (
    KILL_WITH_STANDBY
    + """
def child(queue):
    folder = tempfile.mkdtemp(prefix="pst-after-launch-")
    procstart.register_resource("folder", folder)
    queue.put({"folder": folder, "pid": os.getpid()})
    time.sleep(60)


if __name__ == "__main__":
    import procstart_tracker

    ctx = procstart.get_context(METHOD)
    procstart.register_resource("folder", tempfile.mkdtemp(prefix="pst-first-"))
    first = procstart_tracker.status()["pid"]
    kill_with_standby(first)
    queue = ctx.Queue()
    # a launch notices and restarts it (a fork launch does not look: the root's
    # next registration, status() below, or exit does)
    proc = ctx.Process(target=child, args=(queue,))
    proc.start()
    info = queue.get(timeout=30)
    report(info | {"first": first, "tracker_pid": procstart_tracker.status()["pid"]})
    die()
"""
)


@pytest.mark.parametrize("method", METHODS)
def test_a_launch_after_the_tracker_died_hands_children_a_new_one(
    tmp_path: Path, method: str
) -> None:
    method_or_skip(method)
    parent = run_parent(tmp_path, RESTART_ON_LAUNCH, method, "relaunch", expect_kill=True)
    info = parent.info
    assert info["first"] != info["tracker_pid"]
    folder, child = Path(info["folder"]), info["pid"]
    took = wait_until(lambda: not folder.exists() and not alive(child), DEADLINE)
    assert took is not None, (folder.exists(), alive(child))
    err = parent.stderr()
    assert err.count("died; started a new one") == 1, err
    assert len(parent.warnings()) == 1, err


KILLED_AT_ONCE = """
if __name__ == "__main__":
    import procstart_tracker

    folder = tempfile.mkdtemp(prefix="pst-at-once-")
    procstart.register_resource("folder", folder)  # starts the tracker, sends REG
    report({"folder": folder, "tracker_pid": procstart_tracker.status()["pid"]})
    die()  # before the tracker's interpreter is up: it finds no root to watch
"""


def test_a_root_killed_before_its_tracker_started_still_has_its_resources_cleaned(
    tmp_path: Path,
) -> None:
    # the root sends no start time on Linux: the tracker reads it while the
    # root is its parent, and a tracker whose parent is already someone else
    # (reparented: the root died) takes the root for gone
    parent = run_parent(tmp_path, KILLED_AT_ONCE, "fork", "at-once", expect_kill=True)
    folder = Path(parent.info["folder"])
    took = wait_until(lambda: not folder.exists(), DEADLINE)
    assert took is not None, parent.stderr()
    record_timing("root SIGKILLed as its tracker starts -> folder gone", took)
    warnings = parent.warnings()
    assert len(warnings) == 1 and str(folder) in warnings[0], parent.stderr()
    assert "parent process" in warnings[0] and "died" in warnings[0], warnings


def test_a_tracker_whose_parent_is_not_the_root_takes_the_root_for_gone(tmp_path: Path) -> None:
    # the guard against a reused pid now that the root sends no start time: a
    # tracker reads the root's while the root is its parent; here "the root"
    # is a live stranger (this test started the tracker), so the tracker must
    # act as after the root's death and clean at once what a dead process held
    from procstart_tracker import _client, _wire

    stranger = subprocess.Popen(["sleep", "60"])
    ended = subprocess.Popen(["true"])
    ended.wait()  # its pid names no process: what it registered is orphaned
    folder = tmp_path / "held-by-the-dead"
    folder.mkdir()
    read_fd, write_fd = os.pipe()
    journal = os.memfd_create("test-journal")
    os.write(write_fd, _wire.encode_message("REG", ended.pid, "folder", str(folder)))
    args = [
        sys.executable, "-S", "-c", _client._BOOT,
        str(_client.TRACKER_PIPE_FD), str(stranger.pid), "-",
        "0",  # children-die-with-parent off: this test process holds the pipe too
        str(_client.TRACKER_JOURNAL_FD), str(os.getsid(0)), "--", *sys.path,
    ]  # fmt: skip
    tracker = _client._spawn_tracker(args, read_fd, journal)
    os.close(read_fd)
    os.close(journal)
    try:
        took = wait_until(lambda: not folder.exists(), 10)
        assert took is not None, "the tracker took its parent's stranger for the root"
        assert alive(stranger.pid)
    finally:
        os.close(write_fd)  # end of file: the tracker exits
        stranger.kill()
        stranger.wait()
        _pid, status = os.waitpid(tracker, 0)
    assert os.waitstatus_to_exitcode(status) == 0
