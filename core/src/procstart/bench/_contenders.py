"""Who is measured: procstart, the stdlib and the peers, per start method.

A :class:`Contender` is one column of one row: procstart's ``spawn``, the
stdlib's ``spawn``, ``multiprocess``'s ``spawn`` or loky's own method. Every
library is imported only when its context is first asked for, so a worker
process timing a cold start pays for the import inside the measurement.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from multiprocessing.context import BaseContext

#: loky's own start method (fork+exec of a fresh interpreter, spawn-like): it
#: is compared with procstart's ``spawn`` only
LOKY_METHOD = "loky"
LOKY_ROW = "spawn"
PEERS = ("multiprocess", "loky")


@dataclass(frozen=True)
class Contender:
    """One library's way of starting a child for one row's method."""

    column: str
    #: the procstart method name of the row
    method: str
    #: the library's own method name (loky: ``loky``)
    lib_method: str

    def context(self) -> BaseContext:
        """The library's context for this method (imports the library)."""
        if self.column == "procstart":
            import procstart

            from . import _plugins

            _plugins.focus(self.method)

            return procstart.get_context(self.lib_method)
        if self.column == "stdlib":
            import multiprocessing

            return multiprocessing.get_context(self.lib_method)
        if self.column == "multiprocess":
            multiprocess: Any = importlib.import_module("multiprocess")
            ctx: BaseContext = multiprocess.get_context(self.lib_method)
            return ctx
        if self.column == "loky":
            loky_context: Any = importlib.import_module("loky.backend.context")
            ctx = loky_context.get_context(self.lib_method)
            return ctx
        raise ValueError(f"unknown column {self.column!r}")

    def executor(self, workers: int) -> Any:
        """A ``ProcessPoolExecutor`` of this library (loky: its own).

        ``multiprocess`` has none, and the stdlib's refuses its queues.
        """
        if self.column == "multiprocess":
            raise NotImplementedError("multiprocess has no ProcessPoolExecutor")
        if self.column == "loky":
            loky: Any = importlib.import_module("loky")
            return loky.ProcessPoolExecutor(max_workers=workers)
        from concurrent.futures import ProcessPoolExecutor

        return ProcessPoolExecutor(max_workers=workers, mp_context=self.context())

    def as_list(self) -> list[str]:
        """For a worker's command line."""
        return [self.column, self.method, self.lib_method]

    @classmethod
    def from_list(cls, values: list[str]) -> Contender:
        """The inverse of :meth:`as_list`."""
        column, method, lib_method = values
        return cls(column, method, lib_method)


def installed(name: str) -> bool:
    """True when the top-level module ``name`` can be imported (not importing it)."""
    return importlib.util.find_spec(name) is not None


def version_of(distribution: str) -> str | None:
    """The installed version of ``distribution``, or None."""
    from importlib import metadata

    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None


def procstart_methods() -> list[str]:
    """Available procstart methods, sorted."""
    from .. import _manager

    registry = _manager.plugins()
    return [m.name for m in _manager.iter_methods(registry) if m.is_available]


def _stdlib_methods() -> set[str]:
    import multiprocessing

    return set(multiprocessing.get_all_start_methods())


def _multiprocess_methods() -> set[str]:
    try:
        multiprocess: Any = importlib.import_module("multiprocess")
        return set(multiprocess.get_all_start_methods())
    except Exception:  # noqa: BLE001 - a broken peer is left out, not fatal
        return set()


def contenders(method: str, peers: bool = True) -> list[Contender]:
    """The columns of ``method``'s rows: procstart, then its namesakes.

    A custom method without a stdlib namesake gets procstart only.

    >>> [c.column for c in contenders("fork", peers=False)]  # doctest: +SKIP
    ['procstart', 'stdlib']
    """
    out = [Contender("procstart", method, method)]
    if method in _stdlib_methods():
        out.append(Contender("stdlib", method, method))
        if peers and installed("multiprocess") and method in _multiprocess_methods():
            out.append(Contender("multiprocess", method, method))
        if peers and installed("loky") and method == LOKY_ROW:
            out.append(Contender("loky", method, LOKY_METHOD))
    return out
