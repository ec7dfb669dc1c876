"""The hook implementations that wire the tracker into procstart.

This module is what the ``procstart`` entry point names: loading the plugin
imports it, and from then on the stdlib's SharedMemory and SemLock report to
the tracker (:func:`install_bridge`, at the end). The child-side hook is
defined in :mod:`._child`, which children import without this module (no
pluggy there); only the ``hookimpl`` marker is applied here.
"""

from __future__ import annotations

import os
from collections.abc import Generator, Iterator, Mapping
from typing import Any

import procstart

from . import _child
from ._child import install_bridge
from ._client import HANDLE_KEY, ROOT_ENV, SERVER_ENV, client, supported

__all__ = [
    "install_bridge",
    "procstart_child_setup",
    "procstart_inherited_handles",
    "procstart_launch",
    "procstart_register_resource",
    "procstart_status",
    "procstart_unregister_resource",
]

#: keeps ``__module__`` = ``procstart_tracker._child``: a child imports only that
procstart_child_setup = procstart.hookimpl(_child.procstart_child_setup)


@procstart.hookimpl
def procstart_inherited_handles(
    request: procstart.LaunchRequest,
) -> Iterator[procstart.InheritedHandle]:
    """Every child gets the tracker's pipe (the tracker starts on this first need)."""
    if supported():
        yield procstart.InheritedHandle(key=HANDLE_KEY, fd=client.ensure_running())


@procstart.hookimpl(wrapper=True)
def procstart_launch(request: procstart.LaunchRequest) -> Generator[None, Any, Any]:
    """Tell the child where the root is; record its pid as soon as it exists."""
    if supported() and client.fd is not None:
        request.env[ROOT_ENV] = client.root_token()
    popen = yield
    # a remote method's pid belongs to another host: never track it here
    if supported() and client.fd is not None and not request.method.remote:
        client.child_started(popen.pid)
    return popen


@procstart.hookimpl
def procstart_register_resource(resource: procstart.Resource) -> bool | None:
    """Track ``resource`` (reference counted by holder process)."""
    if not supported():
        return None
    client.register(resource.kind, resource.name)
    return True


@procstart.hookimpl
def procstart_unregister_resource(resource: procstart.Resource) -> bool | None:
    """Forget ``resource``: it was released normally and will not be touched."""
    if not supported():
        return None
    client.unregister(resource.kind, resource.name)
    return True


@procstart.hookimpl
def procstart_status() -> Mapping[str, object] | None:
    """``procstart methods`` shows whether the tracker is installed and running."""
    if not supported():
        return {"tracker": "unsupported on this platform"}
    return client.status()


if not os.environ.get(SERVER_ENV):
    # loaded as a plugin: from now on SharedMemory and SemLock report here
    install_bridge()
