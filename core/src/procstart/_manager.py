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
from typing import Any, cast

import pluggy

from . import _hookspecs
from ._request import LaunchRequest
from ._types import (
    InheritedHandle,
    PopenLike,
    Resource,
    StartMethod,
)
from ._types import _no_info as _types_no_info

ENTRY_POINT_GROUP = "procstart"
#: a plugin's own hook specifications: a class or module of ``procstart.hookspec``
#: functions, added with ``pm.add_hookspecs`` before any plugin registers
HOOKSPECS_ATTRIBUTE = "procstart_hookspecs"
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
    #: the ``procstart_inherited_handles`` functions in pluggy's call order with
    #: their argument names; None when a wrapper needs pluggy's hook call
    handle_calls: tuple[tuple[Any, tuple[str, ...]], ...] | None = None
    #: when every launch wrapper is marked ``launch_wrapper_for``: the methods
    #: whose launches go through pluggy (others call the launcher directly)
    wrapped_methods: frozenset[str] | None = None


def _wrapped_methods(impls: list[Any]) -> frozenset[str] | None:
    """The methods some launch wrapper acts on, if all are ``launch_wrapper_for`` (else None)."""
    from ._launch import LAUNCH_WRAPPER_FOR

    methods: set[str] = set()
    for impl in impls:
        if impl.plugin_name == "procstart-core":
            continue
        only = getattr(impl.function, LAUNCH_WRAPPER_FOR, None)
        if only is None or not (impl.wrapper or impl.hookwrapper):
            return None
        methods.update(only)
    return frozenset(methods)


