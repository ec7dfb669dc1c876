"""procstart-limits: the ``limited`` start method.

Children get resource limits (address space, CPU time, open files), CPU
affinity, a niceness increment and environment overrides before their target
runs, read from ``[tool.procstart] limits-*`` or set in code::

    import procstart, procstart_limits

    procstart_limits.set_limits(procstart_limits.Limits(nice=10, cpus="0", memory="2G"))
    with procstart.get_context("limited").Pool(2) as pool:
        ...

The child itself is started by another installed method (``limits-base``).
"""

from __future__ import annotations

from ._limits import Limits, current_limits, parse_cpus, parse_size, set_limits

__version__ = "0.1.0"
__all__ = ["Limits", "current_limits", "parse_cpus", "parse_size", "set_limits"]
