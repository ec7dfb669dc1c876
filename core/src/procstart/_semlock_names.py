"""Private CPython internals: load the resource tracker before a semaphore's file exists.

Why: ``multiprocessing.synchronize.SemLock.__init__`` makes the semaphore
(``sem_open`` creates ``/dev/shm/sem.<name>``) and only then runs ``from
.resource_tracker import register`` and registers the name. Where
``multiprocessing.resource_tracker`` is not loaded yet, that import (it
pulls in ``multiprocessing.spawn`` and ``runpy``: about 1 ms) sits between
the two, and a process killed in it (a ``terminate()`` as the child starts)
leaves a file no tracker knows of. The stdlib's spawn and fork-server
children have the module loaded from their first line, so their window is
the register call alone (about 0.05 ms). procstart's children import it only
when used, to start faster, so they must load it before the name is made.

Why private: there is no public hook between "a named semaphore is about to
be made" and ``sem_open``. ``SemLock._make_name`` (a staticmethod called
right before ``_multiprocessing.SemLock(...)``, once per attempt) is
replaced, the first time it is called, by one that imports the tracker
module and puts the original back. A child that only receives a ``Lock`` or
``Queue`` (unpickled, never named anew) imports nothing more. Checked against
``synchronize.py`` of CPython 3.10.13, 3.11.7, 3.12.1 and 3.13.0: the same
``_make_name`` and call site in all four.
"""

from __future__ import annotations

import sys

_SYNCHRONIZE = "multiprocessing.synchronize"
_RESOURCE_TRACKER = "multiprocessing.resource_tracker"

__all__ = ["arm"]


def _wrap(synchronize: object) -> None:
    semlock: object = getattr(synchronize, "SemLock", None)
    original = vars(semlock).get("_make_name") if semlock is not None else None
    if not isinstance(original, staticmethod) or getattr(original.__func__, "_procstart", False):
        return  # not the code checked above, or wrapped already (a fork copy)

    def _make_name() -> str:
        setattr(semlock, "_make_name", original)  # noqa: B010 - put the stdlib's back
        if _RESOURCE_TRACKER not in sys.modules:
            __import__(_RESOURCE_TRACKER)
        name: str = original.__func__()
        return name

    _make_name._procstart = True  # type: ignore[attr-defined]
    setattr(semlock, "_make_name", staticmethod(_make_name))  # noqa: B010


def arm() -> None:
    """Load the tracker module before this process's first named semaphore is made.

    Nothing to do where it is loaded already; else ``SemLock._make_name`` is
    wrapped now if ``multiprocessing.synchronize`` is imported, or right after
    its import (``procstart.importhook.after_import``).
    """
    if _RESOURCE_TRACKER in sys.modules:
        return
    from .importhook import after_import, pending

    if not pending(_SYNCHRONIZE, _wrap):
        after_import(_SYNCHRONIZE, _wrap)
