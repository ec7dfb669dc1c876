"""The plugin manager: loads ``procstart`` entry points once, lazily, safely.

A plugin that fails to import, to validate or to register is recorded as a
:class:`BrokenPlugin` (distribution, version, exception) and skipped; the
others keep working. Start methods are collected per plugin so that each
knows the distribution that provided it, and a name provided twice is a
conflict naming both. The rest of the core talks to plugins only through
:class:`Plugins` (a typed facade), never through ``pm.hook`` by string.

Loading is by need. When the entry-point cache knows what each entry point
implements and provides (:func:`procstart._epcache.facts`), a registry
starts *partial*: it loads only the plugins implementing a per-launch hook
(:data:`PER_LAUNCH_HOOKS`) or declaring hooks of their own, and the
providers of a start method when that method is asked for by name
(:meth:`Plugins.find_method`). Anything that needs every plugin (``pm``,
``methods``, ``broken``, ``conflicts``, ``status()``, the declared config
keys, the default method) loads the rest first: the registry is then built
again in entry-point order, exactly as a full load builds it, so hook order,
conflicts and broken plugins are what they would have been. The facts are
learnt by a full load and stored in the cache by it.
"""

from __future__ import annotations

import os
import threading

from . import _hookspecs
from ._types import (
    InheritedHandle,
    StartMethod,
    _Value,
)
from ._types import _no_info as _types_no_info

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: launching a child must not import typing
if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping
    from typing import Any

    import pluggy

    from ._request import LaunchRequest
    from ._types import PopenLike, Resource

ENTRY_POINT_GROUP = "procstart"
#: a plugin's own hook specifications: a class or module of ``procstart.hookspec``
#: functions, added with ``pm.add_hookspecs`` before any plugin registers
HOOKSPECS_ATTRIBUTE = "procstart_hookspecs"
DISABLE_AUTOLOAD_ENV = "PROCSTART_DISABLE_PLUGIN_AUTOLOAD"
#: comma-separated distribution or entry-point names whose entry points are not loaded
DISABLE_PLUGINS_ENV = "PROCSTART_DISABLE_PLUGINS"
#: hooks every launch consults: their implementers load with the registry
PER_LAUNCH_HOOKS = frozenset(
    {
        "procstart_launch",
        "procstart_inherited_handles",
        "procstart_child_setup",
        "procstart_register_resource",
        "procstart_unregister_resource",
    }
)
#: a cached launch plan that cannot be followed without pluggy (plugin objects, wrappers)
_NO_PLAN = "-"
#: registration hooks a warm cache calls without pluggy (see _Light)
_LIGHT_HOOKS = ("procstart_start_methods", "procstart_config_keys")
#: recorded among a plugin's hooks when it declares hooks of its own (it loads first)
_DECLARES_HOOKS = "procstart_hookspecs"

__all__ = ["BrokenPlugin", "Conflict", "Plugins", "plugins", "register_plugin"]


class BrokenPlugin(_Value):
    """A plugin that could not be loaded, and why."""

    __slots__ = (
        "distribution",
        "error",
        "name",
        "version",
    )
    _fields = (
        "name",
        "distribution",
        "version",
        "error",
    )
    name: str
    distribution: str
    version: str
    error: str

    def __init__(self, name: str, distribution: str, version: str, error: str) -> None:
        self._set(name=name, distribution=distribution, version=version, error=error)

    def describe(self) -> str:
        """One line: ``dist==version (entry point 'name'): error``."""
        return f"{self.distribution}=={self.version} (plugin {self.name!r}): {self.error}"


class Conflict(_Value):
    """A start-method name provided by more than one distribution."""

    __slots__ = (
        "name",
        "providers",
    )
    _fields = (
        "name",
        "providers",
    )
    name: str
    providers: tuple[str, ...]

    def __init__(self, name: str, providers: tuple[str, ...]) -> None:
        self._set(name=name, providers=providers)

    def message(self) -> str:
        """The error text shown when the name is chosen or listed."""
        both = " and ".join(self.providers)
        return (
            f"start method {self.name!r} is provided by more than one "
            f"distribution: {both}; uninstall all but one"
        )


