"""One launch: pick the method, gather handles, run the launch hook chain.

Then every :func:`after_launch` callback, in the parent, with the new child.
"""

from __future__ import annotations

from multiprocessing import process
from multiprocessing.process import BaseProcess
from os import getpid as _getpid

from . import _context, _manager, _stdlib_tracker
from ._request import LaunchRequest
from ._types import InheritedHandle

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    from ._types import PopenLike

#: ``after_launch`` callbacks, in registration order
_after_launch: list[Callable[[LaunchRequest, PopenLike], None]] = []

_BOOTSTRAPPING = (
    "An attempt has been made to start a new process before the current "
    "process has finished its bootstrapping phase. The parent's main module "
    "is being re-imported in this child: start processes only under\n\n"
    '    if __name__ == "__main__":\n\n'
    "(add freeze_support() there if the program will be frozen)."
)


class _Recipe:
    """What every launch of one start method reuses until the plugins change.

    In a fork parent every object a launch touches is a copy-on-write fault
    (the previous child still shares the page), so a launch reads one recipe
    instead of asking the context, the registry and the plan again.
    """

    __slots__ = (
        "answered_in",
        "asks_handles",
        "child_setup",
        "context",
        "generation",
        "handle_call",
        "handle_calls",
        "launcher",
        "method",
        "once",
        "registry",
        "stdlib_handle",
    )

    def __init__(self, method_name: str | None, registry: _manager.Plugins) -> None:
        self.registry = registry
        self.generation = registry.generation
        self.context = ctx = _context.get_context(method_name)
        self.method = method = ctx.current_method(registry)
        plan = registry.launch_plan()
        #: None: pluggy's hook call (a wrapper); else the functions, in pluggy's order
        self.handle_calls = calls = plan.handle_calls if plan.wants_handles else ()
        #: the one function when there is one (a tracker's): called without a
        #: loop, as every object a fork launch touches is a copy-on-write fault
        self.handle_call = calls[0][0] if calls and len(calls) == 1 and calls[0][1] else None
        self.asks_handles = calls is None or bool(calls)
        #: a fork method whose every handle function is marked once_per_fork_parent:
        #: they answer the first launch from a process and no later one
        self.once = (
            method.inherits_all_fds
            and bool(calls)
            and all(getattr(function, ONCE_PER_FORK_PARENT, False) for function, _ in calls or ())
        )
        #: the process where those functions have answered (0: none yet); a
        #: fork copy of this recipe names its parent, so the child asks again
        self.answered_in = 0
        # no procstart tracker: children report to the stdlib's, as with multiprocessing
        self.stdlib_handle = not method.inherits_all_fds and not plan.has_tracker
        self.child_setup = (*plan.child_setup, *method.child_setup)
        self.launcher: Callable[[LaunchRequest], PopenLike] = (
            method.launcher if plan.launches_directly(method.name) else registry.launch
        )


#: per start method named by the process class (the default method is resolved
#: per launch: set_start_method may change it without any plugin changing)
_recipes: dict[str, _Recipe] = {}


