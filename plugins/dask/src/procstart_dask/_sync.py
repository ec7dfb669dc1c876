"""Queues, events, locks and values that live on the Dask scheduler.

Each object is a name plus the scheduler's address: it pickles as that
(through a Queue, as a Process argument, into a Pool task), and every
process that uses it talks to the scheduler, wherever it runs. Items and
values travel as cloudpickle bytes, so anything a child can receive can be
put. The ``distributed`` object behind each is made on first use in each
process (a child that only passes a queue on never connects).

Guarantees (see docs/outgrowing-one-machine.md for the table):

- ``Queue``: FIFO across all processes (one queue on the scheduler);
  ``put`` blocks when ``maxsize`` is reached; timeouts raise ``queue.Empty``
  / ``queue.Full``; ``block=False`` waits at most 10 ms on the scheduler.
- ``Event``: ``distributed.Event``; ``wait(timeout)`` returns a bool.
- ``Lock``: ``distributed.Lock`` (a lease on the scheduler: it is released
  by the process that acquired it, and freed if that process dies).
- ``RLock``: a ``Lock`` plus an owner count kept by the owning thread.
- ``BoundedSemaphore``: ``distributed.Semaphore`` (leases, as ``Lock``).
- ``Value``: a ``distributed.Variable``; ``get_lock()`` is an ``RLock``.
- ``Condition``: a FIFO of waiters' private queues; ``notify`` skips
  waiters that timed out.
- ``Barrier``: state in a ``Value`` under a ``Lock``, an ``Event`` per
  generation; timeouts, ``abort()`` and ``reset()`` break it as the stdlib's.
"""

from __future__ import annotations

import queue as _queue
import threading
import time
import uuid
from typing import Any

import cloudpickle

from . import _cluster

__all__ = [
    "Barrier",
    "BoundedSemaphore",
    "Condition",
    "Event",
    "JoinableQueue",
    "Lock",
    "Queue",
    "RLock",
    "SimpleQueue",
    "Value",
]

#: how long a non-blocking call may wait on the scheduler (0 would time out
#: before an asyncio put/get could even run there)
_NOWAIT = 0.01


def _client_for(address: str) -> Any:
    try:
        from distributed import get_client, get_worker

        worker = get_worker()
        if worker.scheduler.address == address:
            return get_client()
    except (ImportError, ValueError):
        pass
    return _cluster.client_for(address)


def _timed_out(exc: BaseException) -> bool:
    import asyncio

    return isinstance(exc, (TimeoutError, asyncio.TimeoutError))


class _Shared:
    """A named object on the scheduler at ``address`` (made lazily per process)."""

    _prefix = "procstart"

    def __init__(self, *, name: str | None = None, address: str | None = None) -> None:
        self._name = name or f"{self._prefix}-{uuid.uuid4().hex}"
        self._address = address or _cluster.address()
        self._handle: Any = None
        self._made = threading.Lock()

    def _state(self) -> dict[str, Any]:
        return {}

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, (type(self), self._name, self._address, self._state()))

    def _make(self, client: Any) -> Any:
        raise NotImplementedError

    @property
    def _shared(self) -> Any:
        handle = self._handle
        if handle is None:
            with self._made:
                if self._handle is None:
                    self._handle = self._make(_client_for(self._address))
                handle = self._handle
        return handle

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self._name} on {self._address}>"


def _rebuild(cls: type[_Shared], name: str, address: str, state: dict[str, Any]) -> Any:
    obj = cls.__new__(cls)
    _Shared.__init__(obj, name=name, address=address)
    obj.__dict__.update(state)
    return obj


