"""Public read access to procstart's configuration: every key, its value and source.

A key is declared once, by the core (:data:`CORE_KEYS`) or by one installed
plugin (``procstart_config_keys``); :func:`declared_keys` lists them with
their distribution (see :mod:`procstart._declared`). A key's value in
effect comes from, first that
is set: its ``PROCSTART_*`` variable (:attr:`ConfigKey.env`), the
``[tool.procstart]`` table of the nearest ``pyproject.toml``, its declared
default. Plugins read their keys with ``procstart.plugin.config_value``
(which calls :func:`get`), never by parsing the file themselves::

    import procstart.plugin

    nice = procstart.plugin.config_value("limits-nice", 0)

:func:`entries` and :func:`environment` list everything ``procstart config``
shows (``procstart config --markdown`` turns the declarations into the
reference in ``docs/user-guide.md``).
"""

from __future__ import annotations

import os
import threading

from ._declared import CORE, CORE_KEYS, ENV_VARS, Declared, declared_key, declared_keys
from ._pyproject import TYPE_NAMES, ProjectConfig, check_value, project_config, validate
from ._resolution import START_METHOD_ENV
from ._types import ConfigKey, _Value
from .errors import ConfigError

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: a launch must not import typing
if TYPE_CHECKING:
    from typing import Any

__all__ = [
    "CORE",
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
    "type_text",
]

_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})


class ConfigEntry(_Value):
    """One key: its value in effect and where that came from.

    ``source`` is ``environment`` (``detail`` is ``NAME=value``),
    ``pyproject`` (``detail`` is the file), ``default``, ``unknown`` (set in
    the file, declared by no installed plugin) or, for ``start-method``,
    what decided the default (``code``, ``platform``, ``parent``).
    ``declared_by`` is ``procstart`` for core keys, else the distribution.
    """

    __slots__ = (
        "declared_by",
        "description",
        "detail",
        "env",
        "expected",
        "key",
        "source",
        "value",
    )
    _fields = ("key", "value", "source", "detail", "description", "expected", "declared_by", "env")
    key: str
    value: Any
    source: str
    detail: str
    description: str
    expected: str
    declared_by: str
    env: str | None

    def __init__(  # noqa: PLR0917 - positional, as the dataclass it was
        self,
        key: str,
        value: Any,
        source: str,
        detail: str,
        description: str,
        expected: str,
        declared_by: str,
        env: str | None = None,
    ) -> None:
        self._set(
            key=key,
            value=value,
            source=source,
            detail=detail,
            description=description,
            expected=expected,
            declared_by=declared_by,
            env=env,
        )

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


_lock = threading.Lock()


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


def type_text(kind: type) -> str:
    """The name ``procstart config`` gives a declared type.

    >>> type_text(list)
    'array of strings'
    """
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
    declared = declared_key(name)  # only its declarer loads
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
        type_text(key.type),
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
    """Path of the ``pyproject.toml`` whose ``[tool.procstart]`` applies, if any.

    >>> project_file()  # doctest: +SKIP
    '/home/me/app/pyproject.toml'
    """
    return project_config().path


def entries() -> list[ConfigEntry]:
    """Every declared key (set or not) plus unknown keys that are set.

    ``start-method`` shows the resolved default and who decided it (code,
    environment, pyproject, platform or parent), not only the file's value.

    >>> [(e.key, e.source) for e in entries()][:2]  # doctest: +SKIP
    [('start-method', 'platform'), ('forkserver-preload', 'default')]
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

    >>> environment()["PROCSTART_START_METHOD"]["declared_by"]  # doctest: +SKIP
    'procstart'
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
