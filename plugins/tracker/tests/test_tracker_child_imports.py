"""Every child pays for what the tracker's child side imports: keep it light.

A child imports only the module defining ``procstart_child_setup``
(``procstart_tracker._child``), never the plugin module (pluggy) nor the
parser (dataclasses, urllib); the stdlib bridge patches
``multiprocessing.resource_tracker`` only once something imports it (it
costs ``multiprocessing.spawn`` and ``runpy``). A real spawn child that
makes a ``SharedMemory`` this light way is still cleaned when it and its
parent are SIGKILLed.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest
from tests.conftest import run_python
from tracker_testlib import DEADLINE, WARNING, alive, kill_all, method_or_skip, shm_path, wait_until

pytestmark = pytest.mark.timeout(90)

#: what the child side must not import (each is milliseconds per child)
HEAVY = (
    "pluggy",
    "dataclasses",
    "typing",
    "json",
    "urllib.parse",
    "subprocess",
    "psutil",
    "multiprocessing.resource_tracker",
    "multiprocessing.spawn",
    "runpy",
    "procstart_tracker._plugin",
    "procstart_tracker._protocol",
)


#: in a real spawn child: ``subprocess`` comes with ``multiprocessing.util``
#: anyway and ``typing`` with procstart's own ``ChildInfo`` module
REAL_CHILD_HEAVY = tuple(m for m in HEAVY if m not in ("subprocess", "typing"))


def _python(code: str, cwd: Path) -> str:
    done = run_python(code, cwd=cwd)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_child_setup_module_imports_nothing_heavy(tmp_path: Path) -> None:
    out = _python(
        f"""
        import sys
        import procstart_tracker._child
        print(sorted(m for m in {HEAVY!r} if m in sys.modules))
        """,
        tmp_path,
    )
    assert out.strip() == "[]"


def test_the_package_is_light_and_its_names_resolve_lazily(tmp_path: Path) -> None:
    out = _python(
        f"""
        import sys
        import procstart_tracker
        print(sorted(m for m in {HEAVY!r} if m in sys.modules))
        print(procstart_tracker.HANDLE_KEY, procstart_tracker.TrackerWarning.__name__)
        print(procstart_tracker.procstart_child_setup.__module__)
        print(sorted(procstart_tracker.status()))
        """,
        tmp_path,
    )
    lines = out.splitlines()
    assert lines[0] == "[]"
    assert lines[1] == "procstart.tracker TrackerWarning"
    assert lines[2] == "procstart_tracker._child"
    assert "tracker" in lines[3]


def test_the_plugin_sends_children_a_reference_to_the_light_module(tmp_path: Path) -> None:
    out = _python(
        """
        import procstart, procstart._manager
        plugins = procstart._manager.plugins()
        print([ref for ref in plugins.child_setup_refs() if "tracker" in str(ref)])
        """,
        tmp_path,
    )
    assert out.strip() == "['procstart_tracker._child:procstart_child_setup']"


def test_bridge_patches_resource_tracker_when_it_is_first_imported(tmp_path: Path) -> None:
    out = _python(
        """
        import sys
        from procstart_tracker import _stdlib_routing

        NAME = "multiprocessing.resource_tracker"
        got = []
        _stdlib_routing.install(lambda *a: got.append(("reg", *a)),
                               lambda *a: got.append(("unreg", *a)))
        assert NAME not in sys.modules, "install() imported the module"
        assert _stdlib_routing.installed()
        from multiprocessing import resource_tracker
        assert resource_tracker.register.__module__ == "procstart_tracker._stdlib_routing"
        assert not [f for f in sys.meta_path if type(f).__name__ == "_AfterImport"]
        resource_tracker.register("/psm_x", "shared_memory")
        resource_tracker.unregister("/psm_x", "shared_memory")
        _stdlib_routing.install(lambda *a: None, lambda *a: None)  # idempotent
        _stdlib_routing.uninstall()
        assert resource_tracker.register.__module__ == NAME
        print(got)
        """,
        tmp_path,
    )
    expected = [("reg", "shared_memory", "/psm_x"), ("unreg", "shared_memory", "/psm_x")]
    assert out.strip() == repr(expected)


def test_bridge_survives_a_find_spec_without_import(tmp_path: Path) -> None:
    """``importlib.util.find_spec`` alone must not use the lazy patch up."""
    out = _python(
        """
        import importlib.util
        from procstart_tracker import _stdlib_routing

        _stdlib_routing.install(lambda *a: None, lambda *a: None)
        assert importlib.util.find_spec("multiprocessing.resource_tracker") is not None
        from multiprocessing import resource_tracker
        print(resource_tracker.register.__module__)
        """,
        tmp_path,
    )
    assert out.strip() == "procstart_tracker._stdlib_routing"


def test_bridge_uninstalled_before_the_import_patches_nothing(tmp_path: Path) -> None:
    out = _python(
        """
        import sys
        from procstart_tracker import _stdlib_routing

        _stdlib_routing.install(lambda *a: None, lambda *a: None)
        _stdlib_routing.uninstall()
        assert not _stdlib_routing.installed()
        from multiprocessing import resource_tracker
        print(resource_tracker.register.__module__, len(sys.meta_path))
        """,
        tmp_path,
    )
    assert out.split()[0] == "multiprocessing.resource_tracker"


LIGHT_CHILD = """
import os, signal, sys, time  # the child runs this too: nothing heavy
import procstart

WATCH = {heavy!r}


