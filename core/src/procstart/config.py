"""Public read access to procstart's configuration: every key, its value and source.

A key is declared once, by the core (:data:`CORE_KEYS`) or by one installed
plugin (``procstart_config_keys``); :func:`declared_keys` collects them
through pluggy's hook caller. A key's value in effect comes from, first that
is set: its ``PROCSTART_*`` variable (:attr:`ConfigKey.env`), the
``[tool.procstart]`` table of the nearest ``pyproject.toml``, its declared
default. Plugins read their keys with ``procstart.plugin.config_value``
(which calls :func:`get`), never by parsing the file themselves::

    import procstart.plugin

    nice = procstart.plugin.config_value("limits-nice", 0)

:func:`entries` and :func:`environment` list everything ``procstart config``
shows; :func:`reference_markdown` is the configuration reference in
``docs/user-guide.md`` (a test keeps the two equal).
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from typing import Any, NamedTuple

from . import _manager
from ._pyproject import (
    TABLE,
    TYPE_NAMES,
    ProjectConfig,
    check_value,
    project_config,
    validate,
)
from ._resolution import START_METHOD_ENV
from ._types import ConfigKey
from .errors import ConfigError, PluginConflictError

__all__ = [
    "CORE_KEYS",
    "ENV_VARS",
    "ConfigEntry",
    "Declared",
    "checked_project",
    "declared_keys",
    "entries",
    "entry",
    "environment",
    "get",
    "project_file",
    "reference_markdown",
]

#: who declares the core's keys, in ``procstart config`` and errors
CORE = "procstart"

#: the keys the core itself reads; plugins declare theirs with procstart_config_keys
CORE_KEYS: tuple[ConfigKey, ...] = (
    ConfigKey(
        name="start-method",
        type=str,
        description="the project's default start method, any installed method's name; "
        "when unset, the platform's preference among installed methods "
        "(forkserver, spawn, fork; spawn first on macOS); code beats it",
        env=START_METHOD_ENV,
    ),
)

#: ``PROCSTART_*`` variables the core reads that belong to no key
ENV_VARS: dict[str, str] = {
    "PROCSTART_DISABLE_PLUGIN_AUTOLOAD": "`1`/`true`/`yes`/`on`: load no entry-point plugins "
    "(only those registered in code with `procstart.register_plugin`)",
}

_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})


class Declared(NamedTuple):
    """A declared key and the distribution that declared it (``procstart`` for core keys)."""

    key: ConfigKey
    distribution: str
    version: str = ""


@dataclass(frozen=True)
class ConfigEntry:
    """One key: its value in effect and where that came from.

    ``source`` is ``environment`` (``detail`` is ``NAME=value``),
    ``pyproject`` (``detail`` is the file), ``default``, ``unknown`` (set in
    the file, declared by no installed plugin) or, for ``start-method``,
    what decided the default (``code``, ``platform``, ``parent``).
    ``declared_by`` is ``procstart`` for core keys, else the distribution.
    """

    key: str
    value: Any
    source: str
    detail: str
    description: str
    expected: str
    declared_by: str
    env: str | None = None

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
            "env": self.env,
        }


_lock = threading.RLock()
#: (registry, its generation, keys): declarations change only with plugins
_cache: tuple[_manager.Plugins, int, dict[str, Declared]] | None = None


def _provider(distribution: str, version: str) -> str:
    return f"{distribution}=={version}" if version else distribution


def _collect() -> dict[str, Declared]:
    registry = _manager.plugins()
    pm = registry.pm
    keys = {key.name: Declared(key, CORE) for key in CORE_KEYS}
    hook = pm.hook.procstart_config_keys
    declaring = [impl.plugin for impl in hook.get_hookimpls() if not impl.wrapper]
    everyone = pm.get_plugins()
    for plugin in declaring:
        name = pm.get_name(plugin) or repr(plugin)
        dist, version = registry.origins.get(name, (name, ""))
        # one plugin's declarations, still called by pluggy's hook caller
        only = pm.subset_hook_caller(
            "procstart_config_keys", remove_plugins=[p for p in everyone if p is not plugin]
        )
        for batch in only():
            for key in batch or ():
                if not isinstance(key, ConfigKey):
                    raise TypeError(
                        f"{_provider(dist, version)}: procstart_config_keys must yield "
                        f"procstart.plugin.ConfigKey objects, got {type(key).__name__}"
                    )
                old = keys.get(key.name)
                if old is not None:
                    raise PluginConflictError(
                        f"[{TABLE}] key {key.name!r} is declared twice, by "
                        f"{_provider(old.distribution, old.version)} and "
                        f"{_provider(dist, version)}: uninstall one of them"
                    )
                keys[key.name] = Declared(key, dist, version)
    return keys


def declared_keys() -> dict[str, Declared]:
    """Every declared key by name: the core's first, then installed plugins'.

    Two declarations of one key (two plugins, or a plugin and the core) are a
    :class:`procstart.PluginConflictError` naming both distributions.

    >>> declared_keys()["start-method"].distribution
    'procstart'
    """
    global _cache
    registry = _manager.plugins()
    with _lock:
        cached = _cache
        if cached is None or cached[0] is not registry or cached[1] != registry.generation:
            cached = _cache = (registry, registry.generation, _collect())
        return cached[2]


def checked_project() -> ProjectConfig:
    """This process's ``[tool.procstart]`` table, validated on first use.

    A value of the wrong type or a misspelt key raises
    :class:`procstart.ConfigError` naming the file, the dotted key and the value.

    >>> checked_project().path  # doctest: +SKIP
    '/home/me/app/pyproject.toml'
    """
    project = project_config()
    if project.path is not None and not project.checked:
        with _lock:
            if not project.checked:
                known = {name: item.key.type for name, item in declared_keys().items()}
                validate(project, known)
                project.checked = True
    return project


def _from_env(key: ConfigKey, raw: str) -> Any:
    text = raw.strip()
    where = f"environment variable {key.env}={raw!r}"
    if key.type is bool:
        if text.lower() in _TRUE:
            return True
        if text.lower() in _FALSE:
            return False
        raise ConfigError(f"{where}: expected 1/true/yes/on or 0/false/no/off (for {key.name})")
    if key.type in (int, float):
        try:
            return key.type(text)
        except ValueError:
            raise ConfigError(
                f"{where}: expected {TYPE_NAMES[key.type]} (for {key.name})"
            ) from None
    if key.type is list:
        return [part.strip() for part in text.split(",") if part.strip()]
    return text


def _type_text(kind: type) -> str:
    return {
        str: "string",
        list: "array of strings",
        bool: "boolean",
        int: "integer",
        float: "number",
    }.get(kind, kind.__name__)


def _effective(name: str) -> tuple[Any, str, str, Declared | None]:
    """``(value, source, detail, declaration)`` of key ``name`` (launch paths call this)."""
    project = checked_project()
    declared = declared_keys().get(name)
    if declared is None:
        if name in project.values:
            detail = f"{project.path}: no installed plugin declares this key"
            return project.values[name], "unknown", detail, None
        return None, "default", "", None
    key = declared.key
    raw = os.environ.get(key.env) if key.env else None
    if raw is not None and raw.strip():
        return _from_env(key, raw), "environment", f"{key.env}={raw}", declared
    if name in project.values:
        check_value(project, name, key.type)  # a key declared after the table was checked
        return project.values[name], "pyproject", str(project.path), declared
    return key.default, "default", "", declared


def entry(name: str) -> ConfigEntry:
    """The value in effect for key ``name`` and where it came from.

    Environment variable (if the key declares one and it is set), then the
    file, then the declared default. ``start-method`` here is the raw
    setting; :func:`entries` shows the resolved default instead.

    >>> entry("start-method").source  # doctest: +SKIP
    'pyproject'
    """
    value, source, detail, declared = _effective(name)
    if declared is None:
        return ConfigEntry(name, value, source, detail, "", "", "")
    key = declared.key
    return ConfigEntry(
        name,
        value,
        source,
        detail,
        key.description,
        _type_text(key.type),
        declared.distribution,
        key.env,
    )


def get(key: str, default: Any = None) -> Any:
    """The value in effect of ``key`` for this process, or ``default`` when nothing sets it.

    With ``default`` None, a declared key's own default is returned.

    >>> get("no-such-key", 3)  # doctest: +SKIP
    3
    """
    value, source, _detail, _declared = _effective(key)
    if source == "default" and default is not None:
        return default
    return value


def project_file() -> str | None:
    """Path of the ``pyproject.toml`` whose ``[tool.procstart]`` applies, if any."""
    return project_config().path


def entries() -> list[ConfigEntry]:
    """Every declared key (set or not) plus unknown keys that are set.

    ``start-method`` shows the resolved default and who decided it (code,
    environment, pyproject, platform or parent), not only the file's value.
    """
    project = checked_project()
    out: list[ConfigEntry] = []
    for name in declared_keys():
        found = entry(name)
        if name == "start-method":
            from ._context import get_start_method_source

            resolution = get_start_method_source()
            detail = resolution.detail
            if resolution.source == "environment":
                detail = f"{START_METHOD_ENV}={os.environ.get(START_METHOD_ENV)}"
            found = ConfigEntry(
                name,
                resolution.method,
                resolution.source,
                detail,
                found.description,
                found.expected,
                found.declared_by,
                found.env,
            )
        out.append(found)
    declared = declared_keys()
    out.extend(entry(name) for name in project.values if name not in declared)
    return out


def environment() -> dict[str, dict[str, Any]]:
    """Every ``PROCSTART_*`` variable: declared ones (set or not), then any other set.

    ``{"PROCSTART_START_METHOD": {"value": None, "description": ..., "declared_by": ...}}``
    """
    out: dict[str, dict[str, Any]] = {}
    for declared in declared_keys().values():
        key = declared.key
        if key.env:
            out[key.env] = {
                "value": os.environ.get(key.env),
                "description": f"beats `{key.name}` in the file (same meaning)",
                "declared_by": declared.distribution,
            }
    for name, doc in ENV_VARS.items():
        out[name] = {"value": os.environ.get(name), "description": doc, "declared_by": CORE}
    for name in sorted(os.environ):
        if name.startswith("PROCSTART_") and name not in out:
            out[name] = {
                "value": os.environ[name],
                "description": "not declared by any installed plugin",
                "declared_by": "",
            }
    return out


def _cell(text: object) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _default_text(key: ConfigKey) -> str:
    if key.default is None:
        return "not set"
    if isinstance(key.default, bool):
        return "`true`" if key.default else "`false`"
    if isinstance(key.default, list):
        return "`[" + ", ".join(f'"{item}"' for item in key.default) + "]`"
    if isinstance(key.default, str):
        return f'`"{key.default}"`'
    return f"`{key.default}`"


def reference_markdown() -> str:
    """The configuration reference, as ``docs/user-guide.md`` holds it.

    One table of keys per declaring distribution (the core first), then the
    ``PROCSTART_*`` variables. ``procstart config --markdown`` prints it.

    >>> reference_markdown().startswith("### Keys of the core")  # doctest: +SKIP
    True
    """
    groups: dict[str, list[ConfigKey]] = {}
    for declared in declared_keys().values():
        groups.setdefault(declared.distribution, []).append(declared.key)
    order = [CORE, *sorted(name for name in groups if name != CORE)]
    lines: list[str] = []
    for dist in order:
        title = "the core (`procstart`)" if dist == CORE else f"`{dist}`"
        lines += [
            f"### Keys of {title}",
            "",
            "| key | type | default | variable | meaning |",
            "|---|---|---|---|---|",
        ]
        for key in groups.get(dist, []):
            env = f"`{key.env}`" if key.env else ""
            lines.append(
                f"| `{key.name}` | {_type_text(key.type)} | {_default_text(key)} | {env} "
                f"| {_cell(key.description)} |"
            )
        lines.append("")
    lines += [
        "## Environment variables",
        "",
        "Read by procstart and its plugins (a variable beats its key in `pyproject.toml`):",
        "",
        "| variable | declared by | meaning |",
        "|---|---|---|",
    ]
    for declared in declared_keys().values():
        if declared.key.env:
            lines.append(
                f"| `{declared.key.env}` | `{declared.distribution}` "
                f"| as `{declared.key.name}`: {_cell(declared.key.description)} |"
            )
    for name, doc in ENV_VARS.items():
        lines.append(f"| `{name}` | `{CORE}` | {_cell(doc)} |")
    return "\n".join(lines) + "\n"


def _reset_for_tests() -> None:
    """Forget the cached declarations (tests that register plugins)."""
    global _cache
    with _lock:
        _cache = None
