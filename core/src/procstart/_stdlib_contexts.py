"""Private CPython internals: make ``multiprocessing`` resolve extra method names.

Why private: ``multiprocessing`` has no public way to add a start method.
``multiprocessing.get_context(name)`` (``BaseContext.get_context``) looks the
name up in the module dict ``multiprocessing.context._concrete_contexts``, and
``set_start_method(name)`` stores that context in
``multiprocessing.context._default_context._actual_context`` (the context
used until then is ``_default_context._default_context``); the module
function ``multiprocessing.get_all_start_methods`` is a bound method of that
default context, copied into the package namespace at import time. Nothing
else in procstart touches these names: the stdlib bridge
(:mod:`procstart.bridge`) calls only this module.

Checked against ``multiprocessing/context.py`` and ``multiprocessing/__init__.py``
of CPython 3.10.13, 3.11.7, 3.12.1 and 3.13.0 (``pyenv prefix <ver>``): the
dict, the ``_default_context`` singleton, its ``_actual_context`` and
``_default_context`` attributes and ``get_context``'s lookup are the same in
all four (``tests/ecosystem/test_stdlib_contexts.py`` runs this module on each).
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable
from multiprocessing import context as _mpcontext
from multiprocessing.context import BaseContext
from typing import Any

__all__ = [
    "add",
    "default_context_name",
    "original_get_all_start_methods",
    "platform_default",
    "remove",
    "set_default",
    "set_platform_default",
    "set_get_all_start_methods",
]

_concrete: dict[str, Any] = _mpcontext._concrete_contexts  # type: ignore[attr-defined]
_default: Any = _mpcontext._default_context  # type: ignore[attr-defined]

#: the stdlib's own function, kept to restore it and to extend its answer
original_get_all_start_methods: Callable[[], list[str]] = multiprocessing.get_all_start_methods


def add(name: str, ctx: BaseContext) -> BaseContext | None:
    """Make ``multiprocessing.get_context(name)`` return ``ctx``; the old one or None."""
    previous: BaseContext | None = _concrete.get(name)
    _concrete[name] = ctx
    return previous


def remove(name: str, previous: BaseContext | None) -> None:
    """Undo :func:`add`: put ``previous`` back (or drop ``name``)."""
    if previous is None:
        _concrete.pop(name, None)
    else:
        _concrete[name] = previous


def default_context_name() -> str | None:
    """The name ``multiprocessing`` defaults to, or None while it is unset."""
    actual = _default._actual_context
    return None if actual is None else str(actual.get_start_method())


def set_default(ctx: BaseContext | None) -> None:
    """``multiprocessing.set_start_method(..., force=True)`` without the name lookup."""
    _default._actual_context = ctx


def platform_default() -> BaseContext:
    """The context ``multiprocessing`` falls back to while no method is set."""
    ctx: BaseContext = _default._default_context
    return ctx


def set_platform_default(ctx: BaseContext) -> None:
    """Change that fallback; ``set_start_method()`` without ``force`` still works."""
    _default._default_context = ctx


def set_get_all_start_methods(func: Callable[[], list[str]]) -> None:
    """Replace ``multiprocessing.get_all_start_methods`` (module and default context)."""
    multiprocessing.get_all_start_methods = func
    _default.get_all_start_methods = func
