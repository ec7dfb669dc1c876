"""Pickling for another machine: cloudpickle, as Dask does, and clear refusals.

Functions and classes defined in ``__main__`` travel by value (the worker
need not have the parent's script); objects bound to this machine (pipes,
stdlib queues and locks, shared memory, sockets) are refused in the parent
with the alternative named, instead of failing or hanging on the worker.
"""

from __future__ import annotations

import io
import pickle
import socket
from multiprocessing import connection, managers, queues, synchronize
from typing import Any

import cloudpickle

import procstart.plugin as psp

from ._unsupported import ALTERNATIVES, UnsupportedOnCluster

__all__ = ["dumps", "local_only"]

_STDLIB_SYNC = (
    queues.Queue,
    queues.SimpleQueue,
    synchronize.SemLock,
    synchronize.Event,
    synchronize.Condition,
)


def local_only(obj: Any) -> str | None:
    """The feature name (a key of ``ALTERNATIVES``) if ``obj`` cannot leave this machine.

    >>> local_only(socket.socket())  # doctest: +SKIP
    'a file descriptor'
    """
    if isinstance(obj, connection.Connection):
        return "Pipe()"
    if isinstance(obj, _STDLIB_SYNC) and type(obj).__module__ == "concurrent.futures.process":
        return "ProcessPoolExecutor(mp_context=dask)"
    if isinstance(obj, _STDLIB_SYNC):
        return "a multiprocessing Queue or lock made by another context"
    if isinstance(obj, socket.socket):
        return "a file descriptor"
    if isinstance(obj, managers.BaseProxy):
        return "Manager()"
    module = type(obj).__module__
    if module in ("multiprocessing.shared_memory", "multiprocessing.sharedctypes"):
        return "shared memory"
    return None


class _Pickler(cloudpickle.Pickler):  # type: ignore[misc]
    def reducer_override(self, obj: Any) -> Any:
        feature = local_only(obj)
        if feature is not None:
            raise UnsupportedOnCluster(
                f"{feature} cannot cross machines under the 'dask' start method: "
                f"{ALTERNATIVES[feature]}"
            )
        return super().reducer_override(obj)


def _dumps(obj: Any) -> bytes:
    buf = io.BytesIO()
    _Pickler(buf, protocol=pickle.HIGHEST_PROTOCOL).dump(obj)
    return buf.getvalue()


def _culprit(process: Any) -> str:
    parts: list[tuple[str, Any]] = [("the target", getattr(process, "_target", None))]
    parts += [(f"argument {i}", a) for i, a in enumerate(getattr(process, "_args", ()) or ())]
    parts += [
        (f"keyword argument {k!r}", v) for k, v in (getattr(process, "_kwargs", {}) or {}).items()
    ]
    for label, value in parts:
        try:
            _dumps(value)
        except Exception:  # noqa: BLE001 - this is the one
            kind = type(value)
            return f"{label} of type '{kind.__module__}.{kind.__qualname__}'"
    return "the process object"


def dumps(process: Any, popen: object) -> bytes:
    """Pickle ``process`` for a worker, with ``popen`` as the spawning popen.

    Raises :class:`UnsupportedOnCluster` for what needs this machine and
    ``procstart.plugin.SerializationError`` (naming the part and its type)
    for anything else that cannot be pickled.
    """
    with psp.spawning(popen):
        try:
            return _dumps(process)
        except UnsupportedOnCluster:
            raise
        except Exception as exc:
            detail = str(exc) or type(exc).__name__
            raise psp.SerializationError(
                f"cannot send {_culprit(process)} to a child started with 'dask': {detail}"
            ) from exc
