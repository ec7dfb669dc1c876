"""Helpers for the tracker's tests: run a real parent script, watch what it leaves.

Parent scripts write what they made to a JSON file (atomically) and then die
or end; the test polls ``/dev/shm``, folders and pids with a deadline.
Cleanup times are printed (``pytest -s``) and appended to the file named by
``PROCSTART_TRACKER_TIMINGS`` when it is set.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil
import pytest

#: the tracker's promise: everything cleaned within 1 s of the parent's death
DEADLINE = 1.0 * float(os.environ.get("PROCSTART_TRACKER_DEADLINE_SCALE", "1"))
WARNING = "procstart-tracker: warning:"
METHODS = ("fork", "spawn", "forkserver")

PRELUDE = """
import json, os, shutil, signal, sys, tempfile, time
import procstart
from multiprocessing import resource_tracker
from multiprocessing.shared_memory import SharedMemory

METHOD, MODE, OUT = sys.argv[1], sys.argv[2], sys.argv[3]


def report(info):
    with open(OUT + ".tmp", "w") as fh:
        json.dump(info, fh)
    os.replace(OUT + ".tmp", OUT)


def make_resources(ctx, tag):
    shm = SharedMemory(create=True, size=64)
    lock = ctx.Lock()
    folder = tempfile.mkdtemp(prefix="pst-" + tag + "-")
    os.mkdir(os.path.join(folder, "sub"))
    with open(os.path.join(folder, "sub", "data"), "w") as fh:
        fh.write("x")
    procstart.register_resource("folder", folder)
    return shm, lock, folder


def describe(shm, lock, folder):
    return {"shm": shm._name, "sem": lock._semlock.name, "folder": folder}


def release(shm, lock, folder):
    shm.close()
    shm.unlink()
    shutil.rmtree(folder)
    procstart.unregister_resource("folder", folder)


def die():
    sys.stdout.flush()
    sys.stderr.flush()
    os.kill(os.getpid(), signal.SIGKILL)


def busy():
    while True:
        pass
"""


def method_or_skip(method: str) -> None:
    """Skip when ``method`` is not installed (yet) or not available here."""
    import procstart

    try:
        procstart.get_context(method)
    except (ValueError, LookupError) as exc:
        pytest.skip(f"start method {method!r} not usable here: {exc}")


def shm_path(name: str | None) -> Path | None:
    """Where Linux keeps a POSIX shared memory segment or named semaphore."""
    if not name:
        return None
    return Path("/dev/shm") / name.lstrip("/")


def sem_path(name: str | None) -> Path | None:
    """``/dev/shm/sem.NAME`` for a named semaphore (None: unlinked at once, fork)."""
    if not name:
        return None
    return Path("/dev/shm") / ("sem." + name.lstrip("/"))


def resource_paths(info: dict[str, Any]) -> list[Path]:
    """The files a parent/child's resources live in."""
    paths = [shm_path(info.get("shm")), sem_path(info.get("sem"))]
    if info.get("folder"):
        paths.append(Path(info["folder"]))
    return [p for p in paths if p is not None]


def alive(pid: int) -> bool:
    """True if ``pid`` runs (a zombie waiting to be reaped counts as dead)."""
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def wait_until(predicate: Callable[[], bool], timeout: float) -> float | None:
    """Poll ``predicate`` every 5 ms; seconds it took, or None at the deadline."""
    start = time.monotonic()
    while True:
        if predicate():
            return time.monotonic() - start
        if time.monotonic() - start > timeout:
            return None
        time.sleep(0.005)


def record_timing(label: str, seconds: float) -> None:
    """Print and (optionally) save a measured cleanup time."""
    print(f"[tracker timing] {label}: {seconds * 1000:.1f} ms")
    target = os.environ.get("PROCSTART_TRACKER_TIMINGS")
    if target:
        with open(target, "a") as fh:
            fh.write(json.dumps({"label": label, "seconds": seconds}) + "\n")


@dataclass
class Parent:
    """A parent script that ran (and died or ended)."""

    proc: subprocess.Popen[bytes]
    info: dict[str, Any]
    stderr_path: Path
    stdout_path: Path

    def tracker_pid(self) -> int | None:
        """The tracker the parent started (from its report)."""
        return self.info.get("tracker_pid")

    def stderr(self, *, wait_for: Iterable[int] = ()) -> str:
        """The parent's stderr, after the tracker (and ``wait_for`` pids) exited."""
        pids = [p for p in [self.tracker_pid(), *wait_for] if p]
        wait_until(lambda: not any(alive(p) for p in pids), 10)
        return self.stderr_path.read_text(errors="replace")

    def warnings(self, **kwargs: Any) -> list[str]:
        """The tracker's warning lines."""
        return [line for line in self.stderr(**kwargs).splitlines() if WARNING in line]


def run_parent(
    tmp_path: Path,
    body: str,
    method: str,
    mode: str,
    *,
    cwd: Path | None = None,
    timeout: float = 60,
    expect_kill: bool | None = None,
) -> Parent:
    """Write PRELUDE + ``body`` to a script and run it to its end (or death)."""
    script = tmp_path / f"parent_{mode.replace('-', '_')}.py"
    script.write_text(PRELUDE + textwrap.dedent(body))
    out = tmp_path / f"{mode}.json"
    stdout_path, stderr_path = tmp_path / f"{mode}.out", tmp_path / f"{mode}.err"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROCSTART_")}
    with stdout_path.open("wb") as so, stderr_path.open("wb") as se:
        proc = subprocess.Popen(
            [sys.executable, str(script), method, mode, str(out)],
            cwd=cwd or tmp_path,
            env=env,
            stdout=so,
            stderr=se,
        )
    try:
        code = proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)
        pytest.fail(f"parent script did not finish: {stderr_path.read_text(errors='replace')}")
    if expect_kill is not None:
        expected = -signal.SIGKILL if expect_kill else 0
        assert code == expected, (code, stderr_path.read_text(errors="replace"))
    info = json.loads(out.read_text()) if out.exists() else {}
    return Parent(proc, info, stderr_path, stdout_path)


def kill_all(pids: Iterable[int]) -> None:
    """Test cleanup: SIGKILL whatever is still running."""
    for pid in pids:
        with contextlib.suppress(psutil.Error):
            psutil.Process(pid).kill()
