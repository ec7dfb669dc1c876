"""The limits a ``limited`` child gets, how they are read, checked, sent and applied.

Checked in the parent (a bad value fails at ``start()``, naming the key and
the file), sent to the child as JSON in one environment variable, applied by
the child's setup hook before the target runs.
"""

from __future__ import annotations

import json
import os
import re
import sys
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from ._keys import CONFIG_KEYS, ENV

__all__ = [
    "CONFIG_KEYS",
    "ENV",
    "Limits",
    "current_limits",
    "parse_cpus",
    "parse_size",
    "set_limits",
]

_SIZE_RE = re.compile(r"^\s*(\d+)\s*([kmgt]?)i?b?\s*$", re.IGNORECASE)
_UNITS = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}
_CPU_PART_RE = re.compile(r"^(\d+)(?:-(\d+))?$")


def parse_size(text: str | int) -> int:
    """Bytes from ``512M``, ``2G``, ``1024`` (binary units).

    >>> parse_size("2G")
    2147483648
    """
    if isinstance(text, int) and not isinstance(text, bool):
        value = text
    else:
        match = _SIZE_RE.match(str(text))
        if not match:
            raise ValueError(f"bad size {text!r}: expected e.g. '512M', '2G' or a number of bytes")
        value = int(match.group(1)) * _UNITS[match.group(2).lower()]
    if value <= 0:
        raise ValueError(f"bad size {text!r}: must be positive")
    return value


def parse_cpus(text: str | Iterable[int]) -> frozenset[int]:
    """CPU numbers from ``'0-3,6'`` (or any iterable of ints).

    >>> sorted(parse_cpus("0-2,5"))
    [0, 1, 2, 5]
    """
    if not isinstance(text, str):
        cpus = frozenset(int(cpu) for cpu in text)
    else:
        found: set[int] = set()
        for part in text.replace(" ", "").split(","):
            match = _CPU_PART_RE.match(part)
            if not match:
                raise ValueError(f"bad CPU list {text!r}: expected numbers and ranges like '0-3,6'")
            low = int(match.group(1))
            high = int(match.group(2) or low)
            if high < low:
                raise ValueError(f"bad CPU list {text!r}: range {part!r} runs backwards")
            found.update(range(low, high + 1))
        cpus = frozenset(found)
    if not cpus or min(cpus) < 0:
        raise ValueError(f"bad CPU list {text!r}: expected at least one CPU number >= 0")
    return cpus


def _parse_env(entries: Iterable[str] | Mapping[str, str]) -> dict[str, str]:
    if isinstance(entries, Mapping):
        return {str(k): str(v) for k, v in entries.items()}
    env: dict[str, str] = {}
    for entry in entries:
        name, sep, value = str(entry).partition("=")
        if not sep or not name.strip():
            raise ValueError(f"bad environment entry {entry!r}: expected 'NAME=value'")
        env[name.strip()] = value
    return env


def _format_cpus(cpus: Iterable[int]) -> str:
    return ",".join(str(cpu) for cpu in sorted(cpus))


