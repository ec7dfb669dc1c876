"""The parent's handle of a fork child: timed joins and the fds it owns.

``ChildPopen.wait(timeout)`` answers with one ``poll(2)`` on the sentinel
(not a selector), and ``ChildPopen.own_fds`` closes the parent's pipe ends
on ``close()`` or garbage collection, never in a fork copy of the parent.
Real fork children.
"""

from __future__ import annotations

import gc
import os
import sys
import time

import pytest

import procstart

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="fork")

ctx = procstart.get_context("fork")


def _is_open(fd: int) -> bool:
    try:
        os.fstat(fd)
    except OSError:
        return False
    return True


def test_join_with_a_timeout_waits_that_long_for_a_running_child() -> None:
    r, w = os.pipe()
    try:
        p = ctx.Process(target=os.read, args=(r, 1))  # runs until the parent writes
        p.start()
        started = time.monotonic()
        p.join(0.3)
        waited = time.monotonic() - started
        assert p.exitcode is None
        assert p.is_alive()
        assert waited >= 0.29  # poll(2) rounds up: never shorter than asked
        p.join(0)  # a zero timeout only looks
        p.join(-1)  # as with multiprocessing, a negative one too
        assert p.exitcode is None
        os.write(w, b"x")
        p.join(30)
        assert p.exitcode == 0
    finally:
        os.close(r)
        os.close(w)


def test_join_with_a_timeout_longer_than_poll_takes_returns_the_exit_code() -> None:
    p = ctx.Process(target=int)
    p.start()
    p.join(1e9)  # 10**12 ms: more than poll(2) takes at once
    assert p.exitcode == 0


def test_join_with_a_timeout_sees_a_killed_child() -> None:
    p = ctx.Process(target=time.sleep, args=(60,))
    p.start()
    p.kill()
    p.join(30)
    assert p.exitcode == -9


def test_close_releases_the_parents_fds() -> None:
    p = ctx.Process(target=int)
    p.start()
    p.join(30)
    sentinel = p.sentinel
    assert _is_open(sentinel)
    p.close()
    assert not _is_open(sentinel)


def test_a_collected_handle_releases_the_parents_fds() -> None:
    p = ctx.Process(target=int)
    p.start()
    p.join(30)
    sentinel = p.sentinel
    del p
    gc.collect()
    assert not _is_open(sentinel)


def test_a_fork_copy_never_closes_the_fds_of_its_parents_other_children() -> None:
    first = ctx.Process(target=int)
    first.start()
    first.join(30)
    sentinel = first.sentinel

    def drop_the_inherited_handle() -> None:
        popen = first._popen
        first._popen = None
        del popen
        gc.collect()
        # in this copy the number is still the inherited pipe end: closing it
        # here would close whatever this process opened under that number
        os._exit(0 if _is_open(sentinel) else 3)

    second = ctx.Process(target=drop_the_inherited_handle)
    second.start()
    second.join(30)
    assert second.exitcode == 0
    assert _is_open(sentinel)
    first.close()