class Queue(_Shared):
    """``multiprocessing.Queue`` on the scheduler (``ctx.Queue(maxsize)``).

    >>> q = procstart.get_context("dask").Queue()  # doctest: +SKIP
    >>> q.put([1, 2]); q.get(timeout=5)  # doctest: +SKIP
    [1, 2]
    """

    _prefix = "procstart-queue"

    def __init__(self, maxsize: int = 0) -> None:
        super().__init__()
        self._maxsize = maxsize if maxsize > 0 else 0
        self._closed = False

    def _state(self) -> dict[str, Any]:
        return {"_maxsize": self._maxsize, "_closed": False}

    def _make(self, client: Any) -> Any:
        from distributed import Queue as DaskQueue

        return DaskQueue(self._name, client=client, maxsize=self._maxsize)

    def _check_open(self) -> None:
        if self._closed:
            raise ValueError(f"Queue {self._name} is closed")

    def put(self, obj: Any, block: bool = True, timeout: float | None = None) -> None:
        """Put ``obj``; wait for room (``timeout`` s, forever if None) or raise ``queue.Full``."""
        self._check_open()
        data = cloudpickle.dumps(obj)
        try:
            self._shared.put(data, timeout=timeout if block else _NOWAIT)
        except Exception as exc:
            if _timed_out(exc):
                raise _queue.Full from None
            raise

    def get(self, block: bool = True, timeout: float | None = None) -> Any:
        """Remove and return the oldest item; wait (``timeout``) or raise ``queue.Empty``."""
        self._check_open()
        try:
            data = self._shared.get(timeout=timeout if block else _NOWAIT)
        except Exception as exc:
            if _timed_out(exc):
                raise _queue.Empty from None
            raise
        return cloudpickle.loads(data)

    def put_nowait(self, obj: Any) -> None:
        """``put(obj, False)``."""
        self.put(obj, False)

    def get_nowait(self) -> Any:
        """``get(False)``."""
        return self.get(False)

    def qsize(self) -> int:
        """Items waiting now (exact: the scheduler holds the one queue)."""
        return int(self._shared.qsize())

    def empty(self) -> bool:
        """True when no item waits."""
        return self.qsize() == 0

    def full(self) -> bool:
        """True when ``maxsize`` items wait."""
        return self._maxsize > 0 and self.qsize() >= self._maxsize

    def close(self) -> None:
        """This process will put no more (the queue itself stays for the others)."""
        self._closed = True

    def join_thread(self) -> None:
        """Nothing to join: ``put`` returns once the scheduler holds the item."""

    def cancel_join_thread(self) -> None:
        """Nothing to cancel (see :meth:`join_thread`)."""


class SimpleQueue(Queue):
    """``multiprocessing.SimpleQueue``: ``put``, ``get``, ``empty``, ``close``."""

    def __init__(self) -> None:
        super().__init__()

    @property
    def _reader(self) -> Any:
        from ._unsupported import refuse

        # what concurrent.futures.ProcessPoolExecutor reaches for first
        refuse("ProcessPoolExecutor(mp_context=dask)")


class JoinableQueue(Queue):
    """``multiprocessing.JoinableQueue``: ``task_done()`` and ``join()`` as well.

    Unfinished tasks are counted with a second queue of tokens on the
    scheduler; ``join()`` checks it every 20-200 ms.
    """

    def __init__(self, maxsize: int = 0) -> None:
        super().__init__(maxsize)
        self._tokens = Queue()

    def _state(self) -> dict[str, Any]:
        return {**super()._state(), "_tokens": self._tokens}

    def put(self, obj: Any, block: bool = True, timeout: float | None = None) -> None:
        """Put ``obj`` and count one unfinished task."""
        self._tokens.put(None)
        try:
            super().put(obj, block, timeout)
        except BaseException:
            self._tokens.get(timeout=5)
            raise

    def task_done(self) -> None:
        """One item taken from the queue is processed."""
        try:
            self._tokens.get(False)
        except _queue.Empty:
            raise ValueError("task_done() called too many times") from None

    def join(self, timeout: float | None = None) -> bool:
        """Wait until every item put has been marked done (False on ``timeout``)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        pause = 0.02
        while self._tokens.qsize():
            if deadline is not None and time.monotonic() >= deadline:
                return False
            time.sleep(pause)
            pause = min(pause * 2, 0.2)
        return True


class Event(_Shared):
    """``multiprocessing.Event`` backed by ``distributed.Event``."""

    _prefix = "procstart-event"

    def _make(self, client: Any) -> Any:
        from distributed import Event as DaskEvent

        return DaskEvent(self._name, client=client)

    def set(self) -> None:
        """Set the flag and wake every waiter, on every machine."""
        self._shared.set()

    def clear(self) -> None:
        """Reset the flag."""
        self._shared.clear()

    def is_set(self) -> bool:
        """True when set."""
        return bool(self._shared.is_set())

    def wait(self, timeout: float | None = None) -> bool:
        """Wait until set (``timeout`` seconds, forever if None); the flag's value."""
        return bool(self._shared.wait(timeout))


