"""The hook implementations that wire the tracker into procstart.

This module is what the ``procstart`` entry point names. Loading it changes
nothing in the loading process: the stdlib's SharedMemory and SemLock keep
the stdlib's tracker there (a program that mixes procstart and
``multiprocessing`` contexts loses nothing). Only in processes procstart
started do they report to this tracker (:mod:`._child`). The child-side hook
is defined in :mod:`._child`, which children import without this module (no
pluggy there); only the ``hookimpl`` marker is applied here.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping

from procstart import plugin

from . import _child
from ._child import route_stdlib_registrations
from ._client import DIE_WITH_PARENT_KEY, HANDLE_KEY, ROOT_ENV, client, supported

__all__ = [
    "TrackerSpecs",
    "procstart_hookspecs",
    "route_stdlib_registrations",
    "procstart_child_setup",
    "procstart_config_keys",
    "procstart_inherited_handles",
    "procstart_register_resource",
    "procstart_status",
    "procstart_unregister_resource",
]

# resolved once here, so that fork children find it ready (no lookup per child)
_child.stdlib_key = plugin.STDLIB_TRACKER_KEY


class TrackerSpecs:
    """The hook this plugin declares and calls (no other plugin reads it)."""

    @plugin.hookspec
    def procstart_resource_types(self) -> Iterable[plugin.ResourceType]:
        """Yield extra resource kinds and the function that cleans each up.

        Called by this tracker (``procstart.plugin.hook()``) the first time a
        resource of a kind it does not know is registered; results of every
        implementation, flattened. Implement it with
        ``optionalhook=True`` so that your plugin still loads where
        procstart-tracker is not installed.

        Example::

            @procstart.hookimpl(optionalhook=True)
            def procstart_resource_types():
                yield procstart.ResourceType(
                    kind="lockfile", cleanup="myplugin.cleanup:remove_lockfile")
        """
        raise NotImplementedError


#: declared with pluggy (``pm.add_hookspecs``) before any plugin registers
procstart_hookspecs = TrackerSpecs

#: keeps ``__module__`` = ``procstart_tracker._child``: a child imports only that
procstart_child_setup = plugin.hookimpl(_child.procstart_child_setup)


@plugin.hookimpl
def procstart_config_keys() -> Iterator[plugin.ConfigKey]:
    """``[tool.procstart] children-die-with-parent``: this plugin's one setting."""
    yield plugin.ConfigKey(
        name=DIE_WITH_PARENT_KEY,
        type=bool,
        description="terminate the remaining descendants when the top-level parent dies",
        default=True,
    )


@plugin.hookimpl
def procstart_inherited_handles(
    request: plugin.LaunchRequest,
) -> tuple[plugin.InheritedHandle, ...]:
    """Every child gets the tracker's pipe (the tracker starts on this first need).

    And where the root is (``ROOT_ENV``, in the child's environment), and the
    stdlib tracker's fd when this process runs one (for its own stdlib
    objects): it must outlive the children that may use them. No launch
    wrapper: the child announces itself (one write, in the child), so a
    launch pays the tracker nothing else and can take the core's direct path.
    A remote method's children (a cluster) run on other hosts: nothing to track.
    """
    global _last
    if not supported() or request.method.remote:
        return ()
    fd = client.ensure_running()
    request.env[ROOT_ENV] = client.root_token()
    stdlib = plugin.stdlib_tracker_fd()
    last = _last
    if last is None or last[0] != fd or last[1] != stdlib:
        handles = [plugin.InheritedHandle(key=HANDLE_KEY, fd=fd)]
        if stdlib is not None:  # fork children hold it anyway: listed for _child
            handles.append(plugin.InheritedHandle(key=plugin.STDLIB_TRACKER_KEY, fd=stdlib))
        last = _last = (fd, stdlib, tuple(handles))
    return last[2]


#: the last launch's handles, reused while the fds are the same: in a fork
#: parent every object a launch touches is a copy-on-write fault
_last: tuple[int, int | None, tuple[plugin.InheritedHandle, ...]] | None = None


@plugin.hookimpl
def procstart_register_resource(resource: plugin.Resource) -> bool | None:
    """Track ``resource`` (reference counted by holder process).

    None (not taken) in a process procstart did not start, other than a
    top-level program: it never starts a tracker of its own.
    """
    if not supported():
        return None
    return True if client.register(resource.kind, resource.name) else None


@plugin.hookimpl
def procstart_unregister_resource(resource: plugin.Resource) -> bool | None:
    """Forget ``resource``: it was released normally and will not be touched."""
    if not supported():
        return None
    return True if client.unregister(resource.kind, resource.name) else None


@plugin.hookimpl
def procstart_status() -> Mapping[str, object] | None:
    """``procstart methods`` shows whether the tracker is installed and running."""
    if not supported():
        return {"tracker": "unsupported on this platform"}
    return client.status()