class _CorePlugin:
    """The core's own hook implementations."""

    @_hookspecs.hookimpl(trylast=True)
    def procstart_launch(self, request: LaunchRequest) -> PopenLike:
        return request.method.launcher(request)


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
        #: what plugins gave ``pm.add_hookspecs`` (each once)
        self._spec_sources: list[object] = []
        #: bumped whenever plugins change; launch-time caches key on it
        self.generation = 0
        self._plan: tuple[int, LaunchPlan] | None = None
        if autoload:
            self._load_entry_points()

    # -- loading --------------------------------------------------------
    def _load_entry_points(self) -> None:
        seen: set[tuple[str, str]] = set()
        loaded: list[tuple[Any, str, str, str, str]] = []
        from ._epcache import entry_points

        for ep in entry_points():  # importlib.metadata's scan, cached per sys.path
            dist, version = ep.dist, ep.version
            key = (ep.name, ep.value)
            if key in seen:  # the same distribution found twice on sys.path
                continue
            seen.add(key)
            try:
                obj = ep.load()
            except Exception as exc:  # noqa: BLE001 - any import failure is reported
                self.broken.append(BrokenPlugin(ep.name, dist, version, _describe_error(exc)))
                continue
            loaded.append((obj, ep.name, ep.value, dist, version))
        self._register_all(loaded)

    def _register_all(self, loaded: list[tuple[Any, str, str, str, str]]) -> None:
        """Add every plugin's own hook specifications first, then register them all.

        So a plugin may implement a hook another plugin declares, whatever
        order the two load in.
        """
        registrable = []
        for obj, name, ref, dist, version in loaded:
            try:
                self._add_hookspecs(obj)
            except Exception as exc:  # noqa: BLE001 - pluggy's errors and others
                self.broken.append(BrokenPlugin(name, dist, version, _describe_error(exc)))
                continue
            registrable.append((obj, name, ref, dist, version))
        for obj, name, ref, dist, version in registrable:
            if self.add(obj, name=name, distribution=dist, version=version):
                self.refs[name] = ref

    def _add_hookspecs(self, plugin: object) -> None:
        """Declare the hooks ``plugin`` lists in ``procstart_hookspecs`` (once)."""
        specs = getattr(plugin, HOOKSPECS_ATTRIBUTE, None)
        if specs is None or specs in self._spec_sources:
            return
        self.pm.add_hookspecs(specs)
        self._spec_sources.append(specs)

    def load_snapshot(self, snapshot: list[tuple[str, str, str, str]]) -> None:
        """Register the plugins a parent listed, importing each by reference."""
        import importlib

        loaded: list[tuple[Any, str, str, str, str]] = []
        for name, ref, dist, version in snapshot:
            module_name, _, attr = ref.partition(":")
            try:
                obj: Any = importlib.import_module(module_name.strip())
                for part in filter(None, attr.strip().split(".")):
                    obj = getattr(obj, part)
            except Exception as exc:  # noqa: BLE001 - reported like any broken plugin
                self.broken.append(BrokenPlugin(name, dist, version, _describe_error(exc)))
                continue
            loaded.append((obj, name, ref, dist, version))
        self._register_all(loaded)

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
                self._add_hookspecs(plugin)
                self.pm.register(plugin, name=plugin_name)
                self._check_unknown_hooks(plugin)
                self._check_child_setup(plugin, plugin_name)
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
                    dataclasses.replace(
                        method, distribution=distribution, version=version, plugin=plugin_name
                    )
                )
            return True

    def _check_unknown_hooks(self, plugin: object) -> None:
        """Every attribute marked ``procstart.hookimpl`` must name a procstart hook.

        pluggy keeps an implementation of an unknown name as a hook nobody
        calls; here it is an error, so that a hook registered under another
        name (``setup = procstart.hookimpl(f)``) is reported, not ignored.
        """
        marked = {}
        for attr in dir(plugin):
            opts = self.pm.parse_hookimpl_opts(plugin, attr)
            # optionalhook=True (pluggy's flag): a hook another plugin declares,
            # which may not be installed here (a tracker's procstart_resource_types)
            if opts is not None and not opts.get("optionalhook"):
                marked[attr] = opts.get("specname") or attr
        # the marker sits on the function: imported under its own name as well
        # (``from impl import f; procstart_child_setup = hookimpl(f)``) it is
        # the same hook, not another one
        known = {
            id(getattr(plugin, attr))
            for attr, hook_name in marked.items()
            if self._is_declared(hook_name)
        }
        for attr, hook_name in marked.items():
            if id(getattr(plugin, attr)) in known:
                continue
            if not self._is_declared(hook_name):
                where = (
                    f"attribute {attr!r}" if attr == hook_name else f"{attr!r} (as {hook_name!r})"
                )
                raise pluggy.PluginValidationError(
                    plugin,
                    f"unknown hook {hook_name!r}: {where} is marked procstart.hookimpl, "
                    f"but procstart has no such hook (hooks: {', '.join(self._hook_names())})",
                )

    def _is_declared(self, hook_name: str) -> bool:
        """True for procstart's hooks and those plugins declared (``procstart_hookspecs``)."""
        caller = getattr(self.pm.hook, hook_name, None)
        return caller is not None and caller.spec is not None

    def _hook_names(self) -> list[str]:
        return sorted(
            name
            for name, caller in vars(self.pm.hook).items()
            if name.startswith("procstart_") and getattr(caller, "spec", None) is not None
        )

    def _check_child_setup(self, plugin: object, plugin_name: str) -> None:
        """A ``procstart_child_setup`` must be reachable from a child, and no wrapper.

        Children run these without pluggy (importing it would slow every
        child), in pluggy's order: ``tryfirst`` first, ``trylast`` last,
        otherwise the last registered first. A wrapper has nothing to wrap
        there, so it is refused here, naming the plugin.
        """
        for impl in self.pm.hook.procstart_child_setup.get_hookimpls():
            if impl.plugin is not plugin:
                continue
            if impl.hookwrapper or impl.wrapper:
                raise pluggy.PluginValidationError(
                    plugin,
                    f"plugin {plugin_name!r}: procstart_child_setup cannot be a hook "
                    "wrapper (wrapper=True / hookwrapper=True): it runs in the child, "
                    "outside pluggy; use tryfirst=True or trylast=True to order it",
                )
            _child_setup_ref(impl.function, plugin, plugin_name)

    def _methods_of(self, plugin: object) -> list[StartMethod]:
        """The start methods ``plugin`` yields, through pluggy's hook caller.

        Called for one plugin at a time (a subset hook caller) so that each
        method is credited to its distribution and a failure to its plugin.
        """
        if self.pm.parse_hookimpl_opts(plugin, "procstart_start_methods") is None:
            return []
        others = [other for other in self.pm.get_plugins() if other is not plugin]
        caller = self.pm.subset_hook_caller("procstart_start_methods", others)
        methods = [method for batch in caller() for method in batch or ()]
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
            handle_impls = hook.procstart_inherited_handles.get_hookimpls()
            computed = LaunchPlan(
                wants_handles=bool(hook.procstart_inherited_handles.get_hookimpls()),
                has_tracker=self.has_tracker(),
                child_setup=tuple(self.child_setup_refs()),
                direct_launch=len(launch_impls) == 1
                and launch_impls[0].plugin_name == "procstart-core",
                handle_calls=None
                if any(impl.hookwrapper or impl.wrapper for impl in handle_impls)
                else tuple(
                    (impl.function, tuple(impl.argnames)) for impl in reversed(handle_impls)
                ),
                wrapped_methods=_wrapped_methods(launch_impls),
            )
            self._plan = plan = (self.generation, computed)
        return plan[1]

    def launch(self, request: LaunchRequest) -> PopenLike:
        """Run the launch hook chain for ``request``."""
        plan = self.launch_plan()
        wrapped = plan.wrapped_methods
        if plan.direct_launch or (wrapped is not None and request.method.name not in wrapped):
            return request.method.launcher(request)  # nobody wraps this launch: skip pluggy
        popen = self.pm.hook.procstart_launch(request=request)
        if popen is None:
            raise RuntimeError(f"no plugin launched the {request.method.name!r} child")
        return popen  # type: ignore[no-any-return]

    def inherited_handles(self, request: LaunchRequest) -> list[InheritedHandle]:
        """Every fd plugins want the child of ``request`` to receive."""
        handles: list[InheritedHandle] = []
        calls = self.launch_plan().handle_calls
        if calls is None:
            batches = self.pm.hook.procstart_inherited_handles(request=request)
        else:  # no wrapper: call each as pluggy would, without its hook machinery
            batches = []
            for function, argnames in calls:
                # the spec's one argument, or none (no per-launch list to build)
                batch = function(request) if argnames else function()
                if batch is not None:
                    batches.append(batch)
        for batch in batches:
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
        # pluggy calls get_hookimpls() from the end: tryfirst first, trylast last
        impls = reversed(self.pm.hook.procstart_child_setup.get_hookimpls())
        return [_child_setup_ref(impl.function, impl.plugin, impl.plugin_name) for impl in impls]

    def has_tracker(self) -> bool:
        """True when a plugin implements resource registration."""
        return bool(self.pm.hook.procstart_register_resource.get_hookimpls())

    def register_resource(self, resource: Resource) -> bool:
        """Hand ``resource`` to the installed tracker; False if there is none."""
        return bool(self.pm.hook.procstart_register_resource(resource=resource))

    def unregister_resource(self, resource: Resource) -> bool:
        """Tell the installed tracker ``resource`` was released."""
        return bool(self.pm.hook.procstart_unregister_resource(resource=resource))

    def _call_for(self, plugin_name: str, hook_name: str) -> list[Any]:
        """Call ``hook_name`` of one plugin through pluggy (a subset hook caller)."""
        plugin = self.pm.get_plugin(plugin_name)
        others = [other for other in self.pm.get_plugins() if other is not plugin]
        return cast("list[Any]", self.pm.subset_hook_caller(hook_name, others)())

    def _implementers(self, hook_name: str) -> list[str]:
        """Plugins implementing ``hook_name``, in registration order."""
        names = {impl.plugin_name for impl in getattr(self.pm.hook, hook_name).get_hookimpls()}
        return [name for name, _plugin in self.pm.list_name_plugin() if name in names]

    def status(self) -> dict[str, Mapping[str, object]]:
        """Live state per plugin (``procstart_status``, through pluggy), for the CLI.

        A plugin without the hook whose start methods still pass the older
        ``StartMethod.info`` gets that as its status.
        """
        out: dict[str, Mapping[str, object]] = {}
        with_hook = self._implementers("procstart_status")
        for plugin_name in with_hook:
            state: dict[str, object] = {}
            try:
                for answer in self._call_for(plugin_name, "procstart_status"):
                    state.update(answer or {})
            except Exception as exc:  # noqa: BLE001 - a status must never break the CLI
                state = {"error": _describe_error(exc)}
            if state:
                out[plugin_name] = state
        for method in self.methods.values():
            if method.plugin in with_hook or method.info is _types_no_info:
                continue
            try:
                legacy = dict(method.info())
            except Exception as exc:  # noqa: BLE001 - as above
                legacy = {"error": _describe_error(exc)}
            if legacy:
                out.setdefault(method.plugin, legacy)
        return out

    def method_status(self, method: StartMethod) -> Mapping[str, object]:
        """The live state of the plugin that provides ``method`` (empty if none)."""
        return self.status().get(method.plugin, {})


