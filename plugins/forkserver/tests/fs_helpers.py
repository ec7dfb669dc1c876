"""Helpers shared by the forkserver tests (not imported by children)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
#: every wait on a child or a process is bounded by this (seconds)
WAIT = 60.0


def run_parent(
    code: str, *, cwd: Path | str | None = None, script: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """Run a parent program (``code`` via -c, or ``script``) in a fresh interpreter."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROCSTART_")}
    env["PYTHONPATH"] = str(HERE)
    args = [str(script)] if script is not None else ["-c", textwrap.dedent(code)]
    return subprocess.run(
        [sys.executable, *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=WAIT,
        check=False,
    )


def start_join(ctx: Any, target: Any, *args: Any) -> Any:
    """Start ``target(*args)`` and join it (bounded); the process object."""
    proc = ctx.Process(target=target, args=args)
    proc.start()
    proc.join(WAIT)
    assert proc.exitcode is not None, "child did not finish in time"
    return proc


def server_children(pid: int) -> list[int]:
    """Pids of the server's live children."""
    import psutil

    return [p.pid for p in psutil.Process(pid).children()]
