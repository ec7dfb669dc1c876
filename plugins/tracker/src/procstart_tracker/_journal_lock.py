"""Which process is the tracker: the one holding the lock on the journal.

The root starts one tracker process; once it has read the pipe, that process
forks a *standby*, which waits for the lock. A POSIX record lock (``lockf``)
belongs to a process, is not inherited by ``fork()`` and is released by the
kernel when its holder dies however it dies, SIGKILL included. So when the
tracker dies, its standby gets the lock and takes over the same pipe and
journal, and no two processes ever read the pipe at once: a tracker process
reads it only while it holds the lock (a second one started by the root
while a standby takes over waits, as a standby). The root asks who holds the
lock (``F_GETLK``) when it finds the tracker it started dead.

A tracker that ends normally appends :data:`DONE` to the journal before it
exits: a standby that gets the lock then finds it there and exits too.
"""

from __future__ import annotations

import fcntl
import os
import sys

#: appended by a tracker that ended normally; no pipe message starts with a NUL
DONE = b"\0procstart-tracker: done\n"

# ``struct flock`` for F_GETLK, as the C headers lay it out (native alignment):
# Linux (glibc, musl; 64-bit off_t): l_type, l_whence, l_start, l_len, l_pid;
# macOS and the BSDs: l_start, l_len, l_pid, l_type, l_whence. Checked on
# Linux x86_64 (3.10-3.13) against lockf(3) holders; elsewhere holder() only
# says whether the lock is held (pid 0).
if sys.platform == "linux":
    _FLOCK, _PID, _TYPE = "hhqqi", 4, 0
elif sys.platform == "darwin" or "bsd" in sys.platform:
    _FLOCK, _PID, _TYPE = "qqihh", 2, 3
else:
    _FLOCK = ""


def hold(fd: int, *, wait: bool) -> bool:
    """Take the lock on the journal ``fd``; with ``wait``, block until it is free.

    True if this process holds it now. The lock covers the whole file and
    lasts until this process exits (it never closes the journal).
    """
    try:
        fcntl.lockf(fd, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
    except (BlockingIOError, PermissionError):  # EAGAIN, or EACCES on some systems
        return False
    return True


def holder(fd: int) -> int | None:
    """The pid of the process holding the lock on journal ``fd`` (0: held, pid unknown).

    None if nobody holds it: no tracker runs. Never called by a holder.
    """
    if _FLOCK:
        import struct  # the root's, when its tracker died: not at the tracker's start

        query = [0] * 5
        query[_TYPE] = fcntl.F_WRLCK  # whence SEEK_SET, start 0, length 0: the whole file
        answer = struct.unpack(_FLOCK, fcntl.fcntl(fd, fcntl.F_GETLK, struct.pack(_FLOCK, *query)))
        if answer[_TYPE] == fcntl.F_UNLCK:
            return None
        return int(answer[_PID])
    if hold(fd, wait=False):
        fcntl.lockf(fd, fcntl.LOCK_UN)
        return None
    return 0


def finished(fd: int) -> bool:
    """True if the journal ``fd`` ends with :data:`DONE` (its last tracker ended normally)."""
    size = os.fstat(fd).st_size
    return size >= len(DONE) and os.pread(fd, len(DONE), size - len(DONE)) == DONE


def clear_done(fd: int) -> None:
    """Drop a :data:`DONE` the journal ``fd`` ends with: a new tracker serves the same root."""
    size = os.fstat(fd).st_size
    if finished(fd):
        os.ftruncate(fd, size - len(DONE))
        os.lseek(fd, size - len(DONE), os.SEEK_SET)
