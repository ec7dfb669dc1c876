"""``procstart methods`` shows the tracker; without the plugin the stdlib is untouched."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from tracker_testlib import DEADLINE, METHODS, alive, method_or_skip, run_parent, wait_until

pytestmark = pytest.mark.timeout(90)


def _run(args: list[str], cwd: Path, env: dict[str, str] | None = None) -> str:
    full = {k: v for k, v in os.environ.items() if not k.startswith("PROCSTART_")}
    full.update(env or {})
    done = subprocess.run(
        [sys.executable, *args], cwd=cwd, env=full, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_methods_lists_the_tracker(tmp_path: Path) -> None:
    out = _run(["-m", "procstart", "methods"], tmp_path)
    assert "tracker: tracker=not started" in out
    data = json.loads(_run(["-m", "procstart", "methods", "--json"], tmp_path))
    assert data["status"]["tracker"]["tracker"] == "not started"
    assert data["status"]["tracker"]["children-die-with-parent"] is True


def test_status_after_a_launch_says_running(tmp_path: Path) -> None:
    method_or_skip("fork")
    out = _run(
        [
            "-c",
            textwrap.dedent(
                """
                import procstart, procstart_tracker
                p = procstart.get_context("fork").Process(target=int); p.start(); p.join()
                print(procstart_tracker.status())
                """
            ),
        ],
        tmp_path,
    )
    assert "'tracker': 'running'" in out and "'pid':" in out


def test_without_the_tracker_plugin_the_stdlib_tracker_is_used(tmp_path: Path) -> None:
    """With no tracker loaded, SharedMemory registers with the stdlib's tracker as usual."""
    method_or_skip("fork")
    code = """
        import procstart, procstart_fork
        from multiprocessing import resource_tracker
        from multiprocessing.shared_memory import SharedMemory
        procstart.register_plugin(procstart_fork)
        ctx = procstart.get_context("fork")
        assert not procstart._manager.plugins().has_tracker()
        assert procstart.register_resource("folder", "/tmp/x/y") is False
        shm = SharedMemory(create=True, size=8)
        print("stdlib tracker running:", resource_tracker._resource_tracker._fd is not None)
        print("patched:", resource_tracker.register.__module__)
        shm.close(); shm.unlink()
    """
    out = _run(
        ["-c", textwrap.dedent(code)], tmp_path, env={"PROCSTART_DISABLE_PLUGIN_AUTOLOAD": "1"}
    )
    assert "stdlib tracker running: True" in out
    assert "patched: multiprocessing.resource_tracker" in out


GRANDCHILD = """
def no_scanning():
    import importlib.metadata

    def refuse(*args, **kwargs):
        raise AssertionError("a child scanned entry points")

    importlib.metadata.entry_points = refuse


def grandchild(queue):
    no_scanning()
    folder = tempfile.mkdtemp(prefix="pst-grandchild-")
    procstart.register_resource("folder", folder)
    shm = SharedMemory(create=True, size=8)
    queue.put({"pid": os.getpid(), "folder": folder, "shm": shm._name})
    time.sleep(60)


def child(queue):
    no_scanning()
    proc = procstart.get_context(METHOD).Process(target=grandchild, args=(queue,))
    proc.start()
    proc.join()


if __name__ == "__main__":
    import procstart_tracker

    ctx = procstart.get_context(METHOD)
    queue = ctx.Queue()
    proc = ctx.Process(target=child, args=(queue,))
    proc.start()
    info = queue.get(timeout=30)
    report(info | {"child": proc.pid, "tracker_pid": procstart_tracker.status()["pid"]})
    die()
"""


@pytest.mark.parametrize("method", METHODS)
def test_grandchildren_report_to_the_same_tracker(tmp_path: Path, method: str) -> None:
    method_or_skip(method)
    parent = run_parent(tmp_path, GRANDCHILD, method, "grandchild", expect_kill=True)
    info = parent.info
    folder, shm = Path(info["folder"]), Path("/dev/shm") / info["shm"].lstrip("/")
    pids = [info["pid"], info["child"]]
    took = wait_until(
        lambda: not folder.exists() and not shm.exists() and not any(map(alive, pids)), DEADLINE
    )
    assert took is not None, (folder.exists(), shm.exists(), [alive(p) for p in pids])
    warnings = parent.warnings()
    assert len(warnings) == 1 and str(folder) in warnings[0], parent.stderr()
