"""The plugin manager: loads ``procstart`` entry points once, lazily, safely.

A plugin that fails to import, to validate or to register is recorded as a
:class:`BrokenPlugin` (distribution, version, exception) and skipped; the
others keep working. Start methods are collected per plugin so that each
knows the distribution that provided it, and a name provided twice is a
conflict naming both. The rest of the core talks to plugins only through
:class:`Plugins` (a typed facade), never through ``pm.hook`` by string.
"""

from __future__ import annotations

import dataclasses
import os
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib import metadata
from typing import Any, cast

import pluggy

from . import _hookspecs
from ._types import (
    InheritedHandle,
    LaunchRequest,
    PopenLike,
    Resource,
    ResourceType,
    StartMethod,
)

ENTRY_POINT_GROUP = "procstart"
DISABLE_AUTOLOAD_ENV = "PROCSTART_DISABLE_PLUGIN_AUTOLOAD"

__all__ = ["BrokenPlugin", "Conflict", "Plugins", "plugins", "register_plugin"]


@dataclass(frozen=True)
class BrokenPlugin:
    """A plugin that could not be loaded, and why."""

    name: str
    distribution: str
    version: str
    error: str

    def describe(self) -> str:
        """One line: ``dist==version (entry point 'name'): error``."""
        return f"{self.distribution}=={self.version} (plugin {self.name!r}): {self.error}"


@dataclass(frozen=True)
class Conflict:
    """A start-method name provided by more than one distribution."""

    name: str
    providers: tuple[str, ...]

    def message(self) -> str:
        """The error text shown when the name is chosen or listed."""
        both = " and ".join(self.providers)
        return (
            f"start method {self.name!r} is provided by more than one "
            f"distribution: {both}; uninstall all but one"
        )


@dataclass(frozen=True)
class LaunchPlan:
    """Per-generation facts about the plugins that every launch consults."""

    wants_handles: bool
    has_tracker: bool
    child_setup: tuple[Any, ...]
    direct_launch: bool


class _CorePlugin:
    """The core's own hook implementations."""

    @_hookspecs.hookimpl(trylast=True)
    def procstart_launch(self, request: LaunchRequest) -> PopenLike:
        return request.method.launcher(request)


def _dist_of(ep: metadata.EntryPoint) -> tuple[str, str]:
    dist = getattr(ep, "dist", None)
    if dist is None:
        return ("<unknown distribution>", "?")
    return (dist.metadata["Name"] or "<unnamed>", dist.version or "?")


def _describe_error(exc: BaseException) -> str:
    text = str(exc).strip().replace("\n", " ")
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


