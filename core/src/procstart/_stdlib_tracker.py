"""Private CPython internals: attach a child to the parent's stdlib resource tracker.

Why private: ``multiprocessing.resource_tracker`` has no public call that
tells a child "use this fd"; the stdlib's own spawn does it by assigning
``resource_tracker._resource_tracker._fd`` in ``spawn_main``. Without it a
spawn child that attaches a ``SharedMemory`` starts a second tracker, which
unlinks the segment when the child exits. Checked on CPython 3.10.13,
3.11.7, 3.12.1 and 3.13.0: the singleton ``_resource_tracker`` and its
``_fd`` attribute exist with this meaning in all four.
"""

from __future__ import annotations

import sys

HANDLE_KEY = "procstart.stdlib-resource-tracker"


def parent_fd() -> int:
    """Start (if needed) the stdlib tracker and return the fd children inherit."""
    from multiprocessing import resource_tracker

    fd = resource_tracker.getfd()
    if fd is None:  # pragma: no cover - getfd() starts the tracker or raises
        raise RuntimeError("the stdlib resource tracker did not start")
    return fd


def attach(fd: int) -> None:
    """In a child: report to the parent's stdlib tracker through ``fd``."""
    from multiprocessing import resource_tracker

    resource_tracker._resource_tracker._fd = fd  # type: ignore[attr-defined]


def running_fd() -> int | None:
    """The stdlib tracker's fd if it already runs in this process (never starts it).

    A procstart tracker plugin hands it to children so that the stdlib's
    tracker, which the top-level program keeps for its own objects, lives as
    long as the tree does (it cleans when the last holder of the fd exits).
    """
    # per launch in a fork parent: no function-level import (it touches the
    # import machinery's objects, each a copy-on-write fault)
    module = sys.modules.get("multiprocessing.resource_tracker")
    tracker = getattr(module, "_resource_tracker", None)
    fd = getattr(tracker, "_fd", None)
    return fd if isinstance(fd, int) else None
