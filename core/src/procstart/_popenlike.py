"""``PopenLike``: the interface a launcher returns (a ``typing.Protocol``).

Apart from :mod:`procstart._types` so that importing the value types does
not import ``typing``; ``procstart._types.PopenLike`` still names it.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

__all__ = ["PopenLike"]


@runtime_checkable
class PopenLike(Protocol):
    """What a launcher returns: the handle ``BaseProcess`` drives.

    It is the interface of ``multiprocessing.popen_*.Popen``; subclass
    :class:`procstart.popen.ChildPopen` to get all of it for a child of the
    current process.
    """

    pid: int
    sentinel: int
    returncode: int | None

    def poll(self, flag: int = ...) -> int | None: ...
    def wait(self, timeout: float | None = None) -> int | None: ...
    def terminate(self) -> None: ...
    def kill(self) -> None: ...
    def close(self) -> None: ...
    def duplicate_for_child(self, fd: int) -> int: ...