class Plugins:
    """Typed facade over one ``pluggy.PluginManager("procstart")``."""

    def __init__(self, autoload: bool) -> None:
        self.pm = pluggy.PluginManager(_hookspecs.PROJECT_NAME)
        self.pm.add_hookspecs(_hookspecs.ProcstartSpecs)
        self.pm.register(_CorePlugin(), name="procstart-core")
        self.broken: list[BrokenPlugin] = []
        self.methods: dict[str, StartMethod] = {}
        self.conflicts: dict[str, Conflict] = {}
        #: plugin name -> (distribution, version)
        self.origins: dict[str, tuple[str, str]] = {}
        #: plugin name -> what a child imports to get the same plugin
        self.refs: dict[str, str] = {}
        self._lock = threading.RLock()
        #: bumped whenever plugins change; launch-time caches key on it
        self.generation = 0
        self._plan: tuple[int, LaunchPlan] | None = None
        if autoload:
            self._load_entry_points()

    # -- loading --------------------------------------------------------
    def _load_entry_points(self) -> None:
        seen: set[tuple[str, str]] = set()
        for ep in metadata.entry_points(group=ENTRY_POINT_GROUP):
            dist, version = _dist_of(ep)
            key = (ep.name, ep.value)
            if key in seen:  # the same distribution found twice on sys.path
                continue
            seen.add(key)
            try:
                obj = ep.load()
            except Exception as exc:  # noqa: BLE001 - any import failure is reported
                self.broken.append(BrokenPlugin(ep.name, dist, version, _describe_error(exc)))
                continue
            if self.add(obj, name=ep.name, distribution=dist, version=version):
                self.refs[ep.name] = ep.value

    def load_snapshot(self, snapshot: list[tuple[str, str, str, str]]) -> None:
        """Register the plugins a parent listed, importing each by reference."""
        import importlib

        for name, ref, dist, version in snapshot:
            module_name, _, attr = ref.partition(":")
            try:
                obj: Any = importlib.import_module(module_name.strip())
                for part in filter(None, attr.strip().split(".")):
                    obj = getattr(obj, part)
            except Exception as exc:  # noqa: BLE001 - reported like any broken plugin
                self.broken.append(BrokenPlugin(name, dist, version, _describe_error(exc)))
                continue
            if self.add(obj, name=name, distribution=dist, version=version):
                self.refs[name] = ref

    def snapshot(self) -> list[tuple[str, str, str, str]]:
        """What a child needs to load the same plugins without scanning."""
        out = []
        for name, ref in self.refs.items():
            dist, version = self.origins.get(name, ("", ""))
            out.append((name, ref, dist, version))
        return out

    def add(
        self,
        plugin: object,
        *,
        name: str | None = None,
        distribution: str = "<registered at run time>",
        version: str = "",
    ) -> bool:
        """Register ``plugin`` and collect its start methods; False if broken."""
        with self._lock:
            plugin_name = name or getattr(plugin, "__name__", None) or repr(plugin)
            if self.pm.has_plugin(plugin_name) or self.pm.is_registered(plugin):
                return True
            try:
                self.pm.register(plugin, name=plugin_name)
                self._check_unknown_hooks(plugin)
            except Exception as exc:  # noqa: BLE001 - pluggy's validation errors and others
                if self.pm.is_registered(plugin):
                    self.pm.unregister(plugin)
                self.broken.append(
                    BrokenPlugin(plugin_name, distribution, version, _describe_error(exc))
                )
                return False
            self.origins[plugin_name] = (distribution, version)
            self.generation += 1
            if type(plugin).__name__ == "module":
                self.refs.setdefault(plugin_name, getattr(plugin, "__name__", plugin_name))
            try:
                methods = self._methods_of(plugin)
            except Exception as exc:  # noqa: BLE001 - a failing registration hook
                self.pm.unregister(plugin)
                self.broken.append(
                    BrokenPlugin(plugin_name, distribution, version, _describe_error(exc))
                )
                return False
            for method in methods:
                self._add_method(
                    dataclasses.replace(method, distribution=distribution, version=version)
                )
            return True

    def _check_unknown_hooks(self, plugin: object) -> None:
        for attr in dir(plugin):
            if not attr.startswith("procstart_"):
                continue
            if self.pm.parse_hookimpl_opts(plugin, attr) is None:
                continue
            if not hasattr(_hookspecs.ProcstartSpecs, attr):
                raise pluggy.PluginValidationError(
                    plugin, f"unknown hook {attr!r}: procstart has no such hook"
                )

    def _methods_of(self, plugin: object) -> list[StartMethod]:
        hook = getattr(plugin, "procstart_start_methods", None)
        if hook is None or self.pm.parse_hookimpl_opts(plugin, "procstart_start_methods") is None:
            return []
        result = hook()
        methods = list(result or ())
        for method in methods:
            if not isinstance(method, StartMethod):
                raise TypeError(
                    "procstart_start_methods must yield procstart.StartMethod "
                    f"objects, got {type(method).__name__}"
                )
        return methods

    def _add_method(self, method: StartMethod) -> None:
        name = method.name
        if name in self.conflicts:
            old = self.conflicts[name]
            self.conflicts[name] = Conflict(name, (*old.providers, _provider(method)))
            return
        existing = self.methods.get(name)
        if existing is not None:
            del self.methods[name]
            self.conflicts[name] = Conflict(name, (_provider(existing), _provider(method)))
            return
        self.methods[name] = method

    # -- typed hook calls -----------------------------------------------
    def launch_plan(self) -> LaunchPlan:
        """What every launch needs to know about the plugins, computed once."""
        plan = self._plan
        if plan is None or plan[0] != self.generation:
            hook = self.pm.hook
            launch_impls = hook.procstart_launch.get_hookimpls()
            computed = LaunchPlan(
                wants_handles=bool(hook.procstart_inherited_handles.get_hookimpls()),
                has_tracker=self.has_tracker(),
                child_setup=tuple(self.child_setup_refs()),
                direct_launch=len(launch_impls) == 1
                and launch_impls[0].plugin_name == "procstart-core",
            )
            self._plan = plan = (self.generation, computed)
        return plan[1]

    def launch(self, request: LaunchRequest) -> PopenLike:
        """Run the launch hook chain for ``request``."""
        if self.launch_plan().direct_launch:  # nobody wraps launches: skip pluggy
            return request.method.launcher(request)
        popen = self.pm.hook.procstart_launch(request=request)
        if popen is None:
            raise RuntimeError(f"no plugin launched the {request.method.name!r} child")
        return popen  # type: ignore[no-any-return]

    def inherited_handles(self, request: LaunchRequest) -> list[InheritedHandle]:
        """Every fd plugins want the child of ``request`` to receive."""
        handles: list[InheritedHandle] = []
        for batch in self.pm.hook.procstart_inherited_handles(request=request):
            for handle in batch or ():
                if not isinstance(handle, InheritedHandle):
                    raise TypeError(
                        "procstart_inherited_handles must yield InheritedHandle, "
                        f"got {type(handle).__name__}"
                    )
                handles.append(handle)
        return handles

    def child_setup_refs(self) -> list[Any]:
        """What a child imports or unpickles to run each plugin's child setup.

        A module-level function is referenced as ``"module:qualname"``, so the
        child imports only the module that defines it (a plugin can keep its
        child side light); other implementations (methods of a plugin object)
        travel as the plugin object itself.
        """
        refs: list[Any] = []
        for impl in self.pm.hook.procstart_child_setup.get_hookimpls():
            func = impl.function
            module_name = getattr(func, "__module__", None)
            qualname = getattr(func, "__qualname__", "")
            if (
                type(func).__name__ == "function"
                and isinstance(module_name, str)
                and "<" not in qualname
            ):
                refs.append(f"{module_name}:{qualname}")
            else:
                refs.append(impl.plugin)
        return refs

    def has_tracker(self) -> bool:
        """True when a plugin implements resource registration."""
        return bool(self.pm.hook.procstart_register_resource.get_hookimpls())

    def register_resource(self, resource: Resource) -> bool:
        """Hand ``resource`` to the installed tracker; False if there is none."""
        return bool(self.pm.hook.procstart_register_resource(resource=resource))

    def unregister_resource(self, resource: Resource) -> bool:
        """Tell the installed tracker ``resource`` was released."""
        return bool(self.pm.hook.procstart_unregister_resource(resource=resource))

    def resource_types(self) -> list[ResourceType]:
        """Resource kinds added by plugins."""
        return [rt for batch in self.pm.hook.procstart_resource_types() for rt in batch or ()]

    def status(self) -> dict[str, Mapping[str, object]]:
        """Live state per plugin, for the CLI."""
        out: dict[str, Mapping[str, object]] = {}
        for impl in self.pm.hook.procstart_status.get_hookimpls():
            state: Mapping[str, object] | None
            try:
                state = cast("Mapping[str, object] | None", impl.function())
            except Exception as exc:  # noqa: BLE001 - a status must never break the CLI
                state = {"error": _describe_error(exc)}
            if state:
                out[impl.plugin_name] = state
        return out