def child(out):
    before = sorted(m for m in WATCH if m in sys.modules)
    from multiprocessing.shared_memory import SharedMemory  # imports resource_tracker

    shm = SharedMemory(create=True, size=64)
    from multiprocessing import resource_tracker

    info = {{
        "pid": os.getpid(),
        "shm": shm._name,
        "before": before,
        "after": sorted(m for m in WATCH if m in sys.modules),
        "patched_by": resource_tracker.register.__module__,
        "stdlib_tracker_fd": resource_tracker._resource_tracker._fd,
    }}
    with open(out + ".tmp", "w") as fh:
        fh.write(repr(info))
    os.replace(out + ".tmp", out)
    time.sleep(60)


if __name__ == "__main__":
    import procstart_tracker

    out = sys.argv[1]
    proc = procstart.get_context("spawn").Process(target=child, args=(out + ".child",))
    proc.start()
    deadline = time.monotonic() + 30
    while not os.path.exists(out + ".child") and time.monotonic() < deadline:
        time.sleep(0.01)
    with open(out, "w") as fh:
        fh.write(repr({{"tracker_pid": procstart_tracker.status().get("pid")}}))
    sys.stdout.flush()
    sys.stderr.flush()
    os.kill(os.getpid(), signal.SIGKILL)
"""


def test_light_spawn_child_registers_shared_memory_and_is_cleaned(tmp_path: Path) -> None:
    """No pluggy in the child, even to register; SIGKILL of all: the segment goes."""
    method_or_skip("spawn")
    script = tmp_path / "parent_light.py"
    script.write_text(LIGHT_CHILD.format(heavy=REAL_CHILD_HEAVY))
    out, err = tmp_path / "out.json", tmp_path / "err.txt"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROCSTART_")}
    with err.open("wb") as stderr:
        proc = subprocess.run(
            [sys.executable, str(script), str(out)],
            cwd=tmp_path,
            env=env,
            stderr=stderr,
            timeout=60,
        )
    child_file = Path(str(out) + ".child")
    assert child_file.exists(), err.read_text(errors="replace")
    child = ast.literal_eval(child_file.read_text())
    parent = ast.literal_eval(out.read_text()) if out.exists() else {}
    try:
        assert proc.returncode == -9, err.read_text(errors="replace")
        # the child side loaded none of it; registering loaded no pluggy either
        assert child["before"] == []
        assert "pluggy" not in child["after"] and "procstart_tracker._plugin" not in child["after"]
        assert child["patched_by"] == "procstart_tracker._stdlib_routing"
        assert child["stdlib_tracker_fd"] is None, "the child started the stdlib's tracker"
        segment = shm_path(child["shm"])
        assert segment is not None
        took = wait_until(lambda: not segment.exists() and not alive(child["pid"]), DEADLINE)
        assert took is not None, (segment.exists(), alive(child["pid"]))
        tracker = parent.get("tracker_pid")
        if tracker:
            wait_until(lambda: not alive(tracker), 10)
        stderr = err.read_text(errors="replace")
        warnings = [line for line in stderr.splitlines() if WARNING in line]
        assert len(warnings) == 1 and child["shm"] in warnings[0], stderr
    finally:
        kill_all([child["pid"]])


FORK_CHILD_DOES_NOTHING = """
import json, os, time
import procstart
from procstart import _settings
from procstart_tracker._client import client


def look(queue):
    queue.put({
        # the parent's client, as fork copied it: no tracker code ran here
        "client untouched": client._pid != os.getpid(),
        # no launch plan was entered (ForkedChild.enter sets this)
        "plan entered": _settings.settings.inherited is not None,
        "root token inherited": os.environ.get("PROCSTART_TRACKER_ROOT", "").split(":")[0],
    })


def middle(queue):
    kid = ctx.Process(target=look, args=(queue,))
    kid.start()
    kid.join(30)
    queue.put(kid.pid)


if __name__ == "__main__":
    ctx = procstart.get_context("fork")
    queue = ctx.SimpleQueue()
    mid = ctx.Process(target=middle, args=(queue,))
    mid.start()
    seen = queue.get()
    grandchild = queue.get()
    mid.join(30)
    # its parent (not the root) announced the grandchild; the root announced
    # nothing (the tracker finds its children by the pipe they hold). The
    # tracker journals every byte it reads, in the order written
    line = b"HELLO %d\\n" % grandchild
    deadline = time.monotonic() + 10
    while line not in os.pread(client.journal_fd, 1 << 20, 0) and time.monotonic() < deadline:
        time.sleep(0.05)
    journal = os.pread(client.journal_fd, 1 << 20, 0)
    seen["announced by its parent"] = line in journal
    seen["root announced"] = b"HELLO %d\\n" % mid.pid in journal
    seen["root"] = str(os.getpid())
    print(json.dumps(seen))
"""


@pytest.mark.skipif(sys.platform != "linux", reason="elsewhere the root announces its children")
def test_a_fork_child_does_no_tracker_work_and_its_parent_announces_it(tmp_path: Path) -> None:
    """Nothing of the tracker runs in a fork child; a parent other than the root announces it."""
    method_or_skip("fork")
    import json

    seen = json.loads(_python(FORK_CHILD_DOES_NOTHING, tmp_path).strip().splitlines()[-1])
    assert seen == {
        "client untouched": True,
        "plan entered": False,
        "root token inherited": seen["root"],
        "announced by its parent": True,
        "root announced": False,
        "root": seen["root"],
    }
