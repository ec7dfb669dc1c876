"""A fork child's stdin: what ``_bootstrap`` makes it, built once in the parent.

``BaseProcess._bootstrap`` closes a child's ``sys.stdin`` and puts a reader
of ``os.devnull`` in its place (``multiprocessing.util._close_stdin``). In a
fork child that is an ``os.open`` and a new ``TextIOWrapper`` with its
buffer and decoder, written into pages the child shares with its parent:
about fifty copy-on-write faults, the largest part of a fork child's start
that is not the interpreter's own. procstart's fork opens that reader once,
in the parent (close-on-exec, as the stdlib's ``os.open`` makes it), and
each child closes its stdin and takes the reader: its own copy of the
object, as it has of every object, on an fd it inherited.

A child ends up as the stdlib leaves it: ``sys.stdin`` a UTF-8 text reader
of ``os.devnull`` that does not close its fd, the previous stdin closed,
``None`` left alone. If the reader's fd is no longer ``os.devnull`` (the
parent closed fds it did not open, and the number was reused), or the
reader was closed (both checked in the parent before each fork), the
child falls back to the stdlib's own function.

CPython internals: ``multiprocessing.util._close_stdin`` is private; it is
replaced in the child only, for the one call ``_bootstrap`` makes, and that
call puts the original back before doing anything else. There is no public
way to hand ``_bootstrap`` a stdin. Checked on 3.10-3.13 (the function is
the same in all of them).
"""

from __future__ import annotations

import os
import sys
from multiprocessing import util

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import TextIO

__all__ = ["adopt", "prepare"]

#: the stdlib's function, put back by the replacement's one call
_original = util._close_stdin  # type: ignore[attr-defined]
#: the reader, and the (st_dev, st_ino) its fd had when opened
_reader: TextIO | None = None
_identity: tuple[int, int] | None = None
#: False once opening the reader failed: the stdlib's way from then on
_usable = True


def prepare() -> bool:
    """In the parent, before ``fork()``: True if the child can take the reader.

    Opens it on first use; afterwards checks that it is open and its fd still
    ``os.devnull``. Checked here rather than in the child: each page a fork
    child writes is a copy of its parent's, and a launch's parent has often
    written the pages of these objects already (the ``fstat`` of another
    check, say).

    >>> prepare()  # doctest: +SKIP
    True
    """
    reader = _reader
    if reader is None:
        return _open()
    try:
        st = os.fstat(reader.fileno())
    except (OSError, ValueError):  # ValueError: the reader was closed
        return False
    return (st.st_dev, st.st_ino) == _identity


def _open() -> bool:
    global _reader, _identity, _usable
    if not _usable:
        return False
    try:
        fd = os.open(os.devnull, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        _usable = False
        return False
    try:
        st = os.fstat(fd)
        # as the stdlib opens it: UTF-8, and the fd outlives the object
        _reader = open(fd, encoding="utf-8", closefd=False)  # noqa: SIM115 - kept open
    except (OSError, ValueError):
        os.close(fd)
        _usable = False
        return False
    _identity = (st.st_dev, st.st_ino)
    return True


def adopt() -> None:
    """In the child, before ``_bootstrap``: its ``_close_stdin`` call takes the reader.

    >>> adopt()  # doctest: +SKIP
    """
    util._close_stdin = _close_stdin_with_reader  # type: ignore[attr-defined]


def _close_stdin_with_reader() -> None:
    util._close_stdin = _original  # type: ignore[attr-defined]
    reader = _reader
    if sys.stdin is None:
        return
    if reader is None:  # prepare() checked it in the parent, just before the fork
        _original()
        return
    if sys.stdin is reader:  # a fork child's own fork child: already in place
        return
    try:  # noqa: SIM105 - contextlib's machinery is pages a fork child would copy
        sys.stdin.close()
    except (OSError, ValueError):
        pass
    sys.stdin = reader
