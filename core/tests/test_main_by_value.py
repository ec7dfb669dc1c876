"""Objects from a ``__main__`` the child cannot import travel by value, everywhere.

Real parents run a script from a file, from ``python -c`` and from stdin;
their children are started with spawn, forkserver and fork. What cannot
travel fails in the parent with an error naming it, never a hang (each run
has a timeout).
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from tests.conftest import REPO

SCRIPT = """\
import sys
import threading
from concurrent.futures import ProcessPoolExecutor

import procstart as mp


def square(x):
    return x * x


def show(obj, out):
    out.put((type(obj).__name__, obj.value))


def call_from(inbox, out):
    out.put(inbox.get()(3))


if __name__ == "__main__":

    class Local:  # the child's re-import of a main script skips this block
        def __init__(self):
            self.value = 7

    def cube(x):  # defined only here too
        return x ** 3

    method = sys.argv[-1]
    ctx = mp.get_context(method)
    out = ctx.Queue()
    p = ctx.Process(target=show, args=(Local(), out))
    p.start()
    print("process-arg", *out.get(timeout=60))
    p.join(60)

    inbox = ctx.Queue()
    p = ctx.Process(target=call_from, args=(inbox, out))
    p.start()
    inbox.put(cube)
    print("queue-item", out.get(timeout=60))
    p.join(60)

    with ctx.Pool(2) as pool:
        print("pool-map", pool.map(square, range(5)), pool.map(cube, [2]))
        print("apply-async", pool.apply_async(cube, (4,)).get(60))
    with ProcessPoolExecutor(2, mp_context=ctx) as ex:
        print("executor", ex.submit(square, 7).result(60), ex.submit(cube, 5).result(60))

    if method != "fork":  # fork children inherit the lock: it need not travel
        lock = threading.Lock()

        def locked(x):
            with lock:
                return x

        with ctx.Pool(2) as pool:
            try:
                pool.map(locked, [1, 2])
            except Exception as exc:
                print("pool-error", type(exc).__name__, exc)
            print("pool-after-error", pool.apply_async(square, (3,)).get(60))
        with ProcessPoolExecutor(1, mp_context=ctx) as ex:
            try:
                ex.submit(locked, 1).result(60)
            except Exception as exc:
                print("executor-error", type(exc).__name__, exc)
            print("executor-after-error", ex.submit(square, 4).result(60))
"""

EXPECTED = [
    "process-arg Local 7",
    "queue-item 27",
    "pool-map [0, 1, 4, 9, 16] [8]",
    "apply-async 64",
    "executor 49 125",
]


def _run(how: str, method: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    script = tmp_path / "main_script.py"
    script.write_text(SCRIPT)
    command = {
        "file": [sys.executable, str(script), method],
        "-c": [sys.executable, "-c", SCRIPT, method],
        "stdin": [sys.executable, "-", method],
    }[how]
    return subprocess.run(
        command,
        input=SCRIPT if how == "stdin" else None,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=180,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO)},
        check=False,
    )


@pytest.mark.timeout(240)
@pytest.mark.parametrize("how", ["file", "-c", "stdin"])
@pytest.mark.parametrize("method", ["spawn", "forkserver", "fork"])
def test_main_objects_reach_children(how: str, method: str, tmp_path: Path) -> None:
    result = _run(how, method, tmp_path)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[: len(EXPECTED)] == EXPECTED, result.stderr
    if method == "fork":
        assert len(lines) == len(EXPECTED)
        return
    # what truly cannot travel fails in the parent, naming what it is, and the
    # pool / executor keep working
    rest = dict(line.split(" ", 1) for line in lines[len(EXPECTED) :])
    for key in ("pool-error", "executor-error"):
        assert rest[key].startswith(
            f"SerializationError cannot send a message to a child started with {method!r}: "
        ), rest[key]
        assert "_thread.lock" in rest[key]
        assert "function '__main__.locked' by value" in rest[key]
    assert rest["pool-after-error"] == "9"
    assert rest["executor-after-error"] == "16"
    assert "AttributeError" not in result.stderr


STDLIB_SCRIPT = """\
import multiprocessing, multiprocessing.queues
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
import procstart

def square(x):
    return x * x

ctx = multiprocessing.get_context("spawn")
print(type(ctx.SimpleQueue()) is multiprocessing.queues.SimpleQueue)
q = ctx.Queue()
p = ctx.Process(target=id, args=(q,))
p.start(); p.join(60)
print("put" in vars(q))
with ProcessPoolExecutor(1, mp_context=ctx) as ex:
    try:
        ex.submit(square, 2).result(60)
    except BrokenProcessPool:
        print("BrokenProcessPool")
