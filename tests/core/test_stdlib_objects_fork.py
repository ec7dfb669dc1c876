"""Stdlib objects built with the procstart fork context work as with multiprocessing."""

from __future__ import annotations

import concurrent.futures
from multiprocessing import shared_memory

import procstart

ctx = procstart.get_context("fork")


def _square(x: int) -> int:
    return x * x


def _locked_increment(lock: object, value: object, n: int) -> None:
    for _ in range(n):
        with lock:  # type: ignore[attr-defined]
            value.value += 1  # type: ignore[attr-defined]


def _write_shm(name: str) -> None:
    shm = shared_memory.SharedMemory(name=name)
    shm.buf[:5] = b"hello"
    shm.close()


def _set_event(event: object, d: dict[str, int]) -> None:
    d["child"] = 1
    event.set()  # type: ignore[attr-defined]


def test_queue_round_trip() -> None:
    queue = ctx.Queue()
    proc = ctx.Process(target=queue.put, args=({"k": [1, 2, 3]},))
    proc.start()
    assert queue.get(timeout=30) == {"k": [1, 2, 3]}
    proc.join(30)
    assert proc.exitcode == 0


def test_lock_and_value() -> None:
    lock = ctx.Lock()
    value = ctx.Value("i", 0, lock=False)
    procs = [ctx.Process(target=_locked_increment, args=(lock, value, 200)) for _ in range(3)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(30)
    assert value.value == 600


def test_pool_map() -> None:
    with ctx.Pool(2) as pool:
        assert pool.map(_square, range(10)) == [x * x for x in range(10)]


def test_manager_and_event() -> None:
    with ctx.Manager() as manager:
        d = manager.dict()
        event = ctx.Event()
        proc = ctx.Process(target=_set_event, args=(event, d))
        proc.start()
        assert event.wait(30)
        proc.join(30)
        assert dict(d) == {"child": 1}


def test_shared_memory() -> None:
    shm = shared_memory.SharedMemory(create=True, size=16)
    try:
        proc = ctx.Process(target=_write_shm, args=(shm.name,))
        proc.start()
        proc.join(30)
        assert bytes(shm.buf[:5]) == b"hello"
    finally:
        shm.close()
        shm.unlink()


def test_process_pool_executor_with_mp_context() -> None:
    with concurrent.futures.ProcessPoolExecutor(2, mp_context=ctx) as executor:
        assert list(executor.map(_square, range(6))) == [0, 1, 4, 9, 16, 25]


def test_simple_queue_and_pipe() -> None:
    a, b = ctx.Pipe()
    proc = ctx.Process(target=b.send, args=("over the pipe",))
    proc.start()
    assert a.poll(30)
    assert a.recv() == "over the pipe"
    proc.join(30)
    sq = ctx.SimpleQueue()
    proc = ctx.Process(target=sq.put, args=(5,))
    proc.start()
    assert sq.get() == 5
    proc.join(30)
