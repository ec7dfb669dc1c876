"""Exceptions procstart raises; each message names what to fix."""

from __future__ import annotations

__all__ = [
    "ConfigError",
    "ConfigWarning",
    "NoStartMethodError",
    "PluginConflictError",
    "SerializationError",
]


class ConfigError(ValueError):
    """A ``[tool.procstart]`` table or ``PROCSTART_*`` variable is wrong.

    The message names the file and the dotted key (or the variable) and
    the value found: a wrong type, an unknown start method, a misspelt key.

    >>> issubclass(ConfigError, ValueError)
    True
    """


class ConfigWarning(UserWarning):
    """A ``[tool.procstart]`` key no installed plugin declares.

    Shown at the key's line in ``pyproject.toml``; filter it like any
    warning (``-W error::procstart.errors.ConfigWarning`` makes it fatal).
    """


class NoStartMethodError(RuntimeError):
    """No start method is installed at all (only the core is)."""


class PluginConflictError(RuntimeError):
    """Two distributions provide a start method of the same name."""


class SerializationError(TypeError):
    """A target or argument cannot be sent to a child of this start method."""
