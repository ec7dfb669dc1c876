"""Queues that reach procstart children send what they carry as a child can load it.

``multiprocessing``'s queues pickle with plain ``ForkingPickler``: a function
or class of a ``__main__`` the child cannot import (``python -c``, stdin, a
REPL, a notebook) pickles by reference in the parent and fails in the child
(``AttributeError: Can't get attribute 'f' on <module '__main__'>``; a
``Pool`` then waits forever for the lost task). Two places make the queues
that reach procstart's exec- and server-based children (spawn, forkserver,
plugins' methods) use :func:`procstart.serialization.dumps_message` instead,
by reference when possible and by value when needed:

- :class:`procstart._simple_queue.SimpleQueue`, what
  ``ProcstartContext.SimpleQueue()`` returns: a ``Pool``'s task queue,
  ``ProcessPoolExecutor``'s result queue (it sends with :func:`sender`);
- :func:`adopt`, called by :mod:`procstart.serialization` when a ``Queue``
  or ``SimpleQueue`` is sent to such a child as a process argument (so the
  call queue ``ProcessPoolExecutor(mp_context=...)`` makes itself, and any
  queue made by the stdlib's contexts but handed to a procstart child).

Queues of fork-like methods are left alone (their children inherit
``__main__``), and so is every queue that never meets a procstart child: the
standard library's own contexts behave exactly as without procstart.

Kept light (``pickle``, ``weakref``): :mod:`procstart.serialization` imports
it up front, so no import happens while a child is being started.

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

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: a spawned child would import typing
if TYPE_CHECKING:
    from collections.abc import Callable
    from multiprocessing.connection import Connection
    from typing import Any

__all__ = ["adopt", "dumps", "sender"]

_ADOPTED = "_procstart_by_value"


_dumps_message: list[Any] = []

#: items that always pickle by reference: they skip procstart's pickler
_PLAIN = frozenset({int, float, str, bytes, bytearray, bool, type(None), complex})


def _plain(obj: object) -> bool:
    """True for atoms and small tuples of atoms: pickled by reference, always."""
    kind = type(obj)
    if kind in _PLAIN:
        return True
    return (
        isinstance(obj, tuple)
        and kind is tuple
        and len(obj) <= 8
        and all(type(x) in _PLAIN for x in obj)
    )


def dumps(obj: object, method: str) -> bytes:
    """:func:`procstart.serialization.dumps_message` for a child of ``method``.

    >>> pickle.loads(dumps(lambda: 42, "spawn"))()  # doctest: +SKIP
    42
    """
    if not _dumps_message:  # the child side never needs it
        from .serialization import dumps_message

        _dumps_message.append(dumps_message)
    data: bytes = _dumps_message[0](obj, method=method)
    return data


def sender(writer: Connection, method: str) -> Callable[[object], None]:
    """``writer.send`` that pickles with procstart (no reference cycle through ``writer``)."""
    ref = weakref.ref(writer)

    def send(obj: object) -> None:
        conn = ref()
        if conn is None:
            raise OSError("handle is closed")
        conn.send_bytes(dumps(obj, method))

    return send


class _Deferred:
    """A queue item pickled by procstart when the feeder thread pickles it."""

    __slots__ = ("method", "obj")

    def __init__(self, obj: object, method: str) -> None:
        self.obj = obj
        self.method = method

    def __reduce__(self) -> tuple[Any, tuple[bytes]]:
        return (pickle.loads, (dumps(self.obj, self.method),))


def adopt(queue: object, method: str) -> None:
    """From now on, ``queue`` (in this process) sends its items as procstart does.

    Called when ``queue`` is sent to a child of ``method``. Items are
    pickled in the feeder thread as before, so an error still reaches the
    queue's ``_on_queue_feeder_error`` with the item the caller put (a
    ``ProcessPoolExecutor`` fails that call's future with it).
    """
    from multiprocessing import queues  # loaded already: a queue is being sent

    if getattr(queue, _ADOPTED, False):  # done, or a procstart SimpleQueue
        return
    ref = weakref.ref(queue)
    if isinstance(queue, queues.Queue):
        put: Any = type(queue).put
        on_error: Any = type(queue)._on_queue_feeder_error  # type: ignore[attr-defined]

        def queue_put(obj: object, block: bool = True, timeout: float | None = None) -> None:
            item = obj if _plain(obj) else _Deferred(obj, method)
            put(ref(), item, block, timeout)

        def feeder_error(exc: Exception, obj: object) -> None:
            on_error(ref(), exc, obj.obj if isinstance(obj, _Deferred) else obj)

        queue.put = queue_put  # type: ignore[method-assign]
        queue._on_queue_feeder_error = feeder_error  # type: ignore[attr-defined]
    elif isinstance(queue, queues.SimpleQueue):
        simple_put: Any = type(queue).put

        def simple_queue_put(obj: object) -> None:
            simple_put(ref(), obj if _plain(obj) else _Deferred(obj, method))

        queue.put = simple_queue_put  # type: ignore[method-assign]
    else:
        return
    setattr(queue, _ADOPTED, True)