"""


@pytest.mark.timeout(180)
def test_stdlib_contexts_in_the_same_program_are_untouched(tmp_path: Path) -> None:
    # the stdlib's spawn with a `python -c` function: its own failure, unchanged
    result = subprocess.run(
        [sys.executable, "-c", STDLIB_SCRIPT],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=150,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO)},
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["True", "False", "BrokenProcessPool"], result.stderr
    assert "AttributeError: Can't get attribute 'square'" in result.stderr


class _Refuses:
    def __reduce__(self) -> object:
        raise RuntimeError("refuses to be pickled")


def test_stdlib_errors_keep_their_type_and_gain_the_culprit() -> None:
    # what the stdlib raises stays catchable as that (here a RuntimeError),
    # and procstart's error names the argument
    import procstart
    from procstart import SerializationError

    p = procstart.get_context("spawn").Process(target=id, args=(_Refuses(),))
    with pytest.raises(RuntimeError, match="refuses to be pickled") as excinfo:
        p.start()
    assert isinstance(excinfo.value, SerializationError)
    assert re.fullmatch(
        r"cannot send argument 0 of type '[\w.]*_Refuses' to a child started with 'spawn': "
        r"refuses to be pickled",
        str(excinfo.value),
    ), str(excinfo.value)


@pytest.mark.skipif(sys.version_info < (3, 11), reason="the stdlib checks this since 3.11")
def test_a_fork_contexts_lock_sent_to_a_spawned_child_is_the_stdlibs_runtime_error() -> None:
    import multiprocessing

    import procstart
    from procstart import SerializationError

    queue = multiprocessing.get_context("fork").Queue()
    p = procstart.get_context("spawn").Process(target=id, args=(queue,))
    with pytest.raises(RuntimeError, match="A SemLock created in a fork context") as excinfo:
        p.start()
    assert isinstance(excinfo.value, SerializationError)
    assert str(excinfo.value).startswith(
        "cannot send argument 0 of type 'multiprocessing.queues.Queue' to a child started "
        "with 'spawn': "
    )
    queue.close()


REPL_SESSION = """\
import procstart as mp
from concurrent.futures import ProcessPoolExecutor
ctx = mp.get_context(METHOD)
pool = ctx.Pool(1)
ex = ProcessPoolExecutor(1, mp_context=ctx)
print("warm", ex.submit(abs, -1).result(60), pool.apply_async(abs, (-2,)).get(60))
def late(x): return x + 100

print("late", pool.map(late, [1]), ex.submit(late, 2).result(60))
pool.close(); pool.join(); ex.shutdown()
"""


@pytest.mark.timeout(180)
@pytest.mark.parametrize("method", ["spawn", "forkserver"])
def test_repl_functions_defined_after_the_workers_started(method: str, tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-i", "-q"],
        input=REPL_SESSION.replace("METHOD", repr(method)),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=150,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO)},
        check=False,
    )
    assert result.returncode == 0, result.stderr
    printed = [
        line.lstrip("> .") for line in result.stderr.splitlines() + result.stdout.splitlines()
    ]
    assert "warm 1 2" in printed, result.stdout + result.stderr
    assert "late [101] 102" in printed, result.stdout + result.stderr


def test_names_bound_only_under_the_main_guard() -> None:
    from procstart.serialization import _guarded_names

    source = b"""
import os
def top(): pass
class Top: pass
if __name__ == "__main__":
    class Local: pass
    def helper(): pass
    import json as js
    top = 1            # also bound at top level: the child has it
    for item in []: pass
    with open(os.devnull) as fh: pass
    def inner():
        hidden = 1     # another scope
else:
    other = 1          # runs on re-import
if "__main__" == __name__:
    reversed_guard = 1
if __name__ != "__main__":
    not_a_guard = 1
"""
    assert _guarded_names(source) == {
        "Local",
        "helper",
        "js",
        "item",
        "fh",
        "inner",
        "reversed_guard",
    }


def _touch(*queues: object) -> None:
    pass


@pytest.mark.timeout(120)
def test_only_queues_sent_to_procstart_exec_children_are_adopted() -> None:
    import multiprocessing

    import procstart
    from procstart._queues import _plain

    sent, kept = procstart.get_context("spawn").Queue(), procstart.get_context("spawn").Queue()
    stdlib_queue = multiprocessing.get_context("spawn").Queue()
    p = procstart.get_context("spawn").Process(target=_touch, args=(sent, stdlib_queue))
    p.start()
    p.join(60)
    assert p.exitcode == 0
    assert "put" in vars(sent) and "put" in vars(stdlib_queue)  # they reached a procstart child
    assert "put" not in vars(kept)
    # atoms and small tuples of atoms skip procstart's pickler (no cost)
    assert _plain(1) and _plain(("a", 2.0, None)) and not _plain((1, [2])) and not _plain(len)
    sent.put((1, "x"))
    sent.put(lambda: 5)
    assert sent.get(timeout=30) == (1, "x")
    assert sent.get(timeout=30)() == 5
    for q in (sent, kept, stdlib_queue):
        q.close()
