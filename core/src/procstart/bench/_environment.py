"""The machine, Python and packages a run was measured on."""

from __future__ import annotations

import datetime
import os
import platform
import sys
from typing import Any

from . import _plugins
from ._contenders import version_of


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _memory_total() -> int | None:
    try:
        with open("/proc/meminfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("MemTotal:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def describe(methods: list[str], peers: bool) -> dict[str, Any]:
    """Date, machine, Python, and the versions of everything measured."""
    from .. import _manager

    registry = _manager.plugins()
    plugins = {
        m.name: f"{m.distribution}=={m.version}"
        for m in registry.methods.values()
        if m.name in methods
    }
    packages = {name: version_of(name) for name in ("procstart", "psutil", "numpy", "matplotlib")}
    if peers:
        packages.update({name: version_of(name) for name in ("multiprocess", "loky")})
    try:
        load: list[float] | None = [round(x, 2) for x in os.getloadavg()]
    except OSError:
        load = None
    main = sys.modules.get("__main__")
    main_file = getattr(main, "__file__", None)
    return {
        #: what children re-import as __mp_main__ (the stdlib skips -m pkg)
        "main": os.path.basename(main_file) if main_file else "<no file>",
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "python": sys.version.split()[0],
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "cpu": _cpu_model(),
        "cpu_count": os.cpu_count(),
        "memory": _memory_total(),
        "load_average": load,
        "methods": plugins,
        #: plugins from outside the project: active only in their own method's rows
        "other_plugins": _plugins.others(),
        "all_plugins": _plugins.keep_all(),
        "without": _plugins.left_out(),
        "packages": packages,
    }
