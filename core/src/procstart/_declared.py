"""Which ``[tool.procstart]`` keys exist, and which distribution declared each.

The core declares :data:`CORE_KEYS`; every installed plugin declares its own
with ``procstart_config_keys``, called per plugin through pluggy's hook
caller so that each key has one owner. A key declared twice is an error
naming both distributions. Public access is :mod:`procstart.config`.
"""

from __future__ import annotations

import threading

from . import _manager
from ._pyproject import TABLE
from ._resolution import START_METHOD_ENV
from ._types import ConfigKey, _Value
from .errors import PluginConflictError

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: a launch must not import typing
if TYPE_CHECKING:
    from typing import Any

__all__ = ["CORE", "CORE_KEYS", "ENV_VARS", "Declared", "declared_key", "declared_keys"]

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
    "PROCSTART_DISABLE_PLUGINS": "comma-separated distribution or entry-point names "
    "(`procstart-tracker,launchlog`): their entry points are not loaded; the others load "
    "as usual (cached, by need)",
}


class Declared(_Value):
    """A declared key and the distribution that declared it (``procstart`` for core keys).

    A plain value (not a ``typing.NamedTuple``, whose creation costs ~1 ms):
    the launch path reads one key through it.
    """

    __slots__ = ("distribution", "key", "version")
    _fields = ("key", "distribution", "version")
    key: ConfigKey
    distribution: str
    version: str

    def __init__(self, key: ConfigKey, distribution: str, version: str = "") -> None:
        self._set(key=key, distribution=distribution, version=version)


_lock = threading.Lock()
#: (registry, its generation, keys): declarations change only with plugins
_cache: tuple[_manager.Plugins, int, dict[str, Declared]] | None = None


def _provider(distribution: str, version: str) -> str:
    return f"{distribution}=={version}" if version else distribution


def _collect(registry: _manager.Plugins, pm: Any) -> dict[str, Declared]:
    """The declarations of the plugins registered in ``pm`` (the core's first)."""
    keys = {key.name: Declared(key, CORE) for key in CORE_KEYS}
    hook = pm.hook.procstart_config_keys
    declaring = [impl.plugin for impl in hook.get_hookimpls() if not impl.wrapper]
    everyone = pm.get_plugins()
    for plugin in declaring:
        name = pm.get_name(plugin) or repr(plugin)
        dist, version = registry._origins.get(name, (name, ""))
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
    pm = registry.pm  # every plugin loaded
    with _lock:
        cached = _cache
        if cached is None or cached[0] is not registry or cached[1] != registry.generation:
            cached = _cache = (registry, registry.generation, _collect(registry, pm))
        return cached[2]


def declared_key(name: str) -> Declared | None:
    """The declaration of key ``name``, loading only the plugin that declares it.

    As ``declared_keys().get(name)``, but while the plugin registry is partial
    (see :mod:`procstart._manager`) only the one entry point that declares
    ``name`` is loaded: a launch that reads a plugin's setting does not load
    every plugin. A key two entry points declare loads them all (the
    conflict is reported as :func:`declared_keys` reports it).
    """
    global _partial
    registry = _manager.plugins()
    light = _light_declared(registry, name)
    if light is not None:
        return light[0]
    if not registry.key_declarers_loaded(name):
        return declared_keys().get(name)
    with _lock:
        cached = _partial
        if cached is None or cached[0] is not registry or cached[1] != registry.generation:
            cached = _partial = (registry, registry.generation, _collect(registry, registry._pm))
        return cached[2].get(name)


def _light_declared(registry: _manager.Plugins, name: str) -> tuple[Declared | None] | None:
    """``name``'s declaration from the entry-point cache, without pluggy; None: ask pluggy.

    Only when the answer is plain: the core's key that no plugin declares,
    or the key of the one plugin declaring it, whose declarations are all
    ``ConfigKey`` objects of distinct names (a conflict or a wrong type is
    reported by the path through pluggy).
    """
    found = registry.light_config_key(name)
    if found is None:
        return None
    keys, dist, version = found
    core = [Declared(key, CORE) for key in CORE_KEYS if key.name == name]
    if not keys:
        return (core[0] if core else None,)
    names = [getattr(key, "name", None) for key in keys]
    if core or len(set(names)) != len(names) or not all(isinstance(k, ConfigKey) for k in keys):
        return None
    return (next((Declared(key, dist, version) for key in keys if key.name == name), None),)


#: as ``_cache``, for the plugins a partial registry has loaded
_partial: tuple[_manager.Plugins, int, dict[str, Declared]] | None = None


def _reset_for_tests() -> None:
    """Forget the cached declarations."""
    global _cache, _partial
    with _lock:
        _cache = _partial = None
