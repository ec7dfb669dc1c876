"""Helpers for the spawn tests (a unique name: pytest's importlib mode and other
folders' ``conftest`` modules make ``from conftest import ...`` ambiguous)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

HERE = Path(__file__).resolve().parent

#: every wait on a child is bounded by this (seconds)
WAIT = 60.0


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