class BoundedSemaphore(_Shared):
    """``multiprocessing.BoundedSemaphore(value)`` backed by ``distributed.Semaphore``.

    Each acquire takes a lease on the scheduler: the process that acquired
    releases it, and a process that dies loses its leases after
    ``distributed.scheduler.locks.lease-timeout``.
    """

    _prefix = "procstart-semaphore"

    def __init__(self, value: int = 1) -> None:
        super().__init__()
        self._value = value

    def _state(self) -> dict[str, Any]:
        return {"_value": self._value}

    def _make(self, client: Any) -> Any:
        from distributed import Semaphore

        return Semaphore(
            max_leases=self._value,
            name=self._name,
            scheduler_rpc=client.scheduler,
            loop=client.loop,
        )

    def acquire(self, block: bool = True, timeout: float | None = None) -> bool:
        """Take one lease; wait (``timeout``), or give up at once when not ``block``."""
        return bool(self._shared.acquire(timeout=timeout if block else _NOWAIT))

    def release(self) -> None:
        """Give back the oldest lease this process holds (ValueError if none)."""
        try:
            self._shared.release()
        except RuntimeError as exc:
            raise ValueError(f"semaphore or lock released too many times ({exc})") from None

    def __enter__(self) -> bool:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()


class Lock(BoundedSemaphore):
    """``multiprocessing.Lock`` backed by ``distributed.Lock`` (a lease of one)."""

    _prefix = "procstart-lock"

    def __init__(self) -> None:
        super().__init__(1)

    def _make(self, client: Any) -> Any:
        from distributed import Lock as DaskLock

        return DaskLock(self._name, scheduler_rpc=client.scheduler, loop=client.loop)

    def acquire(self, block: bool = True, timeout: float | None = None) -> bool:
        """Take the lock; wait (``timeout``), or give up at once when not ``block``."""
        if not block:
            return bool(self._shared.acquire(blocking=False))
        return bool(self._shared.acquire(timeout=timeout))


class RLock(Lock):
    """``multiprocessing.RLock``: the owning thread may acquire again."""

    _prefix = "procstart-rlock"

    def __init__(self) -> None:
        super().__init__()
        self._owner: tuple[int, int] | None = None
        self._count = 0

    def _state(self) -> dict[str, Any]:
        return {**super()._state(), "_owner": None, "_count": 0}

    def acquire(self, block: bool = True, timeout: float | None = None) -> bool:
        """Acquire, or count one more if this thread already holds it."""
        import os

        me = (os.getpid(), threading.get_ident())
        if self._owner == me:
            self._count += 1
            return True
        if not super().acquire(block, timeout):
            return False
        self._owner, self._count = me, 1
        return True

    def release(self) -> None:
        """Release once; the lock is free when every acquire is released."""
        import os

        if self._owner != (os.getpid(), threading.get_ident()):
            raise AssertionError("attempt to release recursive lock not owned by thread")
        self._count -= 1
        if self._count == 0:
            self._owner = None
            super().release()


