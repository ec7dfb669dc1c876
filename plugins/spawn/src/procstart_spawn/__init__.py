"""procstart-spawn: the ``spawn`` start method.

Each child is a fresh interpreter that receives its process object through a
pipe and exactly the fds it was asked to have. Targets that cannot go by
reference (lambdas, closures, functions of ``python -c`` or a notebook) go by
value with cloudpickle. Children start faster than ``multiprocessing``'s:
see :mod:`procstart_spawn._startup` for when ``site`` is skipped.
"""

from __future__ import annotations

from ._plugin import procstart_config_keys, procstart_start_methods, procstart_status
from ._popen import SpawnPopen
from ._startup import (
    FAST_EXIT_ENV,
    FAST_STARTUP_ENV,
    StartupPlan,
    fast_exit_enabled,
    set_fast_exit,
    set_fast_startup,
)
from ._startup import plan as startup_plan

__version__ = "0.1.0"
__all__ = [
    "FAST_EXIT_ENV",
    "FAST_STARTUP_ENV",
    "SpawnPopen",
    "StartupPlan",
    "procstart_config_keys",
    "fast_exit_enabled",
    "procstart_start_methods",
    "procstart_status",
    "set_fast_exit",
    "set_fast_startup",
    "startup_plan",
]
