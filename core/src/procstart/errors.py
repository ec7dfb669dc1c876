"""Exceptions procstart raises; each message names what to fix."""

from __future__ import annotations

__all__ = [
    "ConfigError",
    "NoStartMethodError",
    "PluginConflictError",
    "SerializationError",
]


class ConfigError(ValueError):
    """A ``[tool.procstart]`` table or ``PROCSTART_*`` variable is wrong.

    The message names the file (or variable) and the dotted key.
    """


class NoStartMethodError(RuntimeError):
    """No start method is installed at all (only the core is)."""


class PluginConflictError(RuntimeError):
    """Two distributions provide a start method of the same name."""


class SerializationError(TypeError):
    """A target or argument cannot be sent to a child of this start method."""
