"""Which start method is the default, and who decided it.

Order (first that is set wins): ``set_start_method()`` in code, the method a
parent started this child with, the ``PROCSTART_START_METHOD`` variable,
``[tool.procstart] start-method`` in the nearest ``pyproject.toml``, then
the platform's preference among installed methods. :func:`resolve_default`
decides; :class:`Resolution` says what and why. A child never reads the
environment or the file for this: its parent hands it the decision.
"""

from __future__ import annotations

import os
import sys

from ._settings import settings

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: a spawned child imports this module
if TYPE_CHECKING:
    from ._manager import Plugins

START_METHOD_ENV = "PROCSTART_START_METHOD"

#: Linux/macOS preference among installed methods, as Python 3.14 orders them
PLATFORM_PREFERENCE: tuple[str, ...] = (
    ("forkserver", "spawn", "fork") if sys.platform != "darwin" else ("spawn", "forkserver", "fork")
)


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
            "pyproject": f"[tool.procstart] start-method in {self.detail}",
            "platform": f"platform preference ({self.detail})",
            "parent": f"inherited from the parent process ({self.detail})",
        }.get(self.source, self.source)
        return f"{self.method} (from {where})"


def _platform_default(registry: Plugins) -> Resolution:
    from ._names import install_hint
    from .errors import NoStartMethodError

    installed = registry.methods
    for name in PLATFORM_PREFERENCE:
        method = installed.get(name)
        if method is not None and method.is_available:
            order = " > ".join(PLATFORM_PREFERENCE)
            return Resolution(name, "platform", f"{sys.platform}: {order}")
    for name in sorted(installed):
        # a remote method (a cluster) is used only when asked for by name
        if installed[name].is_available and not installed[name].remote:
            return Resolution(name, "platform", "the only kind installed")
    raise NoStartMethodError(
        f"no start method is installed: procstart is only the core; {install_hint()}"
    )


def _configured(name: object, where: str) -> str:
    """``name`` checked as an installed method; a ConfigError saying ``where`` if not."""
    from ._lookup import start_method
    from ._names import normalize_method_name
    from .errors import ConfigError, NoStartMethodError, PluginConflictError

    try:
        canonical = normalize_method_name(name)
        start_method(canonical)
    except (NoStartMethodError, PluginConflictError):
        raise
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{where}: {exc}") from None
    return canonical


def resolve_default() -> Resolution:
    """Decide the default method: code > parent > env > pyproject > platform.

    >>> resolve_default().source  # doctest: +SKIP
    'platform'
    """
    if settings.explicit is not None:
        return Resolution(settings.explicit, "code")
    if settings.inherited is not None:
        return settings.inherited
    from . import _manager, config

    env = os.environ.get(START_METHOD_ENV)
    if env is not None and env.strip():
        name = _configured(env, f"environment variable {START_METHOD_ENV}={env!r}")
        return Resolution(name, "environment")
    project = config.checked_project()
    value = project.get("start-method")
    if value is not None:
        name = _configured(value, f"{project.path}: 'tool.procstart.start-method' = {value!r}")
        return Resolution(name, "pyproject", str(project.path))
    return _platform_default(_manager.plugins())
