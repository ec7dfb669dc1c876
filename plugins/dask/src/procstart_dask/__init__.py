"""procstart-dask: the ``dask`` start method, children on a Dask cluster.

One line moves a ``multiprocessing`` program from this machine to a
cluster: ``procstart.get_context("dask")`` or ``start-method = "dask"`` in
``[tool.procstart]``. Each child runs in a process of its own on a Dask
worker, with process semantics (exit codes, ``join``, ``terminate``,
``daemon``); ``Queue``, ``Event``, ``Lock``, ``Value``... live on the Dask
scheduler, ``Pool`` and ``Executor`` run tasks on the workers. What needs one
machine (``Pipe``, shared memory, ``Manager``) raises
:class:`UnsupportedOnCluster` naming the alternative.

The cluster: ``PROCSTART_DASK_SCHEDULER``, else ``[tool.procstart]
dask-scheduler``, else a local ``distributed.LocalCluster`` started on first
use. See docs/outgrowing-one-machine.md.

>>> import procstart
>>> ctx = procstart.get_context("dask")  # doctest: +SKIP
>>> p = ctx.Process(target=print, args=("hello from a worker",))  # doctest: +SKIP
>>> p.start(); p.join()  # doctest: +SKIP
hello from a worker
"""

from __future__ import annotations

from typing import Any

from ._plugin import procstart_config_keys, procstart_start_methods, procstart_status
from ._unsupported import UnsupportedOnCluster

__version__ = "0.1.0"
__all__ = [
    "UnsupportedOnCluster",
    "client",
    "procstart_config_keys",
    "procstart_start_methods",
    "procstart_status",
    "shutdown",
]


def client() -> Any:
    """The ``distributed.Client`` the ``dask`` method uses (connecting on first use).

    >>> client().scheduler.address  # doctest: +SKIP
    'tcp://127.0.0.1:40123'
    """
    from ._cluster import client as _client

    return _client()


def shutdown() -> None:
    """Stop this process's dask children, close its client and its local cluster.

    Runs by itself at exit; call it to release the cluster earlier.
    """
    from ._cluster import shutdown as _shutdown

    _shutdown()
