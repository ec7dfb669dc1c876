"""Stdlib bridge: let code that only knows ``multiprocessing`` use procstart methods.

Opt-in, one call, early in the program (before libraries pick a context)::

    import procstart.bridge
    procstart.bridge.install()

    import multiprocessing
    multiprocessing.get_context("limited")   # a procstart context
    multiprocessing.set_start_method("spawn", force=True)  # procstart's spawn
    multiprocessing.Pool(2)                  # started by procstart

After :func:`install`, every installed procstart method name resolves through
``multiprocessing.get_context(name)``, ``multiprocessing.set_start_method(name)``
and appears in ``multiprocessing.get_all_start_methods()``, so libraries that
take a start method *name* (joblib's ``JOBLIB_START_METHOD``, PyTorch's
``multiprocessing_context="..."``) can use it. With ``replace_builtins=True``
(the default) the names ``fork``, ``spawn`` and ``forkserver`` also mean
procstart's methods where procstart provides them.

Children of procstart methods install the bridge again before their target
runs (a ``procstart_child_setup`` hook) and, as the stdlib's children do,
take the method that started them as ``multiprocessing``'s default, so nested
pools resolve names the same way.
:func:`uninstall` restores the stdlib's behaviour in this process.

The private ``multiprocessing`` internals this needs live in
``procstart._stdlib_contexts`` (one module, with the CPython versions checked).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from multiprocessing.context import BaseContext
from typing import Any

from . import _stdlib_contexts
from ._childinfo import ChildInfo
from ._hookspecs import hookimpl

__all__ = ["install", "installed", "uninstall"]

_BUILTINS = frozenset({"fork", "spawn", "forkserver"})
_lock = threading.RLock()
#: name -> the stdlib context it replaced (None if the name was new)
_replaced: dict[str, BaseContext | None] = {}
_state: dict[str, Any] = {"hook": None}


class _ChildHook:
    """Registered as a plugin: re-installs the bridge in every procstart child.

    Pickled (by reference to this class, with its options) into the launch
    data of exec- and server-based children; a fork child gets the object.
    """

    def __init__(self, replace_builtins: bool, methods: tuple[str, ...] | None) -> None:
        self.replace_builtins = replace_builtins
        self.methods = methods

    @hookimpl
    def procstart_child_setup(self, info: ChildInfo) -> None:
        """In the child: install the bridge as the parent had it.

        ``multiprocessing``'s default becomes the child's own method, as the
        stdlib's children do (and as ``procstart.get_start_method()`` says).
        """
        bridged = install(replace_builtins=self.replace_builtins, methods=self.methods)
        if info.method in bridged:
            from ._context import get_context

            _stdlib_contexts.set_default(get_context(info.method))


def _all_start_methods() -> list[str]:
    """``multiprocessing.get_all_start_methods()`` plus the bridged names."""
    names = list(_stdlib_contexts.original_get_all_start_methods())
    with _lock:
        for name in sorted(_replaced):
            if name not in names:
                names.append(name)
    return names


def install(
    *,
    replace_builtins: bool = True,
    methods: Iterable[str] | None = None,
    set_default: bool = False,
) -> list[str]:
    """Make procstart methods resolvable through ``multiprocessing``; returns their names.

    ``methods`` limits the bridge to those names (each must be installed,
    else ``ValueError`` lists what is); by default every installed, available
    method is bridged. ``replace_builtins=False`` leaves ``fork``, ``spawn``
    and ``forkserver`` to the standard library. ``set_default=True`` also
    makes procstart's default method (``procstart.get_start_method()``) the
    one ``multiprocessing`` uses while the program has not chosen one, so
    unchanged ``multiprocessing`` code follows ``[tool.procstart]`` and
    ``PROCSTART_START_METHOD``; a later ``set_start_method()`` still works.
    Calling it again adds names (idempotent); the bridge also applies in
    every procstart child.

    >>> import procstart.bridge, multiprocessing
    >>> procstart.bridge.install()  # doctest: +SKIP
    ['fork', 'limited', 'spawn']
    >>> multiprocessing.get_context("fork")  # doctest: +SKIP
    <procstart context 'fork'>
    """
    from . import _manager
    from ._context import get_context, start_method

    wanted: tuple[str, ...] | None = None
    if methods is not None:
        from ._names import normalize_method_name

        wanted = tuple(normalize_method_name(name) for name in methods)
        for name in wanted:
            start_method(name)  # unknown or unavailable: the core's clear error
    registry = _manager.plugins()
    names = (
        list(wanted)
        if wanted is not None
        else sorted(name for name, method in registry.methods.items() if method.is_available)
    )
    with _lock:
        bridged: list[str] = []
        for name in names:
            if name in _BUILTINS and not replace_builtins:
                continue
            ctx = get_context(name)
            previous = _stdlib_contexts.add(name, ctx)
            if name not in _replaced:
                _replaced[name] = previous
            bridged.append(name)
        _stdlib_contexts.set_get_all_start_methods(_all_start_methods)
        if set_default:
            from ._context import get_start_method

            default = get_start_method()
            if default in bridged:
                if _state.get("platform_default") is None:
                    _state["platform_default"] = _stdlib_contexts.platform_default()
                _stdlib_contexts.set_platform_default(get_context(default))
        if _state["hook"] is None:
            hook = _ChildHook(replace_builtins, wanted)
            _manager.register_plugin(hook, name="procstart.bridge")
            _state["hook"] = hook
        return bridged


def installed() -> list[str]:
    """Names currently bridged in this process (empty when not installed)."""
    with _lock:
        return sorted(_replaced)


def uninstall() -> None:
    """Restore the standard library's contexts and stop bridging children.

    If ``multiprocessing``'s default was set to a bridged context, it is
    unset (the next use picks the stdlib's platform default).
    """
    from . import _manager

    with _lock:
        current = _stdlib_contexts.default_context_name()
        if current is not None and current in _replaced:
            _stdlib_contexts.set_default(None)
        for name, previous in _replaced.items():
            _stdlib_contexts.remove(name, previous)
        _replaced.clear()
        original = _state.pop("platform_default", None)
        if original is not None:
            _stdlib_contexts.set_platform_default(original)
        _stdlib_contexts.set_get_all_start_methods(_stdlib_contexts.original_get_all_start_methods)
        hook = _state["hook"]
        if hook is not None:
            _manager.unregister_plugin(hook)
            _state["hook"] = None
