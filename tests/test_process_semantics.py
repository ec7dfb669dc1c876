"""A child of every installed method behaves as multiprocessing's children do.

Exit codes, signals, the sentinel, ``close()``, and what the child knows
about itself and its parent, through procstart's ``procstart_context``
fixture (``--procstart-methods`` narrows the list). What only one method
does stays in that plugin's tests.
"""

from __future__ import annotations

import json
import os
import signal
from multiprocessing.connection import wait
from pathlib import Path
from typing import Any

import pytest

from tests import _method_targets as t
from tests.conftest import run_python, run_script

WAIT = 60.0


def _run(ctx: Any, target: Any, *args: Any) -> Any:
    proc = ctx.Process(target=target, args=args)
    proc.start()
    proc.join(WAIT)
    assert not proc.is_alive(), "child did not finish in time"
    return proc


@pytest.mark.parametrize(("code", "expected"), [(0, 0), (3, 3), (None, 0), ("bye", 1)])
def test_sys_exit_gives_the_exit_code(procstart_context: Any, code: object, expected: int) -> None:
    assert _run(procstart_context, t.exit_with, code).exitcode == expected


def test_returning_gives_0(procstart_context: Any) -> None:
    assert _run(procstart_context, t.noop).exitcode == 0


def test_an_exception_gives_1_and_its_traceback(start_method: str) -> None:
    # in a parent of its own: a fork server's children write to the stderr the
    # server got when it started (as the stdlib's do), not to this test's
    done = run_python(
        f"""
        import procstart
        def boom():
            raise ValueError("boom from the child")
        if __name__ == "__main__":
            p = procstart.get_context({start_method!r}).Process(target=boom)
            p.start(); p.join(60)
            print("exitcode", p.exitcode)
        """
    )
    assert done.returncode == 0, done.stderr
    assert "exitcode 1" in done.stdout
    assert "Traceback" in done.stderr
    assert "ValueError: boom from the child" in done.stderr


def test_killed_by_a_signal_gives_minus_the_signal(procstart_context: Any) -> None:
    assert _run(procstart_context, t.kill_self).exitcode == -signal.SIGKILL


@pytest.mark.parametrize(("stop", "sig"), [("terminate", signal.SIGTERM), ("kill", signal.SIGKILL)])
def test_terminate_and_kill(procstart_context: Any, stop: str, sig: int) -> None:
    proc = procstart_context.Process(target=t.sleep, args=(60,))
    proc.start()
    assert proc.is_alive()
    assert proc.join(0.05) is None and proc.exitcode is None
    getattr(proc, stop)()
    proc.join(WAIT)
    assert proc.exitcode == -sig
    assert not proc.is_alive()


def test_sentinel_is_ready_when_the_child_exits_and_close_releases(procstart_context: Any) -> None:
    proc = procstart_context.Process(target=t.exit_with, args=(0,))
    proc.start()
    assert wait([proc.sentinel], timeout=WAIT) == [proc.sentinel]
    proc.join(WAIT)
    proc.close()
    with pytest.raises(ValueError, match="process object is closed"):
        proc.is_alive()


def test_the_child_knows_its_method_name_and_parent(procstart_context: Any) -> None:
    queue = procstart_context.Queue()
    proc = procstart_context.Process(target=t.report, args=(queue,), name="worker-7", daemon=True)
    proc.start()
    facts = queue.get(timeout=WAIT)
    proc.join(WAIT)
    assert proc.exitcode == 0
    assert facts["start_method"] == procstart_context.get_start_method()
    assert facts["pid"] == proc.pid != os.getpid()
    assert facts["parent_pid"] == os.getpid()
    assert facts["parent_alive"] is True
    assert facts["name"] == "worker-7"
    assert facts["daemon"] is True
    assert facts["authkey"] == bytes(procstart_context.current_process().authkey)
    assert facts["cwd"] == os.getcwd()


AFTER_FORK_PROGRAM = """
import json, multiprocessing, sys
from multiprocessing import util
import procstart


class Thing:
    pass


def on_fork(thing):
    thing.forked += 1


def finalizer_ran():
    print("PARENT FINALIZER RAN IN", multiprocessing.current_process().name, flush=True)


def report(queue, thing):
    queue.put({
        "after_fork_ran": getattr(thing, "forked", None) if thing is not None else None,
        "finalizers_left": len(util._finalizer_registry),
    })


if __name__ == "__main__":
    method, register = sys.argv[1], sys.argv[2] == "register"
    thing = None
    if register:  # an object with an after-fork callback, as Lock and Queue make them
        thing = Thing()
        thing.forked = 0
        util.register_after_fork(thing, on_fork)
    # a parent finalizer that a child must never run (_exit_function runs
    # the remaining ones in a child that kept the parent's registry)
    util.Finalize(None, finalizer_ran, exitpriority=5)
    out = {}
    for name, ctx in (("procstart", procstart.get_context(method)),
                      ("stdlib", multiprocessing.get_context(method))):
        queue = ctx.SimpleQueue()
        proc = ctx.Process(target=report, args=(queue, thing if method == "fork" else None))
        proc.start()
        out[name] = queue.get()
        proc.join()
    print(json.dumps(out))
"""


@pytest.mark.timeout(120)
@pytest.mark.parametrize("register", ["register", "nothing"])
@pytest.mark.parametrize("method", ["fork", "forkserver", "spawn"])
def test_a_child_runs_after_fork_callbacks_and_drops_the_parents_finalizers_as_the_stdlibs_does(
    method: str, register: str, tmp_path: Path
) -> None:
    # procstart's Process._after_fork skips the stdlib's machinery when there
    # is nothing to run: with and without a callback registered, the child
    # must end up as the stdlib's child of the same method
    script = tmp_path / "main.py"
    script.write_text(AFTER_FORK_PROGRAM)
    done = run_script(script, method, register, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    result = json.loads(next(line for line in lines if line.startswith("{")))
    assert result["procstart"] == result["stdlib"]
    assert result["procstart"]["finalizers_left"] == 0
    if method == "fork":
        assert result["procstart"]["after_fork_ran"] == (1 if register == "register" else None)
    # only the parent ran its finalizer, once, at its exit
    assert [line for line in lines if "FINALIZER RAN" in line] == [
        "PARENT FINALIZER RAN IN MainProcess"
    ]
