"""Private CPython internals: no window between a semaphore's file and its registration.

Why: ``multiprocessing.synchronize.SemLock.__init__`` makes the semaphore
(``sem_open`` creates ``/dev/shm/sem.<name>``), then runs ``from
.resource_tracker import register`` and registers the name. A process ended
in between (``terminate()`` as a child starts: CPython's suite does it in
``TestSyncManagerTypes.test_pool`` and ``test_many_processes``) leaves a file
no tracker knows of. Two things widen or close that window:

- where ``multiprocessing.resource_tracker`` is not loaded yet, its import
  (it pulls in ``multiprocessing.spawn`` and ``runpy``: about 1 ms) sits in
  the window. The stdlib's spawn and fork-server children have it from their
  first line; procstart's import it only when used, to start faster, so the
  wrapper below imports it *before* ``sem_open``;
- even then the register call itself (about 0.05 ms, in the stdlib's
  children too) is a window. The wrapper holds ``SIGTERM``, ``SIGINT`` and
  ``SIGHUP`` blocked in the calling thread for the call, so such a signal
  ends the process only once the name is registered (the tracker then
  unlinks it). ``SIGKILL`` cannot be held; neither can a signal the kernel
  hands to another thread of a multi-threaded process.

Why private: there is no public hook around ``SemLock`` creation. The class's
``__init__`` is replaced (once per process, in the children procstart
prepares and in a fork server after it preloads the main module) by a
wrapper that does the two things above and calls it. A child that only
receives a ``Lock`` or ``Queue`` (unpickled: ``__setstate__``, never
``__init__``) imports nothing more. Checked against ``synchronize.py`` of
CPython 3.10.13, 3.11.7, 3.12.1 and 3.13.0: ``SemLock.__init__(self, kind,
value, maxvalue, *, ctx)`` with this order of work in all four.
"""

from __future__ import annotations

import sys

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: children must not import typing
if TYPE_CHECKING:
    from typing import Any

_SYNCHRONIZE = "multiprocessing.synchronize"
_RESOURCE_TRACKER = "multiprocessing.resource_tracker"

__all__ = ["arm"]


def _wrap(synchronize: Any) -> None:
    import signal

    semlock = getattr(synchronize, "SemLock", None)
    original = vars(semlock).get("__init__") if semlock is not None else None
    if original is None or getattr(original, "_procstart", False):
        return  # not the code checked above, or wrapped already (a fork copy)
    held = {signal.SIGTERM, signal.SIGINT, signal.SIGHUP}

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:  # noqa: N807 - the method's name
        if _RESOURCE_TRACKER not in sys.modules:
            __import__(_RESOURCE_TRACKER)
        previous = signal.pthread_sigmask(signal.SIG_BLOCK, held)
        try:
            original(self, *args, **kwargs)
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, previous)

    __init__._procstart = True  # type: ignore[attr-defined]
    __init__.__wrapped__ = original  # type: ignore[attr-defined]
    __init__.__doc__ = original.__doc__
    setattr(semlock, "__init__", __init__)  # noqa: B010 - a class attribute, not self.__init__


def arm() -> None:
    """Make this process's named semaphores registered before a signal can end it.

    Wraps ``SemLock.__init__`` now if ``multiprocessing.synchronize`` is
    imported, else right after its import (``procstart.importhook.after_import``).
    """
    from .importhook import after_import, pending

    if not pending(_SYNCHRONIZE, _wrap):
        after_import(_SYNCHRONIZE, _wrap)
