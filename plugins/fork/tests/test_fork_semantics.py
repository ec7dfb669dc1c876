"""procstart-fork behaves like multiprocessing's fork on the running Python."""

from __future__ import annotations

import os
import sys
import time

import pytest
from tests.conftest import run_python

import procstart

ctx = procstart.get_context("fork")


def test_default_process_class_uses_the_resolved_default() -> None:
    result = run_python(
        """
        import procstart
        def f(q):
            q.put(procstart.get_start_method())
        if __name__ == "__main__":
            procstart.set_start_method("fork")
            q = procstart.Queue()
            p = procstart.Process(target=f, args=(q,))
            p.start(); print(q.get(timeout=30)); p.join(30)
            print(type(p).__name__, p.name.startswith("Process-"))
        """
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["fork", "Process", "True"]


def test_daemon_is_terminated_when_parent_exits_and_cannot_have_children() -> None:
    result = run_python(
        """
        import os, time, procstart
        ctx = procstart.get_context("fork")
        def nested():
            try:
                ctx.Process(target=os.getpid).start()
            except AssertionError as exc:
                print("refused:", exc, flush=True)
        def sleeper():
            time.sleep(60)
        if __name__ == "__main__":
            p = ctx.Process(target=nested, daemon=True); p.start(); p.join(30)
            d = ctx.Process(target=sleeper, daemon=True); d.start()
            print("daemon-pid", d.pid, flush=True)
        """
    )
    assert result.returncode == 0, result.stderr
    assert "refused: daemonic processes are not allowed to have children" in result.stdout
    pid = int(result.stdout.split("daemon-pid")[1].split()[0])
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.05)
    else:
        pytest.fail("daemonic child outlived its parent")


def test_atexit_handling_matches_running_python() -> None:
    result = run_python(
        """
        import atexit, procstart
        atexit.register(lambda: print("parent-handler", flush=True))
        def child():
            atexit.register(lambda: print("child-handler", flush=True))
        if __name__ == "__main__":
            p = procstart.get_context("fork").Process(target=child)
            p.start(); p.join(30)
            print("joined", flush=True)
        """
    )
    lines = result.stdout.split()
    # the parent's own handler runs once, at the parent's exit
    assert lines.count("parent-handler") == 1
    assert lines[-1] == "parent-handler"
    if sys.version_info >= (3, 13):
        assert "child-handler" in lines
    else:
        assert "child-handler" not in lines


@pytest.mark.skipif(sys.version_info < (3, 12), reason="the warning exists since 3.12")
def test_fork_with_threads_warns_on_312_plus() -> None:
    result = run_python(
        """
        import threading, time, warnings, procstart
        warnings.simplefilter("always")
        if __name__ == "__main__":
            t = threading.Thread(target=time.sleep, args=(2,)); t.start()
            p = procstart.get_context("fork").Process(target=int); p.start(); p.join(30)
            t.join()
        """
    )
    assert "DeprecationWarning" in result.stderr
    assert "multi-threaded, use of fork() may lead to deadlocks" in result.stderr


def test_context_contract() -> None:
    from multiprocessing.context import BaseContext
    from multiprocessing.process import BaseProcess

    assert isinstance(ctx, BaseContext)
    assert ctx.get_start_method() == "fork"
    assert issubclass(ctx.Process, BaseProcess)
    assert ctx.get_context() is ctx
    assert procstart.get_context("FORK ") is ctx
