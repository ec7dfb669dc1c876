"""The tracker's books: a new tracker replays the journal; a long journal is compacted.

Real pipes and a real memfd, in this process (the root is the test process).
"""

from __future__ import annotations

import io
import os

import pytest

from procstart_tracker import _server
from procstart_tracker._wire import encode_line


def _tracker(read_fd: int, journal: int) -> _server.Tracker:
    return _server.Tracker(read_fd, os.getpid(), None, out=io.StringIO(), journal=journal)


def _books(tracker: _server.Tracker) -> tuple[object, ...]:
    state = tracker.state
    return (state.resources, state.types, state.started)


@pytest.mark.skipif(not hasattr(os, "memfd_create"), reason="needs memfd_create")
def test_a_new_tracker_replays_the_journal_and_compaction_keeps_the_books(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    r, w = os.pipe()
    journal = os.memfd_create("test-journal")
    try:
        first = _tracker(r, journal)
        me = os.getpid()
        lines = [encode_line("TYPE", me, "marker", "mod:func")]
        for i in range(300):
            lines.append(encode_line("REG", me, "folder", f"/tmp/pst-journal/{i}"))
            if i % 3 == 0:
                lines.append(encode_line("UNREG", me, "folder", f"/tmp/pst-journal/{i}"))
        lines.append(encode_line("REG", me, "marker", "/tmp/pst-journal/m"))
        lines.append(encode_line("REG", me, "marker", "/tmp/pst-journal/m"))
        lines.append(encode_line("HELLO", me))
        os.write(w, b"".join(lines))
        first.drain()
        assert len(first.state.resources) == 201
        assert first.state.resources[("marker", "/tmp/pst-journal/m")] == {me: 2}
        written = os.fstat(journal).st_size
        # a tracker started on the same journal (as after a SIGKILL) knows the same
        assert _books(_tracker(r, journal)) == _books(first)

        monkeypatch.setattr(_server, "JOURNAL_COMPACT_AT", 1000)
        os.write(w, encode_line("PING", me))
        first.drain()  # compacts: the UNREG'd ones are gone from the file
        compacted = os.fstat(journal).st_size
        assert compacted < written
        again = _tracker(r, journal)
        assert _books(again) == _books(first)
        # and the journal goes on after the snapshot
        os.write(w, encode_line("UNREG", me, "marker", "/tmp/pst-journal/m"))
        first.drain()
        assert ("marker", "/tmp/pst-journal/m") not in _tracker(r, journal).state.resources
    finally:
        for fd in (r, w, journal):
            os.close(fd)
