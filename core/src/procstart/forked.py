"""For fork-based launchers: prepare in the parent, adopt in the child.

A forked child should touch as little as possible: every object it touches
copies a page (copy-on-write). So the parent builds a :class:`ForkedChild`
plan before ``fork()`` only when there is something to do (handles, env,
setup hooks) and the child only assigns what it already holds. Which start
method the child has is noticed lazily (``procstart._context`` compares
pids), so a plain fork child runs no procstart code at all.

    plan = ForkedChild.for_request(request)    # None: nothing to do
    pid = os.fork()
    if pid == 0:
        if plan is not None:
            plan.enter()      # then process_obj._bootstrap(...)

What a copy of the parent already has is left out of the plan: a setup hook
marked with :func:`fork_inherited` (and the handles it names), and an
environment entry the parent's ``os.environ`` already holds with that value.
With nothing left the plan is None and the child runs no procstart code.
"""

from __future__ import annotations

import os
import sys

from . import _settings
from ._childinfo import ChildInfo, run_child_setup
from ._request import LaunchRequest
from ._resolution import Resolution

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs every program ~3 ms to import: annotations only
    from typing import Any

__all__ = ["FORK_INHERITED", "ForkedChild", "fork_inherited"]

#: the attribute :func:`fork_inherited` sets on a setup hook: the handle keys
#: that only it reads
FORK_INHERITED = "procstart_fork_inherited"


def fork_inherited(*handle_keys: str) -> Any:
    """Mark a ``procstart_child_setup`` hook that has nothing to do in a fork copy.

    Use it when everything the hook sets up in a child already exists in an
    ``os.fork()`` copy of the launching process (an attached client, a
    patched module): launchers built on :class:`ForkedChild` (procstart's
    ``fork``) then neither call it nor pass the handles named here, which
    only it reads, so the child touches none of it. Other start methods still
    call it and pass them.

    >>> @fork_inherited("myplugin.pipe")
    ... def procstart_child_setup(info):
    ...     attach(info.handles["myplugin.pipe"])
    >>> procstart_child_setup.procstart_fork_inherited
    frozenset({'myplugin.pipe'})
    """

    def mark(function: Any) -> Any:
        setattr(function, FORK_INHERITED, frozenset(handle_keys))
        return function

    return mark


class ForkedChild:
    """What a forked child adopts: its start method, handles, env, setup hooks.

    Everything that can be is prepared in the parent: the :class:`ChildInfo`
    the hooks receive and the hook functions themselves (imported, or the
    plugin object), so the child only assigns and calls.
    """

    __slots__ = ("calls", "child_setup", "env", "handles", "info", "parent_pid", "resolution")

    def __init__(
        self,
        *,
        method: str,
        parent_pid: int,
        handles: dict[str, int],
        env: dict[str, str],
        child_setup: list[Any],
    ) -> None:
        self.resolution = Resolution(
            method, "parent", f"started with {method!r} by pid {parent_pid}"
        )
        self.handles = handles
        self.env = env
        self.child_setup = child_setup
        self.parent_pid = parent_pid
        self.info = ChildInfo(method=method, parent_pid=parent_pid, handles=handles)
        if handles:
            # imported here, in the parent, and only for a plan that passes
            # handles: a forked child that imported it itself would compile
            # it anew each time when bytecode caching is off
            from . import child  # noqa: F401
        #: the hooks to call, resolved here; None: resolve them in the child (as
        #: a spawned child would), so that a failure shows there, as before
        self.calls = _resolve(child_setup) if child_setup else []

    @classmethod
    def for_request(cls, request: LaunchRequest) -> ForkedChild | None:
        """The plan for the child of ``request``, built in the parent (None: no work)."""
        handles, env, setup = request.handles, request.env, request._setup
        if setup is _empty_in_copy and not handles and not env:
            return None  # the usual fork launch: the method's setup, all inherited
        if setup:
            setup, skipped = _skipped_in_copy(setup)
            if skipped and handles:
                handles = _without(handles, skipped)
        if env:
            environ = os.environ
            env = {key: value for key, value in env.items() if environ.get(key) != value}
        if not (handles or env or setup):
            return None
        return cls(
            method=request.method.name,
            parent_pid=os.getpid(),
            handles={handle.key: handle.fd for handle in handles},
            env=dict(env),
            child_setup=list(setup),
        )

    def enter(self) -> None:
        """In the child, right after ``fork()``: adopt the plan.

        The child's default start method becomes the one it was started with
        (as ``multiprocessing`` does), ``env`` is applied and every plugin's
        ``procstart_child_setup`` runs.
        """
        settings = _settings.settings
        settings.explicit = None
        settings.inherited = self.resolution
        context_module = sys.modules.get("procstart._context")
        if context_module is not None:
            context_module.__dict__["_resolved"] = None
        if self.handles:
            child = sys.modules["procstart.child"]  # the parent imported it
            child._inherited[:] = list(self.handles.values())
            child._handles.clear()
            child._handles.update(self.handles)
        if self.env:
            environ = os.environ
            for key, value in self.env.items():  # not update(): its ABC checks touch more
                environ[key] = value
        calls = self.calls
        if calls is None:
            run_child_setup(self.child_setup, self.info)
            return
        info = self.info
        for call in calls:
            call(info=info)


