"""Which Dask cluster children run on, and the one client this process uses.

The scheduler address comes from (first that is set wins):

1. the environment variable ``PROCSTART_DASK_SCHEDULER``;
2. ``[tool.procstart] dask-scheduler`` in the project's ``pyproject.toml``;
3. neither: an embedded ``distributed.LocalCluster`` (worker processes, one
   thread each), started on first use and closed when this process exits.

``distributed`` is imported only when a cluster is first needed: listing
methods or starting children under other methods never pays for it.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import threading
from dataclasses import dataclass
from typing import Any

import procstart.plugin as psp

__all__ = [
    "CONFIG_KEY",
    "CONNECT_TIMEOUT_ENV",
    "SCHEDULER_ENV",
    "Target",
    "client",
    "client_for",
    "describe",
    "shutdown",
    "target",
]

SCHEDULER_ENV = "PROCSTART_DASK_SCHEDULER"
CONNECT_TIMEOUT_ENV = "PROCSTART_DASK_CONNECT_TIMEOUT"
CONFIG_KEY = "dask-scheduler"
WORKERS_KEY = "dask-local-workers"
_DEFAULT_TIMEOUT = 10.0

_lock = threading.RLock()
_client: Any = None
_cluster: Any = None
#: address -> client, for processes that only attach (children, by pickled objects)
_attached: dict[str, Any] = {}
#: callbacks run at exit before the cluster closes (the popen module's)
_before_close: list[Any] = []


@dataclass(frozen=True)
class Target:
    """Where children go: an address (None: a local cluster) and who said so.

    >>> Target(None, "neither PROCSTART_DASK_SCHEDULER nor dask-scheduler is set").local
    True
    """

    address: str | None
    source: str

    @property
    def local(self) -> bool:
        """True when procstart starts its own ``LocalCluster``."""
        return self.address is None


def target() -> Target:
    """The scheduler this process would use, and the setting that chose it.

    >>> target().source  # doctest: +SKIP
    "[tool.procstart] dask-scheduler in /src/app/pyproject.toml"
    """
    env = os.environ.get(SCHEDULER_ENV, "").strip()
    if env:
        return Target(env, f"environment variable {SCHEDULER_ENV}")
    value = psp.config_value(CONFIG_KEY)
    if isinstance(value, str) and value.strip():
        return Target(value.strip(), f"[tool.procstart] {CONFIG_KEY} in {psp.config_file()}")
    return Target(None, f"neither {SCHEDULER_ENV} nor [tool.procstart] {CONFIG_KEY} is set")


def _connect_timeout() -> float:
    raw = os.environ.get(CONNECT_TIMEOUT_ENV, "").strip()
    try:
        return float(raw) if raw else _DEFAULT_TIMEOUT
    except ValueError:
        raise ValueError(
            f"environment variable {CONNECT_TIMEOUT_ENV}={raw!r}: expected seconds (a number)"
        ) from None


def _local_workers() -> int:
    chosen = psp.config_value(WORKERS_KEY)
    if isinstance(chosen, int) and chosen > 0:
        return chosen
    return max(2, min(4, os.cpu_count() or 1))


def _start_local() -> Any:
    import logging

    import dask
    from distributed import Client, LocalCluster

    # a worker that dies while running a child must not make the scheduler run
    # the child again elsewhere (processes are not idempotent): fail at once
    with dask.config.set({"distributed.scheduler.allowed-failures": 0}):
        cluster = LocalCluster(
            n_workers=_local_workers(),
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            # a task's exception or a queue's timeout is the caller's to
            # report (as with multiprocessing), not the workers' log's
            silence_logs=logging.CRITICAL,
        )
    return cluster, Client(cluster, set_as_default=False)


def _connect(where: Target) -> Any:
    from distributed import Client

    timeout = _connect_timeout()
    try:
        return Client(where.address, timeout=timeout, set_as_default=False)
    except (OSError, TimeoutError) as exc:
        raise ConnectionError(
            f"procstart-dask: cannot reach the Dask scheduler at {where.address!r} "
            f"(set by {where.source}) within {timeout:g} s: {exc}. Start one with "
            f"`dask scheduler` (and `dask worker {where.address}`), fix the address, "
            f"or unset it to use a local cluster"
        ) from exc


def client() -> Any:
    """The ``distributed.Client`` children are started through (connecting on first use).

    >>> client().scheduler.address  # doctest: +SKIP
    'tcp://127.0.0.1:40123'
    """
    global _client, _cluster
    with _lock:
        if _client is None:
            where = target()
            if where.local:
                _cluster, _client = _start_local()
            else:
                _client = _connect(where)
            # registered after distributed's own exit hooks, so it runs before
            # them: children are stopped/joined while the cluster still exists
            atexit.register(shutdown)
        return _client


def client_for(address: str) -> Any:
    """A client connected to ``address``: this process's own, or one made to attach.

    Objects that cross machines (queues, locks...) carry their scheduler's
    address; a child uses this to reach it.
    """
    with _lock:
        if _client is not None and _client.scheduler.address == address:
            return _client
        found = _attached.get(address)
        if found is None:
            from distributed import Client

            found = _attached[address] = Client(
                address, timeout=_connect_timeout(), set_as_default=False
            )
        return found


def address() -> str:
    """The scheduler address of :func:`client` (starting it if needed)."""
    return str(client().scheduler.address)


def describe() -> dict[str, object]:
    """What ``procstart methods`` shows: the cluster and why it is that one.

    >>> describe()["cluster"]  # doctest: +SKIP
    'local (starts on first use)'
    """
    where = target()
    with _lock:
        running = _client
    if running is not None:
        cluster = str(running.scheduler.address)
        if _cluster is not None:
            cluster += f" (local, {len(_cluster.workers)} workers)"
    elif where.local:
        cluster = "local (starts on first use)"
    else:
        cluster = where.address or ""
    return {"cluster": cluster, "why": where.source}


def on_shutdown(callback: Any) -> None:
    """Run ``callback()`` at exit (or :func:`shutdown`) before the cluster closes."""
    _before_close.append(callback)


def shutdown() -> None:
    """Stop this process's children, then close its client and local cluster.

    Runs at exit; tests call it to start afresh.
    """
    global _client, _cluster
    for callback in list(_before_close):
        callback()
    with _lock:
        running, cluster, _client, _cluster = _client, _cluster, None, None
        attached = list(_attached.values())
        _attached.clear()
    # closing at exit must not raise
    for one in [*attached, running, cluster]:
        if one is not None:
            with contextlib.suppress(Exception):
                one.close()
    atexit.unregister(shutdown)
