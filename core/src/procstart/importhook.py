"""Run a function once a module is imported, without importing it.

Children must stay cheap: attaching to a resource tracker means touching
``multiprocessing.resource_tracker``, whose import costs
``multiprocessing.spawn`` and ``runpy``, yet most children never create a
``SharedMemory`` or ``SemLock`` (which import it when they are made). So:
if the module is loaded already the callback runs now; otherwise a one-shot
meta-path finder wraps the real loader's ``exec_module`` and runs the
callbacks right after the module's code, before anything can use it, then
steps aside. A bare ``importlib.util.find_spec`` does not use it up.

    >>> after_import("json", lambda module: print(module.__name__))  # doctest: +SKIP
"""

from __future__ import annotations

import sys

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: children must not import typing
if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from importlib.machinery import ModuleSpec
    from types import ModuleType

__all__ = ["after_import", "cancel", "pending"]


class _AfterImport:
    """Finder: the first execution of ``name`` also runs the callbacks."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.callbacks: list[Callable[[ModuleType], None]] = []

    def find_spec(
        self,
        fullname: str,
        path: Sequence[str] | None = None,
        target: ModuleType | None = None,
    ) -> ModuleSpec | None:
        if fullname != self.name:
            return None
        spec = None
        for finder in list(sys.meta_path):  # the others, as the import system asks them
            find_spec = getattr(finder, "find_spec", None)
            if finder is self or find_spec is None:
                continue
            spec = find_spec(fullname, path, target)
            if spec is not None:
                break
        loader = getattr(spec, "loader", None)
        exec_module = getattr(loader, "exec_module", None)
        if exec_module is None:  # not found, or an old-style loader: leave it be
            return spec

        def exec_module_then_callbacks(module: ModuleType) -> None:
            exec_module(module)
            try:
                sys.meta_path.remove(self)  # type: ignore[arg-type]
            except ValueError:
                return  # cancelled meanwhile, or done already
            for callback in self.callbacks:
                callback(module)

        loader.exec_module = exec_module_then_callbacks  # type: ignore[union-attr]
        return spec


def _finder(name: str) -> _AfterImport | None:
    for finder in sys.meta_path:
        if isinstance(finder, _AfterImport) and finder.name == name:
            return finder
    return None


def after_import(name: str, callback: Callable[[ModuleType], None]) -> None:
    """``callback(module)`` now if ``name`` is imported, else right after its import."""
    module = sys.modules.get(name)
    if module is not None:
        callback(module)
        return
    finder = _finder(name)
    if finder is None:
        finder = _AfterImport(name)
        sys.meta_path.insert(0, finder)  # type: ignore[arg-type]
    finder.callbacks.append(callback)


def cancel(name: str, callback: Callable[[ModuleType], None] | None = None) -> bool:
    """Forget pending callbacks for ``name`` (all, or just ``callback``); True if any."""
    finder = _finder(name)
    if finder is None:
        return False
    before = len(finder.callbacks)
    finder.callbacks[:] = (
        [] if callback is None else [c for c in finder.callbacks if c is not callback]
    )
    if not finder.callbacks and finder in sys.meta_path:
        sys.meta_path.remove(finder)  # type: ignore[arg-type]
    return len(finder.callbacks) < before


def pending(name: str, callback: Callable[[ModuleType], None] | None = None) -> bool:
    """True while callbacks (or ``callback``) for ``name`` wait for its import."""
    finder = _finder(name)
    if finder is None:
        return False
    return bool(finder.callbacks) if callback is None else callback in finder.callbacks
