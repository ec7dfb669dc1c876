"""Process semantics under forkserver: exit codes, signals, args, lambdas, fds."""

from __future__ import annotations

import os
import signal
from typing import Any

import fs_targets as t
import pytest
from fs_helpers import WAIT, start_join


def test_lambda_and_closure_targets(ctx: Any) -> None:
    assert start_join(ctx, lambda: os._exit(5)).exitcode == 5
    queue = ctx.Queue()
    secret = "closure value"

    def inner() -> None:
        queue.put(secret)

    proc = ctx.Process(target=inner)
    proc.start()
    assert queue.get(timeout=WAIT) == secret
    proc.join(WAIT)
    assert proc.exitcode == 0


def test_unpicklable_argument_fails_in_parent(ctx: Any) -> None:
    import procstart

    gen = (i for i in range(3))
    proc = ctx.Process(target=t.noop, args=(gen,))
    with pytest.raises(
        procstart.SerializationError, match=r"argument 0 of type 'builtins\.generator'"
    ):
        proc.start()


def test_stdlib_objects(ctx: Any) -> None:
    from multiprocessing import shared_memory

    lock = ctx.Lock()
    reader, writer = ctx.Pipe(duplex=False)
    shm = shared_memory.SharedMemory(create=True, size=16)
    value = ctx.Value("i", 0)
    queue = ctx.Queue()
    with ctx.Manager() as manager:
        proxy = manager.list()
        proc = ctx.Process(target=t.use_objects, args=(lock, writer, shm.name, value, proxy, queue))
        proc.start()
        assert reader.poll(WAIT) and reader.recv() == "via pipe"
        assert queue.get(timeout=WAIT) == "via queue"
        proc.join(WAIT)
        assert proc.exitcode == 0
        assert list(proxy) == ["from child"]
    assert value.value == 1
    assert shm.buf[0] == 42
    shm.close()
    shm.unlink()


def test_fd_isolation(ctx: Any, tmp_path: Any) -> None:
    leaked = tmp_path / "parent-only.txt"
    fd = os.open(leaked, os.O_CREAT | os.O_WRONLY)
    os.set_inheritable(fd, True)
    try:
        queue = ctx.Queue()
        proc = ctx.Process(target=t.report, args=(queue,))
        proc.start()
        facts = queue.get(timeout=WAIT)
        proc.join(WAIT)
    finally:
        os.close(fd)
    targets = set(facts["fds"].values())
    assert str(leaked) not in targets
    assert not any("procstart-fs-" in target for target in targets), targets
    # stdio, the queue's two ends, the payload pipe, the sentinel, the tracker
    assert len(facts["fds"]) <= 10, facts["fds"]


def test_pool_and_executor(ctx: Any) -> None:
    import concurrent.futures

    with ctx.Pool(2) as pool:
        assert pool.map(abs, [-1, -2, 3]) == [1, 2, 3]
    with concurrent.futures.ProcessPoolExecutor(2, mp_context=ctx) as executor:
        assert list(executor.map(abs, [-4, 5])) == [4, 5]


def test_child_sees_the_parents_current_environment(ctx: Any, monkeypatch: Any) -> None:
    assert start_join(ctx, t.noop).exitcode == 0  # the server is running already
    monkeypatch.setenv("FS_TEST_ADDED", "added after the server started")
    queue = ctx.Queue()
    start_join(ctx, t.put_env, queue, "FS_TEST_ADDED")
    assert queue.get(timeout=WAIT) == ["added after the server started"]


def test_no_fd_leak_over_starts_and_failed_starts(ctx: Any) -> None:
    import procstart

    start_join(ctx, t.noop).close()
    before = len(os.listdir("/proc/self/fd"))
    for _ in range(20):
        start_join(ctx, t.noop).close()
    for _ in range(5):
        with pytest.raises(procstart.SerializationError):
            ctx.Process(target=t.noop, args=((i for i in ()),)).start()
    assert len(os.listdir("/proc/self/fd")) == before


def test_terminate_right_after_start(ctx: Any) -> None:
    """A SIGTERM that reaches a child while it is being forked still terminates it."""
    import multiprocessing.pool

    for _ in range(3):
        pool = multiprocessing.pool.Pool(2, context=ctx, maxtasksperchild=1)
        try:
            assert pool.map_async(abs, range(-4, 0), chunksize=1).get(timeout=WAIT) == [4, 3, 2, 1]
        finally:
            pool.terminate()  # the replacement workers may be mid-fork right now
            pool.join()
    for _ in range(5):
        proc = ctx.Process(target=t.sleep, args=(60,))
        proc.start()
        proc.terminate()
        proc.join(WAIT)
        assert proc.exitcode == -signal.SIGTERM
