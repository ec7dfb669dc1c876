"""Spawn tests: helpers live in ``spawn_targets`` next to this file.

pytest runs in importlib mode, so this folder is put on ``sys.path`` here;
spawn children get the parent's ``sys.path`` and import the targets by name
(a light module: no pytest import in every child).
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

#: every wait on a child is bounded by this (seconds)
WAIT = 60.0


@pytest.fixture
def ctx() -> Any:
    """procstart's spawn context."""
    import procstart

    return procstart.get_context("spawn")


@pytest.fixture
def reset_spawn_options() -> Iterator[None]:
    """Forget forced options and the cached startup plan around a test."""
    import procstart_spawn
    from procstart import _config

    procstart_spawn.set_fast_startup(None)
    procstart_spawn.set_fast_exit(None)
    yield
    procstart_spawn.set_fast_startup(None)
    procstart_spawn.set_fast_exit(None)
    _config.settings.executable = None


def run_parent(
    code: str,
    *,
    cwd: Path | str | None = None,
    stdin: str | None = None,
    args: list[str] | None = None,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run a parent program in a fresh interpreter of this venv.

    ``code`` goes to ``-c`` unless ``args`` replaces the command line (a
    script path, ``-m``, ``-`` for stdin).
    """
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("PROCSTART_")}
    paths = [str(HERE), os.environ.get("PYTHONPATH", "")]
    full_env["PYTHONPATH"] = os.pathsep.join(path for path in paths if path)
    full_env.update(env or {})
    command = [sys.executable, *(args if args is not None else ["-c", textwrap.dedent(code)])]
    return subprocess.run(
        command,
        cwd=cwd,
        env=full_env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )
