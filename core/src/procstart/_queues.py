"""Queues that reach procstart children send what they carry as a child can load it.

``multiprocessing``'s queues pickle with plain ``ForkingPickler``: a function
or class of a ``__main__`` the child cannot import (``python -c``, stdin, a
REPL, a notebook) pickles by reference in the parent and fails in the child
(``AttributeError: Can't get attribute 'f' on <module '__main__'>``; a
``Pool`` then waits forever for the lost task). Two places make the queues
that reach procstart's exec- and server-based children (spawn, forkserver,
plugins' methods) use :func:`procstart.serialization.dumps_message` instead,
by reference when possible and by value when needed:

- :class:`SimpleQueue`, what ``ProcstartContext.SimpleQueue()`` returns: a
  ``Pool``'s task queue, ``ProcessPoolExecutor``'s result queue;
- :func:`adopt`, called by :mod:`procstart.serialization` when a ``Queue``
  or ``SimpleQueue`` is sent to such a child as a process argument (so the
  call queue ``ProcessPoolExecutor(mp_context=...)`` makes itself, and any
  queue made by the stdlib's contexts but handed to a procstart child).

Queues of fork-like methods are left alone (their children inherit
``__main__``), and so is every queue that never meets a procstart child: the
standard library's own contexts behave exactly as without procstart.

Private CPython names used here (checked in 3.10.13, 3.11.7, 3.12.1,
3.13.0): ``SimpleQueue._writer`` (a ``Connection``, which has no
``__slots__``), ``Pool._setup_queues`` binding ``self._quick_put =
self._inqueue._writer.send`` after ``self._ctx.SimpleQueue()``, and
``Queue._on_queue_feeder_error(e, obj)``, which the feeder thread takes from
the instance when it starts (at the first ``put``).
"""

from __future__ import annotations

import pickle
import weakref
from multiprocessing import queues

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: a spawned child would import typing
if TYPE_CHECKING:
    from collections.abc import Callable
    from multiprocessing.connection import Connection
    from typing import Any

__all__ = ["SimpleQueue", "adopt"]

_ADOPTED = "_procstart_by_value"


def _dumps(obj: object, method: str) -> bytes:
    from .serialization import dumps_message  # the child side never needs it

    return dumps_message(obj, method=method)


def _sender(writer: Connection, method: str) -> Callable[[object], None]:
    """``writer.send`` that pickles with procstart (no reference cycle through ``writer``)."""
    ref = weakref.ref(writer)

    def send(obj: object) -> None:
        conn = ref()
        if conn is None:
            raise OSError("handle is closed")
        conn.send_bytes(_dumps(obj, method))

    return send


if TYPE_CHECKING:
    _SimpleQueueBase = queues.SimpleQueue[Any]
else:
    _SimpleQueueBase = queues.SimpleQueue


class SimpleQueue(_SimpleQueueBase):
    """``multiprocessing.queues.SimpleQueue`` whose items a procstart child can load.

    >>> import procstart
    >>> q = procstart.get_context("spawn").SimpleQueue()  # doctest: +SKIP
    >>> q.put(lambda: 42); q.get()()  # doctest: +SKIP
    42
    """

    def __init__(self, *, ctx: Any) -> None:
        super().__init__(ctx=ctx)
        method = ctx.method
        self._procstart_method: str | None = None if method.inherits_all_fds else method.name
        if self._procstart_method is not None:
            # a Pool binds _quick_put = _inqueue._writer.send: make that ours too
            writer = self._writer  # type: ignore[attr-defined]
            writer.send = _sender(writer, self._procstart_method)

    def put(self, obj: object) -> None:
        """Put ``obj`` on the queue, by value where a child could not load it."""
        method = getattr(self, "_procstart_method", None)
        if method is None:  # unpickled in a child, or a fork-like method
            super().put(obj)
            return
        data = _dumps(obj, method)
        lock = self._wlock  # type: ignore[attr-defined]
        if lock is None:  # Windows: writes to a message pipe are atomic
            self._writer.send_bytes(data)  # type: ignore[attr-defined]
        else:
            with lock:
                self._writer.send_bytes(data)  # type: ignore[attr-defined]


class _Deferred:
    """A queue item pickled by procstart when the feeder thread pickles it."""

    __slots__ = ("method", "obj")

    def __init__(self, obj: object, method: str) -> None:
        self.obj = obj
        self.method = method

    def __reduce__(self) -> tuple[Any, tuple[bytes]]:
        return (pickle.loads, (_dumps(self.obj, self.method),))


def adopt(queue: object, method: str) -> None:
    """From now on, ``queue`` (in this process) sends its items as procstart does.

    Called when ``queue`` is sent to a child of ``method``. Items are
    pickled in the feeder thread as before, so an error still reaches the
    queue's ``_on_queue_feeder_error`` with the item the caller put (a
    ``ProcessPoolExecutor`` fails that call's future with it).
    """
    if isinstance(queue, SimpleQueue) or getattr(queue, _ADOPTED, False):
        return
    ref = weakref.ref(queue)
    if isinstance(queue, queues.Queue):
        put: Any = type(queue).put
        on_error: Any = type(queue)._on_queue_feeder_error  # type: ignore[attr-defined]

        def queue_put(obj: object, block: bool = True, timeout: float | None = None) -> None:
            put(ref(), _Deferred(obj, method), block, timeout)

        def feeder_error(exc: Exception, obj: object) -> None:
            on_error(ref(), exc, obj.obj if isinstance(obj, _Deferred) else obj)

        queue.put = queue_put  # type: ignore[method-assign]
        queue._on_queue_feeder_error = feeder_error  # type: ignore[attr-defined]
    elif isinstance(queue, queues.SimpleQueue):
        simple_put: Any = type(queue).put

        def simple_queue_put(obj: object) -> None:
            simple_put(ref(), _Deferred(obj, method))

        queue.put = simple_queue_put  # type: ignore[method-assign]
    else:
        return
    setattr(queue, _ADOPTED, True)
