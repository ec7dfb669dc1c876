"""Reads ``[tool.procstart]`` and resolves the default start method.

Order (first that is set wins): ``set_start_method()`` in code, the
``PROCSTART_START_METHOD`` variable, ``[tool.procstart] start-method`` in the
nearest ``pyproject.toml`` (walking up from the current directory, stopping
at a ``.git`` folder or at the first file that holds the table), then the
platform's preference among installed methods. A child never reads any of
this: its parent hands it the decision.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Mapping

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: a spawned child would import typing
if TYPE_CHECKING:
    from pathlib import Path
    from typing import Any

START_METHOD_ENV = "PROCSTART_START_METHOD"
TABLE = "tool.procstart"

#: keys the core itself reads; plugins declare theirs with procstart_config_keys
CORE_KEYS: dict[str, tuple[type, str]] = {
    "start-method": (str, "default start method for this project"),
    "forkserver-preload": (list, "modules the fork server imports before forking"),
    "children-die-with-parent": (bool, "terminate descendants when the top parent dies"),
}

#: Linux/macOS preference among installed methods, as Python 3.14 orders them
PLATFORM_PREFERENCE: tuple[str, ...] = (
    ("forkserver", "spawn", "fork") if sys.platform != "darwin" else ("spawn", "forkserver", "fork")
)


class ProjectConfig:
    """The ``[tool.procstart]`` table found for a directory (maybe empty).

    ``path`` is the file's path as a string, or None when there is none.
    """

    __slots__ = ("path", "values")

    def __init__(self, path: str | None, values: Mapping[str, Any] | None = None) -> None:
        self.path = path
        self.values: Mapping[str, Any] = dict(values or {})

    def get(self, key: str, default: Any = None) -> Any:
        """The value of ``key`` or ``default``."""
        return self.values.get(key, default)


class Resolution:
    """Which start method is the default, and who decided it.

    ``source`` is one of ``code``, ``environment``, ``pyproject`` (``detail``
    is the file), ``platform`` or ``parent`` (in a child).
    """

    __slots__ = ("detail", "method", "source")

    def __init__(self, method: str, source: str, detail: str = "") -> None:
        self.method = method
        self.source = source
        self.detail = detail

    def __repr__(self) -> str:
        return f"Resolution({self.method!r}, {self.source!r}, {self.detail!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Resolution):
            return NotImplemented
        return (self.method, self.source, self.detail) == (other.method, other.source, other.detail)

    def __hash__(self) -> int:
        return hash((self.method, self.source, self.detail))

    def as_dict(self) -> dict[str, str]:
        """For ``--json`` output."""
        return {"method": self.method, "source": self.source, "detail": self.detail}

    def describe(self) -> str:
        """Human text: ``spawn (from PROCSTART_START_METHOD)``."""
        where = {
            "code": "set_start_method() in code",
            "environment": f"environment variable {START_METHOD_ENV}",
            "pyproject": f"[{TABLE}] start-method in {self.detail}",
            "platform": f"platform preference ({self.detail})",
            "parent": f"inherited from the parent process ({self.detail})",
        }.get(self.source, self.source)
        return f"{self.method} (from {where})"


def _error(message: str) -> Exception:
    from .errors import ConfigError

    return ConfigError(message)


def _load_toml(path: Path) -> dict[str, Any]:
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - exercised on 3.10 only
        import tomli as tomllib
    try:
        with path.open("rb") as fh:
            data: dict[str, Any] = tomllib.load(fh)
            return data
    except tomllib.TOMLDecodeError as exc:
        raise _error(f"{path}: invalid TOML: {exc}") from None
    except OSError as exc:
        raise _error(f"{path}: cannot read: {exc.strerror or exc}") from None


def find_project_config(start: Path | None = None) -> ProjectConfig:
    """Find the nearest ``pyproject.toml`` holding ``[tool.procstart]``.

    >>> from pathlib import Path
    >>> find_project_config(Path("/")).path is None
    True
    """
    from pathlib import Path

    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        candidate = folder / "pyproject.toml"
        if candidate.is_file():
            data = _load_toml(candidate)
            tool = data.get("tool", {})
            table = tool.get("procstart") if isinstance(tool, dict) else None
            if table is not None:
                if not isinstance(table, dict):
                    raise _error(
                        f"{candidate}: [{TABLE}] must be a table, got {type(table).__name__}"
                    )
                return ProjectConfig(str(candidate), table)
        if (folder / ".git").exists():
            break
    return ProjectConfig(None, {})


_TYPE_NAMES = {
    str: "a string",
    list: "an array of strings",
    bool: "true or false",
    int: "an integer",
}


def validate(config: ProjectConfig, known: Mapping[str, type]) -> None:
    """Check types of known keys (error) and warn about unknown ones.

    ``known`` maps every declared key to its expected type.
    """
    import warnings

    for key, value in config.values.items():
        expected = known.get(key)
        if expected is None:
            choices = ", ".join(sorted(known))
            warnings.warn(
                f"{config.path}: unknown key '{TABLE}.{key}' (known keys: {choices})",
                stacklevel=3,
            )
            continue
        ok = isinstance(value, expected) and not (expected is int and isinstance(value, bool))
        if ok and expected is list:
            ok = all(isinstance(item, str) for item in value)
        if not ok:
            raise _error(
                f"{config.path}: '{TABLE}.{key}' must be "
                f"{_TYPE_NAMES.get(expected, expected.__name__)}, got {value!r}"
            )


class _Settings:
    """Process-wide choices: what code set, and what a parent handed down."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.explicit: str | None = None
        self.inherited: Resolution | None = None
        self.project: ProjectConfig | None = None
        self.forkserver_preload: list[str] | None = None
        self.executable: str | None = None
        #: in a child: the plugins its parent had, so it never scans entry points
        self.plugin_snapshot: list[tuple[str, str, str, str]] | None = None


settings = _Settings()


def project_config() -> ProjectConfig:
    """The project config for the current directory, read once per process."""
    with settings.lock:
        if settings.project is None:
            settings.project = find_project_config()
        return settings.project
