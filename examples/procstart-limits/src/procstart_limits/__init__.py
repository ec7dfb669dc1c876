"""procstart-limits: the ``limited`` start method.

Children get resource limits (address space, CPU time, open files), CPU
affinity, a niceness increment and environment overrides before their target
runs, read from ``[tool.procstart] limits-*`` or set in code::

    import procstart, procstart_limits

    procstart_limits.set_limits(procstart_limits.Limits(nice=10, cpus="0", memory="2G"))
    with procstart.get_context("limited").Pool(2) as pool:
        ...

The child itself is started by another installed method (``limits-base``).
Names resolve lazily: a child that only applies limits imports little.
"""

from __future__ import annotations

import importlib

# not ``from typing import TYPE_CHECKING``: a spawned child imports this
# package to apply limits and should not pay for ``typing``
TYPE_CHECKING = False

__version__ = "0.1.0"
__all__ = ["Limits", "current_limits", "parse_cpus", "parse_size", "set_limits"]

if TYPE_CHECKING:
    from typing import Any

    from ._limits import Limits, current_limits, parse_cpus, parse_size, set_limits


def __getattr__(name: str) -> Any:
    if name in __all__:
        value = getattr(importlib.import_module("procstart_limits._limits"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'procstart_limits' has no attribute {name!r}")
