"""procstart.bridge: multiprocessing resolves procstart method names, parent and children."""

from __future__ import annotations

import json
import multiprocessing
import textwrap
from collections.abc import Iterator
from multiprocessing import context as mp_context
from pathlib import Path

import pytest

import procstart
import procstart.bridge
from tests.conftest import run_python
from tests.ecosystem import _workers

WAIT = 60


@pytest.fixture
def clean_bridge() -> Iterator[None]:
    before = multiprocessing.get_start_method(allow_none=True)
    yield
    procstart.bridge.uninstall()
    multiprocessing.set_start_method(before, force=True)


@pytest.mark.usefixtures("clean_bridge")
def test_install_maps_every_installed_method() -> None:
    names = procstart.bridge.install()
    installed = [m for m in procstart.get_all_start_methods()]
    assert sorted(names) == sorted(installed)
    for name in names:
        ctx = multiprocessing.get_context(name)
        assert ctx is procstart.get_context(name)
        assert ctx.get_start_method() == name
        assert name in multiprocessing.get_all_start_methods()
    assert procstart.bridge.installed() == sorted(names)


@pytest.mark.usefixtures("clean_bridge")
def test_uninstall_restores_the_stdlib() -> None:
    procstart.bridge.install()
    procstart.bridge.uninstall()
    assert procstart.bridge.installed() == []
    assert isinstance(multiprocessing.get_context("fork"), mp_context.ForkContext)
    assert "limited" not in multiprocessing.get_all_start_methods()
    with pytest.raises(ValueError, match="cannot find context for 'limited'"):
        multiprocessing.get_context("limited")


@pytest.mark.usefixtures("clean_bridge")
def test_keep_builtins() -> None:
    names = procstart.bridge.install(replace_builtins=False)
    assert not {"fork", "spawn", "forkserver"} & set(names)
    assert isinstance(multiprocessing.get_context("fork"), mp_context.ForkContext)
    assert multiprocessing.get_context("limited") is procstart.get_context("limited")


@pytest.mark.usefixtures("clean_bridge")
def test_unknown_method_is_refused() -> None:
    with pytest.raises(
        ValueError,
        match=r"unknown start method 'forkservr'; did you mean 'forkserver'\? installed: .*fork",
    ):
        procstart.bridge.install(methods=["forkservr"])
    assert procstart.bridge.installed() == []


@pytest.mark.usefixtures("clean_bridge")
def test_set_start_method_by_name_starts_procstart_children(start_method: str) -> None:
    procstart.bridge.install()
    multiprocessing.set_start_method(start_method, force=True)
    assert multiprocessing.get_start_method() == start_method
    queue = multiprocessing.SimpleQueue()
    # a plain multiprocessing.Process: its class knows nothing of procstart
    proc = multiprocessing.Process(target=_report, args=(queue,))
    proc.start()
    proc.join(WAIT)
    assert proc.exitcode == 0
    assert queue.get() == (start_method, "parent")


def _report(queue: multiprocessing.SimpleQueue[tuple[str, str]]) -> None:
    _pid, method, source = _workers.whoami()
    queue.put((method, source))


CHILD_SCRIPT = """
import json, multiprocessing, sys
import procstart, procstart.bridge

def child(queue):
    import multiprocessing
    ctx = multiprocessing.get_context("limited")
    # a grandchild started by name, from inside the child
    with multiprocessing.get_context("limited").Pool(1) as pool:
        grand = pool.apply_async(procstart.get_start_method).get(timeout=60)
    queue.put({{
        "limited_is_procstart": isinstance(ctx, procstart.ProcstartContext),
        "mp_default": multiprocessing.get_start_method(allow_none=True),
        "all": multiprocessing.get_all_start_methods(),
        "grandchild_method": grand,
    }})

if __name__ == "__main__":
    procstart.bridge.install()
    multiprocessing.set_start_method("limited")
    queue = procstart.get_context("{method}").SimpleQueue()
    p = procstart.get_context("{method}").Process(target=child, args=(queue,))
    p.start()
    p.join(60)
    print(json.dumps({{"exit": p.exitcode, **queue.get()}}))
"""


def test_children_reinstall_the_bridge(start_method: str, tmp_path: Path) -> None:
    """Exec- and server-based children get the bridge again from child setup."""
    script = tmp_path / "app.py"
    script.write_text(textwrap.dedent(CHILD_SCRIPT.format(method=start_method)))
    result = run_python(
        f"import runpy; runpy.run_path({str(script)!r}, run_name='__main__')", cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout.strip().splitlines()[-1])
    assert data == {
        "exit": 0,
        "limited_is_procstart": True,
        "mp_default": start_method,
        "all": data["all"],
        "grandchild_method": "limited",
    }
    assert "limited" in data["all"]


JOBLIB_SCRIPT = """
import os, json
{install}
import joblib

def whoami(i):
    import procstart
    s = procstart.get_start_method_source()
    return s.method, s.source

if __name__ == "__main__":
    out = joblib.Parallel(n_jobs=2, backend="multiprocessing", timeout=60)(
        joblib.delayed(whoami)(i) for i in range(4))
    print(json.dumps(sorted(set(map(tuple, out)))))
"""


def test_joblib_takes_a_procstart_name_through_the_bridge(
    start_method: str, tmp_path: Path
) -> None:
    """JOBLIB_START_METHOD is a name only: joblib calls multiprocessing.get_context(name)."""
    pytest.importorskip("joblib")
    script = tmp_path / "jl.py"
    script.write_text(
        JOBLIB_SCRIPT.format(install="import procstart.bridge; procstart.bridge.install()")
    )
    result = run_python(
        f"import runpy; runpy.run_path({str(script)!r}, run_name='__main__')",
        cwd=tmp_path,
        env={"JOBLIB_START_METHOD": start_method},
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == [[start_method, "parent"]]


def test_joblib_without_the_bridge_does_not_know_the_name(tmp_path: Path) -> None:
    pytest.importorskip("joblib")
    script = tmp_path / "jl.py"
    script.write_text(JOBLIB_SCRIPT.format(install=""))
    result = run_python(
        f"import runpy; runpy.run_path({str(script)!r}, run_name='__main__')",
        cwd=tmp_path,
        env={"JOBLIB_START_METHOD": "limited"},
    )
    assert result.returncode != 0
    assert "ValueError: cannot find context for 'limited'" in result.stderr


@pytest.mark.usefixtures("clean_bridge")
def test_set_default_follows_procstart_and_can_be_overridden(start_method: str) -> None:
    multiprocessing.set_start_method(None, force=True)
    procstart.bridge.install(set_default=True)
    # nothing is chosen yet: set_start_method() without force would still work
    assert multiprocessing.get_start_method(allow_none=True) is None
    # the start_method fixture made it procstart's default
    assert multiprocessing.get_context() is procstart.get_context(start_method)
    # the program may still choose, without force, as with the stdlib
    multiprocessing.set_start_method(None, force=True)
    multiprocessing.set_start_method("fork")
    assert multiprocessing.get_start_method() == "fork"
    procstart.bridge.uninstall()
    multiprocessing.set_start_method(None, force=True)
    assert not isinstance(multiprocessing.get_context(), procstart.ProcstartContext)
