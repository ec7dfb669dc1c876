"""An idle program's tracker sleeps; a busy one's is not woken per line.

The tracker reads the pipe at most every ``DRAIN_EVERY`` seconds. While the
pipe stays empty it sleeps until a line arrives, the root dies or the next
look at the process tree is due (``SNAPSHOT_EVERY``), instead of waking every
``DRAIN_EVERY`` to find nothing. Counted from the kernel's
``voluntary_ctxt_switches`` of the real tracker process: each wake-up from a
sleep is one.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from tests.conftest import run_script

from procstart_tracker._server import SNAPSHOT_EVERY
from procstart_tracker._wire import DRAIN_EVERY

pytestmark = pytest.mark.timeout(60)

PROGRAM = """
import os, sys, time
import procstart
from procstart_tracker._client import client


def switches(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("voluntary_ctxt_switches:"):
                return int(line.split()[1])
    raise RuntimeError("no voluntary_ctxt_switches")


if __name__ == "__main__":
    ctx = procstart.get_context("fork")
    p = ctx.Process(target=int)
    p.start(); p.join()
    tracker = client.tracker_pid
    time.sleep(0.6)  # started, read the HELLO, took its first look at the tree
    seconds = float(sys.argv[2])
    before = switches(tracker)
    children = 0
    if sys.argv[1] == "idle":
        time.sleep(seconds)
    else:  # busy: children start and end all the time
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            p = ctx.Process(target=int)
            p.start(); p.join()
            children += 1
    woken = switches(tracker) - before
    # a registration after the quiet (or busy) spell is still read and kept
    procstart.register_resource("folder", sys.argv[3])
    print(woken, children, flush=True)
"""


def _run(tmp_path: Path, mode: str, seconds: float) -> tuple[int, int]:
    script = tmp_path / "prog.py"
    script.write_text(textwrap.dedent(PROGRAM))
    folder = tmp_path / "registered"
    folder.mkdir()
    env = {"PROCSTART_DISABLE_PLUGINS": "procstart-launchlog,procstart-limits"}
    done = run_script(script, mode, str(seconds), str(folder), cwd=tmp_path, env=env)
    assert done.returncode == 0, done.stderr
    # registered and never released: cleaned when the root exited
    assert not folder.exists(), done.stderr
    woken, children = map(int, done.stdout.split())
    return woken, children


def test_an_idle_programs_tracker_wakes_only_to_look_at_the_tree(tmp_path: Path) -> None:
    seconds = 2.0
    woken, _ = _run(tmp_path, "idle", seconds)
    looks = seconds / SNAPSHOT_EVERY
    polls = seconds / DRAIN_EVERY  # what waking to read every DRAIN_EVERY costs
    assert woken <= looks + 4, (woken, looks)
    assert woken < polls / 2, (woken, polls)


def test_a_busy_programs_tracker_reads_in_batches_not_per_line(tmp_path: Path) -> None:
    seconds = 2.0
    woken, children = _run(tmp_path, "busy", seconds)
    # a read every DRAIN_EVERY, each one after at most one early wake-up,
    # plus the looks at the tree: never one wake-up per child's HELLO
    bound = 2 * seconds / DRAIN_EVERY + seconds / SNAPSHOT_EVERY + 4
    assert children > 2 * bound, (children, bound)
    assert woken <= bound, (woken, children, bound)
