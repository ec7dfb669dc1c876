"""The tracker's books follow the live tree, not every child a program ever started.

A long-running program announces every child (``HELLO``). The tracker keeps
the ones still running and forgets the rest at its next look at the tree, so
its memory and its exit check stay in proportion to what runs now. Real
processes and a real pipe, in this process (the root is the test process).
"""

from __future__ import annotations

import io
import os
import subprocess
import sys

from procstart_tracker import _server
from procstart_tracker._wire import encode_line


def _ended_children(count: int) -> list[int]:
    """Pids of ``count`` children that ran and were reaped."""
    pids = []
    for _ in range(count):
        pid = os.fork()
        if pid == 0:
            os._exit(0)
        os.waitpid(pid, 0)
        pids.append(pid)
    return pids


def test_announced_children_are_forgotten_once_ended_and_kept_while_they_run() -> None:
    r, w = os.pipe()
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        tracker = _server.Tracker(r, os.getpid(), None, out=io.StringIO())
        ended = _ended_children(300)
        announced = [*ended, live.pid]
        os.write(w, b"".join(encode_line("HELLO", pid) for pid in announced))
        tracker.drain()
        assert tracker.state.started == set(announced)
        # the live child is noted with its start time; the ended ones as gone
        assert tracker.pending[live.pid] is not None
        assert all(tracker.pending.get(pid) is None for pid in ended)

        tracker._snapshot()  # what the tracker's loop does every SNAPSHOT_EVERY
        assert tracker.state.started == {live.pid}
        assert not any(pid in tracker.pending for pid in ended)

        live.kill()
        live.wait(timeout=10)
        tracker._snapshot()
        assert tracker.state.started == set()
        assert live.pid not in tracker.pending
    finally:
        live.kill()
        live.wait(timeout=10)
        os.close(r)
        os.close(w)


def test_an_ended_child_that_holds_a_resource_stays_on_the_books() -> None:
    """Forgetting the ended must not forget a holder: its resource is still to clean."""
    r, w = os.pipe()
    try:
        tracker = _server.Tracker(r, os.getpid(), None, out=io.StringIO())
        holder, other = _ended_children(2)
        lines = [
            encode_line("HELLO", holder),
            encode_line("HELLO", other),
            encode_line("REG", holder, "folder", "/tmp/pst-books/held"),
        ]
        os.write(w, b"".join(lines))
        tracker.drain()
        tracker._snapshot()
        assert tracker.state.started == {holder}
        assert tracker.state.resources == {("folder", "/tmp/pst-books/held"): {holder: 1}}
        assert tracker.state.held_only_by(tracker._dead_check()) == [
            ("folder", "/tmp/pst-books/held")
        ]
    finally:
        os.close(r)
        os.close(w)
