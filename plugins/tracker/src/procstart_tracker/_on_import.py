"""Run a function once a module is imported, without importing it.

Why: the stdlib bridge must patch ``multiprocessing.resource_tracker``
in every child, but importing that module costs ``multiprocessing.spawn``
and ``runpy`` (a dozen modules), and most children never create a
``SharedMemory`` or a ``SemLock`` (which import it at creation time). So if
the module is loaded already the function runs now; otherwise a one-shot
meta-path finder wraps the real loader's ``exec_module`` and runs the
function right after the module's code, before anything can use it, then
steps aside. One pending function per module name. procstart's core does
much the same for the stdlib tracker (``procstart.child._attach_stdlib_tracker``).
"""

from __future__ import annotations

import sys

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs a child ~1.5 ms to import; annotations only
    from collections.abc import Callable, Sequence
    from importlib.machinery import ModuleSpec
    from types import ModuleType

__all__ = ["after_import", "cancel", "pending"]


class _AfterImport:
    """Finder: the first execution of ``name`` also runs ``callback``.

    It stays in ``sys.meta_path`` until the module's code has run (a mere
    ``importlib.util.find_spec`` does not use it up), then removes itself.
    """

    def __init__(self, name: str, callback: Callable[[ModuleType], None]) -> None:
        self.name = name
        self.callback = callback

    def find_spec(
        self,
        fullname: str,
        path: Sequence[str] | None = None,
        target: ModuleType | None = None,
    ) -> ModuleSpec | None:
        if fullname != self.name:
            return None
        spec = None
        for finder in list(sys.meta_path):  # the others, as the import system would ask them
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

        def exec_module_then_callback(module: ModuleType) -> None:
            exec_module(module)
            try:
                sys.meta_path.remove(self)  # type: ignore[arg-type]
            except ValueError:
                return  # cancelled meanwhile, or done already
            self.callback(module)

        loader.exec_module = exec_module_then_callback  # type: ignore[union-attr]
        return spec


def after_import(name: str, callback: Callable[[ModuleType], None]) -> None:
    """``callback(module)`` now if ``name`` is imported, else right after its import."""
    module = sys.modules.get(name)
    if module is not None:
        callback(module)
        return
    cancel(name)
    sys.meta_path.insert(0, _AfterImport(name, callback))  # type: ignore[arg-type]


def cancel(name: str) -> bool:
    """Forget a pending :func:`after_import` for ``name``; True if there was one."""
    found = False
    for finder in list(sys.meta_path):
        if isinstance(finder, _AfterImport) and finder.name == name:
            try:
                sys.meta_path.remove(finder)  # type: ignore[arg-type]
            except ValueError:
                continue
            found = True
    return found


def pending(name: str) -> bool:
    """True while an :func:`after_import` for ``name`` waits for its import."""
    return any(isinstance(f, _AfterImport) and f.name == name for f in sys.meta_path)
