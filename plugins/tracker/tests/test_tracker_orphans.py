"""Orphans: a SIGKILLed parent's children and pool workers die with it (unless told not to).

Also reference counting across the parent's death: with the option off, a
segment a surviving child still holds outlives the parent and is cleaned
when that child goes.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from tracker_testlib import (
    DEADLINE,
    METHODS,
    WARNING,
    alive,
    kill_all,
    method_or_skip,
    record_timing,
    run_parent,
    shm_path,
    wait_until,
)

pytestmark = pytest.mark.timeout(90)

ORPHANS = """
def hold(name):
    shm = SharedMemory(name=name)  # a reference held by this child
    time.sleep(120)


if __name__ == "__main__":
    from concurrent.futures import ProcessPoolExecutor

    import psutil
    import procstart_tracker

    ctx = procstart.get_context(METHOD)
    shm = SharedMemory(create=True, size=16)
    folder = tempfile.mkdtemp(prefix="pst-orphans-")
    procstart.register_resource("folder", folder)
    kids = [ctx.Process(target=busy, daemon=True), ctx.Process(target=busy, daemon=False)]
    kids.append(ctx.Process(target=hold, args=(shm.name,)))
    for kid in kids:
        kid.start()
    pool = ProcessPoolExecutor(max_workers=2, mp_context=ctx)
    pool.submit(os.getpid).result(timeout=60)
    futures = [pool.submit(busy) for _ in range(2)]
    tracker = procstart_tracker.status()["pid"]
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:  # both workers busy (or at least started)
        workers = [p for p in psutil.Process().children(recursive=True)
                   if p.pid not in (tracker, resource_tracker._resource_tracker._pid)]
        if len(workers) >= len(kids) + 2:
            break
        time.sleep(0.02)
    time.sleep(0.1)  # the holder attached
    stdlib_tracker = resource_tracker._resource_tracker._pid  # exits on its own
    report({
        "descendants": [p.pid for p in psutil.Process().children(recursive=True)
                        if p.pid not in (tracker, stdlib_tracker)],
        "holder": kids[2].pid,
        "tracker_pid": tracker,
        "option": procstart_tracker.status()["children-die-with-parent"],
        "shm": shm._name,
        "folder": folder,
    })
    die()
"""


@pytest.mark.parametrize("method", METHODS)
def test_children_and_pool_workers_die_with_the_parent(tmp_path: Path, method: str) -> None:
    method_or_skip(method)
    parent = run_parent(tmp_path, ORPHANS, method, "orphans", expect_kill=True)
    info = parent.info
    pids = info["descendants"]
    try:
        assert info["option"] is True
        assert len(pids) >= 5, pids  # 3 children + 2 workers (+ a fork server)
        took = wait_until(lambda: not any(alive(pid) for pid in pids), DEADLINE)
        assert took is not None, [pid for pid in pids if alive(pid)]
        record_timing(f"{method}: parent SIGKILL -> {len(pids)} descendants gone", took)
        gone = wait_until(
            lambda: not Path(info["folder"]).exists() and not shm_path(info["shm"]).exists(),  # type: ignore[union-attr]
            DEADLINE,
        )
        assert gone is not None
        warnings = parent.warnings()
        assert len(warnings) == 1, parent.stderr()
        assert "terminated" in warnings[0]
    finally:
        kill_all(pids)


@pytest.mark.parametrize("method", ["fork", "spawn"])
def test_option_off_children_survive_and_keep_what_they_use(tmp_path: Path, method: str) -> None:
    method_or_skip(method)
    (tmp_path / "pyproject.toml").write_text("[tool.procstart]\nchildren-die-with-parent = false\n")
    parent = run_parent(tmp_path, ORPHANS, method, "survivors", expect_kill=True)
    info = parent.info
    pids = info["descendants"]
    segment = shm_path(info["shm"])
    assert segment is not None
    try:
        assert info["option"] is False
        # the children live on, and so does what they (may) use: the dead
        # parent's references pass to its living descendants
        assert wait_until(lambda: not all(alive(pid) for pid in pids), DEADLINE) is None
        assert segment.exists() and Path(info["folder"]).exists()
        kill_all(pids)
        took = wait_until(
            lambda: not segment.exists() and not Path(info["folder"]).exists(), DEADLINE
        )
        assert took is not None, (segment.exists(), Path(info["folder"]).exists(), parent.stderr())
        record_timing(f"{method}, option off: survivors killed -> parent's resources gone", took)
    finally:
        kill_all(pids)
    warnings = parent.warnings(wait_for=pids)
    assert len(warnings) == 1, parent.stderr()
    assert "terminated" not in warnings[0]


LEAVES_A_SUBPROCESS = """
if __name__ == "__main__":
    import subprocess

    ctx = procstart.get_context(METHOD)
    kid = ctx.Process(target=os.getpid)
    kid.start()
    kid.join(30)  # the tracker is running and knows this program
    helper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    time.sleep(1.2)  # the tracker's tree snapshots (every 0.5 s) have seen the helper
    report({"helper": helper.pid, "kid": kid.pid})
