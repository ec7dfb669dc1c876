"""Preloading: modules imported once in the server, failures reported, __main__."""

from __future__ import annotations

import os
import sys
import textwrap
from pathlib import Path
from typing import Any

import fs_targets as t
import pytest
from fs_helpers import WAIT, run_parent, start_join


def _probe(ctx: Any, module: str) -> tuple[bool, int, int]:
    queue = ctx.Queue()
    start_join(ctx, t.preload_probe, queue, module)
    result: tuple[bool, int, int] = queue.get(timeout=WAIT)
    return result


def test_preloaded_module_is_not_imported_again(ctx: Any, fresh_server: Any) -> None:
    server = fresh_server(["fs_preload_probe"])
    was_there, imported_in, child_pid = _probe(ctx, "fs_preload_probe")
    assert was_there, "the child had to import the preloaded module itself"
    assert imported_in == server.pid != child_pid
    assert server.preloaded == ["fs_preload_probe"]


def test_without_preload_the_child_imports_it(ctx: Any, fresh_server: Any) -> None:
    fresh_server([])
    was_there, imported_in, child_pid = _probe(ctx, "fs_preload_probe")
    assert not was_there
    assert imported_in == child_pid


def test_preload_failure_is_a_warning_naming_module_and_error(ctx: Any, fresh_server: Any) -> None:
    from procstart_forkserver import PreloadWarning

    fresh_server(["fs_preload_broken", "no_such_module_for_procstart", "fs_preload_probe"])
    with pytest.warns(PreloadWarning) as record:
        assert start_join(ctx, t.noop).exitcode == 0
    messages = sorted(str(w.message) for w in record)
    assert messages == [
        "procstart forkserver could not preload 'fs_preload_broken': "
        "RuntimeError: broken on purpose",
        "procstart forkserver could not preload 'no_such_module_for_procstart': "
        "ModuleNotFoundError: No module named 'no_such_module_for_procstart'",
    ]
    # the others were preloaded all the same
    assert _probe(ctx, "fs_preload_probe")[0]


def test_server_info_shows_pid_and_preloads(ctx: Any, fresh_server: Any) -> None:
    import procstart_forkserver
    from procstart_forkserver import PreloadWarning

    assert procstart_forkserver.server_info()["server"] == "not started"
    server = fresh_server(["fs_preload_probe", "fs_preload_broken"])
    with pytest.warns(PreloadWarning) as record:
        start_join(ctx, t.noop)
    assert record[0].filename == __file__.replace("test_preload", "fs_helpers")
    info = procstart_forkserver.server_info()
    assert info == {
        "server": "running",
        "pid": server.pid,
        "preloaded": "fs_preload_probe",
        "preload failed": "fs_preload_broken",
    }


MAIN_SCRIPT = """
import os, sys
import procstart

with open(os.environ["RUNS_FILE"], "a") as fh:
    fh.write(f"{os.getpid()} {__name__}\\n")
MARK = os.getpid()


def where(queue):
    queue.put((sys.modules["__main__"].MARK, os.getpid()))


if __name__ == "__main__":
    preload = sys.argv[1:] if len(sys.argv) > 1 and sys.argv[1] != "default" else None
    if preload == ["none"]:
        preload = []
    if preload is not None:
        procstart.set_forkserver_preload(preload)
    ctx = procstart.get_context("forkserver")
    queue = ctx.Queue()
    for _ in range(3):
        p = ctx.Process(target=where, args=(queue,))
        p.start(); p.join(60)
        assert p.exitcode == 0, p.exitcode
        print(*queue.get(timeout=60))
    import procstart_forkserver
    print("server", procstart_forkserver.server_info()["pid"])
"""


@pytest.mark.parametrize("preload", ["default", "__main__", "none"])
def test_main_preload(tmp_path: Path, preload: str) -> None:
    script = tmp_path / "app.py"
    script.write_text(MAIN_SCRIPT)
    runs = tmp_path / "runs.txt"
    os.environ["RUNS_FILE"] = str(runs)
    try:
        done = run_parent("", script=script, cwd=tmp_path) if preload == "default" else None
        if done is None:
            import subprocess
            import sys

            done = subprocess.run(
                [sys.executable, str(script), preload],
                cwd=tmp_path,
                capture_output=True,
                text=True,
                timeout=WAIT,
                check=False,
            )
    finally:
        del os.environ["RUNS_FILE"]
    assert done.returncode == 0, done.stderr
    lines = done.stdout.split("\n")
    server_pid = int(lines[3].split()[1])
    marks = [tuple(map(int, line.split())) for line in lines[:3]]
    imports = runs.read_text().splitlines()
    if preload == "none":
        # spawn-like: every child re-runs the main module itself
        assert all(mark == child for mark, child in marks)
        assert len(imports) == 1 + 3
    else:
        # the server imported it once as __mp_main__; children share that
        assert all(mark == server_pid for mark, _ in marks)
        assert imports[1:] == [f"{server_pid} __mp_main__"]


