"""``multiprocessing.pool.Pool``'s API, its tasks run on the Dask workers.

Work is cut into chunks as the stdlib does (``chunksize``, or
``len / (4 * processes)``), each chunk one Dask task; results come back in
order (``map``, ``imap``) or as they finish (``imap_unordered``). The tasks
run in the worker processes themselves (no process per task), which is
what makes a Pool cheaper than a Process per item. ``initializer`` runs once
per worker process and pool, before that worker's first task of the pool.

``processes`` sets the default chunk size, as in the stdlib; how many
chunks run at once is the cluster's business (its worker threads).
"""

from __future__ import annotations

import contextlib
import itertools
import threading
import uuid
from collections.abc import Callable, Iterable, Iterator
from multiprocessing import TimeoutError as MpTimeoutError
from typing import Any

from . import _cluster
from ._unsupported import refuse

__all__ = ["ApplyResult", "IMapIterator", "Pool", "run_chunk"]

_RUN, _CLOSE, _TERMINATE = "RUN", "CLOSE", "TERMINATE"

#: pool tokens whose initializer already ran in this worker process
_initialised: set[str] = set()
_init_lock = threading.Lock()


def run_chunk(  # noqa: PLR0917 - a task's arguments, positional for Dask
    token: str,
    initializer: Callable[..., Any] | None,
    initargs: tuple[Any, ...],
    func: Callable[..., Any],
    chunk: list[Any],
    star: bool,
) -> list[Any]:
    """Run one chunk on a worker (a Dask task); the pool's initializer first, once."""
    if initializer is not None:
        with _init_lock:
            first = token not in _initialised
            _initialised.add(token)
        if first:
            initializer(*initargs)
    if star:
        return [func(*args) for args in chunk]
    return [func(arg) for arg in chunk]


def _wait(client: Any, futures: list[Any], timeout: float | None) -> None:
    """Wait until every future is done; ``multiprocessing.TimeoutError`` after ``timeout``."""
    import asyncio

    from distributed import wait

    try:
        with client.as_current():
            wait(futures, timeout=timeout)
    except Exception as exc:
        if isinstance(exc, (TimeoutError, asyncio.TimeoutError)):
            raise MpTimeoutError from None
        raise


class ApplyResult:
    """What ``apply_async`` / ``map_async`` return: ``get``, ``wait``, ``ready``, ``successful``."""

    def __init__(
        self,
        client: Any,
        futures: list[Any],
        assemble: Callable[[list[Any]], Any],
        callback: Callable[[Any], Any] | None = None,
        error_callback: Callable[[BaseException], Any] | None = None,
    ) -> None:
        self._client = client
        self._futures = futures
        self._assemble = assemble
        if callback is not None or error_callback is not None:
            threading.Thread(
                target=self._call_back, args=(callback, error_callback), daemon=True
            ).start()

    def _call_back(
        self,
        callback: Callable[[Any], Any] | None,
        error_callback: Callable[[BaseException], Any] | None,
    ) -> None:
        try:
            value = self.get()
        except BaseException as exc:  # noqa: BLE001 - handed to error_callback
            if error_callback is not None:
                error_callback(exc)
            return
        if callback is not None:
            callback(value)

    def ready(self) -> bool:
        """True when every task has finished (or failed)."""
        return all(f.done() for f in self._futures)

    def successful(self) -> bool:
        """True when every task succeeded (ValueError while not ready)."""
        if not self.ready():
            raise ValueError(f"{self!r} not ready")
        return all(f.status == "finished" for f in self._futures)

    def wait(self, timeout: float | None = None) -> None:
        """Wait until ready or ``timeout`` seconds have passed."""
        with contextlib.suppress(MpTimeoutError):
            _wait(self._client, self._futures, timeout)

    def get(self, timeout: float | None = None) -> Any:
        """The result, or the task's exception; ``multiprocessing.TimeoutError`` on timeout."""
        _wait(self._client, self._futures, timeout)
        return self._assemble(self._client.gather(self._futures))


AsyncResult = ApplyResult
MapResult = ApplyResult


class IMapIterator:
    """What ``imap`` / ``imap_unordered`` return: an iterator with ``next(timeout)``."""

    def __init__(self, client: Any, futures: list[Any], ordered: bool) -> None:
        self._client = client
        self._buffer: list[Any] = []
        if ordered or not futures:
            self._chunks: Iterator[Any] = iter(futures)
        else:
            from distributed import as_completed

            self._chunks = iter(as_completed(futures, loop=client.loop))
        self._ordered = ordered

    def __iter__(self) -> IMapIterator:
        return self

    def next(self, timeout: float | None = None) -> Any:
        """The next result; ``multiprocessing.TimeoutError`` after ``timeout`` seconds."""
        while not self._buffer:
            future = next(self._chunks)  # StopIteration ends the iteration
            _wait(self._client, [future], timeout)
            self._buffer = list(future.result())
            self._buffer.reverse()
        return self._buffer.pop()

    __next__ = next


