"""Hook specifications: the whole contract between the core and its plugins.

Every hook is prefixed ``procstart_`` and is called with keyword arguments
only (pluggy passes them by name; implementations may take any subset). A
plugin is any module or object with functions of these names decorated with
``procstart.hookimpl``; a distribution exposes it through the ``procstart``
entry-point group::

    [project.entry-points.procstart]
    mymethod = "procstart_mymethod.plugin"
"""

from __future__ import annotations

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: launching a child must not import typing
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping
    from typing import Any

    import pluggy

    from ._request import LaunchRequest
    from ._types import (
        ChildInfo,
        ConfigKey,
        InheritedHandle,
        PopenLike,
        Resource,
        StartMethod,
    )

PROJECT_NAME = "procstart"
#: where ``hookimpl`` / ``hookspec`` keep their options on the function
#: (read by ``procstart._pluggy.ProcstartPluginManager``)
IMPL_ATTRIBUTE = "_procstart_hookimpl"
SPEC_ATTRIBUTE = "_procstart_hookspec"

#: pluggy's ``HookimplOpts`` / ``HookspecOpts`` keys and their defaults
_IMPL_DEFAULTS: dict[str, object] = {
    "wrapper": False,
    "hookwrapper": False,
    "optionalhook": False,
    "tryfirst": False,
    "trylast": False,
    "specname": None,
}
_SPEC_DEFAULTS: dict[str, object] = {
    "firstresult": False,
    "historic": False,
    "warn_on_impl": None,
    "warn_on_impl_args": None,
}


class _Marker:
    """``@marker`` or ``@marker(option=...)``: records pluggy's options on the function.

    Importing pluggy costs more than the rest of a one-child program, and
    plugins are imported by programs that never need it: the markers only
    record their options (under :data:`IMPL_ATTRIBUTE` / :data:`SPEC_ATTRIBUTE`);
    procstart's plugin manager hands them to pluggy when it is created.
    Same call forms and options as ``pluggy.HookimplMarker`` /
    ``pluggy.HookspecMarker``.

    >>> @hookimpl(tryfirst=True)
    ... def procstart_child_setup(info): ...
    >>> procstart_child_setup._procstart_hookimpl["tryfirst"]
    True
    """

    __slots__ = ("_attribute", "_defaults", "_kind")
    #: as pluggy's markers
    project_name = PROJECT_NAME

    def __init__(self, kind: str, attribute: str, defaults: dict[str, object]) -> None:
        self._kind = kind
        self._attribute = attribute
        self._defaults = defaults

    def __call__(self, function: Any = None, **options: object) -> Any:
        unknown = sorted(set(options) - set(self._defaults))
        if unknown:
            raise TypeError(
                f"procstart.{self._kind}() got an unexpected keyword argument {unknown[0]!r}"
            )
        opts = {**self._defaults, **options}

        def mark(func: Callable[..., object]) -> Callable[..., object]:
            setattr(func, self._attribute, dict(opts))
            return func

        return mark if function is None else mark(function)

    def __repr__(self) -> str:
        return f"procstart.{self._kind}"


if TYPE_CHECKING:  # the same call signatures as pluggy's markers
    hookspec = pluggy.HookspecMarker(PROJECT_NAME)
    hookimpl = pluggy.HookimplMarker(PROJECT_NAME)
else:
    hookspec = _Marker("hookspec", SPEC_ATTRIBUTE, _SPEC_DEFAULTS)
    hookimpl = _Marker("hookimpl", IMPL_ATTRIBUTE, _IMPL_DEFAULTS)


