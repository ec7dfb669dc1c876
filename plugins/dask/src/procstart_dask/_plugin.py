"""Registers the ``dask`` method, its config keys and its context API with procstart.

Loaded with every procstart parent, so it imports nothing heavy: the
cluster, the queues and the pool are imported on first use.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

import procstart
import procstart.plugin as psp


def _launch(request: psp.LaunchRequest) -> Any:
    from ._popen import launch

    return launch(request)


@procstart.hookimpl
def procstart_status() -> Mapping[str, object]:
    """Which cluster ``dask`` children run on and why, for ``procstart methods``.

    >>> procstart_status()["cluster"]  # doctest: +SKIP
    'local (starts on first use)'
    """
    from ._cluster import describe

    return describe()


def _sync(name: str) -> Callable[..., Any]:
    def make(ctx: Any, *args: Any, **kwargs: Any) -> Any:
        from . import _sync as module

        return getattr(module, name)(*args, **kwargs)

    make.__name__ = name
    make.__doc__ = f"A ``{name}`` that lives on the Dask scheduler (reaches every machine)."
    return make


def _refuse(feature: str) -> Callable[..., Any]:
    def make(ctx: Any, *args: Any, **kwargs: Any) -> Any:
        from ._unsupported import refuse

        refuse(feature)

    make.__name__ = feature.split("(", maxsplit=1)[0]
    return make


def _pool(ctx: Any, *args: Any, **kwargs: Any) -> Any:
    """``multiprocessing.pool.Pool``'s API, its tasks run on the cluster's workers."""
    from ._pool import Pool

    return Pool(*args, **kwargs)


def _executor(ctx: Any, max_workers: int | None = None) -> Any:
    """A ``concurrent.futures.Executor`` whose calls run on the cluster's workers."""
    from ._executor import executor

    return executor(max_workers)


CONTEXT_API: dict[str, Callable[..., Any]] = {
    **{
        name: _sync(name)
        for name in (
            "Queue",
            "SimpleQueue",
            "JoinableQueue",
            "Event",
            "Lock",
            "RLock",
            "BoundedSemaphore",
            "Value",
            "Barrier",
            "Condition",
        )
    },
    "Pool": _pool,
    "Executor": _executor,
    **{
        feature.split("(", maxsplit=1)[0]: _refuse(feature)
        for feature in (
            "Pipe()",
            "Array()",
            "RawArray()",
            "RawValue()",
            "Manager()",
            "Semaphore()",
        )
    },
}


@procstart.hookimpl
def procstart_start_methods() -> Iterator[procstart.StartMethod]:
    """Provide ``dask``.

    >>> [m.name for m in procstart_start_methods()]
    ['dask']
    """
    yield procstart.StartMethod(
        name="dask",
        launcher=_launch,
        description="children on a Dask cluster (local one unless dask-scheduler is set)",
        context_api=CONTEXT_API,
        remote=True,
    )


@procstart.hookimpl
def procstart_config_keys() -> Iterator[procstart.ConfigKey]:
    """Declare ``dask-scheduler`` and ``dask-local-workers``.

    >>> sorted(k.name for k in procstart_config_keys())
    ['dask-local-workers', 'dask-scheduler']
    """
    yield procstart.ConfigKey(
        name="dask-scheduler",
        type=str,
        description="address of the Dask scheduler children run on, e.g. tcp://host:8786 "
        "(unset: a local cluster started on first use)",
        env="PROCSTART_DASK_SCHEDULER",
    )
    yield procstart.ConfigKey(
        name="dask-local-workers",
        type=int,
        description="worker processes of the local cluster started when no scheduler is set",
    )