"""


def test_normal_exit_leaves_a_subprocess_the_program_left_running(tmp_path: Path) -> None:
    """Only what procstart started dies at a normal exit; a plain subprocess lives on."""
    method_or_skip("fork")
    parent = run_parent(tmp_path, LEAVES_A_SUBPROCESS, "fork", "normal", expect_kill=False)
    helper = parent.info["helper"]
    try:
        # the tracker acts within the exit grace (0.3 s) + SIGTERM wait; give it 3x that
        assert wait_until(lambda: not alive(helper), 2.0) is None, "the subprocess was killed"
        assert WARNING not in parent.stderr()
    finally:
        kill_all([helper])


UNANNOUNCED = """
if __name__ == "__main__":
    import procstart_tracker

    ctx = procstart.get_context(METHOD)
    kid = ctx.Process(target=time.sleep, args=(60,))
    kid.start()  # announced by this parent, but the tracker may not have read it yet
    report({"kid": kid.pid, "tracker_pid": procstart_tracker.status()["pid"]})
    die()
"""


def test_a_child_killed_before_it_announced_itself_is_found(tmp_path: Path) -> None:
    """The root dies right after a spawn launch: terminated (announced, or found by its env)."""
    method_or_skip("spawn")
    parent = run_parent(tmp_path, UNANNOUNCED, "spawn", "unannounced", expect_kill=True)
    kid = parent.info["kid"]
    try:
        assert wait_until(lambda: not alive(kid), DEADLINE) is not None, parent.stderr()
    finally:
        kill_all([kid])
    warnings = parent.warnings()
    assert len(warnings) == 1 and str(kid) in warnings[0], parent.stderr()


NEVER_ANNOUNCED_FORK = """
if __name__ == "__main__":
    import procstart_tracker

    ctx = procstart.get_context(METHOD)
    kid = ctx.Process(target=os.getpid)
    kid.start()
    kid.join(30)  # the tracker is running
    r, w = os.pipe()
    # what a parent killed between fork() and its HELLO leaves: a fork copy
    # holding the tracker's pipe that nobody announced; forked twice, so it is
    # reparented at once and no tree snapshot of this process can see it
    middle = os.fork()
    if middle == 0:
        if os.fork() == 0:
            os.write(w, str(os.getpid()).encode())
            time.sleep(60)
        os._exit(0)
    os.waitpid(middle, 0)
    stray = int(os.read(r, 64))
    report({"stray": stray, "tracker_pid": procstart_tracker.status()["pid"]})
    die()
"""


def test_a_fork_copy_never_announced_is_found_by_the_pipe_it_holds(tmp_path: Path) -> None:
    """The window between fork() and the parent's HELLO is closed: found, terminated."""
    method_or_skip("fork")
    if not os.path.isdir("/proc/self/fd"):
        pytest.skip("the tracker looks for unannounced pipe holders in /proc (Linux)")
    parent = run_parent(tmp_path, NEVER_ANNOUNCED_FORK, "fork", "never-announced", expect_kill=True)
    stray = parent.info["stray"]
    try:
        assert wait_until(lambda: not alive(stray), DEADLINE) is not None, parent.stderr()
    finally:
        kill_all([stray])
    warnings = parent.warnings()
    assert len(warnings) == 1 and str(stray) in warnings[0], parent.stderr()