class Pool:
    """``ctx.Pool(processes, initializer, initargs)`` on the Dask cluster.

    >>> with procstart.get_context("dask").Pool(4) as pool:  # doctest: +SKIP
    ...     pool.map(abs, [-1, -2])
    [1, 2]
    """

    def __init__(
        self,
        processes: int | None = None,
        initializer: Callable[..., Any] | None = None,
        initargs: Iterable[Any] = (),
        maxtasksperchild: int | None = None,
        context: Any = None,
    ) -> None:
        if maxtasksperchild is not None:
            refuse("Pool(maxtasksperchild=...)")
        if processes is not None and processes < 1:
            raise ValueError("Number of processes must be at least 1")
        if initializer is not None and not callable(initializer):
            raise TypeError("initializer must be a callable")
        self._client = _cluster.client()
        if processes is None:
            processes = max(1, sum(self._client.nthreads().values()))
        self._processes = processes
        self._token = f"procstart-pool-{uuid.uuid4().hex}"
        self._initializer = initializer
        self._initargs = tuple(initargs)
        self._state = _RUN
        self._futures: list[Any] = []

    def __repr__(self) -> str:
        return f"<procstart_dask.Pool state={self._state} pool_size={self._processes}>"

    def _check_running(self) -> None:
        if self._state != _RUN:
            raise ValueError("Pool not running")

    def _submit(
        self, func: Callable[..., Any], iterable: Iterable[Any], chunksize: int | None, star: bool
    ) -> list[Any]:
        self._check_running()
        items = list(iterable)
        if chunksize is None:
            chunksize, extra = divmod(len(items), self._processes * 4)
            chunksize += bool(extra)
        chunksize = max(1, chunksize)
        chunks = [items[i : i + chunksize] for i in range(0, len(items), chunksize)]
        k = len(chunks)
        futures: list[Any] = self._client.map(
            run_chunk,
            [self._token] * k,
            [self._initializer] * k,
            [self._initargs] * k,
            [func] * k,
            chunks,
            [star] * k,
            pure=False,
        )
        self._futures = [f for f in self._futures if not f.done()] + futures
        return futures

    # -- the multiprocessing.pool.Pool API -------------------------------------
    def apply(self, func: Callable[..., Any], args: Iterable[Any] = (), kwds: Any = None) -> Any:
        """``func(*args, **kwds)`` on a worker; its result."""
        return self.apply_async(func, args, kwds).get()

    def apply_async(
        self,
        func: Callable[..., Any],
        args: Iterable[Any] = (),
        kwds: Any = None,
        callback: Callable[[Any], Any] | None = None,
        error_callback: Callable[[BaseException], Any] | None = None,
    ) -> ApplyResult:
        """Start ``func(*args, **kwds)`` on a worker; an :class:`ApplyResult`."""
        call = _Call(func, dict(kwds or {}))
        futures = self._submit(call, [tuple(args)], 1, star=True)
        return ApplyResult(
            self._client, futures, lambda results: results[0][0], callback, error_callback
        )

    def map(
        self, func: Callable[[Any], Any], iterable: Iterable[Any], chunksize: int | None = None
    ) -> list[Any]:
        """``[func(x) for x in iterable]``, computed on the workers in chunks."""
        return list(self.map_async(func, iterable, chunksize).get())

    def map_async(
        self,
        func: Callable[[Any], Any],
        iterable: Iterable[Any],
        chunksize: int | None = None,
        callback: Callable[[Any], Any] | None = None,
        error_callback: Callable[[BaseException], Any] | None = None,
    ) -> ApplyResult:
        """Start :meth:`map`; an :class:`ApplyResult` whose ``get()`` is the list."""
        futures = self._submit(func, iterable, chunksize, star=False)
        return ApplyResult(self._client, futures, _concat, callback, error_callback)

    def starmap(
        self,
        func: Callable[..., Any],
        iterable: Iterable[Iterable[Any]],
        chunksize: int | None = None,
    ) -> list[Any]:
        """``[func(*args) for args in iterable]`` on the workers."""
        return list(self.starmap_async(func, iterable, chunksize).get())

    def starmap_async(
        self,
        func: Callable[..., Any],
        iterable: Iterable[Iterable[Any]],
        chunksize: int | None = None,
        callback: Callable[[Any], Any] | None = None,
        error_callback: Callable[[BaseException], Any] | None = None,
    ) -> ApplyResult:
        """Start :meth:`starmap`; an :class:`ApplyResult`."""
        futures = self._submit(func, [tuple(a) for a in iterable], chunksize, star=True)
        return ApplyResult(self._client, futures, _concat, callback, error_callback)

    def imap(
        self, func: Callable[[Any], Any], iterable: Iterable[Any], chunksize: int = 1
    ) -> IMapIterator:
        """Results in order, as an iterator (``next(timeout)`` too)."""
        futures = self._submit(func, iterable, chunksize, star=False)
        return IMapIterator(self._client, futures, ordered=True)

    def imap_unordered(
        self, func: Callable[[Any], Any], iterable: Iterable[Any], chunksize: int = 1
    ) -> IMapIterator:
        """Results as their chunks finish."""
        futures = self._submit(func, iterable, chunksize, star=False)
        return IMapIterator(self._client, futures, ordered=False)

    def close(self) -> None:
        """Accept no more work; :meth:`join` waits for what was submitted."""
        if self._state == _RUN:
            self._state = _CLOSE

    def terminate(self) -> None:
        """Cancel every task not finished (running tasks finish on their worker)."""
        self._state = _TERMINATE
        if self._futures:
            self._client.cancel(self._futures)
        self._futures = []

    def join(self) -> None:
        """Wait for every submitted task (after :meth:`close` or :meth:`terminate`)."""
        if self._state == _RUN:
            raise ValueError("Pool is still running")
        if self._futures:
            _wait(self._client, self._futures, None)
        self._futures = []

    def __enter__(self) -> Pool:
        self._check_running()
        return self

    def __exit__(self, *exc: object) -> None:
        self.terminate()


class _Call:
    """``func`` with keyword arguments, picklable (``apply_async``'s ``kwds``)."""

    def __init__(self, func: Callable[..., Any], kwds: dict[str, Any]) -> None:
        self.func = func
        self.kwds = kwds

    def __call__(self, *args: Any) -> Any:
        return self.func(*args, **self.kwds)


def _concat(chunks: list[list[Any]]) -> list[Any]:
    return list(itertools.chain.from_iterable(chunks))