def _child_setup_ref(func: Any, plugin: object, plugin_name: str) -> Any:
    """How a child finds ``func`` again: ``"module:qualname"``, a module name, or ``plugin``.

    A function is referenced where it is defined, so the child imports only
    that module; it must be found there under its own name. Otherwise a
    module plugin is referenced by its name (the child calls its
    ``procstart_child_setup``), and a plugin object travels pickled.
    """
    import sys

    module_name = getattr(func, "__module__", None)
    qualname = getattr(func, "__qualname__", "")
    if type(func).__name__ == "function" and isinstance(module_name, str) and "<" not in qualname:
        found: Any = sys.modules.get(module_name)
        for part in qualname.split("."):
            found = getattr(found, part, None)
        if found is func:
            return f"{module_name}:{qualname}"
    if type(plugin).__name__ == "module":
        name = getattr(plugin, "__name__", "")
        if getattr(sys.modules.get(name), "procstart_child_setup", None) is func:
            return name
        raise pluggy.PluginValidationError(
            plugin,
            f"plugin {plugin_name!r}: its procstart_child_setup ({qualname or repr(func)}) "
            f"cannot be found again in a child: define it at module level under its "
            f"own name (it is looked up as {module_name}:{qualname})",
        )
    import pickle

    try:
        pickle.dumps(plugin)
    except Exception as exc:  # noqa: BLE001 - any pickling failure
        raise pluggy.PluginValidationError(
            plugin,
            f"plugin {plugin_name!r}: a child runs its procstart_child_setup on a copy "
            f"of the plugin object, which cannot be pickled: {_describe_error(exc)}",
        ) from None
    return plugin


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
        registry.origins.pop(plugin_name, None)
        for name, method in list(registry.methods.items()):
            if method.plugin == plugin_name:
                del registry.methods[name]


def _reset_for_tests() -> None:
    """Forget every loaded plugin (the next call loads them again)."""
    global _plugins
    with _plugins_lock:
        _plugins = None


def iter_methods(registry: Plugins) -> Iterable[StartMethod]:
    """Installed start methods, sorted by name."""
    return [registry.methods[name] for name in sorted(registry.methods)]
