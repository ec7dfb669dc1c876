"""procstart-launchlog, installed as a distribution: it wraps every launch."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

import procstart

WAIT = 60

APP = """
import os, sys, procstart

def child(queue):
    queue.put(os.environ.get("PROCSTART_LAUNCH_ID"))

if __name__ == "__main__":
    ctx = procstart.get_context(sys.argv[1])
    queue = ctx.SimpleQueue()
    p = ctx.Process(target=child, args=(queue,), name="worker-1")
    p.start()
    p.join(60)
    print(p.pid, p.exitcode, queue.get())
"""


def run_app(tmp_path: Path, method: str, **env: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "app.py").write_text(APP)
    clean = {k: v for k, v in os.environ.items() if not k.startswith("PROCSTART_")}
    clean.update(env)
    return subprocess.run(
        [
            sys.executable,
            "-c",
            "import runpy; runpy.run_path('app.py', run_name='__main__')",
            method,
        ],
        cwd=tmp_path,
        env=clean,
        capture_output=True,
        text=True,
        timeout=WAIT,
        check=False,
    )


def test_registered_as_a_wrapper_not_a_method() -> None:
    from procstart._manager import plugins

    registry = plugins()
    assert "launchlog" not in registry.methods
    impls = registry.pm.hook.procstart_launch.get_hookimpls()
    assert any(impl.plugin_name == "launchlog" and impl.opts["wrapper"] for impl in impls)


def test_env_variable_log_file(tmp_path: Path, start_method: str) -> None:
    log = tmp_path / "launches.jsonl"
    result = run_app(tmp_path, start_method, PROCSTART_LAUNCH_LOG=str(log))
    assert result.returncode == 0, result.stderr
    pid, exitcode, launch_id = result.stdout.split()
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    assert len(lines) == 1
    entry = lines[0]
    assert entry["method"] == start_method
    assert entry["pid"] == int(pid)
    assert entry["name"] == "worker-1"
    assert entry["launch_id"] == launch_id  # the child saw its own id
    assert entry["ms"] >= 0
    assert exitcode == "0"


def test_pyproject_log_file_is_relative_to_it(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.procstart]\nlaunch-log = "logs.jsonl"\n')
    sub = tmp_path / "sub"
    sub.mkdir()
    result = run_app(sub, "fork")
    assert result.returncode == 0, result.stderr
    entry = json.loads((tmp_path / "logs.jsonl").read_text())
    assert entry["method"] == "fork"
    assert entry["distribution"] == "procstart-fork"


def test_failed_launch_is_logged_and_raised(tmp_path: Path) -> None:
    log = tmp_path / "launches.jsonl"
    (tmp_path / "pyproject.toml").write_text('[tool.procstart]\nlimits-cpus = "999"\n')
    result = run_app(tmp_path, "limited", PROCSTART_LAUNCH_LOG=str(log))
    assert result.returncode == 1
    assert "CPUs 999 are not available to this process" in result.stderr
    entry = json.loads(log.read_text())
    assert entry["pid"] is None
    assert entry["error"].startswith("ValueError: start method 'limited' (")


def test_logger_without_file(start_method: str, caplog: pytest.LogCaptureFixture) -> None:
    ctx = procstart.get_context(start_method)
    with caplog.at_level(logging.INFO, logger="procstart.launches"):
        proc = ctx.Process(target=abs, args=(-1,), name="quiet")
        proc.start()
        proc.join(WAIT)
    assert proc.exitcode == 0
    assert f"{start_method} child quiet (pid {proc.pid}) started in " in caplog.text


def test_silent_unless_configured(tmp_path: Path) -> None:
    """Installed in a shared environment, it must not print anything by itself."""
    (tmp_path / "pyproject.toml").write_text('[tool.procstart]\nlimits-cpus = "999"\n')
    result = run_app(tmp_path, "limited")
    assert result.returncode == 1
    assert "CPUs 999 are not available" in result.stderr
    assert "procstart.launches" not in result.stderr
    assert "launch of worker-1 failed" not in result.stderr
    assert not list(tmp_path.glob("*.jsonl"))
