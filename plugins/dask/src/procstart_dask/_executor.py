"""A ``concurrent.futures.Executor`` whose calls run on the Dask workers."""

from __future__ import annotations

from typing import Any

from . import _cluster

__all__ = ["executor"]


def executor(max_workers: int | None = None) -> Any:
    """``distributed``'s own ``ClientExecutor`` (a ``concurrent.futures.Executor``).

    ``max_workers`` is accepted for ``ProcessPoolExecutor`` compatibility;
    the cluster's worker threads decide how many calls run at once.

    >>> with procstart.get_context("dask").Executor() as ex:  # doctest: +SKIP
    ...     ex.submit(pow, 2, 10).result()
    1024
    """
    if max_workers is not None and max_workers < 1:
        raise ValueError("max_workers must be greater than 0")
    return _cluster.client().get_executor(pure=False)
