"""Shared helpers for the cross-distribution tests."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parent.parent


def pytest_addoption(parser: pytest.Parser) -> None:
    """``--soak``: heavy loops of tests marked ``soak`` (here, so any path accepts it)."""
    group = parser.getgroup("procstart")
    group.addoption(
        "--soak",
        action="store_true",
        default=False,
        help="run the tests marked 'soak' with the full counts of issue 8 "
        "(1,000 start/join cycles, 8 threads x 50 processes per method)",
    )


def run_python(
    code: str,
    *,
    cwd: Path | str | None = None,
    env: dict[str, str] | None = None,
    timeout: float = 60,
    python: str = sys.executable,
) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a fresh interpreter (a real, separate parent process)."""
    return run_command([python, "-c", textwrap.dedent(code)], cwd=cwd, env=env, timeout=timeout)


def last_json_line(result: subprocess.CompletedProcess[str]) -> Any:
    """What a program that exited 0 printed on its last line, parsed as JSON.

    A failed program fails the test with its stderr.
    """
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.splitlines()[-1])


def run_script(
    script: Path | str,
    *args: str,
    cwd: Path | str | None = None,
    env: dict[str, str] | None = None,
    timeout: float = 60,
) -> subprocess.CompletedProcess[str]:
    """``python script args...`` in a fresh interpreter: ``sys.path[0]`` is the script's folder."""
    return run_command([sys.executable, str(script), *args], cwd=cwd, env=env, timeout=timeout)


def run_command(
    argv: list[str], *, cwd: Path | str | None, env: dict[str, str] | None, timeout: float
) -> subprocess.CompletedProcess[str]:
    """``argv`` (a real process) with no ``PROCSTART_*`` setting of this process, plus ``env``."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("PROCSTART_")}
    full_env.update(env or {})
    return subprocess.run(
        argv, cwd=cwd, env=full_env, capture_output=True, text=True, timeout=timeout, check=False
    )


@pytest.fixture
def fresh_procstart() -> Iterator[None]:
    """Forget plugins and the resolved default before and after a test."""
    from procstart import _context, _manager, _settings

    def reset() -> None:
        _manager._reset_for_tests()
        _context._forget_resolution()
        _settings.settings.forkserver_preload = None
        _settings.settings.executable = None

    reset()
    yield
    reset()
