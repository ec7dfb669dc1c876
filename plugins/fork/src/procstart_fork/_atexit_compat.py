"""Private CPython internals: atexit in a fork child, as the running Python does it.

Why private: since 3.13 ``multiprocessing``'s fork child drops the atexit
handlers it inherited and runs the ones registered in the child when it
exits (``atexit._clear`` / ``atexit._run_exitfuncs``; no public equivalent).
Before 3.13 it does neither. Checked against ``popen_fork.py`` of CPython
3.10.13, 3.11.7, 3.12.1 and 3.13.0.
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
