"""Process classes: one per start method, importable by name so they pickle.

``procstart._process.Process_spawn`` is created on first access (module
``__getattr__``), in the parent and in the child alike, so a process object
pickles by reference whatever plugin provided its method.
"""

from __future__ import annotations

import os
from multiprocessing import util
from multiprocessing.process import BaseProcess

from ._names import normalize_method_name

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: a spawned child would import typing
if TYPE_CHECKING:
    from typing import Any, ClassVar

#: methods the stdlib knows: a child started with one sets the stdlib default
#: to it as well (as ``multiprocessing``'s own process classes do)
_STDLIB_METHODS = frozenset({"fork", "spawn", "forkserver"})
_PREFIX = "Process_"


#: the pid of this process if procstart exec'd it (a fresh interpreter: spawn
#: and every method that runs ``procstart.child.spawn_main``), else 0; a fork
#: of it is not exec'd and has another pid
exec_child_pid = 0

#: ``procstart._launch.launch``, imported on the first start (children that never
#: start a process never import the launch machinery)
_launcher: list[Any] = [None]


class Process(BaseProcess):
    """A ``BaseProcess`` started through procstart's plugins.

    This class itself uses the default start method as resolved at
    ``start()`` time; ``get_context(name).Process`` pins one method.
    """

    _procstart_method: ClassVar[str | None] = None
    _start_method: ClassVar[str | None] = None

    @classmethod
    def _Popen(cls, process_obj: BaseProcess) -> Any:  # noqa: N802 - the stdlib's name
        # a classmethod, so the method pinned on the class wins even when the
        # object is another class's: multiprocessing.Process delegates with
        # ``_default_context.get_context().Process._Popen(obj)`` (stdlib bridge)
        launch = _launcher[0]
        if launch is None:
            from ._launch import launch

            _launcher[0] = launch
        return launch(process_obj, cls._procstart_method)

    @staticmethod
    def _after_fork() -> None:
        # An exec'd child forked nothing: every finalizer it holds is its own
        # (a module-level Lock of the re-imported main module: unlinked at
        # exit, as in the stdlib's spawn child, whose SpawnProcess._after_fork
        # does nothing). Clearing them left those semaphores to the tracker,
        # with its "leaked semaphore objects" warning.
        if exec_child_pid and exec_child_pid == os.getpid():
            return
        # What BaseProcess._after_fork does in every child (_bootstrap calls
        # it): drop the parent's finalizers, run the after-fork callbacks of
        # multiprocessing.util.register_after_fork. The same effect without
        # the stdlib's import statement and WeakValueDictionary iteration
        # when there is nothing to run: in a fork child every object those
        # touch is a copy-on-write fault (about ten per child).
        # CPython internals (no public way: _bootstrap calls this by name):
        # util._finalizer_registry, util._afterfork_registry (its ``data``
        # dict: empty means nothing registered) and util._run_after_forkers;
        # checked against multiprocessing/process.py and util.py of CPython
        # 3.10.13, 3.11.7, 3.12.1 and 3.13.0 (the same code in all four).
        finalizers = util._finalizer_registry  # type: ignore[attr-defined]
        if finalizers:
            finalizers.clear()
        if util._afterfork_registry.data:  # type: ignore[attr-defined]
            util._run_after_forkers()  # type: ignore[attr-defined]


_classes: dict[str, type[Process]] = {}


def process_class(method: str) -> type[Process]:
    """The ``Process`` class of start method ``method``."""
    method = normalize_method_name(method)
    cls = _classes.get(method)
    if cls is None:
        name = _PREFIX + method
        # the stdlib names processes after the class: ForkProcess-1, SpawnProcess-2
        pretty = "".join(part.capitalize() for part in method.replace("-", "_").split("_"))
        cls = type(
            pretty + "Process",
            (Process,),
            {
                "_procstart_method": method,
                "_start_method": method if method in _STDLIB_METHODS else None,
                "__module__": __name__,
                "__qualname__": name,
                "__doc__": f"A process started with procstart's {method!r} method.",
            },
        )
        _classes[method] = cls
    return cls


def __getattr__(name: str) -> type[Process]:
    if name.startswith(_PREFIX):
        try:
            return process_class(name[len(_PREFIX) :])
        except (TypeError, ValueError):
            pass
    for cls in _classes.values():  # pickled by __name__ (protocol < 4)
        if cls.__name__ == name:
            return cls
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