@dataclass(frozen=True)
class Limits:
    """What a ``limited`` child gets before its target runs.

    Every field is optional; ``Limits()`` changes nothing. ``cpus`` takes
    ``"0-3,6"`` or a set of ints, ``memory`` takes ``"2G"`` or bytes, ``env``
    a mapping or ``NAME=value`` strings. ``base`` names the start method that
    really starts the child.

    >>> Limits(nice=5, cpus="0", memory="1G").memory
    1073741824
    """

    nice: int = 0
    cpus: frozenset[int] | None = None
    memory: int | None = None
    cpu_seconds: int | None = None
    open_files: int | None = None
    env: Mapping[str, str] = field(default_factory=dict)
    base: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.nice, int) or isinstance(self.nice, bool):
            raise ValueError(f"nice must be an integer, got {self.nice!r}")
        if self.cpus is not None:
            object.__setattr__(self, "cpus", parse_cpus(self.cpus))
        if self.memory is not None:
            object.__setattr__(self, "memory", parse_size(self.memory))
        for name in ("cpu_seconds", "open_files"):
            value = getattr(self, name)
            if value is not None and (
                not isinstance(value, int) or isinstance(value, bool) or value <= 0
            ):
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        object.__setattr__(self, "env", _parse_env(self.env))

    # -- parent side -------------------------------------------------------
    def check(self) -> None:
        """Fail now, in the parent, for what the child could not apply."""
        if self.cpus is not None:
            if not hasattr(os, "sched_setaffinity"):
                raise ValueError(f"CPU affinity is not supported on {sys.platform}")
            allowed = os.sched_getaffinity(0)
            missing = self.cpus - allowed
            if missing:
                raise ValueError(
                    f"CPUs {_format_cpus(missing)} are not available to this process "
                    f"(available: {_format_cpus(allowed)})"
                )
        import resource

        for name, which in (
            ("memory", resource.RLIMIT_AS),
            ("cpu_seconds", resource.RLIMIT_CPU),
            ("open_files", resource.RLIMIT_NOFILE),
        ):
            value = getattr(self, name)
            _soft, hard = resource.getrlimit(which)
            if value is not None and hard != resource.RLIM_INFINITY and value > hard:
                raise ValueError(f"{name}={value} is above this process's hard limit {hard}")

    def to_json(self) -> str:
        """What the child needs (env and base are the parent's business)."""
        return json.dumps(
            {
                "nice": self.nice,
                "cpus": sorted(self.cpus) if self.cpus is not None else None,
                "memory": self.memory,
                "cpu_seconds": self.cpu_seconds,
                "open_files": self.open_files,
            }
        )

    @classmethod
    def from_json(cls, text: str) -> Limits:
        """The inverse of :meth:`to_json`."""
        data: dict[str, Any] = json.loads(text)
        return cls(**data)

    # -- child side --------------------------------------------------------
    def apply(self) -> None:
        """Apply to the calling process: niceness, affinity, then rlimits."""
        if self.nice:
            os.nice(self.nice)
        if self.cpus is not None:
            os.sched_setaffinity(0, self.cpus)
        import resource

        for value, which in (
            (self.memory, resource.RLIMIT_AS),
            (self.cpu_seconds, resource.RLIMIT_CPU),
            (self.open_files, resource.RLIMIT_NOFILE),
        ):
            if value is not None:
                resource.setrlimit(which, (value, value))

    def describe(self) -> str:
        """Short text for ``procstart methods``: ``nice=+5 cpus=0,1``."""
        parts = []
        if self.nice:
            parts.append(f"nice={self.nice:+d}")
        if self.cpus is not None:
            parts.append(f"cpus={_format_cpus(self.cpus)}")
        for f in fields(self):
            if f.name in {"memory", "cpu_seconds", "open_files"}:
                value = getattr(self, f.name)
                if value is not None:
                    parts.append(f"{f.name}={value}")
        if self.env:
            parts.append("env=" + ",".join(sorted(self.env)))
        return " ".join(parts) or "none"


_lock = threading.Lock()
_override: dict[str, Limits | None] = {"limits": None}


def set_limits(limits: Limits | None) -> None:
    """Use ``limits`` for ``limited`` children of this process (None: back to config).

    Code beats ``[tool.procstart]``, as ``procstart.set_start_method`` does.

    >>> set_limits(Limits(nice=10))
    >>> set_limits(None)
    """
    if limits is not None and not isinstance(limits, Limits):
        raise TypeError(f"set_limits() takes a Limits or None, not {type(limits).__name__}")
    with _lock:
        _override["limits"] = limits


def current_limits() -> tuple[Limits, str]:
    """The limits in force here and where they came from (for error messages)."""
    with _lock:
        limits = _override["limits"]
    if limits is not None:
        return limits, "set_limits()"
    from procstart.plugin import config_file, config_value

    where = config_file() or "[tool.procstart]"
    kwargs: dict[str, Any] = {}
    for key, (name, _kind, _doc) in CONFIG_KEYS.items():
        value = config_value(key)
        if value is None:
            continue
        try:
            Limits(**{name: value})
        except ValueError as exc:
            raise ValueError(f"{where}: 'tool.procstart.{key}': {exc}") from None
        kwargs[name] = value
    return Limits(**kwargs), where