#: the last ``_skipped_in_copy`` answer: launches repeat the same setup
#: references (the same tuple object while a request keeps its method's)
_last_skip: tuple[list[Any] | tuple[Any, ...], list[Any], frozenset[str]] | None = None
#: the last setup tuple of which a fork copy calls nothing: a launch that
#: passes it, with no handles or env, needs no plan (checked by identity)
_empty_in_copy: tuple[Any, ...] | None = None


def _skipped_in_copy(
    refs: list[Any] | tuple[Any, ...],
) -> tuple[list[Any], frozenset[str]]:
    """``refs`` without the :func:`fork_inherited` hooks, and the handle keys they name."""
    global _last_skip, _empty_in_copy
    last = _last_skip
    if last is not None and (last[0] is refs or last[0] == refs):  # no copy per launch
        if last[0] is not refs and refs.__class__ is tuple:
            # the same references in a new tuple: the launch recipe was made
            # again (the plugins' generation moves while the first launches
            # load the rest of them). Kept by identity from now on, so that
            # the launches after it find it in _empty_in_copy and never call
            # this: every object a fork launch touches is a copy-on-write fault
            _last_skip = (refs, last[1], last[2])
            if not last[1]:
                _empty_in_copy = refs
        return last[1], last[2]
    calls = _resolve(refs)
    if calls is None:  # the child looks them up itself: skip nothing
        return list(refs), frozenset()
    kept: list[Any] = []
    skipped: set[str] = set()
    for ref, call in zip(refs, calls, strict=True):
        keys = getattr(call, FORK_INHERITED, None)
        if keys is None:
            kept.append(ref)
        else:
            skipped.update(keys)
    result = (kept, frozenset(skipped))
    _last_skip = (refs if refs.__class__ is tuple else list(refs), *result)
    if not kept and refs.__class__ is tuple:
        _empty_in_copy = refs
    return result


#: the last ``_without`` call: launches repeat the same handles (same objects)
_last_without: tuple[list[Any], frozenset[str], list[Any]] | None = None


def _without(handles: list[Any], skipped: frozenset[str]) -> list[Any]:
    """``handles`` but those whose key is in ``skipped`` (the last answer reused)."""
    global _last_without
    last = _last_without
    if last is not None and last[1] is skipped and last[0] == handles:
        return last[2]
    kept = [handle for handle in handles if handle.key not in skipped]
    _last_without = (handles, skipped, kept)
    return kept


def _resolve(refs: list[Any] | tuple[Any, ...]) -> list[Any] | None:
    """The functions ``run_child_setup`` would call for ``refs``, looked up now.

    In the parent the modules are already imported (the plugins are loaded),
    so this costs a few dict lookups. None if any lookup fails: the child then
    looks them up itself and reports the failure where a spawned child would.
    """
    calls: list[Any] = []
    try:
        for ref in refs:
            if isinstance(ref, str):
                module_name, _, qualname = ref.partition(":")
                target: Any = sys.modules.get(module_name)
                if target is None:
                    return None
                if not qualname:
                    calls.append(target.procstart_child_setup)
                    continue
                for part in qualname.split("."):
                    target = getattr(target, part)
                calls.append(target)
            elif isinstance(ref, bytes):
                return None
            else:
                calls.append(ref.procstart_child_setup)
    except AttributeError:
        return None
    return calls
