"""Fast startup (no site when equivalent), bytecode handoff, fast exit, light bootstrap."""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest
import spawn_targets as t
from spawn_testlib import WAIT, run_parent

import procstart_spawn
from procstart_spawn import _startup


def _facts(ctx: Any) -> dict[str, Any]:
    queue = ctx.Queue()
    proc = ctx.Process(target=t.report, args=(queue,))
    proc.start()
    facts: dict[str, Any] = queue.get(timeout=WAIT)
    proc.join(WAIT)
    assert proc.exitcode == 0
    return facts


@pytest.mark.parametrize("asked", [None, True])
def test_child_starts_as_the_plan_says(
    ctx: Any, asked: bool | None, reset_spawn_options: None
) -> None:
    procstart_spawn.set_fast_startup(asked)
    plan = procstart_spawn.startup_plan(sys.executable)
    if asked is None:
        assert not plan.skip_site
        assert plan.reason.startswith("off by default")
    facts = _facts(ctx)
    assert facts["no_site"] == int(plan.skip_site or sys.flags.no_site), plan
    # with or without site, the child looks the same
    assert facts["sys_path"] == sys.path
    assert (facts["prefix"], facts["exec_prefix"]) == (sys.prefix, sys.exec_prefix)
    assert facts["has_exit_builtin"] is True
    import site

    assert facts["site_packages"] == site.getsitepackages()
    # what .pth import lines did at startup, they did in the child too
    for name in ("_distutils_hack", "_virtualenv"):
        assert (name in facts["modules"]) == (name in sys.modules), name


