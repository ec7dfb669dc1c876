"""Fault injection: children killed at bad moments, fds running out, children
that die before their target. Each outcome is the documented one (exit code,
``BrokenProcessPool``, ``OSError``), and nothing waits without a timeout.
"""

from __future__ import annotations

import errno
import multiprocessing
import os
import signal
import time
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

import pytest

import procstart
from tests.reliability import _targets
from tests.reliability.conftest import WAIT, last_json, run_parent


def _wait_for_file(path: Path, timeout: float = WAIT) -> int:
    """Poll (with a deadline) for a marker file holding a pid."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists():
            return int(path.read_text())
        time.sleep(0.01)
    raise AssertionError(f"{path} did not appear within {timeout} s")


def _still_works(ctx: procstart.ProcstartContext) -> None:
    """A later start under the same context succeeds with the right code."""
    proc = ctx.Process(target=_targets.exit_with, args=(7,))
    proc.start()
    proc.join(WAIT)
    assert proc.exitcode == 7
    proc.close()


# -- SIGKILL at bad moments ---------------------------------------------------


def test_child_killed_while_writing_to_a_queue(method: str) -> None:
    ctx = procstart.get_context(method)
    queue = ctx.Queue()
    proc = ctx.Process(target=_targets.flood_queue, args=(queue, 1 << 20))
    proc.start()
    # data on the pipe: the child's feeder thread is writing a 1 MiB message
    # that cannot fit in the pipe, so it is blocked in the middle of it
    assert queue._reader.poll(WAIT), "the child never wrote to the queue"
    os.kill(proc.pid, signal.SIGKILL)
    proc.join(WAIT)
    assert proc.exitcode == -signal.SIGKILL
    assert not proc.is_alive()
    # the half-written queue is corrupt, as the multiprocessing docs warn; the
    # parent's own end closes without waiting for anything
    queue.close()
    queue.join_thread()
    _still_works(ctx)


def test_child_killed_while_holding_a_lock(method: str) -> None:
    ctx = procstart.get_context(method)
    lock = ctx.Lock()
    held = ctx.Event()
    proc = ctx.Process(target=_targets.hold_lock, args=(lock, held))
    proc.start()
    assert held.wait(WAIT), "the child never took the lock"
    os.kill(proc.pid, signal.SIGKILL)
    proc.join(WAIT)
    assert proc.exitcode == -signal.SIGKILL
    # a SemLock is not robust (as in multiprocessing): it stays taken, and a
    # bounded acquire says so instead of hanging
    assert lock.acquire(timeout=0.2) is False
    _still_works(ctx)


def test_pool_worker_killed_mid_task(method: str, tmp_path: Path) -> None:
    ctx = procstart.get_context(method)
    marker = tmp_path / "running"
    with ctx.Pool(1) as pool:
        lost = pool.apply_async(_targets.mark_and_sleep, (str(marker),))
        victim = _wait_for_file(marker)
        os.kill(victim, signal.SIGKILL)
        # multiprocessing.Pool's documented behaviour: the task's result is
        # lost (get() with a timeout raises, it never hangs) and the pool
        # replaces the worker and goes on serving
        with pytest.raises(multiprocessing.TimeoutError):
            lost.get(timeout=1)
        assert pool.apply_async(_targets.square, (7,)).get(WAIT) == 49
        assert victim not in [worker.pid for worker in pool._pool]
        pool.terminate()
        pool.join()


def test_executor_worker_killed_mid_task(method: str, tmp_path: Path) -> None:
    ctx = procstart.get_context(method)
    marker = tmp_path / "running"
    executor = ProcessPoolExecutor(max_workers=1, mp_context=ctx)
    try:
        future = executor.submit(_targets.mark_and_sleep, str(marker))
        os.kill(_wait_for_file(marker), signal.SIGKILL)
        with pytest.raises(BrokenProcessPool):
            future.result(timeout=WAIT)
        with pytest.raises(BrokenProcessPool):
            executor.submit(_targets.square, 3)
    finally:
        executor.shutdown(wait=True, cancel_futures=True)
    with ProcessPoolExecutor(max_workers=1, mp_context=ctx) as fresh:
        assert fresh.submit(_targets.square, 5).result(timeout=WAIT) == 25


# -- running out of file descriptors -------------------------------------------

FD_EXHAUSTION = """
import errno, json, os, resource
import procstart
from tests.reliability import _targets

SOFT = 256

def open_fds():
    found = set()
    for fd in range(SOFT):
        try:
            os.fstat(fd)
        except OSError:
            continue
        found.add(fd)
    return found

def fill():
    fillers = []
    while True:
        try:
            fillers.append(os.open(os.devnull, os.O_RDONLY))
        except OSError as exc:
            assert exc.errno == errno.EMFILE, exc
            return fillers

ctx = procstart.get_context({method!r})
warm = ctx.Process(target=_targets.noop)   # lazily started helpers exist from here on
warm.start(); warm.join(60); assert warm.exitcode == 0; warm.close()

hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
resource.setrlimit(resource.RLIMIT_NOFILE, (SOFT, hard))
attempts = []
for free in range(0, 25):
    fillers = fill()
    for fd in fillers[len(fillers) - free:]:
        os.close(fd)
    del fillers[len(fillers) - free:]
    before = open_fds()
    proc = ctx.Process(target=_targets.exit_with, args=(5,))
    try:
        proc.start()
    except BaseException as exc:
        outcome = {{"raised": type(exc).__name__, "errno": getattr(exc, "errno", None),
                   "oserror": isinstance(exc, OSError), "text": str(exc)}}
    else:
        proc.join(60)
        outcome = {{"exitcode": proc.exitcode}}
        proc.close()
    after = open_fds()
    outcome.update(free=free, leaked=sorted(after - before), lost=sorted(before - after))
    attempts.append(outcome)
    for fd in fillers:
        os.close(fd)

