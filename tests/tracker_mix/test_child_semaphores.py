"""Named semaphores a child makes: registered at once, unlinked by the child, as in the stdlib.

- A child that makes a named ``SemLock`` (any ``Lock``, ``Queue``... of a
  spawn or forkserver context) has ``multiprocessing.resource_tracker``
  loaded before ``sem_open`` runs, as the stdlib's spawn and forkserver
  children do. ``SemLock`` imports it between making the file and
  registering its name; loaded late, that import (about 1 ms) is a window in
  which a child terminated as it starts leaves the file in ``/dev/shm`` with
  no tracker knowing of it (CPython's suite, ``TestSyncManagerTypes.test_pool``,
  left one that way on procstart's side).
- A ``SIGTERM`` in what is left of that window (the register call) ends the
  child only once the name is registered: nothing is left once the root
  exits. The stdlib's child can leave the file there.
- A Lock that the re-imported main module of an exec'd child makes is
  unlinked when that child exits, and nothing warns: the stdlib's spawn child
  keeps the finalizers it made itself (``SpawnProcess._after_fork`` does
  nothing); procstart's dropped them, so the semaphore lived until the
  tracker cleaned it, with the stdlib tracker's "leaked semaphore objects"
  warning at the root's exit.

Each case runs a real program, procstart's side and the stdlib's, and asks
for the same result.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from .mixlib import SHM, clean_env, last_json, run_python, wait_until

pytestmark = [
    pytest.mark.timeout(180),
    pytest.mark.skipif(not SHM.is_dir(), reason="needs /dev/shm"),
]

#: put before a program: ``around_sem_open(callback)`` has every named semaphore
#: made after it call ``callback(semlock)`` once its file exists, before its
#: name is registered; it returns the real constructor (to put back)
AROUND_SEM_OPEN = """
def around_sem_open(callback):
    import _multiprocessing

    made = _multiprocessing.SemLock

    def watched(*args):
        semlock = made(*args)
        callback(semlock)
        return semlock

    watched._rebuild = made._rebuild
    watched.SEM_VALUE_MAX = made.SEM_VALUE_MAX
    _multiprocessing.SemLock = watched
    return made
"""

#: the program both sides run: argv = side, method, when synchronize is first imported
LOADED_AT_SEM_OPEN = (
    AROUND_SEM_OPEN
    + """
import json, sys
import multiprocessing
import procstart

SIDE, METHOD, FIRST_IMPORT = sys.argv[1:4]
if FIRST_IMPORT == "main":
    import multiprocessing.synchronize


def probe(conn):
    # what sys.modules holds at the moment the semaphore's file exists
    import _multiprocessing

    seen = {}
    made = around_sem_open(
        lambda semlock: seen.update(loaded="multiprocessing.resource_tracker" in sys.modules)
    )
    from multiprocessing import synchronize

    lock = synchronize.Lock(ctx=multiprocessing.get_context("spawn"))  # named: registered
    _multiprocessing.SemLock = made
    conn.send({"loaded at sem_open": seen.get("loaded"), "named": lock._semlock.name is not None})


if __name__ == "__main__":
    mine = SIDE == "procstart"
    ctx = procstart.get_context(METHOD) if mine else multiprocessing.get_context(METHOD)
    here, there = ctx.Pipe()
    proc = ctx.Process(target=probe, args=(there,))
    proc.start()
    got = here.recv() if here.poll(60) else None
    proc.join(60)
    print(json.dumps({"exitcode": proc.exitcode, **(got or {"nothing": True})}))
"""
)


@pytest.mark.parametrize("first_import", ["main", "target"])
@pytest.mark.parametrize("method", ["spawn", "forkserver"])
def test_a_child_has_the_tracker_module_loaded_before_its_first_semaphore_exists(
    tmp_path: Path, method: str, first_import: str
) -> None:
    # main: the main module imports synchronize (re-imported in a spawn
    # child, preloaded in a fork server); target: the child imports it first
    (tmp_path / "main.py").write_text(LOADED_AT_SEM_OPEN)
    results = {}
    for side in ("stdlib", "procstart"):
        result = run_python(["main.py", side, method, first_import], env=clean_env(), cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        results[side] = last_json(result.stdout)
    expected = {"exitcode": 0, "loaded at sem_open": True, "named": True}
    assert results == {"stdlib": expected, "procstart": expected}


#: argv = side, how the root talks to the child ("queue": the root runs a
#: stdlib tracker, its children report there; "pipe": it runs none, procstart's
#: children report to procstart's tracker)
MAIN_MODULE_LOCK = """
import json, os, sys
import multiprocessing
import procstart
from multiprocessing import synchronize

