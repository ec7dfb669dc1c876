"""Stdlib objects made by a procstart context pass as arguments and work in the child.

Every installed start method, through procstart's ``procstart_context`` fixture
(``--procstart-methods`` narrows the list).
"""

from __future__ import annotations

import concurrent.futures
from multiprocessing import shared_memory
from typing import Any

from tests import _method_targets as t

WAIT = 60.0


def _run(ctx: Any, target: Any, *args: Any) -> None:
    proc = ctx.Process(target=target, args=args)
    proc.start()
    proc.join(WAIT)
    assert proc.exitcode == 0


def test_queue(procstart_context: Any) -> None:
    ctx = procstart_context
    queue = ctx.Queue()
    _run(ctx, t.put, queue, {"k": [1, 2, 3]})
    assert queue.get(timeout=WAIT) == {"k": [1, 2, 3]}


def test_joinable_and_simple_queue(procstart_context: Any) -> None:
    ctx = procstart_context
    joinable = ctx.JoinableQueue()
    simple = ctx.Queue()
    _run(ctx, t.put, joinable, "j")
    _run(ctx, t.put, simple, "s")
    assert joinable.get(timeout=WAIT) == "j"
    joinable.task_done()
    assert simple.get() == "s"


def test_lock_value_array(procstart_context: Any) -> None:
    ctx = procstart_context
    lock = ctx.Lock()
    value = ctx.Value("i", 0, lock=False)
    array = ctx.Array("i", [0, 0], lock=False)
    procs = [ctx.Process(target=t.locked_add, args=(lock, value, array, 50)) for _ in range(2)]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(WAIT)
        assert proc.exitcode == 0
    assert value.value == 100
    assert array[0] == 100


def test_synchronized_value(procstart_context: Any) -> None:
    ctx = procstart_context
    value = ctx.Value("d", 1.5)
    array = ctx.Array("i", 3)
    lock = ctx.RLock()
    _run(ctx, t.locked_add, lock, value, array, 2)
    assert value.value == 3.5
    assert list(array) == [2, 0, 0]


def test_semaphore(procstart_context: Any) -> None:
    ctx = procstart_context
    sem = ctx.Semaphore(1)
    queue = ctx.Queue()
    _run(ctx, t.semaphore_release, sem, queue)
    assert queue.get(timeout=WAIT) is True
    assert sem.acquire(timeout=WAIT)
    assert sem.acquire(timeout=WAIT)
    assert not sem.acquire(timeout=0.01)


def test_shared_memory_object(procstart_context: Any) -> None:
    ctx = procstart_context
    shm = shared_memory.SharedMemory(create=True, size=16)
    try:
        _run(ctx, t.write_shm, shm, b"hello")
        assert bytes(shm.buf[:5]) == b"hello"
    finally:
        shm.close()
        shm.unlink()


def test_manager_proxies_and_event(procstart_context: Any) -> None:
    ctx = procstart_context
    with ctx.Manager() as manager:
        mapping = manager.dict()
        items = manager.list()
        event = ctx.Event()
        _run(ctx, t.fill_proxies, mapping, items, event)
        assert event.wait(WAIT)
        assert list(items) == ["from child"]
        assert "child" in dict(mapping)


def test_process_pool_executor(procstart_context: Any) -> None:
    ctx = procstart_context
    with concurrent.futures.ProcessPoolExecutor(max_workers=2, mp_context=ctx) as pool:
        assert list(pool.map(t.square, range(8), timeout=WAIT)) == [x * x for x in range(8)]


def test_process_pool_executor_with_closure_initializer(procstart_context: Any) -> None:
    ctx = procstart_context
    # tasks travel through the pool's own queues (stdlib pickling); the
    # initializer travels with the worker process object: by value here
    seen = []
    initializer = lambda: seen.append(1)  # noqa: E731 - a lambda on purpose
    with concurrent.futures.ProcessPoolExecutor(
        max_workers=1, mp_context=ctx, initializer=initializer
    ) as pool:
        assert pool.submit(t.square, 7).result(timeout=WAIT) == 49


def test_pool_with_lambda_initializer(procstart_context: Any) -> None:
    ctx = procstart_context
    with ctx.Pool(2, initializer=lambda: None) as pool:
        assert pool.map_async(t.square, range(6)).get(timeout=WAIT) == [x * x for x in range(6)]


def test_pipe_and_simple_queue(procstart_context: Any) -> None:
    ctx = procstart_context
    a, b = ctx.Pipe()
    _run(ctx, b.send, "over the pipe")
    assert a.poll(WAIT)
    assert a.recv() == "over the pipe"
    simple = ctx.SimpleQueue()
    _run(ctx, simple.put, 5)
    assert simple.get() == 5
