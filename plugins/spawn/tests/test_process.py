"""A spawn child behaves as multiprocessing's: exit codes, daemon, parent, identity."""

from __future__ import annotations

import os
import sys
from typing import Any

import pytest
import spawn_targets as t
from spawn_testlib import WAIT


def _run(ctx: Any, target: Any, *args: Any, **kwargs: Any) -> Any:
    proc = ctx.Process(target=target, args=args, **kwargs)
    proc.start()
    proc.join(WAIT)
    assert not proc.is_alive(), "child did not finish in time"
    return proc


def test_child_facts(ctx: Any) -> None:
    queue = ctx.Queue()
    proc = ctx.Process(target=t.report, args=(queue,), name="facts-child", daemon=True)
    proc.start()
    facts = queue.get(timeout=WAIT)
    proc.join(WAIT)
    assert proc.exitcode == 0
    assert facts["start_method"] == "spawn"
    assert facts["mp_start_method"] == "spawn"
    assert facts["pid"] == proc.pid != os.getpid()
    assert facts["parent_pid"] == os.getpid()
    assert facts["parent_alive"] is True
    assert facts["name"] == "facts-child"
    assert facts["daemon"] is True
    assert facts["authkey"] == bytes(ctx.current_process().authkey)
    assert facts["cwd"] == os.getcwd()
    assert facts["sys_path"] == sys.path
    assert facts["has_exit_builtin"] is True
    assert facts["prefix"] == sys.prefix
    assert facts["exec_prefix"] == sys.exec_prefix
    # the bootstrap finder is gone before the target runs
    assert "BootstrapFinder" not in facts["meta_path"]


def test_daemon_cannot_have_children(ctx: Any, capfd: Any) -> None:
    queue = ctx.Queue()
    proc = ctx.Process(target=t.start_grandchild, args=(queue,), daemon=True)
    proc.start()
    proc.join(WAIT)
    assert proc.exitcode == 1
    assert "daemonic processes are not allowed to have children" in capfd.readouterr().err


@pytest.mark.parametrize("site_less", [False, True])
def test_grandchild_uses_spawn_by_default(
    ctx: Any, site_less: bool, reset_spawn_options: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    import procstart_spawn

    # the environment reaches the child, so it decides for the grandchild too
    monkeypatch.setenv(procstart_spawn.FAST_STARTUP_ENV, "1" if site_less else "0")
    procstart_spawn.set_fast_startup(None)
    queue = ctx.Queue()
    proc = ctx.Process(target=t.start_grandchild, args=(queue,))
    proc.start()
    exitcode, method, parent_is_child, no_site, prefix, same_path = queue.get(timeout=WAIT)
    proc.join(WAIT)
    assert (proc.exitcode, exitcode, method, parent_is_child) == (0, 0, "spawn", True)
    # a grandchild starts as its parent did, and looks the same
    skip = procstart_spawn.startup_plan(sys.executable).skip_site
    assert no_site == int(skip or sys.flags.no_site)
    assert (prefix, same_path) == (sys.prefix, True)


def test_env_applies_before_the_interpreter_starts(ctx: Any) -> None:
    import procstart

    class SeedHash:
        @procstart.hookimpl(wrapper=True)
        def procstart_launch(self, request: Any) -> Any:
            request.env["PYTHONHASHSEED"] = "123"
            request.env["SPAWN_TEST_MARKER"] = "set by a wrapper"
            return (yield)

    plugin = SeedHash()
    procstart.register_plugin(plugin, name="seed-hash")
    try:
        queue = ctx.Queue()
        proc = ctx.Process(target=t.report, args=(queue,))
        proc.start()
        facts = queue.get(timeout=WAIT)
        proc.join(WAIT)
    finally:
        procstart.unregister_plugin(plugin)
    import subprocess

    expected = subprocess.run(
        [sys.executable, "-S", "-c", "print(hash('abc'))"],
        env={**os.environ, "PYTHONHASHSEED": "123"},
        capture_output=True,
        text=True,
        timeout=WAIT,
        check=True,
    ).stdout.strip()
    assert facts["hash_abc"] == int(expected)
    assert facts["env_marker"] == "set by a wrapper"
    assert "SPAWN_TEST_MARKER" not in os.environ
