"""Which procstart plugins take part in each row.

By default a row of method M runs with the project's own distributions (the
methods and the tracker) plus the distribution that provides M; any other
plugin is unregistered while it runs, since a plugin that wraps every launch
(a logger, a limits plugin) would bill its own cost to procstart's methods.
``procstart bench --all-plugins`` keeps every plugin for every row;
``--without procstart-tracker`` leaves a distribution out of every row
(except as the provider of the row's own method), to see what it costs.
Children get the same set: they load their parent's snapshot of plugins.
"""

from __future__ import annotations

from typing import Any

OWN_DISTRIBUTIONS = frozenset(
    {"procstart", "procstart-fork", "procstart-spawn", "procstart-forkserver", "procstart-tracker"}
)

_state = {"all": False}
#: distributions left out of every row (``--without``), even the project's own
_without: set[str] = set()
#: method name -> the distribution that provides it (taken before any change)
_providers: dict[str, str] = {}
#: plugin name -> (plugin, distribution, version, import reference)
_parked: dict[str, tuple[Any, str, str, str | None]] = {}


def configure(all_plugins: bool, without: list[str] | None = None) -> None:
    """Keep every plugin (True) or only those a row needs (False), less ``without``."""
    _state["all"] = all_plugins
    _without.clear()
    _without.update(without or ())


def left_out() -> list[str]:
    """The distributions ``--without`` names."""
    return sorted(_without)


def keep_all() -> bool:
    """What :func:`configure` was told."""
    return _state["all"]


def others() -> list[str]:
    """``dist==version`` of every plugin outside the project's own distributions."""
    from .. import _manager

    registry = _manager.plugins()
    found = {f"{dist}=={version}" for dist, version in registry.origins.values()}
    found |= {f"{dist}=={version}" for _, dist, version, _ in _parked.values()}
    return sorted(item for item in found if item.split("==")[0] not in OWN_DISTRIBUTIONS)


def focus(method: str) -> None:
    """Register exactly the plugins the rows of ``method`` run with."""
    if _state["all"] and not _without:
        return
    from .. import _manager

    registry = _manager.plugins()
    if not _providers:
        _providers.update({m.name: m.distribution for m in registry.methods.values()})
    provider = _providers.get(method, "")
    if _state["all"]:
        keep = {dist for dist, _ in registry.origins.values()}
        keep |= {dist for _, dist, _, _ in _parked.values()}
    else:
        keep = set(OWN_DISTRIBUTIONS)
    keep = (keep - _without) | {provider}
    with registry._lock:
        for name, (distribution, version) in list(registry.origins.items()):
            plugin = registry.pm.get_plugin(name)
            if distribution in keep or plugin is None:
                continue
            _parked[name] = (plugin, distribution, version, registry.refs.pop(name, None))
            _manager.unregister_plugin(plugin)
        for name, (plugin, distribution, version, ref) in list(_parked.items()):
            if distribution in keep:
                del _parked[name]
                registry.add(plugin, name=name, distribution=distribution, version=version)
                if ref is not None:
                    registry.refs[name] = ref
