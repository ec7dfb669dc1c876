"""``procstart.<submodule>`` IS ``multiprocessing.<submodule>``: an import alias.

``import procstart.shared_memory``, ``from procstart.managers import
SharedMemoryManager`` and ``procstart.pool`` give the standard library's own
module object, so classes are the same objects (``isinstance`` checks and
pickling by reference keep working: a ``SharedMemory`` pickles as
``multiprocessing.shared_memory.SharedMemory`` whoever imported it) and code
written for ``multiprocessing`` does not change its imports.

Why a meta-path finder and not one small file per submodule: a file that
replaces itself in ``sys.modules`` would work for modules, but not for the
``dummy`` package, whose submodules (``procstart.dummy.connection``) would be
loaded a second time from ``multiprocessing/dummy/`` as different modules.
The finder answers for ``procstart.<name>`` and everything below it, imports
nothing until asked (``import procstart`` stays light), and never shadows a
module of procstart's own (none has a submodule's name).

The finder's loader hands the import system the already-imported stdlib
module; the import system then stamps our spec on it, which ``exec_module``
undoes, so ``multiprocessing.X.__spec__`` stays the stdlib's (checked with
CPython 3.10.13, 3.11.7, 3.12.1 and 3.13.0: ``_init_module_attrs`` sets
``__spec__`` unconditionally and the other attributes only when missing).

:func:`import_module` is here too, as the one other thing about importing
that ``import procstart`` needs: the core's lazy imports go through it.
"""

from __future__ import annotations

import sys

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: a spawned child would import typing
if TYPE_CHECKING:
    from collections.abc import Sequence
    from importlib.machinery import ModuleSpec
    from types import ModuleType

__all__ = ["SUBMODULES", "import_module", "install"]


def import_module(name: str, package: str | None = None) -> ModuleType:
    """``importlib.import_module(name, package)`` without importing ``importlib``.

    A ``multiprocessing`` program or child never loads the ``importlib``
    package, whose ``__init__`` is a file to find and run and imports
    ``warnings`` (0.13 ms, 1.5 ms with ``warnings``, on 3.11); ``__import__``
    is the same import. Every lazy import of procstart's core goes through here.

    >>> import_module("._submodules", "procstart").__name__
    'procstart._submodules'
    """
    if name.startswith("."):
        if not package:
            raise TypeError(f"the relative module name {name!r} needs a package")
        level = len(name) - len(name.lstrip("."))
        base = package.rsplit(".", level - 1)[0] if level > 1 else package
        name = f"{base}.{name[level:]}" if name[level:] else base
    __import__(name)
    return sys.modules[name]


#: every submodule of ``multiprocessing`` in CPython 3.10-3.13 (the same list
#: in all four); ``popen_spawn_win32`` fails to import off Windows, as it does
#: under ``multiprocessing``
SUBMODULES = frozenset(
    {
        "connection",
        "context",
        "dummy",
        "forkserver",
        "heap",
        "managers",
        "pool",
        "popen_fork",
        "popen_forkserver",
        "popen_spawn_posix",
        "popen_spawn_win32",
        "process",
        "queues",
        "reduction",
        "resource_sharer",
        "resource_tracker",
        "shared_memory",
        "sharedctypes",
        "spawn",
        "synchronize",
        "util",
    }
)

_PREFIX = "procstart."
_TARGET = "multiprocessing."


class _AliasLoader:
    """Loads ``procstart.X`` as the module ``multiprocessing.X`` itself."""

    def __init__(self, target: str) -> None:
        self.target = target
        self.original_spec: ModuleSpec | None = None

    def create_module(self, spec: ModuleSpec) -> ModuleType:
        module = import_module(self.target)
        self.original_spec = module.__spec__
        return module

    def exec_module(self, module: ModuleType) -> None:
        # the import system set our spec on the stdlib's module: put its own back
        module.__spec__ = self.original_spec


class _AliasFinder:
    """A ``sys.meta_path`` finder for ``procstart.<multiprocessing submodule>[.x]``."""

    _procstart_aliases = True

    @staticmethod
    def find_spec(
        fullname: str, path: Sequence[str] | None = None, target: ModuleType | None = None
    ) -> ModuleSpec | None:
        if not fullname.startswith(_PREFIX):
            return None
        rest = fullname[len(_PREFIX) :]
        if rest.partition(".")[0] not in SUBMODULES:
            return None
        from importlib.machinery import ModuleSpec

        # a plain class, not importlib.abc.Loader: children must not import importlib.abc
        return ModuleSpec(fullname, _AliasLoader(_TARGET + rest))  # type: ignore[arg-type]


def install() -> None:
    """Put the alias finder on ``sys.meta_path`` (once; before the path finder).

    >>> import procstart.managers, multiprocessing.managers
    >>> procstart.managers is multiprocessing.managers
    True
    """
    if not any(getattr(f, "_procstart_aliases", False) for f in sys.meta_path):
        sys.meta_path.insert(0, _AliasFinder)  # type: ignore[arg-type]
