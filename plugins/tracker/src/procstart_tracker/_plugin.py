"""The hook implementations that wire the tracker into procstart.

This module is what the ``procstart`` entry point names. Loading it changes
nothing in the loading process. The first procstart launch arms the routing
of the stdlib's SharedMemory and SemLock registrations
(``multiprocessing.resource_tracker``'s functions are replaced, lazily), but
the replacements pass every call through except in processes procstart
started to report here: the launching process itself keeps the stdlib's
tracker (a program that mixes procstart and ``multiprocessing`` contexts
loses nothing). The child-side hook is defined in :mod:`._child`, which
children import without this module (no pluggy there); only the markers are
applied here.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator, Mapping

from procstart import plugin

from . import _child
from ._child import arm_stdlib_routing, route_stdlib_registrations
from ._client import DIE_WITH_PARENT_KEY, HANDLE_KEY, client, supported
from ._stdlib_routing import ROUTE_ATTR

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

#: keeps ``__module__`` = ``procstart_tracker._child``: a child imports only that.
#: A fork copy has nothing to do (the client is attached, the routing armed,
#: the parent announces the child): procstart's fork neither calls it nor
#: passes the two handles only it reads
procstart_child_setup = plugin.hookimpl(
    plugin.fork_inherited(HANDLE_KEY, plugin.STDLIB_TRACKER_KEY)(_child.procstart_child_setup)
)


@plugin.hookimpl
def procstart_config_keys() -> Iterator[plugin.ConfigKey]:
    """``[tool.procstart] children-die-with-parent``: this plugin's one setting."""
    yield plugin.ConfigKey(
        name=DIE_WITH_PARENT_KEY,
        type=bool,
        description="terminate the remaining descendants when the top-level parent dies",
        default=True,
        # no env variable: without a [tool.procstart] table the default holds,
        # so the first launch reads no declarations (_client._die_with_parent)
    )


@plugin.hookimpl
@plugin.once_per_fork_parent
def procstart_inherited_handles(
    request: plugin.LaunchRequest,
) -> tuple[plugin.InheritedHandle, ...]:
    """Every child gets the tracker's pipe (the tracker starts on this first need).

    And the stdlib tracker's fd when this process runs one (for its own
    stdlib objects): it must outlive the children that may use them. Where
    the root is (``ROOT_ENV``) travels in ``os.environ``, set when the
    tracker starts (``Client.publish_token``), so a launch sets nothing. The process
    object gets :data:`ROUTE_ATTR` (True: its stdlib objects report here). A
    parent other than the root announces the child once the launch returns
    (``Client.announce_launch``, an ``after_launch`` callback; see
    :data:`ROOT_CHILDREN_FOUND`). No launch wrapper, and a fork child does no
    tracker work at all. A remote method's children (a cluster) run on other
    hosts: nothing to track.

    Marked ``once_per_fork_parent``: a fork child inherits the pipe, so after
    the first fork launch from a process procstart does not call this for
    later ones. Nothing then checks, per fork launch, that the tracker lives:
    its standby takes over when it dies (``_server``), and the root checks
    at its registrations, its other launches and its exit
    (``Client.check_alive``). A fork child whose inherited fd no longer names
    the pipe (the program closed it) opens the pipe again from the root's
    read end (``Client.after_fork_in_child``).
    """
    global _last
    if not supported() or request.method.remote:
        return ()
    fd = client.ensure_running()
    if _last is None:  # the first launch here (a fork copy inherits _last and the armed routing)
        _arm()
    if not client.is_root() or not ROOT_CHILDREN_FOUND:  # see _arm
        plugin.after_launch(client.announce_launch)  # once, however often asked
    stdlib = plugin.stdlib_tracker_fd()
    request.process.__dict__[ROUTE_ATTR] = stdlib is None
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
#: whether the tracker finds the root's children without being told (Linux:
#: ``/proc/<pid>/fd``). A process other than the root announces each child
#: it starts (``Client.announce_launch``, an ``after_launch`` callback): the
#: child may outlive it. Where this holds, the root does not. At its normal
#: exit ``multiprocessing`` joins (or terminates, then joins) every child it
#: started before the process ends, so none is left for the tracker (any
#: still running when it says ``BYE`` is named in it: ``Client.at_exit``); at its
#: death the tracker looks for every process holding the pipe (each child
#: does from ``fork()`` on) and for the root token in exec'd children's
#: environments (``_server``'s pipe holders and strays). The write after
#: each fork was about a third of the tracker's cost per fork child on 3.11
#: (parent CPU, ``bench/ab_forkpath.py --layouts``)
ROOT_CHILDREN_FOUND = sys.platform == "linux"


def _arm() -> None:
    """Once per launching process: route the stdlib's registrations where procstart started."""
    client.publish_token()  # a child (not the root) got it from its parent already
    arm_stdlib_routing()


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
