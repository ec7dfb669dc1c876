"""Read-only view of procstart's configuration, for plugins and the CLI.

``[tool.procstart]`` is read once per process from the nearest
``pyproject.toml`` (a child gets its parent's table instead). Plugins read
the keys they declared with ``procstart_config_keys`` through :func:`get`,
never by parsing the file themselves::

    from procstart import config

    nice = config.get("limits-nice", 0)

:func:`entries` lists every known key with its value and where the value
came from; ``procstart config`` prints it.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, cast

from . import _config
from ._types import ConfigKey

__all__ = ["ENV_VARS", "ConfigEntry", "declared_keys", "entries", "get", "project_file"]

#: every ``PROCSTART_*`` variable the core reads, and what it does
ENV_VARS: dict[str, str] = {
    "PROCSTART_START_METHOD": "default start method (beats pyproject.toml, loses to code)",
    "PROCSTART_DISABLE_PLUGIN_AUTOLOAD": "1/true/yes/on: do not load entry-point plugins",
}

_validated = False
_lock = threading.Lock()


@dataclass(frozen=True)
class ConfigEntry:
    """One ``[tool.procstart]`` key: its value and where that came from.

    ``source`` is ``pyproject`` (``detail`` is the file), ``default`` (not
    set anywhere) or ``unknown`` (set, but no installed plugin declares it).
    ``declared_by`` is ``procstart`` for core keys, else the plugin's name.
    """

    key: str
    value: Any
    source: str
    detail: str
    description: str
    expected: str
    declared_by: str

    def as_dict(self) -> dict[str, Any]:
        """Plain data for ``--json``."""
        return {
            "key": self.key,
            "value": self.value,
            "source": self.source,
            "detail": self.detail,
            "description": self.description,
            "expected": self.expected,
            "declared_by": self.declared_by,
        }


def declared_keys() -> dict[str, tuple[type, str, str]]:
    """Every declared key: ``name -> (type, description, declared by)``.

    Core keys first, then those installed plugins declare with
    ``procstart_config_keys``.

    >>> "start-method" in declared_keys()
    True
    """
    from . import _manager

    keys = {name: (kind, doc, "procstart") for name, (kind, doc) in _config.CORE_KEYS.items()}
    registry = _manager.plugins()
    for impl in registry.pm.hook.procstart_config_keys.get_hookimpls():
        declared = cast("Iterable[ConfigKey]", impl.function() or ())
        for key in declared:
            keys.setdefault(key.name, (key.type, key.description, impl.plugin_name))
    return keys


def _checked_project() -> _config.ProjectConfig:
    global _validated
    project = _config.project_config()
    with _lock:
        if not _validated and project.path is not None:
            known = {name: kind for name, (kind, _doc, _who) in declared_keys().items()}
            _config.validate(project, known)
        _validated = True
    return project


def get(key: str, default: Any = None) -> Any:
    """The value of ``[tool.procstart] key`` for this process, or ``default``.

    The table is validated on first use: a declared key of the wrong type
    raises :class:`procstart.ConfigError` naming the file and the dotted key.

    >>> get("no-such-key", 3)  # doctest: +SKIP
    3
    """
    return _checked_project().get(key, default)


def project_file() -> str | None:
    """Path of the ``pyproject.toml`` whose ``[tool.procstart]`` applies, if any."""
    return _config.project_config().path


def _type_name(kind: type) -> str:
    return {str: "string", list: "array of strings", bool: "boolean", int: "integer"}.get(
        kind, kind.__name__
    )


def entries() -> list[ConfigEntry]:
    """Every declared key (set or not) plus unknown keys that are set.

    ``start-method`` shows the resolved default and who decided it (code,
    environment, pyproject, platform or parent), not only the file's value.
    """
    project = _config.project_config()
    declared = declared_keys()
    out: list[ConfigEntry] = []
    for key, (kind, doc, who) in declared.items():
        if key == "start-method":
            from ._context import get_start_method_source

            resolution = get_start_method_source()
            detail = resolution.detail
            if resolution.source == "environment":
                detail = f"{_config.START_METHOD_ENV}={os.environ.get(_config.START_METHOD_ENV)}"
            out.append(
                ConfigEntry(
                    key, resolution.method, resolution.source, detail, doc, _type_name(kind), who
                )
            )
            continue
        if key in project.values:
            value, source, detail = project.values[key], "pyproject", str(project.path)
        else:
            value, source, detail = None, "default", "not set"
        out.append(ConfigEntry(key, value, source, detail, doc, _type_name(kind), who))
    for key, value in project.values.items():
        if key not in declared:
            out.append(
                ConfigEntry(
                    key,
                    value,
                    "unknown",
                    f"{project.path}: no installed plugin declares this key",
                    "",
                    "",
                    "",
                )
            )
    return out


def _reset_for_tests() -> None:
    """Validate again on the next :func:`get` (tests that change directory)."""
    global _validated
    with _lock:
        _validated = False
