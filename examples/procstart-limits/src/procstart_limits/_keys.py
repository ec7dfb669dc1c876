"""Names shared by the parent and child halves (tiny: children import it)."""

from __future__ import annotations

#: how the parent hands the limits to the child (removed before the target runs)
ENV = "PROCSTART_LIMITS"

#: ``[tool.procstart]`` key -> (Limits field, type, description)
CONFIG_KEYS: dict[str, tuple[str, type, str]] = {
    "limits-base": (
        "base",
        str,
        "start method that really starts the child (default: spawn, else forkserver, else fork)",
    ),
    "limits-nice": ("nice", int, "added to the child's niceness (like nice -n)"),
    "limits-cpus": ("cpus", str, "CPUs the child may run on, e.g. '0-3,6' (Linux)"),
    "limits-memory": ("memory", str, "address-space cap (RLIMIT_AS), e.g. '2G' or '512M'"),
    "limits-cpu-seconds": ("cpu_seconds", int, "CPU time cap in seconds (RLIMIT_CPU)"),
    "limits-open-files": ("open_files", int, "open file cap (RLIMIT_NOFILE)"),
    "limits-env": ("env", list, "environment overrides, each 'NAME=value'"),
}