def test_preload_from_pyproject(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    (tmp_path / "pyproject.toml").write_text(
        '[tool.procstart]\nforkserver-preload = ["fs_preload_probe"]\n'
    )
    code = textwrap.dedent(
        """
        import procstart, fs_targets as t
        ctx = procstart.get_context("forkserver")
        q = ctx.Queue()
        p = ctx.Process(target=t.preload_probe, args=(q, "fs_preload_probe")); p.start(); p.join(60)
        import procstart_forkserver
        was_there, imported_in, child = q.get(timeout=60)
        print(was_there, imported_in == procstart_forkserver.server_info()["pid"])
        """
    )
    done = run_parent(code, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["True", "True"]


def test_bad_preload_config_names_file_and_key(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    (tmp_path / "pyproject.toml").write_text('[tool.procstart]\nforkserver-preload = "numpy"\n')
    code = """
        import procstart
        p = procstart.get_context("forkserver").Process(target=print)
        try:
            p.start()
        except procstart.ConfigError as exc:
            print(exc)
    """
    done = run_parent(code, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    expected = (
        f"{tmp_path / 'pyproject.toml'}: 'tool.procstart.forkserver-preload' must be an "
        "array of strings, got 'numpy'"
    )
    assert expected in done.stdout


def test_preload_that_kills_the_server_is_a_clear_error(ctx: Any, fresh_server: Any) -> None:
    from procstart_forkserver import ServerDiedWarning

    fresh_server(["fs_preload_crash"])
    proc = ctx.Process(target=t.noop)
    with pytest.warns(ServerDiedWarning), pytest.raises(OSError) as info:
        proc.start()
    message = str(info.value)
    assert "exited with code 3 before it could fork" in message
    assert "preload=['fs_preload_crash']" in message


FAILING_MAIN = """
import os, sys
if os.environ.setdefault("FS_APP_PARENT", str(os.getpid())) != str(os.getpid()):
    raise ImportError("this main module refuses to be imported again")
import procstart, fs_targets as t

if __name__ == "__main__":
    p = procstart.get_context("forkserver").Process(target=t.noop)
    p.start(); p.join(60)
    print(p.exitcode)
"""


def test_main_that_fails_to_preload_fails_in_the_child_too(tmp_path: Path) -> None:
    """No half-run __main__ stays in the server: the child re-imports it and fails."""
    script = tmp_path / "app.py"
    script.write_text(FAILING_MAIN)
    done = run_parent("", script=script, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["1"]
    assert "could not preload '__main__': ImportError: this main module refuses" in done.stderr


WARM_CHILD = """
import sys, time
import procstart, procstart_forkserver, fs_targets as t
procstart.register_plugin(procstart_forkserver, name="forkserver")
procstart.set_forkserver_preload(["fs_targets"])  # the targets' module, as an app would
ctx = procstart.get_context("forkserver")
for _ in range(3):
    p = ctx.Process(target=t.noop); p.start(); p.join(60)
time.sleep(0.5)  # the server imports the Queue/Event machinery when idle
q = ctx.Queue()
sys.stderr.write("=== begin\\n"); sys.stderr.flush()
p = ctx.Process(target=t.put, args=(q, "x")); p.start(); p.join(60)
sys.stderr.write("=== end\\n"); sys.stderr.flush()
print(p.exitcode, q.get(timeout=60))
"""


def _imports_around_markers(program: str) -> tuple[str, str, str]:
    """Run ``program`` with import timing on; its stdout, and its import lines
    before ``=== begin`` and between ``=== begin`` and ``=== end``."""
    import subprocess
    import sys

    from fs_helpers import HERE

    env = {k: v for k, v in os.environ.items() if not k.startswith("PROCSTART_")}
    env.update(
        PYTHONPATH=str(HERE), PYTHONPROFILEIMPORTTIME="1", PROCSTART_DISABLE_PLUGIN_AUTOLOAD="1"
    )
    done = subprocess.run(
        [sys.executable, "-c", program],
        capture_output=True,
        text=True,
        env=env,
        timeout=WAIT,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    before, _, rest = done.stderr.partition("=== begin\n")
    return done.stdout, before, rest.split("=== end\n")[0]


def test_a_warm_child_imports_nothing() -> None:
    """Everything a child with a Queue needs is already in the server."""
    stdout, _before, between = _imports_around_markers(WARM_CHILD)
    assert stdout.split() == ["0", "x"]
    assert "import time:" not in between, between


BY_VALUE_CHILD = """
import sys, time
import procstart, procstart_forkserver
procstart.register_plugin(procstart_forkserver, name="forkserver")
procstart.set_forkserver_preload([])
ctx = procstart.get_context("forkserver")
for _ in range(2):
    p = ctx.Process(target=lambda: None); p.start(); p.join(60)
time.sleep(0.5)  # the server imports cloudpickle when idle
sys.stderr.write("=== begin\\n"); sys.stderr.flush()
p = ctx.Process(target=lambda: sys.exit(7)); p.start(); p.join(60)
sys.stderr.write("=== end\\n"); sys.stderr.flush()
print(p.exitcode)
"""


def test_the_server_holds_cloudpickle_after_a_by_value_child() -> None:
    """Targets by value: only the first child imports cloudpickle, later ones find it."""
    stdout, before, between = _imports_around_markers(BY_VALUE_CHILD)
    assert stdout.split() == ["7"]
    assert "| cloudpickle" in before  # the parent and the first child import it
    assert "import time:" not in between, between


def test_a_child_finds_the_servers_objects_frozen(ctx: Any, fresh_server: Any) -> None:
    """Even the first child: its collector never writes to the server's objects."""
    fresh_server([])
    queue = ctx.Queue()
    assert start_join(ctx, t.freeze_count, queue).exitcode == 0
    assert queue.get(timeout=WAIT) > 1000


def _server_maps(pid: int) -> str:
    with open(f"/proc/{pid}/maps", encoding="utf-8") as fh:
        return fh.read()


def test_the_server_imports_nothing_while_a_child_lives(ctx: Any, fresh_server: Any) -> None:
    """Idle imports wait for no child to be alive: a page the server writes
    while a child lives becomes the child's private memory. ``_ctypes``
    (multiprocessing.synchronize needs it) shows in the server's maps once
    they ran."""
    import time

    server = fresh_server([])
    assert start_join(ctx, t.noop).exitcode == 0
    sleeper = ctx.Process(target=t.sleep, args=(0.6,))
    sleeper.start()
    time.sleep(0.4)  # the server had time to import, had it not waited
    assert "_ctypes" not in _server_maps(server.pid)
    sleeper.join(WAIT)
    assert sleeper.exitcode == 0
    deadline = time.monotonic() + WAIT
    while "_ctypes" not in _server_maps(server.pid):
        assert time.monotonic() < deadline, "the idle imports never ran"
        time.sleep(0.05)


PIPE_CHILD = """
import sys, time
import procstart, procstart_forkserver, fs_targets as t
procstart.register_plugin(procstart_forkserver, name="forkserver")
procstart.set_forkserver_preload(["fs_targets"])
ctx = procstart.get_context("forkserver")
p = ctx.Process(target=t.sleep, args=(0.5,)); p.start()  # a child lives: no idle imports
a, b = ctx.Pipe()
sys.stderr.write("=== begin\\n"); sys.stderr.flush()
q = ctx.Process(target=t.send, args=(b, "x")); q.start(); q.join(60)
sys.stderr.write("=== middle\\n"); sys.stderr.flush()
r = ctx.Process(target=t.noop); r.start(); r.join(60)
sys.stderr.write("=== end\\n"); sys.stderr.flush()
p.join(60)
print(p.exitcode, q.exitcode, r.exitcode, a.recv())
"""


def test_a_child_with_a_pipe_end_finds_connection_imported() -> None:
    """A payload with a Pipe end: the server imports multiprocessing.connection
    before forking that child (live children or not), so the child does not
    import it itself (it would hold ~1 MiB more private memory); a payload
    without fds makes the server import nothing."""
    from procstart_forkserver._server import ON_DEMAND

    stdout, _before, between = _imports_around_markers(PIPE_CHILD)
    assert stdout.split() == ["0", "0", "0", "x"]
    pipe_child, _, plain_child = between.partition("=== middle\n")
    # an `import` (the child unpickling a Connection) prints the module's own
    # line; the server's importlib.import_module prints only its dependencies'
    imported = [line.rpartition("|")[2].strip() for line in pipe_child.splitlines()]
    assert ON_DEMAND not in imported, pipe_child
    assert "import time:" not in plain_child, plain_child


THREADED_SERVER = """
import procstart, fs_targets as t
procstart.set_forkserver_preload(["fs_preload_thread"])
ctx = procstart.get_context("forkserver")
for _ in range(2):
    p = ctx.Process(target=t.noop); p.start(); p.join(60)
    print(p.exitcode)
"""


@pytest.mark.skipif(sys.version_info < (3, 12), reason="3.12+ warns when forking with threads")
def test_a_server_with_threads_forks_without_a_warning() -> None:
    """A preload that starts a thread: the server forks anyway, quietly."""
    os.environ["PYTHONWARNINGS"] = "always::DeprecationWarning"
    try:
        done = run_parent(THREADED_SERVER)
    finally:
        del os.environ["PYTHONWARNINGS"]
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["0", "0"]
    assert "fork" not in done.stderr, done.stderr


def test_single_threaded_sees_every_thread() -> None:
    """The check that spares a one-thread server the warnings machinery."""
    import subprocess
    import threading

    from procstart_forkserver._server import _single_threaded

    alone = "from procstart_forkserver._server import _single_threaded as s; print(s())"
    done = subprocess.run(
        [sys.executable, "-c", alone], capture_output=True, text=True, timeout=WAIT, check=False
    )
    assert done.stdout.split() == ["True"], done.stderr

    stop = threading.Event()
    thread = threading.Thread(target=stop.wait, args=(WAIT,))
    thread.start()
    try:
        assert not _single_threaded()
    finally:
        stop.set()
        thread.join(WAIT)
