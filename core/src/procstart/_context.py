"""Contexts: ``multiprocessing.context.BaseContext`` subclasses per start method.

Also the process's default: ``get_start_method()`` / ``set_start_method()``
keep the :class:`~procstart._resolution.Resolution` that
:func:`~procstart._resolution.resolve_default` made (once per process).

Queue, Lock, Pool, Manager, Value... are the stdlib's own objects built with
a procstart context, so everything that takes a ``multiprocessing`` context
takes these.
"""

from __future__ import annotations

import os
import threading
import types
from collections.abc import Sequence
from multiprocessing.context import BaseContext

from . import _manager
from ._lookup import start_method
from ._names import normalize_method_name
from ._process import Process, process_class
from ._resolution import Resolution, resolve_default
from ._settings import settings
from ._types import StartMethod
from .errors import NoStartMethodError

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: a launch must not import typing
if TYPE_CHECKING:
    from typing import Any

__all__ = [
    "DefaultContext",
    "ProcstartContext",
    "get_all_start_methods",
    "get_context",
    "get_start_method",
    "get_start_method_source",
    "set_start_method",
    "start_method",
]


class ProcstartContext(BaseContext):
    """A concrete context for one procstart start method."""

    def __init__(self, method: str) -> None:
        self._name = method
        self.Process = process_class(method)
        self._method_cache: tuple[int, StartMethod] | None = None
        # a method may replace Queue, Lock, Pool... (StartMethod.context_api)
        for attribute, factory in start_method(method).context_api.items():
            setattr(self, attribute, types.MethodType(factory, self))

    def get_start_method(self, allow_none: bool = False) -> str:
        """This context's method name."""
        return self._name

    def get_context(self, method: str | None = None) -> BaseContext:  # type: ignore[override]
        """Itself, or the procstart context of ``method``."""
        if method is None:
            return self
        return get_context(method)

    def get_all_start_methods(self) -> list[str]:
        """Installed method names (as ``multiprocessing.get_all_start_methods``)."""
        return get_all_start_methods()

    def set_executable(self, executable: str) -> None:
        """The interpreter exec-based methods start (default ``sys.executable``)."""
        settings.executable = os.fsdecode(executable)

    def set_forkserver_preload(self, module_names: Sequence[str]) -> None:
        """Modules the fork server imports before it forks children."""
        names = list(module_names)
        if not all(isinstance(name, str) for name in names):
            raise TypeError("module_names must be a list of strings")
        settings.forkserver_preload = names

    def SimpleQueue(self) -> Any:  # noqa: N802 - multiprocessing's name
        """``multiprocessing``'s SimpleQueue whose items a child loads (``Pool`` tasks too).

        See :mod:`procstart._queues`: what a child cannot import goes by value.
        """
        from ._simple_queue import SimpleQueue

        return SimpleQueue(ctx=self)

    def _check_available(self) -> None:
        start_method(self._name)

    @property
    def method(self) -> StartMethod:
        """The :class:`StartMethod` behind this context."""
        return start_method(self._name)

    def current_method(self, registry: _manager.Plugins) -> StartMethod:
        """:attr:`method`, cached until plugins change (launches call this)."""
        cached = self._method_cache
        if cached is None or cached[0] != registry.generation:
            cached = self._method_cache = (registry.generation, start_method(self._name))
        return cached[1]

    def __repr__(self) -> str:
        return f"<procstart context {self._name!r}>"


class DefaultContext(BaseContext):
    """The module-level context: its method is resolved on first use."""

    Process = Process

    def get_context(self, method: str | None = None) -> BaseContext:  # type: ignore[override]
        """The concrete context of ``method`` (default: the resolved one)."""
        if method is None:
            return get_context(get_start_method())
        return get_context(method)

    def get_start_method(self, allow_none: bool = False) -> str | None:  # type: ignore[override]
        """See :func:`get_start_method`."""
        return get_start_method(allow_none)

    def set_start_method(self, method: str | None, force: bool = False) -> None:
        """See :func:`set_start_method`."""
        set_start_method(method, force)

    def get_all_start_methods(self) -> list[str]:
        """See :func:`get_all_start_methods`."""
        return get_all_start_methods()

    def set_executable(self, executable: str) -> None:
        """See :meth:`ProcstartContext.set_executable`."""
        settings.executable = os.fsdecode(executable)

    def set_forkserver_preload(self, module_names: Sequence[str]) -> None:
        """See :meth:`ProcstartContext.set_forkserver_preload`."""
        ProcstartContext.set_forkserver_preload(self, module_names)  # type: ignore[arg-type]


def _delegate(name: str) -> Any:
    def method(self: DefaultContext, *args: Any, **kwargs: Any) -> Any:
        return getattr(self.get_context(), name)(*args, **kwargs)

    method.__name__ = method.__qualname__ = name
    method.__doc__ = f"``{name}`` of the default method's context, resolved at the call."
    return method


# the default context asks the resolved method's context, so a method that
# replaces Queue, Lock, Pool... (StartMethod.context_api) is obeyed by
# ``procstart.Queue()`` too; for the others this is what BaseContext does
for _name in (
    "Array", "Barrier", "BoundedSemaphore", "Condition", "Event", "JoinableQueue",
    "Lock", "Manager", "Pipe", "Pool", "Queue", "RLock", "RawArray", "RawValue",
    "Semaphore", "SimpleQueue", "Value",
):  # fmt: skip
    setattr(DefaultContext, _name, _delegate(_name))

