"""The machine, Python and packages a run was measured on."""

from __future__ import annotations

import datetime
import os
import platform
import sys
from collections.abc import Sequence
from typing import Any

from ._contenders import plugin_distributions, version_of


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


def _load() -> list[float] | None:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


def describe(methods: list[str], peers: bool, without: Sequence[str] = ()) -> dict[str, Any]:
    """Date, machine, Python, and the versions of everything measured."""
    packages = {
        name: version_of(name)
        for name in ("procstart", "procstart-bench", "psutil", "numpy", "matplotlib")
    }
    if peers:
        packages.update({name: version_of(name) for name in ("multiprocess", "loky")})
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "python": sys.version.split()[0],
        "implementation": platform.python_implementation(),
        "executable": sys.executable,
        "platform": platform.platform(),
        "cpu": _cpu_model(),
        "cpu_count": os.cpu_count(),
        "memory": _memory_total(),
        "load_average": _load(),
        "methods": methods,
        #: every installed procstart plugin distribution; ``without`` were left out
        "plugins": plugin_distributions(),
        "without": sorted(without),
        "packages": packages,
    }


def finish(environment: dict[str, Any], note: str = "") -> None:
    """Add the load at the end, whether the machine was loaded, and ``note``.

    A run counts as taken on a loaded machine when the 1-minute load average
    at its start or end reached half the CPU count.
    """
    environment["load_average_end"] = _load()
    cpus = environment.get("cpu_count") or 1
    loads = [x[0] for x in (environment.get("load_average"), environment["load_average_end"]) if x]
    environment["loaded"] = any(load >= cpus / 2 for load in loads)
    environment["note"] = note