def test_fast_startup_switches(
    ctx: Any, reset_spawn_options: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(procstart_spawn.FAST_STARTUP_ENV, "0")
    procstart_spawn.set_fast_startup(None)  # forget the cached plan
    plan = procstart_spawn.startup_plan(sys.executable)
    assert not plan.skip_site
    assert plan.reason == "switched off by PROCSTART_SPAWN_FAST_STARTUP=0"
    assert _facts(ctx)["no_site"] == sys.flags.no_site
    monkeypatch.setenv(procstart_spawn.FAST_STARTUP_ENV, "1")
    procstart_spawn.set_fast_startup(None)
    plan = procstart_spawn.startup_plan(sys.executable)
    assert "switched off" not in plan.reason
    assert "off by default" not in plan.reason
    assert _facts(ctx)["no_site"] == int(plan.skip_site or sys.flags.no_site)
    procstart_spawn.set_fast_startup(False)
    assert "set_fast_startup(False)" in procstart_spawn.startup_plan(sys.executable).reason


def test_sitecustomize_means_normal_startup(
    tmp_path: Path, reset_spawn_options: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "sitecustomize.py").write_text("")
    monkeypatch.syspath_prepend(str(tmp_path))
    procstart_spawn.set_fast_startup(True)
    plan = procstart_spawn.startup_plan(sys.executable)
    assert not plan.skip_site
    assert plan.reason == "a sitecustomize module exists"


def test_pth_import_lines(tmp_path: Path) -> None:
    known = next(iter(_startup.KNOWN_PTH_IMPORTS))
    (tmp_path / "a.pth").write_text(f"/some/path\n# comment\n{known} \n")
    (tmp_path / ".hidden.pth").write_text("import evil\n")
    assert _startup.pth_imports([str(tmp_path)]) == ([f"{known} "], None)
    (tmp_path / "b.pth").write_text("import something_else; something_else.patch()\n")
    lines, why_not = _startup.pth_imports([str(tmp_path)])
    assert lines == []
    assert why_not is not None
    assert "b.pth runs code at startup: 'import something_else; something_else.patch()'" in why_not


def test_another_executable_starts_with_site(
    ctx: Any, tmp_path: Path, reset_spawn_options: None
) -> None:
    # the same interpreter under another name: no -S, no bytecode handoff
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    config = Path(sys.prefix) / "pyvenv.cfg"
    if config.is_file():  # keep the other name inside this virtual environment
        shutil.copy(config, venv / "pyvenv.cfg")
    other = venv / "bin" / "python"
    other.symlink_to(os.path.realpath(sys.executable))
    ctx.set_executable(str(other))
    procstart_spawn.set_fast_startup(True)
    plan = procstart_spawn.startup_plan(str(other))
    assert not plan.skip_site
    assert "another interpreter" in plan.reason
    facts = _facts(ctx)
    assert facts["no_site"] == sys.flags.no_site
    assert facts["sys_path"] == sys.path
    assert facts["procstart_loader_is_source"] is True


def test_bytecode_handoff_keeps_module_attributes(ctx: Any) -> None:
    import procstart

    facts = _facts(ctx)
    assert facts["procstart_file"] == procstart.__file__
    assert facts["procstart_loader_is_source"] is True
    assert "BootstrapFinder" not in facts["meta_path"]


@pytest.mark.parametrize("fast", [True, False])
def test_exit_work_is_done(ctx: Any, tmp_path: Path, fast: bool, reset_spawn_options: None) -> None:
    procstart_spawn.set_fast_exit(fast)
    base = str(tmp_path / "marker")
    proc = ctx.Process(target=t.register_atexit_and_file, args=(base,))
    proc.start()
    proc.join(WAIT)
    assert proc.exitcode == 0
    assert Path(base + ".atexit").read_text() == "atexit ran"
    assert Path(base + ".global").read_text() == "flushed at exit"


def test_fast_exit_switch(monkeypatch: pytest.MonkeyPatch, reset_spawn_options: None) -> None:
    assert procstart_spawn.fast_exit_enabled() is True
    monkeypatch.setenv(procstart_spawn.FAST_EXIT_ENV, "off")
    assert procstart_spawn.fast_exit_enabled() is False
    procstart_spawn.set_fast_exit(True)
    assert procstart_spawn.fast_exit_enabled() is True


LIGHT_PARENT = """
import json, os, sys
os.environ["PROCSTART_DISABLE_PLUGIN_AUTOLOAD"] = "1"
import procstart, procstart_spawn, spawn_targets
procstart.register_plugin(procstart_spawn, name="spawn")
ctx = procstart.get_context("spawn")
out = {}
for label, target, args in [("plain", spawn_targets.report, ()),
                            ("lambda", spawn_targets.call, (lambda q: spawn_targets.report(q),))]:
    q = ctx.Queue()
    p = ctx.Process(target=target, args=(*args, q))
    p.start()
    facts = q.get(timeout=60)
    out[label] = facts["modules"]
    out[label + "-loader"] = facts["procstart_loader"]
    out[label + "-finders"] = facts["meta_path"]
    p.join(60)
print(json.dumps(out))
"""


def test_child_bootstrap_imports_little() -> None:
    out = run_parent(LIGHT_PARENT)
    assert out.returncode == 0, out.stderr
    modules = json.loads(out.stdout.strip().splitlines()[-1])
    loaders = {"plain": modules["plain-loader"]}
    assert "BootstrapFinder" not in modules["plain-finders"]
    heavy = {"pluggy", "cloudpickle", "psutil", "runpy", "multiprocessing.spawn", "dataclasses"}
    assert heavy & set(modules["plain"]) == set()
    # procstart's bootstrap modules came through the pipe, as bytecode
    assert loaders["plain"] == "ShippedLoader"
    # a lambda goes by value, yet loads without cloudpickle (procstart._byvalue)
    assert heavy & set(modules["lambda"]) == set()
    assert "procstart._byvalue" in modules["lambda"]


BUFFERED_PARENT = """
import procstart, spawn_targets
ctx = procstart.get_context("spawn")
p = ctx.Process(target=print, args=("printed in the child, never flushed",))
p.start()
p.join(60)
print("exitcode", p.exitcode)
"""


def test_child_stdout_is_flushed_at_exit_when_buffered() -> None:
    out = run_parent(BUFFERED_PARENT, env={"PYTHONUNBUFFERED": ""})
    assert out.returncode == 0, out.stderr
    assert "printed in the child, never flushed" in out.stdout
    assert "exitcode 0" in out.stdout


BUNDLE_PARENT = """
import json, marshal
from procstart_spawn import _bytecode
out = {"full": sorted(marshal.loads(_bytecode._collect()))}
import spawn_targets
out["with_plugin"] = sorted(marshal.loads(_bytecode.bundle(("spawn_targets", object()))))
_bytecode.BOOTSTRAP_MODULES = ("procstart", "procstart.child", "procstart._gone")
out["optional_missing"] = sorted(marshal.loads(_bytecode._collect()))
_bytecode._REQUIRED = frozenset({"procstart._gone"})
out["required_missing"] = _bytecode._collect()
print(json.dumps(out))
"""


def test_bundle_skips_optional_modules_it_cannot_ship() -> None:
    # in a plain parent: under pytest procstart's modules are loaded by pytest's
    # assertion rewriter (a plugin's distribution), so no bundle is made here
    out = run_parent(BUNDLE_PARENT)
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert {"procstart", "procstart.child", "procstart._process"} <= set(result["full"])
    # a plugin with child setup: its modules and the procstart ones loaded here
    assert {"spawn_targets", "procstart._settings"} <= set(result["with_plugin"])
    assert not any(name.startswith("procstart.cli") for name in result["with_plugin"])
    assert result["optional_missing"] == ["procstart", "procstart.child"]
    assert result["required_missing"] is None


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="pipe capacity is Linux's")
def test_the_launch_pipe_holds_the_whole_payload() -> None:
    """start() never waits for the child to read: the pipe is made large enough."""
    from procstart_spawn._popen import fit_pipe

    # the bundle as a parent outside pytest builds it (pytest rewrites procstart's asserts)
    out = run_parent("from procstart_spawn import _bytecode; print(len(_bytecode.bundle()))")
    assert out.returncode == 0, out.stderr
    size = int(out.stdout) + 8192  # the bootstrap bytecode and a small process object
    assert size > 65536  # larger than a pipe's default capacity
    r, w = os.pipe()
    try:
        fit_pipe(w, size)
        os.set_blocking(w, False)
        assert os.write(w, b"x" * size) == size  # no reader, yet it all fits
    finally:
        os.close(r)
        os.close(w)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="pipe capacity is Linux's")
def test_a_huge_payload_gets_at_most_a_mebibyte_of_pipe() -> None:
    import fcntl

    from procstart_spawn._popen import fit_pipe

    r, w = os.pipe()
    try:
        before = fcntl.fcntl(w, fcntl.F_GETPIPE_SZ)
        fit_pipe(w, 1 << 40)  # the rest of such a payload waits for the reader
        assert before <= fcntl.fcntl(w, fcntl.F_GETPIPE_SZ) <= 1 << 20
    finally:
        os.close(r)
        os.close(w)