_CASTS: dict[str, type] = {
    **dict.fromkeys("bBhHiIlLqQ", int),
    **dict.fromkeys("fd", float),
    "?": bool,
}


class Value(_Shared):
    """``multiprocessing.Value``: ``.value`` lives in a ``distributed.Variable``.

    Reads and writes are each atomic; read-modify-write needs the lock, as
    with the stdlib: ``with v.get_lock(): v.value += 1``.
    """

    _prefix = "procstart-value"

    def __init__(self, typecode_or_type: Any, *args: Any, lock: Any = True) -> None:
        super().__init__()
        self._cast = _CASTS.get(typecode_or_type) if isinstance(typecode_or_type, str) else None
        if lock is False:
            self._lock: Any = None
        elif lock is True or lock is None:
            self._lock = RLock()
        else:
            self._lock = lock
        self.value = args[0] if args else 0

    def _state(self) -> dict[str, Any]:
        return {"_cast": self._cast, "_lock": self._lock}

    def _make(self, client: Any) -> Any:
        from distributed import Variable

        return Variable(self._name, client=client)

    @property
    def value(self) -> Any:
        """The current value (one scheduler round trip)."""
        return cloudpickle.loads(self._shared.get(timeout=30))

    @value.setter
    def value(self, new: Any) -> None:
        if self._cast is not None:
            new = self._cast(new)
        self._shared.set(cloudpickle.dumps(new))

    def get_lock(self) -> Any:
        """The lock that guards read-modify-write (an ``RLock`` by default)."""
        if self._lock is None:
            raise AttributeError("this Value was made with lock=False")
        return self._lock

    def get_obj(self) -> Any:
        """The value itself (there is no ctypes object on a cluster)."""
        return self.value

    def acquire(self, *args: Any) -> bool:
        """``get_lock().acquire(...)``."""
        return bool(self.get_lock().acquire(*args))

    def release(self) -> None:
        """``get_lock().release()``."""
        self.get_lock().release()

    def __enter__(self) -> bool:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()


class Barrier(_Shared):
    """``multiprocessing.Barrier(parties, action, timeout)`` across machines.

    State ``(generation, waiting, broken, last broken generation)`` is a
    ``Value`` guarded by a ``Lock``; each generation's waiters wait on an
    ``Event`` of their own. ``wait`` returns the arrival index; a timeout,
    ``abort()`` or ``reset()`` breaks the barrier for the parties waiting
    (``threading.BrokenBarrierError``), as the stdlib's does.
    """

    _prefix = "procstart-barrier"

    def __init__(self, parties: int, action: Any = None, timeout: float | None = None) -> None:
        if parties < 1:
            raise ValueError("parties must be > 0")
        super().__init__()
        self._parties = parties
        self._action = action
        self._timeout = timeout
        self._guard = Lock()
        self._status = Value("O", (0, 0, False, -1), lock=False)

    def _state(self) -> dict[str, Any]:
        return {
            "_parties": self._parties,
            "_action": self._action,
            "_timeout": self._timeout,
            "_guard": self._guard,
            "_status": self._status,
        }

    def _make(self, client: Any) -> Any:
        return None

    def _released(self, generation: int) -> Event:
        event: Event = _rebuild(Event, f"{self._name}-gen-{generation}", self._address, {})
        return event

    def wait(self, timeout: float | None = None) -> int:
        """Wait for all parties; the arrival index (0 .. parties-1)."""
        if timeout is None:
            timeout = self._timeout
        with self._guard:
            generation, waiting, broken, _last = self._status.value
            if broken:
                raise threading.BrokenBarrierError
            index = int(waiting)
            if waiting + 1 == self._parties:
                if self._action is not None:
                    try:
                        self._action()
                    except BaseException:
                        self._break(generation)
                        raise
                self._status.value = (generation + 1, 0, False, _last)
                self._released(generation).set()
                return index
            self._status.value = (generation, waiting + 1, False, _last)
        if not self._released(generation).wait(timeout):
            self.abort()
            raise threading.BrokenBarrierError
        now, _waiting, broken, last = self._status.value
        if (broken and now == generation) or last == generation:
            raise threading.BrokenBarrierError
        return index

    def _break(self, generation: int) -> None:
        _gen, waiting, _broken, _last = self._status.value
        self._status.value = (generation, waiting, True, generation)
        self._released(generation).set()

    def abort(self) -> None:
        """Break the barrier: waiting and future parties get ``BrokenBarrierError``."""
        with self._guard:
            generation = self._status.value[0]
            self._break(generation)

    def reset(self) -> None:
        """Back to empty; parties waiting now get ``BrokenBarrierError``."""
        with self._guard:
            generation, waiting, broken, last = self._status.value
            if waiting or broken:
                self._released(generation).set()
                last = generation
            self._status.value = (generation + 1, 0, False, last)

    @property
    def parties(self) -> int:
        """The number of parties the barrier waits for."""
        return self._parties

    @property
    def n_waiting(self) -> int:
        """Parties waiting now."""
        _gen, waiting, broken, _last = self._status.value
        return 0 if broken else int(waiting)

    @property
    def broken(self) -> bool:
        """True when the barrier is broken."""
        return bool(self._status.value[2])


