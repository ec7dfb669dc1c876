"""Ownership: the tracker acts only for the tree procstart started.

- Loading the plugins patches nothing: the stdlib's own contexts keep the
  stdlib's tracker, and procstart's tracker does not start for them.
- Once procstart launched (the routing is armed, inherited by fork copies),
  the root and a stdlib fork child of it still report to the stdlib's
  tracker; only procstart's fork child reports to procstart's.
- A process procstart did not start (a stdlib child, a ``subprocess`` of a
  procstart child) never starts a tracker, even when it imports procstart
  and asks it to track something.
- ``python -X dev``: a fork child of a program with a fork server and a
  tracker prints no ``ResourceWarning`` (the stdlib prints none).
- ``SharedMemory(track=False)`` (Python 3.13+) is tracked by nobody.
"""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest

from .mixlib import SHM, clean_env, last_json, run_python, unique_prefix, wait_until

pytestmark = pytest.mark.timeout(180)

STDLIB_KEEPS_ITS_TRACKER = """
import json, multiprocessing
import procstart, procstart_tracker
from multiprocessing import resource_tracker

procstart.get_context()  # plugins loaded
lock = multiprocessing.get_context("spawn").Lock()
print(json.dumps({
    "register": resource_tracker.register.__module__,
    "unregister": resource_tracker.unregister.__module__,
    "stdlib tracker running": resource_tracker._resource_tracker._fd is not None,
    "procstart tracker": procstart_tracker.status()["tracker"],
}))
"""