_contexts: dict[str, ProcstartContext] = {}
_lock = threading.RLock()
_resolved: Resolution | None = None
#: the pid ``_resolved`` belongs to: a forked child notices it is new by this
_resolved_pid = os.getpid()

#: set on a process object by ``launch()``: the method that started it
STARTED_WITH = "_procstart_started_with"


def started_with(process_obj: object) -> str | None:
    """The start method procstart launched ``process_obj`` with; None if it did not.

    In a child, ask it of ``multiprocessing.current_process()``: a fork copy
    can then tell that procstart started it, and how, without its parent
    marking anything on the launch (in a fork parent, every object a launch
    touches is a copy-on-write fault). A child of the standard library's own
    contexts, the top-level program and a process not yet started give None.

    >>> import multiprocessing
    >>> started_with(multiprocessing.current_process()) is None  # the top-level program
    True
    """
    method = getattr(process_obj, STARTED_WITH, None)
    return method if isinstance(method, str) else None


def _adopt_if_forked() -> None:
    """In a child forked from a procstart parent, adopt the method that started it.

    Fork-based launchers touch nothing in the child (every touched page is a
    copy-on-write fault); the child notices it is new when it first asks.
    """
    global _resolved, _resolved_pid
    pid = os.getpid()
    if pid == _resolved_pid:
        return
    from multiprocessing import process

    method = started_with(process.current_process())
    if method is None:  # not yet (or not) a procstart child: ask again later
        return
    _resolved_pid = pid
    _resolved = None
    settings.explicit = None
    settings.inherited = Resolution(
        method, "parent", f"started with {method!r} by pid {os.getppid()}"
    )


def get_context(method: str | None = None) -> ProcstartContext:
    """The context of ``method``, or of the default method when None.

    >>> import procstart
    >>> procstart.get_context("fork").get_start_method()  # doctest: +SKIP
    'fork'
    """
    if method is None:
        name = get_start_method()
        assert name is not None
    else:
        ctx = _contexts.get(method) if isinstance(method, str) else None
        if ctx is not None:  # fast path: already canonical and known
            return ctx
        name = normalize_method_name(method)
    with _lock:
        ctx = _contexts.get(name)
        if ctx is None:
            start_method(name)
            ctx = _contexts[name] = _context_class(name)(name)
        return ctx


_context_classes: dict[str, type[ProcstartContext]] = {}


def _context_class(method: str) -> type[ProcstartContext]:
    """The ``ProcstartContext`` subclass for ``method``, named as the stdlib names its own.

    ``spawn`` -> ``SpawnContext``, ``forkserver`` -> ``ForkserverContext``:
    code that tells contexts apart by class name (CPython's own
    ``TestStartMethod.test_set_get`` does) sees what ``multiprocessing`` shows.
    Called under ``_lock``.

    >>> _context_class("spawn").__name__
    'SpawnContext'
    """
    cls = _context_classes.get(method)
    if cls is None:
        name = "".join(part.capitalize() for part in method.replace("-", "_").split("_"))
        name += "Context"
        cls = type(name, (ProcstartContext,), {"__module__": __name__, "__qualname__": name})
        _context_classes[method] = cls
    return cls


def get_start_method(allow_none: bool = False) -> str | None:
    """The default start method's name (resolving it now unless ``allow_none``)."""
    global _resolved
    _adopt_if_forked()
    with _lock:
        if _resolved is None:
            if allow_none:
                return None
            _resolved = resolve_default()
        return _resolved.method


def get_start_method_source() -> Resolution:
    """Which method is the default and who decided it (with the file path).

    >>> procstart.get_start_method_source().describe()  # doctest: +SKIP
    'spawn (from [tool.procstart] start-method in /src/app/pyproject.toml)'
    """
    global _resolved
    _adopt_if_forked()
    with _lock:
        if _resolved is None:
            _resolved = resolve_default()
        return _resolved


def set_start_method(method: str | None, force: bool = False) -> None:
    """Set the default start method for this process (once, unless ``force``).

    Like ``multiprocessing.set_start_method``: a second call raises
    ``RuntimeError('context has already been set')``; ``None`` fixes the
    default now, and with ``force=True`` forgets any choice.
    """
    global _resolved
    _adopt_if_forked()
    with _lock:
        if _resolved is not None and not force:
            raise RuntimeError("context has already been set")
        if method is None:
            settings.explicit = None
            _resolved = None
            if not force:  # as the stdlib: fix the default now
                _resolved = resolve_default()
            return
        name = normalize_method_name(method)
        start_method(name)
        settings.explicit = name
        _resolved = Resolution(name, "code")


def get_all_start_methods() -> list[str]:
    """Names of the installed start methods, the default first."""
    registry = _manager.plugins()
    names = sorted(name for name, method in registry.methods.items() if method.is_available)
    try:
        default = get_start_method_source().method
    except (NoStartMethodError, ValueError):
        return names
    if default in names:
        names.remove(default)
        names.insert(0, default)
    return names


def _forget_resolution() -> None:
    """Tests: drop the resolved default and cached contexts."""
    global _resolved
    with _lock:
        _resolved = None
        _contexts.clear()
        settings.explicit = None
        settings.project = None
