"""What cannot cross machines: a clear error at the call, naming the alternative.

Everything here relies on one kernel (shared memory, file descriptors, a
server on this host's Unix socket); a child on another machine could never
reach it, so the ``dask`` context refuses it at once instead of hanging later.
"""

from __future__ import annotations

from typing import Any, NoReturn

__all__ = ["ALTERNATIVES", "UnsupportedOnCluster", "refuse"]


class UnsupportedOnCluster(NotImplementedError):  # noqa: N818 - reads as a sentence
    """Raised for ``multiprocessing`` features that need one machine.

    >>> import procstart
    >>> procstart.get_context("dask").Pipe()  # doctest: +SKIP
    Traceback (most recent call last):
    procstart_dask.UnsupportedOnCluster: Pipe() cannot cross machines: ...
    """


#: feature -> what to use instead
ALTERNATIVES: dict[str, str] = {
    "Pipe()": "use ctx.Queue() (one per direction) for messages between processes",
    "Array()": "shared memory cannot reach another machine: send the data through "
    "ctx.Queue(), or keep one value in ctx.Value()",
    "RawArray()": "shared memory cannot reach another machine: send the data through ctx.Queue()",
    "RawValue()": "shared memory cannot reach another machine: use ctx.Value()",
    "Manager()": "a Manager serves from this host; use ctx.Queue(), ctx.Event(), "
    "ctx.Lock(), ctx.Value() (they live on the Dask scheduler), or start a "
    "SyncManager on a reachable TCP address yourself",
    "Pool(maxtasksperchild=...)": "Dask workers are long-lived and shared: leave "
    "maxtasksperchild unset (restart workers with client.restart() if you must)",
    "Semaphore()": "use ctx.BoundedSemaphore() (a Dask semaphore: leases, released "
    "only by their holder)",
    "shared memory": "send the data through ctx.Queue() or return it from a Pool task",
    "a file descriptor": "open the file or socket in the child instead",
    "a multiprocessing Queue or lock made by another context": "make it with the "
    "dask context: ctx = procstart.get_context('dask'); ctx.Queue(), ctx.Lock()...",
    "ProcessPoolExecutor(mp_context=dask)": "use ctx.Executor() (a "
    "concurrent.futures.Executor on the cluster) or ctx.Pool()",
}


def refuse(feature: str, *_args: Any, **_kwargs: Any) -> NoReturn:
    """Raise :class:`UnsupportedOnCluster` for ``feature`` with its alternative.

    >>> refuse("Pipe()")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    procstart_dask._unsupported.UnsupportedOnCluster: Pipe() cannot cross machines ...
    """
    raise UnsupportedOnCluster(
        f"{feature} cannot cross machines under the 'dask' start method: {ALTERNATIVES[feature]}"
    )