def test_stdlib_contexts_keep_the_stdlib_tracker(tmp_path: Path) -> None:
    (tmp_path / "main.py").write_text(STDLIB_KEEPS_ITS_TRACKER)
    result = run_python(["main.py"], env=clean_env(), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert last_json(result.stdout) == {
        "register": "multiprocessing.resource_tracker",
        "unregister": "multiprocessing.resource_tracker",
        "stdlib tracker running": True,
        "procstart tracker": "not started",
    }


ARMED_BUT_INERT = """
import json, multiprocessing
import procstart
from multiprocessing import resource_tracker, shared_memory
from procstart_tracker._client import client


def where():
    shm = shared_memory.SharedMemory(create=True, size=16)
    seen = {
        "procstart tracker": ("shared_memory", shm._name) in client.mine,
        "stdlib tracker": resource_tracker._resource_tracker._fd is not None,
    }
    shm.close()
    shm.unlink()
    return seen


def child(queue):
    queue.put(where())


if __name__ == "__main__":
    ctx = procstart.get_context("fork")
    kid = ctx.Process(target=int)
    kid.start()
    kid.join()  # the tracker runs, the routing is armed in this process
    report = {"patched": resource_tracker.register.__module__}
    stdlib = multiprocessing.get_context("fork")
    for name, context in (("procstart fork", ctx), ("stdlib fork", stdlib)):
        queue = context.SimpleQueue()
        kid = context.Process(target=child, args=(queue,))
        kid.start()
        report[name] = queue.get()
        kid.join()
    report["root"] = where()
    print(json.dumps(report))
"""


def test_armed_routing_acts_only_in_procstart_children(tmp_path: Path) -> None:
    if sys.platform == "win32":
        pytest.skip("fork")
    (tmp_path / "main.py").write_text(ARMED_BUT_INERT)
    result = run_python(["main.py"], env=clean_env(), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert last_json(result.stdout) == {
        "patched": "procstart_tracker._stdlib_routing",
        "procstart fork": {"procstart tracker": True, "stdlib tracker": False},
        # as without procstart: the root ran no stdlib tracker yet, so its
        # stdlib fork child starts its own
        "stdlib fork": {"procstart tracker": False, "stdlib tracker": True},
        "root": {"procstart tracker": False, "stdlib tracker": True},
    }
    assert "leaked" not in result.stderr, result.stderr


UNMARKED_FORK_CHILDREN = """
import json, multiprocessing
import procstart
from multiprocessing import resource_tracker, shared_memory
from procstart_tracker._client import client


def where(queue, start_stdlib_child):
    if start_stdlib_child:  # starts a stdlib tracker of this child's own first
        kid = multiprocessing.get_context("spawn").Process(target=int)
        kid.start()
        kid.join()
    shm = shared_memory.SharedMemory(create=True, size=16)
    queue.put({
        "procstart tracker": ("shared_memory", shm._name) in client.mine,
        "stdlib tracker": resource_tracker._resource_tracker._fd is not None,
    })
    shm.close()
    shm.unlink()


if __name__ == "__main__":
    ctx = procstart.get_context("fork")
    kid = ctx.Process(target=int)
    kid.start()
    kid.join()  # the tracker runs: the next fork launches do not call its hook
    report = {}
    cases = (("plain", False), ("own stdlib tracker first", True), ("root runs one", False))
    for name, start_stdlib_child in cases:
        if name == "root runs one":
            resource_tracker.ensure_running()
        queue = ctx.SimpleQueue()
        kid = ctx.Process(target=where, args=(queue, start_stdlib_child))
        kid.start()
        report[name] = dict(queue.get(), marked="_procstart_tracker_route" in vars(kid))
        kid.join()
    print(json.dumps(report))
"""


def test_an_unmarked_fork_child_routes_as_its_parent_would_have_marked_it(
    tmp_path: Path,
) -> None:
    # a fork launch that does not call the tracker's hook (once_per_fork_parent)
    # leaves the routing mark out: the child decides from what it inherited,
    # before it can start a stdlib tracker of its own
    (tmp_path / "main.py").write_text(UNMARKED_FORK_CHILDREN)
    result = run_python(["main.py"], env=clean_env(), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert last_json(result.stdout) == {
        "plain": {"procstart tracker": True, "stdlib tracker": False, "marked": False},
        # its own stdlib tracker (for its stdlib spawn child) does not turn it
        # away: that tracker would unlink the segment when this child exits
        "own stdlib tracker first": {
            "procstart tracker": True,
            "stdlib tracker": True,
            "marked": False,
        },
        # one name, one tracker: the root's stdlib tracker, as a marked child
        "root runs one": {"procstart tracker": False, "stdlib tracker": True, "marked": False},
    }
    assert "leaked" not in result.stderr, result.stderr


NOT_STARTED_BY_PROCSTART = """
import json, multiprocessing, os, subprocess, sys, tempfile
import procstart
CTX = procstart.get_context()  # module level: stdlib spawn children load the plugins too


def probe():
    import procstart_tracker
    folder = tempfile.mkdtemp(prefix="pst-own-")
    took = procstart.register_resource("folder", folder)
    os.rmdir(folder)
    return {"took": took, "tracker": procstart_tracker.status()["tracker"]}


def stdlib_child(queue):
    queue.put(probe())


def procstart_child(queue):
    # a subprocess of a process procstart started: not started by procstart
    code = ("import json, __main__; from main import probe; print(json.dumps(probe()))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=os.path.dirname(os.path.abspath(__file__)), check=True)
    queue.put(json.loads(out.stdout))


if __name__ == "__main__":
    report = {}
    for method in ("fork", "spawn", "forkserver"):
        ctx = multiprocessing.get_context(method)
        queue = ctx.SimpleQueue()
        proc = ctx.Process(target=stdlib_child, args=(queue,))
        proc.start()
        report["stdlib " + method] = queue.get()
        proc.join()
    ctx = procstart.get_context("spawn")
    queue = ctx.SimpleQueue()
    proc = ctx.Process(target=procstart_child, args=(queue,))
    proc.start()
    report["subprocess of a procstart child"] = queue.get()
    proc.join()
    print(json.dumps(report))
"""


def test_a_process_procstart_did_not_start_never_starts_a_tracker(tmp_path: Path) -> None:
    (tmp_path / "main.py").write_text(NOT_STARTED_BY_PROCSTART)
    result = run_python(["main.py"], env=clean_env(), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    report = last_json(result.stdout)
    assert len(report) == 4
    for where, seen in report.items():
        assert seen == {"took": False, "tracker": "not started"}, where


DEV_MODE_FORK = """
import os, sys, tempfile
import procstart


def nothing():
    pass


if __name__ == "__main__":
    ctx = procstart.get_context(sys.argv[1])
    folder = tempfile.mkdtemp(prefix="pst-dev-")
    procstart.register_resource("folder", folder)  # the tracker runs
    proc = ctx.Process(target=nothing)
    proc.start()
    proc.join()
    pid = os.fork()
    if pid == 0:
        import gc
        gc.collect()
        sys.exit(0)  # an ordinary interpreter exit in the fork child
    os.waitpid(pid, 0)
    os.rmdir(folder)
    procstart.unregister_resource("folder", folder)
"""


@pytest.mark.parametrize("method", ["forkserver", "spawn", "fork"])
def test_dev_mode_fork_child_prints_no_resource_warning(tmp_path: Path, method: str) -> None:
    (tmp_path / "main.py").write_text(DEV_MODE_FORK)
    result = run_python(["-X", "dev", "main.py", method], env=clean_env(), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""


TRACK_FALSE = """
import json, sys
import procstart
from multiprocessing import shared_memory


def make(name):
    shm = shared_memory.SharedMemory(name, create=True, size=16, track=False)
    shm.close()


if __name__ == "__main__":
    ctx = procstart.get_context(sys.argv[1])
    proc = ctx.Process(target=make, args=(sys.argv[2],))
    proc.start()
    proc.join()
    print(json.dumps({"exitcode": proc.exitcode}))
"""


@pytest.mark.skipif(sys.version_info < (3, 13), reason="SharedMemory(track=False) is 3.13+")
@pytest.mark.parametrize("method", ["fork", "spawn"])
def test_track_false_is_left_alone(tmp_path: Path, method: str) -> None:
    name = unique_prefix("tf") + "seg"
    (tmp_path / "main.py").write_text(textwrap.dedent(TRACK_FALSE))
    try:
        result = run_python(["main.py", method, name], env=clean_env(), cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        assert last_json(result.stdout) == {"exitcode": 0}
        # nobody tracked it: it outlives the program, as with multiprocessing
        assert not wait_until(lambda: not (SHM / name).exists(), 1.5)
    finally:
        (SHM / name).unlink(missing_ok=True)