class LaunchPlan(_Value):
    """Per-generation facts about the plugins that every launch consults.

    ``handle_calls``: the ``procstart_inherited_handles`` functions in
    pluggy's call order with their argument names; None when a wrapper needs
    pluggy's hook call.
    """

    __slots__ = (
        "child_setup",
        "direct_launch",
        "handle_calls",
        "has_tracker",
        "wants_handles",
        "wrapped_methods",
    )
    _fields = (
        "wants_handles",
        "has_tracker",
        "child_setup",
        "direct_launch",
        "handle_calls",
        "wrapped_methods",
    )
    wants_handles: bool
    has_tracker: bool
    child_setup: tuple[Any, ...]
    direct_launch: bool
    handle_calls: tuple[tuple[Any, tuple[str, ...]], ...] | None
    #: when every launch wrapper is marked ``launch_wrapper_for``: the methods
    #: whose launches go through pluggy (others call the launcher directly)
    wrapped_methods: frozenset[str] | None

    def __init__(
        self,
        wants_handles: bool,
        has_tracker: bool,
        child_setup: tuple[Any, ...],
        direct_launch: bool,
        *,
        handle_calls: tuple[tuple[Any, tuple[str, ...]], ...] | None = None,
        wrapped_methods: frozenset[str] | None = None,
    ) -> None:
        self._set(
            wants_handles=wants_handles,
            has_tracker=has_tracker,
            child_setup=child_setup,
            direct_launch=direct_launch,
            handle_calls=handle_calls,
            wrapped_methods=wrapped_methods,
        )

    def launches_directly(self, method_name: str) -> bool:
        """True when no launch wrapper acts on ``method_name``'s launches: skip pluggy.

        >>> plan = LaunchPlan(False, False, (), False, wrapped_methods=frozenset({"fork"}))
        >>> plan.launches_directly("spawn"), plan.launches_directly("fork")
        (True, False)
        """
        wrapped = self.wrapped_methods
        return self.direct_launch or (wrapped is not None and method_name not in wrapped)


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


def _validation_error(plugin: object, message: str) -> Exception:
    """``pluggy.PluginValidationError`` (pluggy is loaded whenever plugins are validated)."""
    from pluggy import PluginValidationError

    return PluginValidationError(plugin, message)


def _describe_error(exc: BaseException) -> str:
    text = str(exc).strip().replace("\n", " ")
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


#: what :meth:`Plugins.load_all` swaps in from the registry it built
_STATE = (
    "_pm_obj",
    "_light",
    "_broken",
    "_methods",
    "_conflicts",
    "_origins",
    "_refs",
    "_provided",
    "_spec_sources",
    "_plan",
    "_loaded",
)