def launch(process_obj: BaseProcess, method_name: str | None = None) -> PopenLike:
    """Start ``process_obj`` with ``method_name``, its class's method, or the default."""
    method_name = method_name or getattr(type(process_obj), "_procstart_method", None)
    registry = _manager._plugins or _manager.plugins()  # no call once loaded
    recipe = _recipes.get(method_name) if method_name is not None else None
    # kept while the plugins stay the same (the registry and its generation)
    if (
        recipe is None
        or recipe.registry is not registry
        or recipe.generation != registry.generation
    ):
        old, recipe = recipe, _Recipe(method_name, registry)
        if old is not None and recipe.once and old.handle_calls == recipe.handle_calls:
            recipe.answered_in = old.answered_in  # the same hooks have answered here
        if method_name is not None:
            _recipes[method_name] = recipe
    method = recipe.method
    if not method.inherits_all_fds and getattr(process.current_process(), "_inheriting", False):
        raise RuntimeError(_BOOTSTRAPPING)
    setattr(process_obj, _context.STARTED_WITH, method.name)
    request = LaunchRequest(process_obj, method, recipe.context)
    if recipe.asks_handles and recipe.answered_in != _getpid():
        call = recipe.handle_call
        if call is not None:
            batch = call(request)
            if batch:
                _manager.add_handles(request.handles, batch)
        else:
            calls = recipe.handle_calls
            if calls is None:
                request.handles = registry.inherited_handles(request)
            else:
                _manager.call_handle_hooks(calls, request, request.handles)
        if recipe.once:
            recipe.answered_in = _getpid()
    if recipe.stdlib_handle:
        request.handles.append(
            InheritedHandle(_stdlib_tracker.HANDLE_KEY, _stdlib_tracker.parent_fd())
        )
    if recipe.child_setup:  # a new request's list is empty already
        # shared: the request copies it only if something reads child_setup
        request._setup = recipe.child_setup
    popen = recipe.launcher(request)
    for callback in _after_launch:
        callback(request, popen)
    return popen


#: the attribute :func:`once_per_fork_parent` sets on a handles hook
ONCE_PER_FORK_PARENT = "procstart_once_per_fork_parent"


def once_per_fork_parent(function: Any) -> Any:
    """Mark a ``procstart_inherited_handles`` hook that a fork parent needs once.

    A promise: the hook's handles reach a child only through what the child
    inherits, and a fork child inherits every fd its parent holds. So for a
    start method whose children inherit every fd (``fork``), procstart calls
    the hook at the first launch from a process and at none after it in that
    process: each later launch pays no call (every object a fork parent
    touches per launch is a copy-on-write fault). A fork child calls it again
    at its own first fork launch; launches of other methods call it every
    time. The hook may still do work on that first call (start a server,
    register an ``after_launch`` callback). When every handles hook installed
    is marked, the promise holds for the launch; otherwise every hook is
    called every time. Apply it with the ``hookimpl`` marker, in either order.

    >>> @once_per_fork_parent
    ... def procstart_inherited_handles(request):
    ...     return ()
    >>> procstart_inherited_handles.procstart_once_per_fork_parent
    True
    """
    setattr(function, ONCE_PER_FORK_PARENT, True)
    return function


#: the attribute :func:`launch_wrapper_for` sets on a launch wrapper
LAUNCH_WRAPPER_FOR = "procstart_launch_wrapper_for"


def launch_wrapper_for(*methods: str) -> Callable[[Any], Any]:
    """Mark a ``procstart_launch`` wrapper that acts only on launches of ``methods``.

    A promise: for any other start method the wrapper passes the launch
    through untouched. When every launch wrapper installed has made it for
    the method being launched, procstart calls the method's launcher
    directly, without pluggy's hook call (every object a fork parent touches
    per launch is a copy-on-write fault). Apply it with the ``hookimpl``
    marker, in either order.

    >>> @launch_wrapper_for("forkserver")
    ... def procstart_launch(request):
    ...     return (yield)
    >>> procstart_launch.procstart_launch_wrapper_for
    frozenset({'forkserver'})
    """

    def mark(function: Any) -> Any:
        setattr(function, LAUNCH_WRAPPER_FOR, frozenset(methods))
        return function

    return mark


def after_launch(callback: Callable[[LaunchRequest, PopenLike], None]) -> None:
    """Call ``callback(request, popen)`` in the parent after every launch from now on.

    Right after the launcher returned (the child exists and ``popen.pid`` is
    set, under any start method), in the launching thread, in registration
    order; each callback is registered once however often this is called.
    Meant for work the parent can do instead of the child, such as the
    tracker's announcing the child: it runs on every launch, so keep it to a
    few operations that never wait for another process.

    >>> seen = []
    >>> after_launch(lambda request, popen: seen.append(popen.pid))  # doctest: +SKIP
    """
    if callback not in _after_launch:
        _after_launch.append(callback)
