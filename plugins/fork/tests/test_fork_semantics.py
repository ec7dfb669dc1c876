"""procstart-fork behaves like multiprocessing's fork on the running Python."""

from __future__ import annotations

import os
import signal
import sys
import time
from multiprocessing.connection import wait

import pytest
from tests.conftest import run_python

import procstart

ctx = procstart.get_context("fork")


def _exit_with(code: int) -> None:
    sys.exit(code)


def _raise() -> None:
    raise RuntimeError("boom in child")


def _sleep() -> None:
    time.sleep(60)


def _report(queue: procstart.Queue) -> None:  # type: ignore[valid-type]
    parent = procstart.parent_process()
    queue.put(
        (
            procstart.get_start_method(),
            parent.pid if parent else None,
            parent.is_alive() if parent else None,
            procstart.current_process().name,
        )
    )


@pytest.mark.parametrize(
    ("target", "args", "expected"),
    [
        (os.getpid, (), 0),
        (_exit_with, (3,), 3),
        (_exit_with, (0,), 0),
        (_raise, (), 1),
    ],
)
def test_exit_codes(target: object, args: tuple[object, ...], expected: int) -> None:
    proc = ctx.Process(target=target, args=args)
    proc.start()
    proc.join(30)
    assert proc.exitcode == expected


def test_exception_traceback_goes_to_stderr() -> None:
    result = run_python(
        """
        import procstart
        def boom():
            raise RuntimeError("boom in child")
        if __name__ == "__main__":
            p = procstart.get_context("fork").Process(target=boom)
            p.start(); p.join(30)
            print("exitcode", p.exitcode)
        """
    )
    assert "exitcode 1" in result.stdout
    assert "RuntimeError: boom in child" in result.stderr


@pytest.mark.parametrize(
    ("action", "sig"), [("terminate", signal.SIGTERM), ("kill", signal.SIGKILL)]
)
def test_signals_give_negative_exit_codes(action: str, sig: int) -> None:
    proc = ctx.Process(target=_sleep)
    proc.start()
    assert proc.is_alive()
    getattr(proc, action)()
    proc.join(30)
    assert proc.exitcode == -sig
    assert not proc.is_alive()


def test_sentinel_becomes_ready_when_child_exits_and_close_releases() -> None:
    proc = ctx.Process(target=_exit_with, args=(0,))
    proc.start()
    assert wait([proc.sentinel], timeout=30) == [proc.sentinel]
    proc.join(30)
    proc.close()
    with pytest.raises(ValueError, match="process object is closed"):
        proc.is_alive()


def test_child_sees_parent_method_and_name() -> None:
    queue = ctx.Queue()
    proc = ctx.Process(target=_report, args=(queue,), name="worker-7")
    proc.start()
    method, parent_pid, parent_alive, name = queue.get(timeout=30)
    proc.join(30)
    assert method == "fork"
    assert parent_pid == os.getpid()
    assert parent_alive is True
    assert name == "worker-7"
    assert proc.exitcode == 0


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
