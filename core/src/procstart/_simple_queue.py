"""``ProcstartContext.SimpleQueue()``: the stdlib's SimpleQueue, sending as procstart does.

A ``Pool`` of a procstart context takes its task queue from here, so tasks
that a child could not import by reference go by value (see
:mod:`procstart._queues` for why and which private names are used).
"""

from __future__ import annotations

from multiprocessing import queues

from ._queues import dumps, sender

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: a spawned child would import typing
if TYPE_CHECKING:
    from typing import Any

    _SimpleQueueBase = queues.SimpleQueue[Any]
else:
    _SimpleQueueBase = queues.SimpleQueue

__all__ = ["SimpleQueue"]


class SimpleQueue(_SimpleQueueBase):
    """``multiprocessing.queues.SimpleQueue`` whose items a procstart child can load.

    >>> import procstart
    >>> q = procstart.get_context("spawn").SimpleQueue()  # doctest: +SKIP
    >>> q.put(lambda: 42); q.get()()  # doctest: +SKIP
    42
    """

    #: :func:`procstart._queues.adopt` leaves it alone
    _procstart_by_value = True

    def __init__(self, *, ctx: Any) -> None:
        super().__init__(ctx=ctx)
        method = ctx.method
        self._procstart_method: str | None = None if method.inherits_all_fds else method.name
        if self._procstart_method is not None:
            # a Pool binds _quick_put = _inqueue._writer.send: make that ours too
            writer = self._writer  # type: ignore[attr-defined]
            writer.send = sender(writer, self._procstart_method)

    def put(self, obj: object) -> None:
        """Put ``obj`` on the queue, by value where a child could not load it."""
        method = getattr(self, "_procstart_method", None)
        if method is None:  # unpickled in a child, or a fork-like method
            super().put(obj)
            return
        data = dumps(obj, method)
        lock = self._wlock  # type: ignore[attr-defined]
        if lock is None:  # Windows: writes to a message pipe are atomic
            self._writer.send_bytes(data)  # type: ignore[attr-defined]
        else:
            with lock:
                self._writer.send_bytes(data)  # type: ignore[attr-defined]