class Condition(_Shared):
    """``multiprocessing.Condition(lock)`` across machines.

    Each ``wait`` puts a private wake-up queue in a FIFO of waiters and
    releases the lock; ``notify(n)`` wakes the ``n`` oldest waiters still
    waiting (a waiter that timed out marks itself gone and is skipped).
    """

    _prefix = "procstart-condition"

    def __init__(self, lock: Any = None) -> None:
        super().__init__()
        self._lock = lock if lock is not None else RLock()
        self._waiters = Queue()

    def _state(self) -> dict[str, Any]:
        return {"_lock": self._lock, "_waiters": self._waiters}

    def _make(self, client: Any) -> Any:
        return None

    def acquire(self, block: bool = True, timeout: float | None = None) -> bool:
        """Acquire the underlying lock."""
        return bool(self._lock.acquire(block, timeout))

    def release(self) -> None:
        """Release the underlying lock."""
        self._lock.release()

    def __enter__(self) -> bool:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()

    def _release_all(self) -> int:
        if isinstance(self._lock, RLock):
            count = self._lock._count
            for _ in range(count):
                self._lock.release()
            return count
        self._lock.release()
        return 1

    def wait(self, timeout: float | None = None) -> bool:
        """Release the lock, wait for a notify (``timeout``), re-acquire; False on timeout."""
        wake, gone = Queue(), Event()
        self._waiters.put((wake, gone))
        held = self._release_all()
        try:
            try:
                wake.get(timeout=timeout)
                return True
            except _queue.Empty:
                gone.set()
                try:  # a notify that raced the timeout still counts
                    wake.get(False)
                    return True
                except _queue.Empty:
                    return False
        finally:
            for _ in range(held):
                self._lock.acquire()

    def wait_for(self, predicate: Any, timeout: float | None = None) -> Any:
        """Wait until ``predicate()`` is true (or ``timeout``); its last value."""
        deadline = None if timeout is None else time.monotonic() + timeout
        result = predicate()
        while not result:
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                break
            self.wait(remaining)
            result = predicate()
        return result

    def notify(self, n: int = 1) -> None:
        """Wake up to ``n`` waiters, oldest first."""
        woken = 0
        while woken < n:
            try:
                wake, gone = self._waiters.get(False)
            except _queue.Empty:
                return
            if gone.is_set():
                continue
            wake.put(True)
            woken += 1

    def notify_all(self) -> None:
        """Wake every waiter."""
        self.notify(1 << 30)
