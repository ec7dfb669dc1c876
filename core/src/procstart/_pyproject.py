"""Finds the ``[tool.procstart]`` table and checks it against the declared keys.

The table is read from the nearest ``pyproject.toml`` walking up from the
current directory, stopping at a ``.git`` folder or at the first file that
holds the table. Reading happens once per process (:func:`project_config`);
a child never reads the file: its parent hands it the table. Each file's
answer is cached until the file changes (:mod:`procstart._table_cache`), so
a program whose project file did not change parses no TOML.

Every mistake is a :class:`procstart.ConfigError` (a ``ValueError``) naming
the file, the dotted key and the value; only a key that no installed plugin
declares and that resembles no declared key is a warning, located at the
key's line in the file (the plugin that reads it may be installed elsewhere).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping

from ._settings import settings

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: a spawned child would import typing
if TYPE_CHECKING:
    from pathlib import Path
    from typing import Any

TABLE = "tool.procstart"


class ProjectConfig:
    """The ``[tool.procstart]`` table found for a directory (maybe empty).

    ``path`` is the file's path as a string, or None when there is none.
    """

    __slots__ = ("checked", "path", "values")

    def __init__(self, path: str | None, values: Mapping[str, Any] | None = None) -> None:
        self.path = path
        self.values: Mapping[str, Any] = dict(values or {})
        #: set once :func:`validate` passed (it runs once per table)
        self.checked = False

    def get(self, key: str, default: Any = None) -> Any:
        """The value of ``key`` or ``default``."""
        return self.values.get(key, default)


def _error(message: str) -> Exception:
    from .errors import ConfigError

    return ConfigError(message)


def _load_toml(path: str) -> dict[str, Any]:
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - exercised on 3.10 only
        import tomli as tomllib
    try:
        with open(path, "rb") as fh:
            data: dict[str, Any] = tomllib.load(fh)
            return data
    except tomllib.TOMLDecodeError as exc:
        raise _error(f"{path}: invalid TOML: {exc}") from None
    except OSError as exc:
        raise _error(f"{path}: cannot read: {exc.strerror or exc}") from None


def _procstart_table(path: str) -> Any:
    """``tool.procstart`` of the TOML file ``path`` (None: not there), cached by the file.

    See :mod:`procstart._table_cache`: a program whose project file has not
    changed reads a small cache file instead of importing ``tomllib``.
    """
    from . import _table_cache

    # the key is taken before reading: a change meanwhile is seen next time
    known, table, key = _table_cache.cached_table(path)
    if known:
        return table
    data = _load_toml(path)
    tool = data.get("tool", {})
    table = tool.get("procstart") if isinstance(tool, dict) else None
    _table_cache.keep_table(path, key, table)
    return table


def find_project_config(start: str | Path | None = None) -> ProjectConfig:
    """Find the nearest ``pyproject.toml`` holding ``[tool.procstart]``.

    >>> find_project_config("/").path is None
    True
    """
    # os.path, not pathlib: pathlib (with urllib and ipaddress) would be most
    # of what reading the table costs a program
    folder = os.path.realpath(os.fspath(start) if start is not None else os.getcwd())
    while True:
        candidate = os.path.join(folder, "pyproject.toml")
        if os.path.isfile(candidate):
            table = _procstart_table(candidate)
            if table is not None:
                if not isinstance(table, dict):
                    raise _error(
                        f"{candidate}: [{TABLE}] must be a table, got {type(table).__name__}"
                    )
                return ProjectConfig(candidate, table)
        parent = os.path.dirname(folder)
        if os.path.exists(os.path.join(folder, ".git")) or parent == folder:
            break
        folder = parent
    return ProjectConfig(None, {})


def project_config() -> ProjectConfig:
    """The project config for the current directory, read once per process.

    >>> project_config().get("start-method")  # doctest: +SKIP
    'spawn'
    """
    with settings.lock:
        if settings.project is None:
            settings.project = find_project_config()
        return settings.project


#: the value types a key may declare, as an error message says them
TYPE_NAMES = {
    str: "a string",
    list: "an array of strings",
    bool: "true or false",
    int: "an integer",
    float: "a number",
}


def type_ok(value: object, expected: type) -> bool:
    """Whether a TOML value has the declared type (arrays hold strings only).

    >>> type_ok(True, int), type_ok(["a"], list), type_ok(3, float)
    (False, True, True)
    """
    if isinstance(value, bool):
        return expected is bool
    if expected is float:
        return isinstance(value, (int, float))
    if expected is list:
        return isinstance(value, list) and all(isinstance(item, str) for item in value)
    return isinstance(value, expected)


def key_line(path: str, key: str) -> int:
    """The line of ``path`` that sets ``key`` (1 if it cannot be told).

    >>> key_line("/no/such/file", "start-method")
    1
    """
    import re

    pattern = re.compile(rf"""^\s*["']?{re.escape(key)}["']?\s*=""")
    try:
        with open(path, encoding="utf-8") as fh:
            for number, line in enumerate(fh, 1):
                if pattern.match(line):
                    return number
    except (OSError, UnicodeDecodeError):
        pass
    return 1


def validate(config: ProjectConfig, known: Mapping[str, type]) -> None:
    """Check ``config`` against ``known`` (every declared key and its type).

    A value of the wrong type, or an unknown key that resembles a declared
    one, raises :class:`procstart.ConfigError`; any other unknown key warns
    (:class:`procstart.errors.ConfigWarning`) at its line in the file.

    >>> table = ProjectConfig("/p/pyproject.toml", {"start-methd": "fork"})
    >>> try:
    ...     validate(table, {"start-method": str})
    ... except ValueError as exc:
    ...     print(str(exc).split("; ")[1])
    did you mean 'tool.procstart.start-method'?
    """
    import difflib

    for key, value in config.values.items():
        expected = known.get(key)
        if expected is None:
            guess = difflib.get_close_matches(key, list(known), n=1, cutoff=0.75)
            if guess:
                raise _error(
                    f"{config.path}: unknown key '{TABLE}.{key}' = {value!r}; "
                    f"did you mean '{TABLE}.{guess[0]}'?"
                )
            _warn_unknown(config, key, known)
            continue
        check_value(config, key, expected)


def check_value(config: ProjectConfig, key: str, expected: type) -> None:
    """Raise :class:`procstart.ConfigError` if ``key``'s value is not of type ``expected``.

    >>> check_value(ProjectConfig("/p/x.toml", {"n": "high"}), "n", int)
    Traceback (most recent call last):
    procstart.errors.ConfigError: /p/x.toml: 'tool.procstart.n' must be an integer, got 'high'
    """
    value = config.values.get(key)
    if key in config.values and not type_ok(value, expected):
        raise _error(
            f"{config.path}: '{TABLE}.{key}' must be "
            f"{TYPE_NAMES.get(expected, expected.__name__)}, got {value!r}"
        )


def _warn_unknown(config: ProjectConfig, key: str, known: Mapping[str, type]) -> None:
    import warnings

    from .errors import ConfigWarning

    path = str(config.path)
    warnings.warn_explicit(
        f"unknown key '{TABLE}.{key}': no installed plugin declares it "
        f"(declared: {', '.join(sorted(known))})",
        ConfigWarning,
        filename=path,
        lineno=key_line(path, key),
        module="procstart.config",
    )