later = ctx.Process(target=_targets.exit_with, args=(6,))
later.start(); later.join(60)
print(json.dumps({{"attempts": attempts, "later": later.exitcode,
                  "children": len(procstart.active_children())}}))
"""


def test_running_out_of_fds_is_a_clear_oserror_and_leaks_nothing(method: str) -> None:
    report = last_json(run_parent(FD_EXHAUSTION.format(method=method)))
    attempts = report["attempts"]
    failed = [a for a in attempts if "raised" in a]
    started = [a for a in attempts if "exitcode" in a]
    assert attempts[0] in failed, "a launch with no free fd at all must fail"
    assert started, f"no launch succeeded with up to 24 free fds: {attempts}"
    for attempt in failed:
        assert attempt["oserror"], attempt
        assert attempt["errno"] in (errno.EMFILE, errno.ENFILE), attempt
    for attempt in attempts:
        assert attempt["leaked"] == [], f"fds leaked by the launch: {attempt}"
        assert attempt["lost"] == [], f"fds of the parent closed by the launch: {attempt}"
        if "exitcode" in attempt:
            assert attempt["exitcode"] == 5, attempt
    assert report["later"] == 6
    assert report["children"] == 0


# -- children that die before their target runs -------------------------------------

BAD_EXECUTABLE = """
import json, procstart
from tests.reliability import _targets
procstart.set_executable({executable!r})
proc = procstart.get_context({method!r}).Process(target=_targets.noop)
try:
    proc.start()
except OSError as exc:
    print(json.dumps({{"raised": type(exc).__name__, "text": str(exc)}}))
else:
    proc.join(60)
    print(json.dumps({{"exitcode": proc.exitcode}}))
"""


def _bad_executable_outcome(method: str, executable: str) -> tuple[dict, str]:
    result = run_parent(BAD_EXECUTABLE.format(method=method, executable=executable))
    outcome = last_json(result)
    assert isinstance(outcome, dict)
    return outcome, result.stderr


def test_missing_executable_gives_nonzero_exit_and_stderr(exec_method: str) -> None:
    missing = "/nonexistent/reliability/python3"
    outcome, stderr = _bad_executable_outcome(exec_method, missing)
    if "raised" in outcome:  # an exec failure may also surface at start(), naming the program
        assert missing in outcome["text"], outcome
    else:
        assert outcome["exitcode"] not in (0, None), outcome
        assert missing in stderr, stderr


def test_executable_that_fails_before_the_target(exec_method: str, tmp_path: Path) -> None:
    fake = tmp_path / "broken-python"
    fake.write_text('#!/bin/sh\necho "broken interpreter refuses to start" >&2\nexit 3\n')
    fake.chmod(0o755)
    outcome, stderr = _bad_executable_outcome(exec_method, str(fake))
    if "raised" in outcome:  # a server-based method may fail to start its server
        assert "broken interpreter refuses to start" in outcome["text"] + stderr, outcome
    else:
        assert outcome["exitcode"] == 3, outcome
    assert "broken interpreter refuses to start" in stderr


MAIN_IMPORT_ERROR = """
import json, os, sys
if os.environ.get("RELIABILITY_PARENT", str(os.getpid())) != str(os.getpid()):
    raise ImportError("this __main__ refuses to be imported again (on purpose)")
os.environ["RELIABILITY_PARENT"] = str(os.getpid())
import multiprocessing
import procstart
from tests.reliability import _targets

if __name__ == "__main__":
    codes = {{}}
    for label, ctx in (("procstart", procstart.get_context({method!r})),
                       ("stdlib", multiprocessing.get_context({method!r}))):
        sys.stderr.write(f"=== {{label}}\\n"); sys.stderr.flush()
        proc = ctx.Process(target=_targets.noop)
        proc.start()
        proc.join(60)
        codes[label] = proc.exitcode
    print(json.dumps(codes))
"""


def test_main_import_error_in_child(exec_method: str, tmp_path: Path) -> None:
    result = run_parent(MAIN_IMPORT_ERROR.format(method=exec_method), script=tmp_path / "app.py")
    codes = last_json(result)
    assert codes["procstart"] not in (0, None)
    assert codes["procstart"] == codes["stdlib"], codes
    ours = result.stderr.split("=== stdlib")[0]
    assert "this __main__ refuses to be imported again (on purpose)" in ours, result.stderr


MISSING_PLUGIN = """
import json, os, shutil, sys
sys.path.insert(0, {folder!r})
import vanishing_plugin
import procstart
from tests.reliability import _targets

procstart.register_plugin(vanishing_plugin.Setup(), name="vanishing")
shutil.rmtree({folder!r})  # the child can no longer import the plugin
proc = procstart.get_context({method!r}).Process(target=_targets.noop)
proc.start()
proc.join(60)
print(json.dumps({{"exitcode": proc.exitcode}}))
"""

VANISHING_PLUGIN = """
import procstart

class Setup:
    @procstart.hookimpl
    def procstart_child_setup(self, info):
        pass
"""


def test_plugin_missing_in_the_child(exec_method: str, tmp_path: Path) -> None:
    folder = tmp_path / "plugins"
    folder.mkdir()
    (folder / "vanishing_plugin.py").write_text(VANISHING_PLUGIN)
    result = run_parent(MISSING_PLUGIN.format(method=exec_method, folder=str(folder)))
    outcome = last_json(result)
    assert outcome["exitcode"] not in (0, None), outcome
    assert "vanishing_plugin" in result.stderr, result.stderr
