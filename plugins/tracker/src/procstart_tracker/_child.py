"""The child side: re-attach to the parent's tracker before the target runs.

Every child procstart starts in a program with the tracker installed imports this module
(procstart sends ``"procstart_tracker._child:procstart_child_setup"``; the
child imports only the module that defines the hook, and its package's
light ``__init__``). So it imports only :mod:`._client` (``os``, ``stat``,
``threading``, ``atexit``: loaded in a child anyway), the message encoder
and the lazy routing of stdlib registrations: no pluggy, dataclasses, typing, json, or
``multiprocessing.resource_tracker`` (``tests/test_tracker_child_imports.py``
checks it). The ``hookimpl`` marker is applied in :mod:`._plugin`.
"""

from __future__ import annotations

import os

from . import _stdlib_routing
from ._client import HANDLE_KEY, ROOT_ENV, client, supported

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs a child ~1.5 ms to import; annotations only
    from procstart import ChildInfo

__all__ = ["arm_stdlib_routing", "procstart_child_setup", "route_stdlib_registrations"]


def _routed_register(kind: str, name: str) -> None:
    client.register(kind, name)


def _routed_unregister(kind: str, name: str) -> None:
    client.unregister(kind, name)


def route_stdlib_registrations() -> None:
    """Send this process's stdlib SharedMemory/SemLock registrations to this tracker.

    Lazy: ``multiprocessing.resource_tracker`` is patched when first imported.
    """
    if supported():
        _stdlib_routing.install(_routed_register, _routed_unregister)


def arm_stdlib_routing() -> None:
    """In a launching parent: route in the children procstart starts here.

    Inert in this process (and in any process procstart did not start): see
    :func:`procstart_tracker._stdlib_routing.arm`. A fork child inherits it
    armed, so it does nothing for the routing at start.
    """
    if supported():
        _stdlib_routing.arm(_routed_register, _routed_unregister)


#: ``procstart.plugin.STDLIB_TRACKER_KEY``, set by the plugin in the parent
#: (a fork child finds it here without touching another module)
stdlib_key: str | None = None


def _stdlib_tracker_inherited(info: ChildInfo) -> bool:
    """True if the parent passed (or, for fork, holds) a running stdlib tracker.

    The plugin lists the stdlib tracker's fd among the handles whenever the
    parent runs one, fork included, so this is one lookup.
    """
    global stdlib_key
    if stdlib_key is None:
        from procstart import plugin

        stdlib_key = plugin.STDLIB_TRACKER_KEY
    return stdlib_key in info.handles


def procstart_child_setup(info: ChildInfo) -> None:
    """Re-attach to the parent's tracker; route the stdlib's objects.

    The stdlib's ``SharedMemory``/``SemLock`` report to the stdlib tracker
    when the parent runs one (it holds the parent's own objects and lives as
    long as the tree: one tracker per name, as with ``multiprocessing``),
    else to this tracker. The child does not announce itself: the parent
    wrote ``HELLO <pid>`` when the launch returned. A fork child never gets
    here (the plugin marks this hook ``fork_inherited``): it inherits the
    attached client and the armed routing.
    """
    fd = info.handles.get(HANDLE_KEY)
    if fd is None or not supported():
        return
    client.attach(fd, os.environ.get(ROOT_ENV))
    if client.fd is None:
        return
    if not _stdlib_tracker_inherited(info):
        route_stdlib_registrations()
