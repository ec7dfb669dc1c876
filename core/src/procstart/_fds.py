"""Picklable stand-ins for fds that a child receives (``Popen.DupFd`` results).

Tiny on purpose: a child unpickles these while it starts.
"""

from __future__ import annotations


class PassedFd:
    """An fd passed to the child under the same number (exec with pass_fds)."""

    __slots__ = ("fd",)

    def __init__(self, fd: int) -> None:
        self.fd = fd

    def __reduce__(self) -> tuple[type[PassedFd], tuple[int]]:
        return (PassedFd, (self.fd,))

    def detach(self) -> int:
        """The fd number in this process."""
        return self.fd


class IndexedFd:
    """The ``index``-th fd a child received (numbers change through a server)."""

    __slots__ = ("index",)

    def __init__(self, index: int) -> None:
        self.index = index

    def __reduce__(self) -> tuple[type[IndexedFd], tuple[int]]:
        return (IndexedFd, (self.index,))

    def detach(self) -> int:
        """The fd number in this process."""
        from .child import inherited_fds

        return inherited_fds()[self.index]
