"""The installed start method a name means, or an error that says what to do.

Unknown names get the closest installed or built-in name; ``pip install`` is
suggested only for distributions this project publishes (:mod:`._names`).
"""

from __future__ import annotations

from . import _manager
from ._names import install_hint, normalize_method_name, unknown_method_message
from ._types import StartMethod
from .errors import NoStartMethodError, PluginConflictError


def start_method(name: str) -> StartMethod:
    """The installed, available :class:`StartMethod` called ``name`` or a clear error.

    >>> start_method("spwn")  # doctest: +SKIP
    ValueError: unknown start method 'spwn'; did you mean 'spawn'? installed: fork, spawn
    """
    canonical = normalize_method_name(name)
    registry = _manager.plugins()
    # only its providers load; an error below needs every plugin (they load then)
    method = registry.find_method(canonical)
    if method is None:
        method = registry.methods.get(canonical)  # every plugin loaded now
    if method is None:
        conflict = registry.conflicts.get(canonical)
        if conflict is not None:
            raise PluginConflictError(conflict.message())
        for broken in registry.broken:
            if broken.name == canonical or broken.distribution == f"procstart-{canonical}":
                raise ValueError(
                    f"start method {canonical!r} is unavailable: its plugin failed to "
                    f"load: {broken.describe()}"
                )
        installed = sorted(registry.methods)
        if not installed:
            raise NoStartMethodError(
                f"no start method is installed (asked for {canonical!r}): "
                f"procstart is only the core; {install_hint()}"
            )
        raise ValueError(unknown_method_message(canonical, installed))
    reason = method.unavailable_reason()
    if reason is not None:
        raise ValueError(f"start method {canonical!r} is not available here: {reason}")
    return method
