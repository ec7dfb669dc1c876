"""The machine, Python and packages a run was measured on."""

from __future__ import annotations

import datetime
import os
import platform
import resource
import sys
import time
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


#: a run counts as loaded when other processes used this share of the machine's CPUs
OTHERS_LOADED = 0.10


def _busy_seconds() -> float | None:
    """CPU seconds the whole machine spent busy since boot (``/proc/stat``), or None."""
    try:
        with open("/proc/stat", encoding="ascii") as fh:
            fields = fh.readline().split()
    except OSError:
        return None
    if not fields or fields[0] != "cpu":
        return None
    # user nice system idle iowait irq softirq steal ...: all but idle and iowait
    ticks = [int(x) for x in fields[1:9]]
    busy = sum(ticks) - ticks[3] - ticks[4]
    return busy / os.sysconf("SC_CLK_TCK")


def _own_seconds() -> float:
    """CPU seconds of this process and of every descendant it (or they) waited for."""
    total = 0.0
    for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
        usage = resource.getrusage(who)
        total += usage.ru_utime + usage.ru_stime
    return total


def _load() -> list[float] | None:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


def _package_dirs() -> list[str]:
    """The folders of the importable ``procstart*`` packages (the code measured)."""
    import pkgutil

    return sorted(
        {
            os.path.join(str(getattr(info.module_finder, "path", "")), info.name)
            for info in pkgutil.iter_modules()
            if info.ispkg and info.name.startswith("procstart")
        }
    )


def _sources_stamp(folders: list[str]) -> int:
    """The newest modification time (ns) of a ``.py`` file under ``folders``."""
    newest = 0
    for folder in folders:
        for root, _dirs, files in os.walk(folder):
            for name in files:
                if name.endswith(".py"):
                    newest = max(newest, os.stat(os.path.join(root, name)).st_mtime_ns)
    return newest


def prepare_sources() -> tuple[list[str], int]:
    """Byte-compile the measured packages for this interpreter; (their folders, stamp).

    A ``.pyc`` older than its source is compiled again by every process that
    imports it when bytecode is not written (``PYTHONDONTWRITEBYTECODE``):
    milliseconds a measured process would bill to procstart.
    """
    import compileall

    folders = _package_dirs()
    for folder in folders:
        compileall.compile_dir(folder, quiet=1)
    return folders, _sources_stamp(folders)


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
        #: machine busy / own CPU seconds and the clock at the start (see ``finish``)
        "cpu_at_start": [_busy_seconds(), _own_seconds(), time.monotonic()],
        #: the measured packages' folders and newest source time (see ``finish``)
        "sources_at_start": prepare_sources(),
        "methods": methods,
        #: every installed procstart plugin distribution; ``without`` were left out
        "plugins": plugin_distributions(),
        "without": sorted(without),
        "packages": packages,
    }


def finish(environment: dict[str, Any], note: str = "") -> None:
    """Add the load at the end, whether the machine was loaded, and ``note``.

    The load average counts the benchmark's own processes, so it cannot tell
    a quiet machine from a busy one. What can: the CPU time the machine was
    busy during the run (``/proc/stat``) minus the CPU time of the run's own
    process tree. ``others_cpu_share`` is that difference over the run's
    elapsed time and the CPU count; the run counts as taken on a loaded
    machine when it reached :data:`OTHERS_LOADED`, or, where ``/proc/stat``
    is missing, when the 1-minute load average at the start reached half the
    CPU count. A run during which a measured package's source changed is
    marked too (``sources_changed``).
    """
    environment["load_average_end"] = _load()
    cpus = environment.get("cpu_count") or 1
    busy0, own0, clock0 = environment.pop("cpu_at_start", (None, 0.0, time.monotonic()))
    busy1, own1, clock1 = _busy_seconds(), _own_seconds(), time.monotonic()
    if busy0 is not None and busy1 is not None and clock1 > clock0:
        others = max(0.0, (busy1 - busy0) - (own1 - own0)) / ((clock1 - clock0) * cpus)
        environment["others_cpu_share"] = round(others, 3)
        environment["loaded"] = others >= OTHERS_LOADED
    else:
        start: list[float] | None = environment.get("load_average")
        environment["loaded"] = start is not None and start[0] >= cpus / 2
    folders, stamp = environment.pop("sources_at_start", ([], 0))
    #: a source edited during the run: later processes compiled it anew each time
    environment["sources_changed"] = bool(folders) and _sources_stamp(folders) != stamp
    environment["note"] = note