class Plugins:
    """Typed facade over one ``pluggy.PluginManager("procstart")``."""

    def __init__(self, autoload: bool) -> None:
        self._lock = threading.RLock()
        #: bumped whenever plugins change; launch-time caches key on it
        self.generation = 0
        #: the entry points (deduplicated, in importlib.metadata's order)
        self._eps: list[Any] = []
        #: what the cache knows of each entry point; None: load them all
        self._facts: dict[tuple[str, str], Any] | None = None
        #: keys of the entry points loaded so far
        self._loaded: set[tuple[str, str]] = set()
        #: True while some entry points are not loaded (see the module docstring)
        self._partial = False
        #: plugins registered at run time, in order (kept when the registry is rebuilt)
        self._runtime: list[tuple[object, str | None]] = []
        self._fresh()
        if autoload:
            self._load_entry_points()

    def _fresh(self) -> None:
        """Empty state: the core's hooks and plugin only (pluggy's manager made on use)."""
        self._pm_obj: pluggy.PluginManager | None = None
        #: the cache's launch plan and providers while pluggy is not needed
        self._light: _Light | None = None
        self._broken: list[BrokenPlugin] = []
        self._methods: dict[str, StartMethod] = {}
        self._conflicts: dict[str, Conflict] = {}
        #: plugin name -> (distribution, version)
        self._origins: dict[str, tuple[str, str]] = {}
        #: plugin name -> what a child imports to get the same plugin
        self._refs: dict[str, str] = {}
        #: plugin name -> the start-method names it yielded (conflicting ones too)
        self._provided: dict[str, tuple[str, ...]] = {}
        #: what plugins gave ``pm.add_hookspecs`` (each once)
        self._spec_sources: list[object] = []
        self._plan: tuple[int, LaunchPlan] | None = None

    # -- pluggy's manager is made when something needs it -----------------
    @property
    def _pm(self) -> pluggy.PluginManager:
        """pluggy's manager, made (and the light state given up) on first use."""
        pm = self._pm_obj
        if pm is None:
            with self._lock:
                pm = self._pm_obj
                if pm is None:
                    pm = self._make_pm()
        return pm

    def _make_pm(self) -> pluggy.PluginManager:
        """Create pluggy's manager; a light registry registers its eager plugins now."""
        from ._pluggy import ProcstartPluginManager

        pm = ProcstartPluginManager()
        pm.add_hookspecs(_hookspecs.ProcstartSpecs)
        pm.register(_CorePlugin(), name="procstart-core")
        self._pm_obj = pm
        light, self._light = self._light, None
        if light is not None:
            self.generation += 1  # plans and methods found without pluggy are made again
            self._load_eps(light.eager)
        return pm

    def _start_light(self, eager: list[Any]) -> bool:
        """Use the cached launch plan and providers instead of pluggy; False if unknown.

        The eager plugins are imported (their import-time effects happen as
        with pluggy) but registered only when pluggy's manager is made.
        """
        from . import _epcache

        text = _epcache.plan(_signature(self._eps))
        if text is None or text == _NO_PLAN or self._facts is None:
            return False
        try:
            for ep in eager:
                ep.load()
        except Exception:  # noqa: BLE001 - pluggy's path reports it
            return False
        self._light = _Light(self._eps, eager, text, self._facts)
        return True

    # -- what needs every plugin loads them first ------------------------
    @property
    def pm(self) -> pluggy.PluginManager:
        """The plugin manager, every plugin loaded."""
        self.load_all()
        return self._pm

    @property
    def methods(self) -> dict[str, StartMethod]:
        """Every installed start method by name (conflicting names left out)."""
        self.load_all()
        return self._methods

    @property
    def broken(self) -> list[BrokenPlugin]:
        """Every plugin that could not be loaded, and why."""
        self.load_all()
        return self._broken

    @property
    def conflicts(self) -> dict[str, Conflict]:
        """Start-method names provided by more than one distribution."""
        self.load_all()
        return self._conflicts

    @property
    def origins(self) -> dict[str, tuple[str, str]]:
        """Plugin name -> (distribution, version)."""
        self.load_all()
        return self._origins

    @property
    def refs(self) -> dict[str, str]:
        """Plugin name -> what a child imports to get the same plugin."""
        self.load_all()
        return self._refs

    def find_method(self, name: str) -> StartMethod | None:
        """The installed method ``name`` (canonical), loading only its providers.

        None when it is not installed, conflicts or its provider is broken:
        the caller then looks at :attr:`methods`, :attr:`conflicts` and
        :attr:`broken`, which load every plugin.
        """
        with self._lock:
            light = self._light
            if light is not None:
                found = light.find_method(name, self._eps)
                if found is not None:
                    return found
                self._pm  # noqa: B018 - unknown to the cache: ask pluggy
            if self._partial and self._facts is not None:
                wanted = [
                    ep
                    for ep in self._eps
                    if (ep.name, ep.value) not in self._loaded
                    and name in self._facts[(ep.name, ep.value)].methods
                ]
                if wanted:
                    self._load_eps(wanted)
            if name in self._conflicts:
                return None
            return self._methods.get(name)

    def load_all(self) -> None:
        """Load every entry point, building the registry as a full load builds it."""
        if not self._partial:
            return
        with self._lock:
            if not self._partial:
                return
            # built aside, then swapped in: a launch in another thread sees the
            # old registry or the new one, never one half built
            full = Plugins(autoload=False)
            full._eps = self._eps
            full._load_eps(self._eps)
            for plugin, name in self._runtime:
                full.add(plugin, name=name)
            for attribute in _STATE:
                setattr(self, attribute, getattr(full, attribute))
            self.generation = max(self.generation, full.generation) + 1
            self._partial = False

    # -- loading --------------------------------------------------------
    def _load_entry_points(self) -> None:
        from . import _epcache

        seen: set[tuple[str, str]] = set()
        left_out = _disabled_plugins()
        for ep in _epcache.entry_points():  # importlib.metadata's scan, cached per sys.path
            key = (ep.name, ep.value)
            if key in seen or ep.name in left_out or ep.dist in left_out:
                continue  # the same distribution found twice on sys.path, or left out
            seen.add(key)
            self._eps.append(ep)
        known = _epcache.facts()
        if known is not None and _epcache.plan(_signature(self._eps)) is None:
            known = None  # this set of plugins was never loaded whole: learn its launch plan
        if known is not None and all((ep.name, ep.value) in known for ep in self._eps):
            self._facts = known
            self._partial = True
            eager = [
                ep
                for ep in self._eps
                if PER_LAUNCH_HOOKS.intersection(known[(ep.name, ep.value)].hooks)
                or _DECLARES_HOOKS in known[(ep.name, ep.value)].hooks
            ]
            if not self._start_light(eager):
                self._load_eps(eager)
            return
        self._load_eps(self._eps)
        self._record_facts()

    def _load_eps(self, eps: list[Any]) -> None:
        self._pm  # noqa: B018 - a light registry registers its eager plugins first
        loaded: list[tuple[Any, str, str, str, str]] = []
        for ep in eps:
            dist, version = ep.dist, ep.version
            self._loaded.add((ep.name, ep.value))
            try:
                obj = ep.load()
            except Exception as exc:  # noqa: BLE001 - any import failure is reported
                self._broken.append(BrokenPlugin(ep.name, dist, version, _describe_error(exc)))
                continue
            loaded.append((obj, ep.name, ep.value, dist, version))
        self._register_all(loaded)

    def _record_facts(self) -> None:
        """After a full load: tell the cache what each entry point implements and provides."""
        import sys

        from . import _epcache

        if self._broken or len(self._refs) < len(self._eps):
            return  # a broken plugin is retried (and reported) by every full load
        hooks: dict[str, list[str]] = {}
        for hook_name, caller in vars(self._pm.hook).items():
            if hook_name.startswith("procstart_") and hasattr(caller, "get_hookimpls"):
                for impl in caller.get_hookimpls():
                    hooks.setdefault(impl.plugin_name, []).append(hook_name)
        known = {}
        modules: list[str] = []
        for ep in self._eps:
            plugin = self._pm.get_plugin(ep.name)
            names = hooks.get(ep.name, [])
            if getattr(plugin, HOOKSPECS_ATTRIBUTE, None) is not None:
                names.append(_DECLARES_HOOKS)
            try:
                keys = self._config_key_names(plugin) if "procstart_config_keys" in names else ()
            except Exception:  # noqa: BLE001 - reported when the keys are needed
                return
            known[(ep.name, ep.value)] = _epcache.Facts(
                tuple(sorted(names)),
                self._provided.get(ep.name, ()),
                keys,
                self._light_refs(plugin),
            )
            top = ep.module.split(".")[0]
            for module_name, module in list(sys.modules.items()):
                if module_name == top or module_name.startswith(top + "."):
                    file = getattr(module, "__file__", None)
                    if isinstance(file, str):
                        modules.append(file)
        _epcache.record_facts(known, sorted(set(modules)), self._plan_record())

    def _plan_record(self) -> tuple[str, str]:
        """The launch plan pluggy computed, as the cache keeps it: (plugin set, text).

        The text is ``other fields|child-setup refs|handle functions`` (see
        :class:`_Light`), or :data:`_NO_PLAN` when it cannot be followed
        without pluggy (a wrapper, a plugin object, a function not found
        again by reference).
        """
        signature = _signature(self._eps)
        plan = self.launch_plan()
        if plan.handle_calls is None:
            return signature, _NO_PLAN  # a wrapper: pluggy calls the handle hook
        refs = [ref for ref in plan.child_setup if isinstance(ref, str)]
        if len(refs) < len(plan.child_setup):
            return signature, _NO_PLAN  # a plugin object travels pickled
        calls = [(_function_ref(function), argnames) for function, argnames in plan.handle_calls]
        words = [*refs, *(word for ref, names in calls for word in (ref or "", *names))]
        if any(ref is None for ref, _names in calls) or any(
            mark in word for word in words for mark in "|,=+\t\n"
        ):
            return signature, _NO_PLAN  # not found again by reference, or not writable
        flags = _encode_fields(plan)
        if flags is None:
            return signature, _NO_PLAN
        handles = ",".join(f"{ref}={'+'.join(names)}" for ref, names in calls)
        return signature, "|".join((flags, ",".join(refs), handles))

    def _light_refs(self, plugin: object) -> dict[str, str]:
        """``plugin``'s registration hooks as ``"module:qualname"`` (see :class:`_Light`).

        Only plain functions of a module plugin taking no argument, not
        wrappers: they can then be called without pluggy, as pluggy calls them.
        """
        refs = {}
        for hook_name in _LIGHT_HOOKS:
            for impl in getattr(self._pm.hook, hook_name).get_hookimpls():
                if (
                    impl.plugin is plugin
                    and not (impl.hookwrapper or impl.wrapper or impl.argnames)
                    and type(plugin).__name__ == "module"
                ):
                    ref = _function_ref(impl.function)
                    if ref is not None:
                        refs[hook_name] = ref
        return refs

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
                self._broken.append(BrokenPlugin(name, dist, version, _describe_error(exc)))
                continue
            registrable.append((obj, name, ref, dist, version))
        for obj, name, ref, dist, version in registrable:
            if self.add(obj, name=name, distribution=dist, version=version):
                self._refs[name] = ref

    def _add_hookspecs(self, plugin: object) -> None:
        """Declare the hooks ``plugin`` lists in ``procstart_hookspecs`` (once)."""
        specs = getattr(plugin, HOOKSPECS_ATTRIBUTE, None)
        if specs is None or specs in self._spec_sources:
            return
        self._pm.add_hookspecs(specs)
        self._spec_sources.append(specs)

    def _config_key_names(self, plugin: object) -> tuple[str, ...]:
        """The ``[tool.procstart]`` key names ``plugin`` declares (through pluggy)."""
        others = [other for other in self._pm.get_plugins() if other is not plugin]
        caller = self._pm.subset_hook_caller("procstart_config_keys", others)
        return tuple(getattr(key, "name", "") for batch in caller() for key in batch or ())

    def light_config_key(self, key_name: str) -> tuple[list[Any], str, str] | None:
        """Without pluggy: what the one entry point declaring ``key_name`` yields.

        ``(keys, distribution, version)``; ``([], "", "")`` when no entry
        point declares it; None when pluggy's manager is needed (see
        :meth:`key_declarers_loaded`).
        """
        light = self._light
        return None if light is None else light.config_key(key_name)

    def key_declarers_loaded(self, key_name: str) -> bool:
        """Load the plugins declaring ``key_name``; False when every plugin is needed.

        True (partial registry) when at most one entry point declares it,
        which is then loaded: the declarations of the plugins registered now
        answer for that key as every plugin's would.
        """
        with self._lock:
            if not self._partial or self._facts is None:
                return False
            wanted = [ep for ep in self._eps if key_name in self._facts[(ep.name, ep.value)].keys]
            if len(wanted) > 1:
                return False  # a conflict: its message names them in full-load order
            todo = [ep for ep in wanted if (ep.name, ep.value) not in self._loaded]
            if todo:
                self._load_eps(todo)
            return self._partial

    def load_snapshot(self, snapshot: list[tuple[str, str, str, str]]) -> None:
        """Register the plugins a parent listed, importing each by reference."""
        from ._submodules import import_module

        loaded: list[tuple[Any, str, str, str, str]] = []
        for name, ref, dist, version in snapshot:
            module_name, _, attr = ref.partition(":")
            try:
                obj: Any = import_module(module_name.strip())
                for part in filter(None, attr.strip().split(".")):
                    obj = getattr(obj, part)
            except Exception as exc:  # noqa: BLE001 - reported like any broken plugin
                self._broken.append(BrokenPlugin(name, dist, version, _describe_error(exc)))
                continue
            loaded.append((obj, name, ref, dist, version))
        self._register_all(loaded)

    def snapshot(self) -> list[tuple[str, str, str, str]]:
        """What a child needs to load the same plugins without scanning.

        Entry points not loaded yet are listed too (in their order): the
        child loads what a full load here would have loaded.
        """
        with self._lock:
            if not self._partial:
                found = self._origins
                return [(name, ref, *found.get(name, ("", ""))) for name, ref in self._refs.items()]
            out = []
            for ep in self._eps:
                if (ep.name, ep.value) not in self._loaded:
                    out.append((ep.name, ep.value, ep.dist, ep.version))
                elif ep.name in self._refs:
                    dist, version = self._origins.get(ep.name, ("", ""))
                    out.append((ep.name, self._refs[ep.name], dist, version))
            listed = {ep.name for ep in self._eps}
            for name, ref in self._refs.items():
                if name not in listed:
                    dist, version = self._origins.get(name, ("", ""))
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
            if self._pm.has_plugin(plugin_name) or self._pm.is_registered(plugin):
                return True
            try:
                self._add_hookspecs(plugin)
                self._pm.register(plugin, name=plugin_name)
                self._check_unknown_hooks(plugin)
                self._check_child_setup(plugin, plugin_name)
            except Exception as exc:  # noqa: BLE001 - pluggy's validation errors and others
                if self._pm.is_registered(plugin):
                    self._pm.unregister(plugin)
                self._broken.append(
                    BrokenPlugin(plugin_name, distribution, version, _describe_error(exc))
                )
                return False
            self._origins[plugin_name] = (distribution, version)
            self.generation += 1
            if type(plugin).__name__ == "module":
                self._refs.setdefault(plugin_name, getattr(plugin, "__name__", plugin_name))
            try:
                methods = self._methods_of(plugin)
            except Exception as exc:  # noqa: BLE001 - a failing registration hook
                self._pm.unregister(plugin)
                self._broken.append(
                    BrokenPlugin(plugin_name, distribution, version, _describe_error(exc))
                )
                return False
            self._provided[plugin_name] = tuple(method.name for method in methods)
            for method in methods:
                self._add_method(
                    method.replace(distribution=distribution, version=version, plugin=plugin_name)
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
            opts = self._pm.parse_hookimpl_opts(plugin, attr)
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
                raise _validation_error(
                    plugin,
                    f"unknown hook {hook_name!r}: {where} is marked procstart.hookimpl, "
                    f"but procstart has no such hook (hooks: {', '.join(self._hook_names())})",
                )

    def _is_declared(self, hook_name: str) -> bool:
        """True for procstart's hooks and those plugins declared (``procstart_hookspecs``)."""
        caller = getattr(self._pm.hook, hook_name, None)
        return caller is not None and caller.spec is not None

    def _hook_names(self) -> list[str]:
        return sorted(
            name
            for name, caller in vars(self._pm.hook).items()
            if name.startswith("procstart_") and getattr(caller, "spec", None) is not None
        )

    def _check_child_setup(self, plugin: object, plugin_name: str) -> None:
        """A ``procstart_child_setup`` must be reachable from a child, and no wrapper.

        Children run these without pluggy (importing it would slow every
        child), in pluggy's order: ``tryfirst`` first, ``trylast`` last,
        otherwise the last registered first. A wrapper has nothing to wrap
        there, so it is refused here, naming the plugin.
        """
        for impl in self._pm.hook.procstart_child_setup.get_hookimpls():
            if impl.plugin is not plugin:
                continue
            if impl.hookwrapper or impl.wrapper:
                raise _validation_error(
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
        if self._pm.parse_hookimpl_opts(plugin, "procstart_start_methods") is None:
            return []
        others = [other for other in self._pm.get_plugins() if other is not plugin]
        caller = self._pm.subset_hook_caller("procstart_start_methods", others)
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
        if name in self._conflicts:
            old = self._conflicts[name]
            self._conflicts[name] = Conflict(name, (*old.providers, _provider(method)))
            return
        existing = self._methods.get(name)
        if existing is not None:
            del self._methods[name]
            self._conflicts[name] = Conflict(name, (_provider(existing), _provider(method)))
            return
        self._methods[name] = method

    # -- typed hook calls -----------------------------------------------
    def launch_plan(self) -> LaunchPlan:
        """What every launch needs to know about the plugins, computed once."""
        plan = self._plan
        light = self._light
        if light is not None and (plan is None or plan[0] != self.generation):
            computed = light.launch_plan()
            if computed is not None:
                self._plan = plan = (self.generation, computed)
        if plan is None or plan[0] != self.generation:
            hook = self._pm.hook
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
        if self.launch_plan().launches_directly(request.method.name):
            return request.method.launcher(request)
        popen = self._pm.hook.procstart_launch(request=request)
        if popen is None:
            raise RuntimeError(f"no plugin launched the {request.method.name!r} child")
        return popen  # type: ignore[no-any-return]

    def inherited_handles(self, request: LaunchRequest) -> list[InheritedHandle]:
        """Every fd plugins want the child of ``request`` to receive."""
        calls = self.launch_plan().handle_calls
        handles: list[InheritedHandle] = []
        if calls is not None:
            call_handle_hooks(calls, request, handles)
            return handles
        for batch in self._pm.hook.procstart_inherited_handles(request=request):
            add_handles(handles, batch)
        return handles

    def child_setup_refs(self) -> list[Any]:
        """What a child imports or unpickles to run each plugin's child setup.

        A module-level function is referenced as ``"module:qualname"``, so the
        child imports only the module that defines it (a plugin can keep its
        child side light); other implementations (methods of a plugin object)
        travel as the plugin object itself.
        """
        # pluggy calls get_hookimpls() from the end: tryfirst first, trylast last
        impls = reversed(self._pm.hook.procstart_child_setup.get_hookimpls())
        return [_child_setup_ref(impl.function, impl.plugin, impl.plugin_name) for impl in impls]

    def has_tracker(self) -> bool:
        """True when a plugin implements resource registration."""
        return bool(self._pm.hook.procstart_register_resource.get_hookimpls())

    def register_resource(self, resource: Resource) -> bool:
        """Hand ``resource`` to the installed tracker; False if there is none."""
        return bool(self._pm.hook.procstart_register_resource(resource=resource))

    def unregister_resource(self, resource: Resource) -> bool:
        """Tell the installed tracker ``resource`` was released."""
        return bool(self._pm.hook.procstart_unregister_resource(resource=resource))

    def _call_for(self, plugin_name: str, hook_name: str) -> list[Any]:
        """Call ``hook_name`` of one plugin through pluggy (a subset hook caller)."""
        plugin = self.pm.get_plugin(plugin_name)
        others = [other for other in self.pm.get_plugins() if other is not plugin]
        answers: list[Any] = self.pm.subset_hook_caller(hook_name, others)()
        return answers

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


def call_handle_hooks(
    calls: tuple[tuple[Any, tuple[str, ...]], ...],
    request: LaunchRequest,
    handles: list[InheritedHandle],
) -> None:
    """Call each ``procstart_inherited_handles`` as pluggy would, without its machinery.

    ``calls`` is :attr:`LaunchPlan.handle_calls` (no wrapper among them); what
    they yield is appended to ``handles`` (a launch passes its request's own
    list: no list is made per launch).
    """
    for function, argnames in calls:
        # the spec's one argument, or none (no per-launch list to build)
        batch = function(request) if argnames else function()
        if batch:
            add_handles(handles, batch)


def add_handles(handles: list[InheritedHandle], batch: Iterable[Any] | None) -> None:
    """Append what one ``procstart_inherited_handles`` yielded, checking each item."""
    for handle in batch or ():
        if not isinstance(handle, InheritedHandle):
            raise TypeError(
                "procstart_inherited_handles must yield InheritedHandle, "
                f"got {type(handle).__name__}"
            )
        handles.append(handle)


def _child_setup_ref(func: Any, plugin: object, plugin_name: str) -> Any:
    """How a child finds ``func`` again: ``"module:qualname"``, a module name, or ``plugin``.

    A function is referenced where it is defined, so the child imports only
    that module; it must be found there under its own name. Otherwise a
    module plugin is referenced by its name (the child calls its
    ``procstart_child_setup``), and a plugin object travels pickled.
    """
    import sys

    ref = _function_ref(func)
    if ref is not None:
        return ref
    module_name = getattr(func, "__module__", None)
    qualname = getattr(func, "__qualname__", "")
    if type(plugin).__name__ == "module":
        name = getattr(plugin, "__name__", "")
        if getattr(sys.modules.get(name), "procstart_child_setup", None) is func:
            return name
        raise _validation_error(
            plugin,
            f"plugin {plugin_name!r}: its procstart_child_setup ({qualname or repr(func)}) "
            f"cannot be found again in a child: define it at module level under its "
            f"own name (it is looked up as {module_name}:{qualname})",
        )
    import pickle

    try:
        pickle.dumps(plugin)
    except Exception as exc:  # noqa: BLE001 - any pickling failure
        raise _validation_error(
            plugin,
            f"plugin {plugin_name!r}: a child runs its procstart_child_setup on a copy "
            f"of the plugin object, which cannot be pickled: {_describe_error(exc)}",
        ) from None
    return plugin


def _function_ref(func: Any) -> str | None:
    """``"module:qualname"`` when that finds ``func`` again, else None."""
    import sys

    module_name = getattr(func, "__module__", None)
    qualname = getattr(func, "__qualname__", "")
    if type(func).__name__ != "function" or not isinstance(module_name, str) or "<" in qualname:
        return None
    found: Any = sys.modules.get(module_name)
    for part in qualname.split("."):
        found = getattr(found, part, None)
    return f"{module_name}:{qualname}" if found is func else None


def _resolve(ref: str) -> Any:
    """The object ``"module:qualname"`` names (importing the module)."""
    from ._submodules import import_module

    module_name, _, qualname = ref.partition(":")
    found: Any = import_module(module_name)
    for part in qualname.split("."):
        found = getattr(found, part)
    return found


def _signature(eps: list[Any]) -> str:
    """Names the set of entry points loaded: a launch plan is true of that set only."""
    from ._epcache import digest

    listed = "\0".join(f"{ep.name}={ep.value}" for ep in eps)
    return digest(listed.encode("utf-8", "surrogatepass"))


#: LaunchPlan fields the cache writes as references (the others: _encode_fields)
_PLAN_REFS = ("child_setup", "handle_calls")


def _encode_fields(plan: LaunchPlan) -> str | None:
    """``plan``'s other fields as ``name=value;...``; None if one is not plain data.

    A value is a bool (``1``/``0``), None (``~``), or a tuple or frozenset of
    names (``t:a+b`` / ``f:a+b``): every field a launch plan holds besides
    the references, whatever fields it has.

    >>> _encode_fields(LaunchPlan(True, False, (), True, ()))
    'wants_handles=1;has_tracker=0;direct_launch=1'
    """
    out = []
    for name in plan._fields:
        if name in _PLAN_REFS:
            continue
        value = getattr(plan, name)
        if isinstance(value, bool):
            text = "1" if value else "0"
        elif value is None:
            text = "~"
        elif isinstance(value, (tuple, frozenset)) and all(isinstance(v, str) for v in value):
            text = ("t:" if isinstance(value, tuple) else "f:") + "+".join(sorted(value))
            if any(mark in v for v in value for mark in "+;=|,\t\n") or "" in value:
                return None
        else:
            return None
        out.append(f"{name}={text}")
    return ";".join(out)


def _decode_fields(text: str) -> dict[str, Any]:
    """The inverse of :func:`_encode_fields`."""
    fields: dict[str, Any] = {}
    for item in filter(None, text.split(";")):
        name, _, value = item.partition("=")
        if value in ("1", "0"):
            fields[name] = value == "1"
        elif value == "~":
            fields[name] = None
        else:
            kind, _, names = value.partition(":")
            parts = tuple(filter(None, names.split("+")))
            fields[name] = parts if kind == "t" else frozenset(parts)
    return fields


class _Light:
    """A warm cache's answers while pluggy's manager is not made.

    The launch plan pluggy computed at a full load (child-setup references,
    the ``procstart_inherited_handles`` functions in pluggy's call order,
    whether launches are direct and a tracker is installed), each
    provider's ``procstart_start_methods`` and each declarer's
    ``procstart_config_keys`` function. Anything else makes pluggy's manager
    (:attr:`Plugins._pm`), which drops this and registers the eager plugins.
    """

    __slots__ = ("eager", "eps", "facts", "keys", "methods", "text")

    def __init__(
        self, eps: list[Any], eager: list[Any], text: str, facts: dict[tuple[str, str], Any]
    ) -> None:
        self.eps = eps
        self.eager = eager
        self.text = text
        self.facts = facts
        self.methods: dict[str, StartMethod] = {}
        #: key name -> (its declarations, distribution, version) as cached
        self.keys: dict[str, tuple[list[Any], str, str] | None] = {}

    def config_key(self, name: str) -> tuple[list[Any], str, str] | None:
        """What the one entry point declaring ``name`` yields: (keys, dist, version).

        ``([], "", "")`` when no entry point declares it; None when that
        cannot be told without pluggy (two declare it, no reference, an error).
        """
        if name in self.keys:
            return self.keys[name]
        answer: tuple[list[Any], str, str] | None = ([], "", "")
        declaring = [
            (ep.name, ep.value) for ep in self.eps if name in self.facts[(ep.name, ep.value)].keys
        ]
        if len(declaring) > 1:
            answer = None
        elif declaring:
            fact = self.facts[declaring[0]]
            ref = fact.refs.get("procstart_config_keys")
            ep = next((ep for ep in self.eps if (ep.name, ep.value) == declaring[0]), None)
            try:
                if ref is None or ep is None:
                    raise LookupError(name)
                ep.load()
                answer = (list(_resolve(ref)() or ()), ep.dist, ep.version)
            except Exception:  # noqa: BLE001 - pluggy's path reports it
                answer = None
        self.keys[name] = answer
        return answer

    def launch_plan(self) -> LaunchPlan | None:
        """The cached plan, its functions imported; None when it cannot be followed."""
        flags, refs, calls = self.text.split("|")
        handle_calls = []
        try:
            for call in filter(None, calls.split(",")):
                ref, _, argnames = call.partition("=")
                handle_calls.append((_resolve(ref), tuple(filter(None, argnames.split("+")))))
        except Exception:  # noqa: BLE001 - pluggy's path reports it
            return None
        try:
            return LaunchPlan(
                child_setup=tuple(filter(None, refs.split(","))),
                handle_calls=tuple(handle_calls),
                **_decode_fields(flags),
            )
        except TypeError:  # written by another version: pluggy's path
            return None

    def find_method(self, name: str, eps: list[Any]) -> StartMethod | None:
        """The method ``name`` from its only provider's function; None: ask pluggy."""
        found = self.methods.get(name)
        if found is not None:
            return found
        providers = [ep for ep in eps if name in self.facts[(ep.name, ep.value)].methods]
        if len(providers) != 1:
            return None  # not installed, or a conflict: pluggy's path says which
        ep = providers[0]
        starts = self.facts[(ep.name, ep.value)].refs.get("procstart_start_methods")
        if not starts:
            return None
        try:
            ep.load()
            methods = list(_resolve(starts)() or ())
        except Exception:  # noqa: BLE001 - pluggy's path reports it
            return None
        if not all(isinstance(method, StartMethod) for method in methods):
            return None  # a broken plugin: pluggy's path reports it
        named = [method for method in methods if method.name == name]
        if len(named) != 1:
            return None  # yielded twice: a conflict, reported by pluggy's path
        method: StartMethod = named[0].replace(
            distribution=ep.dist, version=ep.version, plugin=ep.name
        )
        self.methods[name] = method
        return method


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


def _disabled_plugins() -> frozenset[str]:
    """The names in ``PROCSTART_DISABLE_PLUGINS`` (distributions or entry points)."""
    raw = os.environ.get(DISABLE_PLUGINS_ENV, "")
    return frozenset(name.strip() for name in raw.split(",") if name.strip())


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
                    if loaded.add(plugin, name=name):
                        loaded._runtime.append((plugin, name))
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
    with registry._lock:
        before = len(registry._broken)
        if not registry.add(plugin, name=name):
            broken = registry._broken[before:]
            reason = broken[-1].error if broken else "unknown error"
            raise ValueError(f"cannot register plugin {name or plugin!r}: {reason}")
        if not any(known is plugin for known, _name in registry._runtime):
            registry._runtime.append((plugin, name))


def unregister_plugin(plugin: object) -> None:
    """Remove a plugin registered with :func:`register_plugin` and its methods."""
    registry = plugins()
    registry.load_all()  # a plugin loaded later would come back otherwise
    with registry._lock:
        registry._runtime = [entry for entry in registry._runtime if entry[0] is not plugin]
        plugin_name = registry._pm.get_name(plugin)
        if plugin_name is None:
            return
        registry._pm.unregister(plugin)
        registry.generation += 1
        registry._origins.pop(plugin_name, None)
        for name, method in list(registry._methods.items()):
            if method.plugin == plugin_name:
                del registry._methods[name]


def _reset_for_tests() -> None:
    """Forget every loaded plugin (the next call loads them again)."""
    global _plugins
    with _plugins_lock:
        _plugins = None


def iter_methods(registry: Plugins) -> Iterable[StartMethod]:
    """Installed start methods, sorted by name."""
    return [registry.methods[name] for name in sorted(registry.methods)]
