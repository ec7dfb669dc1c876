"""Entry point of a child on a worker: die with the worker, then be a procstart child.

``python -c "from procstart_dask._child import main; main(FD, PPID)"``: the
launch payload arrives on ``FD`` and is read by ``procstart.child``, the
same code every exec-based procstart child runs.
"""

from __future__ import annotations

import os
import sys


def _die_with_parent(ppid: int) -> None:
    """If the worker dies (SIGKILL, OOM), this child must not run on unseen.

    Linux: ``prctl(PR_SET_PDEATHSIG, SIGKILL)``, no thread (a thread would
    make ``os.fork()`` in the target warn on Python 3.12+). Elsewhere the
    launch pipe closing ends the child only when its target reads it.
    """
    if sys.platform.startswith("linux"):
        import ctypes
        import signal

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG = 1
    if os.getppid() != ppid:  # the worker died before prctl took effect
        os._exit(128 + 9)


def main(fd: int, ppid: int) -> None:
    """Run the child whose payload is on ``fd``; ``ppid`` is the worker's pid."""
    _die_with_parent(ppid)
    import procstart.plugin as psp

    psp.child.spawn_main(fd)
