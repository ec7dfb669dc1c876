"""The procstart plugin: the ``limited`` start method and its configuration keys.

This module is what the ``procstart`` entry point names. The child side
lives in :mod:`procstart_limits._child`, named by the method's
``child_setup``: only ``limited`` children import and run it (a
``procstart_child_setup`` hook would run in the children of every method).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator, Mapping

import procstart

from ._keys import CONFIG_KEYS, ENV

METHOD = "limited"
#: which installed method really starts the child when ``limits-base`` is unset
BASE_PREFERENCE = ("spawn", "forkserver", "fork")


def default_base() -> str:
    """The first installed method of :data:`BASE_PREFERENCE`.

    >>> default_base() in BASE_PREFERENCE  # doctest: +SKIP
    True
    """
    installed = procstart.get_all_start_methods()
    for name in BASE_PREFERENCE:
        if name in installed:
            return name
    raise procstart.NoStartMethodError(
        f"start method {METHOD!r} needs another method to start children "
        f"({', '.join(BASE_PREFERENCE)}); pip install procstart-spawn or procstart-fork"
    )


def launch(request: procstart.LaunchRequest) -> procstart.PopenLike:
    """Check the limits here, hand them to the child, start it with the base method."""
    from ._limits import current_limits

    limits, where = current_limits()
    base = limits.base or default_base()
    try:
        limits.check()
        if procstart.StartMethod(name=base, launcher=launch).name == METHOD:
            raise ValueError(f"limits-base cannot be {METHOD!r} itself")
        base_method = procstart.get_context(base).method
    except (TypeError, ValueError, RuntimeError) as exc:
        raise type(exc)(f"start method {METHOD!r} ({where}): {exc}") from None
    # overrides are applied by the core in the child, before the target
    request.env.update(limits.env)
    request.env[ENV] = limits.to_json()
    request.options["procstart_limits"] = limits
    # request.method stays ``limited``: the child's get_start_method() says so
    # and its own children are limited too
    return base_method.launcher(request)


def _unavailable() -> str | None:
    if os.name != "posix":
        return f"needs POSIX resource limits, not available on {sys.platform}"
    return None


@procstart.hookimpl
def procstart_status() -> Mapping[str, object]:
    """The base method and the limits in force, for ``procstart methods``."""
    from ._limits import current_limits

    limits, _where = current_limits()
    return {"base": limits.base or default_base(), "limits": limits.describe()}


@procstart.hookimpl
def procstart_start_methods() -> Iterator[procstart.StartMethod]:
    """Provide ``limited``."""
    yield procstart.StartMethod(
        name=METHOD,
        launcher=launch,
        description="another method's child, with rlimits, CPU affinity, nice and env "
        "from [tool.procstart] limits-* applied before the target",
        unavailable_reason=_unavailable,
        child_setup=("procstart_limits._child",),
    )


@procstart.hookimpl
def procstart_config_keys() -> Iterator[procstart.ConfigKey]:
    """Declare the ``limits-*`` keys (type-checked by procstart)."""
    for key, (_name, kind, doc) in CONFIG_KEYS.items():
        yield procstart.ConfigKey(name=key, type=kind, description=doc)
