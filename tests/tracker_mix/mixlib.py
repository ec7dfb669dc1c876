"""Helpers for the cross-distribution tracker tests: run a real program, watch /dev/shm."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).resolve().parent
SHM = Path("/dev/shm")
METHODS = ("fork", "spawn", "forkserver")
PROCSTART_WARNING = "procstart-tracker: warning:"


def unique_prefix(tag: str) -> str:
    """A segment-name prefix no other test (or helper's run) uses."""
    return f"pst{tag}_{os.getpid()}_{uuid.uuid4().hex[:8]}_"


def leftovers(prefix: str, semaphores: list[str | None] = ()) -> list[str]:  # type: ignore[assignment]
    """Names in /dev/shm this test made that still exist."""
    left = [entry.name for entry in SHM.iterdir() if entry.name.startswith(prefix)]
    for name in semaphores:
        if name and (SHM / f"sem.{name.lstrip('/')}").exists():
            left.append(name)
    return left


def wait_until(predicate: Callable[[], bool], timeout: float) -> bool:
    """Poll ``predicate`` every 10 ms until true or ``timeout`` seconds passed."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return predicate()


def clean_env(**extra: str) -> dict[str, str]:
    """The test's environment without procstart settings, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PROCSTART_", "MIX_"))}
    env.update(extra)
    return env


def run_python(
    args: list[str], *, env: dict[str, str], cwd: Path, timeout: float = 240
) -> subprocess.CompletedProcess[str]:
    """Run ``python args...`` to its end (a hang fails the test, bounded)."""
    try:
        return subprocess.run(
            [sys.executable, *args],
            env=env,
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"{args} did not finish in {timeout} s: {exc.stderr!r}")


def last_json(stdout: str) -> dict[str, Any]:
    """The JSON record a program printed last."""
    lines = [line for line in stdout.splitlines() if line.startswith("{")]
    assert lines, stdout
    return dict(json.loads(lines[-1]))
