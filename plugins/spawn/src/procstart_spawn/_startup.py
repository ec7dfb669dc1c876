"""Site-less child startup (``python -S``), an option; and the fast exit switch.

**Skipping site (off by default).** A fresh interpreter spends part of its
startup in ``site``: finding site-packages, reading every ``.pth`` file,
trying ``sitecustomize``. A spawn child gets the parent's finished
``sys.path`` anyway, so it can start with ``-S`` and restore the rest. With
the option on, that happens when, and only when, it is equivalent:

- the child runs the parent's own interpreter (not ``set_executable()``);
- no ``sitecustomize`` or ``usercustomize`` module can be found;
- every ``import`` line of every ``.pth`` file in the site directories is one
  we know (setuptools' ``distutils-precedence.pth``, virtualenv's
  ``_virtualenv.pth``); the child runs those same lines itself.

The child then restores ``sys.prefix``/``sys.exec_prefix``, ``site.PREFIXES``,
the ``site`` builtins (``exit``, ``quit``, ``help``, ``copyright``,
``credits``, ``license``) and ``site.ENABLE_USER_SITE``. One visible
difference remains: ``sys.flags.no_site`` is 1 in such a child.

Measured in the project's venv (interleaved, 150 starts each) it saved
nothing: restoring costs about what ``site`` costs there. So it is off
unless asked for: ``PROCSTART_SPAWN_FAST_STARTUP=1``,
``spawn-fast-startup = true`` under ``[tool.procstart]``, or
:func:`set_fast_startup` ``(True)``; an environment with many ``.pth`` files
may gain from it. :func:`plan` says what was decided and why.

**Fast exit (on by default).** A child leaves through
:func:`procstart.child.fast_exit` (atexit handlers, flushed streams and
module-level files, then ``os._exit``) rather than the interpreter's full
teardown: about 3 ms less per child. Switch it off with
``PROCSTART_SPAWN_FAST_EXIT=0``, ``spawn-fast-exit = false`` or
:func:`set_fast_exit` ``(False)`` if a program relies on ``__del__`` of
objects that are still alive when the child ends.
"""

from __future__ import annotations

import os
import sys
import threading
from typing import Any

__all__ = [
    "FAST_EXIT_ENV",
    "FAST_STARTUP_ENV",
    "KNOWN_PTH_IMPORTS",
    "StartupPlan",
    "fast_exit_enabled",
    "plan",
    "set_fast_exit",
    "set_fast_startup",
]

FAST_STARTUP_ENV = "PROCSTART_SPAWN_FAST_STARTUP"
CONFIG_KEY = "spawn-fast-startup"
FAST_EXIT_ENV = "PROCSTART_SPAWN_FAST_EXIT"
FAST_EXIT_KEY = "spawn-fast-exit"

#: ``.pth`` import lines whose effect the child reproduces by running them
KNOWN_PTH_IMPORTS: dict[str, str] = {
    "import os; var = 'SETUPTOOLS_USE_DISTUTILS'; enabled = os.environ.get(var, 'local') "
    "== 'local'; enabled and __import__('_distutils_hack').add_shim();": "setuptools",
    "import _virtualenv": "virtualenv",
}


class StartupPlan:
    """How children of this parent start: with ``site`` or without.

    ``skip_site`` says whether ``-S`` is used, ``reason`` why (or why not),
    ``site`` is what the child needs to restore (None when site runs).
    """

    __slots__ = ("reason", "site", "skip_site")

    def __init__(self, skip_site: bool, reason: str, site: dict[str, Any] | None = None) -> None:
        self.skip_site = skip_site
        self.reason = reason
        self.site = site

    def __repr__(self) -> str:
        return f"StartupPlan(skip_site={self.skip_site}, reason={self.reason!r})"


_override: bool | None = None
_cache: dict[str, StartupPlan] = {}
_lock = threading.Lock()


def set_fast_startup(enabled: bool | None) -> None:
    """Ask for site-less startup (used when equivalent) or refuse it; ``None``: the default (off).

    >>> set_fast_startup(False); plan("python").skip_site
    False
    >>> set_fast_startup(None)
    """
    global _override
    _override = enabled
    with _lock:
        _cache.clear()


