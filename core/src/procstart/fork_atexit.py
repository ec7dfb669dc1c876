"""atexit in a forked child, as the running Python's multiprocessing does it.

For every launcher whose child is an ``os.fork()`` of something (procstart's
fork, a fork server's children): call :func:`child_started` right after the
fork and :func:`child_exiting` just before ``os._exit``, both only when
:data:`RUNS_CHILD_ATEXIT`.

Why it matters: since 3.13 ``BaseProcess._bootstrap`` no longer calls
``multiprocessing.util._exit_function`` (which flushes Queue feeder threads
and runs finalizers); a fork child must register it with atexit and run the
atexit handlers itself, or data put on a Queue just before exiting is lost.
Before 3.13 ``_bootstrap`` does it and fork children run no atexit handlers.

CPython internals used (no public equivalent): ``atexit._clear`` and
``atexit._run_exitfuncs``, and ``multiprocessing.util._exit_function``.
Checked against ``process.py``, ``popen_fork.py`` and ``forkserver.py`` of
CPython 3.10.13, 3.11.7, 3.12.1 and 3.13.0.
"""

from __future__ import annotations

import atexit
import sys

#: whether the running Python clears and runs atexit handlers in a fork child
RUNS_CHILD_ATEXIT = sys.version_info >= (3, 13)


def child_started() -> None:
    """Right after ``fork()`` in the child (only when :data:`RUNS_CHILD_ATEXIT`)."""
    from multiprocessing import util

    atexit._clear()  # type: ignore[attr-defined]
    atexit.register(util._exit_function)  # type: ignore[attr-defined]


def child_exiting() -> None:
    """Just before ``os._exit`` in the child (only when :data:`RUNS_CHILD_ATEXIT`)."""
    atexit._run_exitfuncs()  # type: ignore[attr-defined]