def _provider(method: StartMethod) -> str:
    return f"{method.distribution}=={method.version}" if method.version else method.distribution


_plugins: Plugins | None = None
_plugins_lock = threading.Lock()
_pending: list[tuple[object, str | None]] = []


def _autoload_enabled() -> bool:
    return os.environ.get(DISABLE_AUTOLOAD_ENV, "").strip().lower() not in {
        "1",
        "true",
        "yes",
        "on",
    }


def plugins() -> Plugins:
    """The process-wide plugin registry, loading entry points on first use."""
    global _plugins
    if _plugins is None:
        with _plugins_lock:
            if _plugins is None:
                from ._settings import settings

                snapshot = settings.plugin_snapshot
                loaded = Plugins(autoload=snapshot is None and _autoload_enabled())
                if snapshot is not None:
                    loaded.load_snapshot(snapshot)
                for plugin, name in _pending:
                    loaded.add(plugin, name=name)
                _plugins = loaded
    return _plugins


def register_plugin(plugin: object, *, name: str | None = None) -> None:
    """Register a plugin object at run time (scripts, tests, notebooks).

    >>> import procstart
    >>> class Timing:
    ...     @procstart.hookimpl(wrapper=True)
    ...     def procstart_launch(self, request):
    ...         return (yield)
    >>> procstart.register_plugin(Timing())
    """
    registry = plugins()
    before = len(registry.broken)
    if not registry.add(plugin, name=name):
        broken = registry.broken[before:]
        reason = broken[-1].error if broken else "unknown error"
        raise ValueError(f"cannot register plugin {name or plugin!r}: {reason}")


def unregister_plugin(plugin: object) -> None:
    """Remove a plugin registered with :func:`register_plugin` and its methods."""
    registry = plugins()
    with registry._lock:
        plugin_name = registry.pm.get_name(plugin)
        if plugin_name is None:
            return
        registry.pm.unregister(plugin)
        registry.generation += 1
        origin = registry.origins.pop(plugin_name, None)
        for method in registry._methods_of(plugin):
            current = registry.methods.get(method.name)
            if current is not None and origin is not None and current.distribution == origin[0]:
                del registry.methods[method.name]


def _reset_for_tests() -> None:
    """Forget every loaded plugin (the next call loads them again)."""
    global _plugins
    with _plugins_lock:
        _plugins = None


def iter_methods(registry: Plugins) -> Iterable[StartMethod]:
    """Installed start methods, sorted by name."""
    return [registry.methods[name] for name in sorted(registry.methods)]