_exit_override: bool | None = None


def set_fast_exit(enabled: bool | None) -> None:
    """Force fast exit of spawn children on or off; ``None`` restores the default (on).

    >>> set_fast_exit(False); fast_exit_enabled()
    False
    >>> set_fast_exit(None)
    """
    global _exit_override
    _exit_override = enabled


def fast_exit_enabled() -> bool:
    """Whether children started now leave through ``procstart.child.fast_exit``."""
    if _exit_override is not None:
        return _exit_override
    import procstart.plugin

    # PROCSTART_SPAWN_FAST_EXIT, then the file, then the declared default (on)
    return procstart.plugin.config_value(FAST_EXIT_KEY) is not False


def _switched_off() -> str | None:
    """None when site-less startup is asked for, else why not."""
    if _override is not None:
        return None if _override else "switched off by set_fast_startup(False)"
    import procstart.plugin

    # PROCSTART_SPAWN_FAST_STARTUP, then the file, then the declared default (off)
    setting = procstart.plugin.config_entry(CONFIG_KEY)
    if setting.value is True:
        return None
    if setting.source == "environment":
        return f"switched off by {setting.detail}"
    if setting.source == "pyproject":
        return f"switched off by {CONFIG_KEY} = false in {setting.detail}"
    return f"off by default (it measured no faster here); {FAST_STARTUP_ENV}=1 turns it on"


def _site_dirs() -> list[str]:
    import site

    dirs = list(site.getsitepackages())
    if site.ENABLE_USER_SITE:
        dirs.append(site.getusersitepackages())
    return dirs


def pth_imports(dirs: list[str]) -> tuple[list[str], str | None]:
    """The known ``import`` lines of ``.pth`` files in ``dirs``, or the first unknown one.

    Returns ``(lines, None)`` or ``([], "why not")``.
    """
    lines: list[str] = []
    for folder in dirs:
        try:
            names = sorted(os.listdir(folder))
        except OSError:
            continue
        for name in names:
            if not name.endswith(".pth") or name.startswith("."):
                continue
            path = os.path.join(folder, name)
            try:
                with open(path, "rb") as fh:
                    text = fh.read().decode("utf-8-sig", errors="replace")
            except OSError as exc:
                return [], f"cannot read {path}: {exc.strerror}"
            for line in text.splitlines():
                if not line.startswith(("import ", "import\t")):
                    continue
                key = line.strip()
                if key not in KNOWN_PTH_IMPORTS:
                    return [], f"{path} runs code at startup: {key[:60]!r}"
                lines.append(line)
    return lines, None


def _customize_module() -> str | None:
    from importlib.machinery import PathFinder

    for name in ("sitecustomize", "usercustomize"):
        if name in sys.modules or PathFinder.find_spec(name) is not None:
            return name
    return None


def _compute(executable: str) -> StartupPlan:
    from procstart.plugin import child

    off = _switched_off()
    inherited = child.site_state()
    if inherited is None and sys.flags.no_site:
        return StartupPlan(False, "the parent runs without site (-S): children do too")
    if off is not None:
        return StartupPlan(False, off)
    if executable != sys.executable:
        return StartupPlan(False, f"another interpreter ({executable}) is configured")
    if inherited is not None:  # spawn started this process without site: same again
        return StartupPlan(True, "this process was started without site, too", inherited)
    custom = _customize_module()
    if custom is not None:
        return StartupPlan(False, f"a {custom} module exists")
    lines, why_not = pth_imports(_site_dirs())
    if why_not is not None:
        return StartupPlan(False, why_not)
    import site

    state = {
        "prefix": sys.prefix,
        "exec_prefix": sys.exec_prefix,
        "enable_user_site": site.ENABLE_USER_SITE,
        "prefixes": list(site.PREFIXES),
        "pth_imports": lines,
    }
    return StartupPlan(True, "no .pth code or customize module needs site", state)


def plan(executable: str) -> StartupPlan:
    """The startup plan for children running ``executable`` (computed once)."""
    with _lock:
        found = _cache.get(executable)
        if found is None:
            found = _cache[executable] = _compute(executable)
        return found