SIDE, CHANNEL = sys.argv[1:3]

if __name__ != "__main__":  # the child's re-imported main module
    LOCK = synchronize.Lock(ctx=multiprocessing.get_context("spawn"))


def report(channel):
    channel.put(LOCK._semlock.name) if CHANNEL == "queue" else channel.send(LOCK._semlock.name)


if __name__ == "__main__":
    mine = SIDE == "procstart"
    ctx = procstart.get_context("spawn") if mine else multiprocessing.get_context("spawn")
    if CHANNEL == "queue":
        here = there = ctx.SimpleQueue()
    else:
        here, there = ctx.Pipe()
    proc = ctx.Process(target=report, args=(there,))
    proc.start()
    name = here.get() if CHANNEL == "queue" else here.recv()
    proc.join(60)
    print(json.dumps({
        "exitcode": proc.exitcode,
        "left after the child exited": os.path.exists("/dev/shm/sem." + name.lstrip("/")),
    }))
"""


@pytest.mark.parametrize("channel", ["queue", "pipe"])
def test_a_lock_made_by_a_spawn_childs_main_module_is_unlinked_when_the_child_exits(
    tmp_path: Path, channel: str
) -> None:
    (tmp_path / "main.py").write_text(MAIN_MODULE_LOCK)
    results = {}
    for side in ("stdlib", "procstart"):
        result = run_python(["main.py", side, channel], env=clean_env(), cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        # the stdlib's tracker warns of "leaked semaphore objects" at the
        # root's exit if the child left its Lock to it; procstart's would warn too
        assert "leaked" not in result.stderr, (side, result.stderr)
        assert "warning" not in result.stderr.lower(), (side, result.stderr)
        results[side] = last_json(result.stdout)
    expected = {"exitcode": 0, "left after the child exited": False}
    assert results == {"stdlib": expected, "procstart": expected}, json.dumps(results)


#: argv = method, channel; the child's next named semaphore stays made but not
#: yet registered for 2 s (a slow moment put in by the test), and the root
#: SIGTERMs it then
TERMINATED_IN_THE_WINDOW = (
    AROUND_SEM_OPEN
    + """
import json, os, signal, sys, time
import multiprocessing
import procstart

METHOD, CHANNEL = sys.argv[1:3]


def make_a_lock_slowly(conn):
    # the file exists when the callback runs; the name is registered only
    # after its 2 s sleep
    around_sem_open(lambda semlock: (conn.send(semlock.name), time.sleep(2)))
    from multiprocessing import synchronize

    synchronize.Lock(ctx=multiprocessing.get_context("spawn"))
    conn.send("registered")
    time.sleep(60)


if __name__ == "__main__":
    ctx = procstart.get_context(METHOD)
    if CHANNEL == "queue":
        ctx.SimpleQueue()  # the root runs a stdlib tracker: children report there
    here, there = ctx.Pipe()
    proc = ctx.Process(target=make_a_lock_slowly, args=(there,))
    proc.start()
    name = here.recv() if here.poll(60) else None
    os.kill(proc.pid, signal.SIGTERM)
    proc.join(30)
    print(json.dumps({"name": name, "exitcode": proc.exitcode}))
"""
)


@pytest.mark.parametrize("channel", ["queue", "pipe"])
@pytest.mark.parametrize("method", ["spawn", "forkserver"])
def test_a_child_terminated_between_making_a_semaphore_and_registering_it_leaves_nothing(
    tmp_path: Path, method: str, channel: str
) -> None:
    # the stdlib's child dies at once and leaves the file to nobody; procstart's
    # holds the signal until the name is registered, and the tracker unlinks it
    (tmp_path / "main.py").write_text(TERMINATED_IN_THE_WINDOW)
    result = run_python(["main.py", method, channel], env=clean_env(), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    got = last_json(result.stdout)
    assert got["exitcode"] == -15, got
    assert got["name"], got
    path = SHM / f"sem.{got['name'].lstrip('/')}"
    try:
        # the tracker cleans once the root has exited (procstart's within 1 s)
        assert wait_until(lambda: not path.exists(), 10), f"{path.name} left in /dev/shm"
    finally:
        path.unlink(missing_ok=True)
