"""Process-wide choices: what code set, and what a parent handed down.

One object, :data:`settings`, read by the launchers and set by
``set_start_method()``, ``set_executable()``, ``set_forkserver_preload()``
and, in a child, by what its parent sent. Kept tiny: every child imports it.
"""

from __future__ import annotations

import threading

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: a spawned child would import typing
if TYPE_CHECKING:
    from ._pyproject import ProjectConfig
    from ._resolution import Resolution


class Settings:
    """What this process chose (or inherited); None means "not chosen"."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        #: ``set_start_method()`` in code
        self.explicit: str | None = None
        #: in a child: the method its parent started it with
        self.inherited: Resolution | None = None
        #: the ``[tool.procstart]`` table (a child gets its parent's)
        self.project: ProjectConfig | None = None
        #: ``set_forkserver_preload()`` (multiprocessing's API, kept for any plugin)
        self.forkserver_preload: list[str] | None = None
        #: ``set_executable()``
        self.executable: str | None = None
        #: in a child: the plugins its parent had, so it never scans entry points
        self.plugin_snapshot: list[tuple[str, str, str, str]] | None = None


settings = Settings()