class ProcstartSpecs:
    """The hook specifications; ``pm.add_hookspecs(ProcstartSpecs)``."""

    @hookspec
    def procstart_start_methods(self) -> Iterable[StartMethod]:
        """Yield the start methods this plugin provides (registration).

        Called by the core once per plugin as it registers (through a pluggy
        subset hook caller, so each method is credited to its distribution).
        Plugins load by need: a program that first loads some plugins and
        later needs them all registers them again (the registry is rebuilt),
        so this may run twice in a process: keep it free of side effects.
        Names must be unique across installed distributions; a clash is
        reported naming both.

        Example::

            @procstart.hookimpl
            def procstart_start_methods():
                yield procstart.StartMethod(
                    name="nice-spawn",
                    launcher=launch_nice_spawn,
                    description="spawn, with the child at nice 10",
                )
        """
        raise NotImplementedError

    @hookspec(firstresult=True)
    def procstart_launch(self, request: LaunchRequest) -> PopenLike | None:
        """Start the child described by ``request`` and return its Popen handle.

        Called by the core on every ``start()``, after the handles are
        gathered. The core's own implementation (``trylast``) calls
        ``request.method.launcher(request)``. Wrap it to observe or adjust
        every launch, whatever the method; a wrapper sees every failure of
        the launch too (``SerializationError`` included):

        Example::

            @procstart.hookimpl(wrapper=True)
            def procstart_launch(request):
                request.env["OMP_NUM_THREADS"] = "1"
                started = time.perf_counter()
                popen = yield
                log.info("%s child %d in %.1f ms", request.method.name,
                         popen.pid, (time.perf_counter() - started) * 1e3)
                return popen
        """
        raise NotImplementedError

    @hookspec
    def procstart_inherited_handles(self, request: LaunchRequest) -> Iterable[InheritedHandle]:
        """Yield fds that every child must receive, under any start method.

        Called by the core on every ``start()``, before ``procstart_launch``.

        Exec- and server-based methods pass a child exactly these fds plus
        those its pickled arguments ask for; the child finds each again with
        ``procstart.child.inherited_fd(key)``.

        Example::

            @procstart.hookimpl
            def procstart_inherited_handles(request):
                yield procstart.InheritedHandle(key="my-tracker", fd=TRACKER_W)
        """
        raise NotImplementedError

    @hookspec
    def procstart_child_setup(self, info: ChildInfo) -> None:
        """Run in the child after it is started and before its target runs.

        The child calls the implementations in pluggy's order (``tryfirst``
        first, ``trylast`` last, else the last registered first), then the
        start method's own ``StartMethod.child_setup``; wrappers are refused
        at registration (the plugin is reported broken). The child calls
        them without loading the plugin manager: the parent sends a
        reference to each implementation (``"module:function"`` for
        a module-level function, so the child imports only that module;
        methods of plugin objects travel with the object, pickled). Every
        child pays for what that module imports: keep it light.

        Example::

            @procstart.hookimpl
            def procstart_child_setup(info):
                MyTracker.attach(info.handles["my-tracker"])
        """
        raise NotImplementedError

    @hookspec(firstresult=True)
    def procstart_register_resource(self, resource: Resource) -> bool | None:
        """Track ``resource`` so that it is cleaned up if its owner dies.

        Return ``True`` when handled. With no tracker installed nobody
        answers and registration is a no-op, never an error.

        Example::

            @procstart.hookimpl
            def procstart_register_resource(resource):
                tracker().send("REGISTER", resource.kind, resource.name)
                return True
        """
        raise NotImplementedError

    @hookspec(firstresult=True)
    def procstart_unregister_resource(self, resource: Resource) -> bool | None:
        """Stop tracking ``resource`` (it was released normally).

        Example::

            @procstart.hookimpl
            def procstart_unregister_resource(resource):
                tracker().send("UNREGISTER", resource.kind, resource.name)
                return True
        """
        raise NotImplementedError

    @hookspec
    def procstart_config_keys(self) -> Iterable[ConfigKey]:
        """Declare the ``[tool.procstart]`` keys this plugin reads.

        Called once per plugin when ``[tool.procstart]`` is first validated
        or a key is first read (then only the plugin that declares that key,
        as the entry-point cache knows it), and again after the registry
        changes; a name declared twice is an error naming both. Keys nobody declares
        draw a warning; values of the wrong type fail with the file and the
        dotted key named.

        Example::

            @procstart.hookimpl
            def procstart_config_keys():
                yield procstart.ConfigKey(
                    name="nice-level", type=int, description="niceness of children")
        """
        raise NotImplementedError

    @hookspec
    def procstart_status(self) -> Mapping[str, object] | None:
        """Return live state to show in ``procstart methods`` (e.g. a server).

        Called by ``procstart methods`` once per plugin; the state of a
        plugin that provides a start method is shown in that method's row.

        Example::

            @procstart.hookimpl
            def procstart_status():
                return {"tracker": "running" if PID else "stopped", "pid": PID}
        """
        raise NotImplementedError
