"""The hook implementations that wire the tracker into procstart."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Generator, Iterator, Mapping
from typing import Any

import procstart

from . import _stdlib_bridge
from ._client import HANDLE_KEY, ROOT_ENV, client, supported


def _bridge_register(kind: str, name: str) -> None:
    client.register(kind, name)


def _bridge_unregister(kind: str, name: str) -> None:
    client.unregister(kind, name)


def install_bridge() -> None:
    """Send the stdlib's SharedMemory/SemLock registrations to this tracker."""
    if supported():
        _stdlib_bridge.install(_bridge_register, _bridge_unregister)


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
    if supported() and client.fd is not None:
        client.child_started(popen.pid)
    return popen


@procstart.hookimpl
def procstart_child_setup(info: procstart.ChildInfo) -> None:
    """Re-attach to the parent's tracker and say hello (grandchildren too)."""
    fd = info.handles.get(HANDLE_KEY)
    if fd is None or not supported():
        return
    client.attach(fd, os.environ.get(ROOT_ENV))
    install_bridge()
    with contextlib.suppress(OSError):  # never fail a child for the tracker's sake
        client.hello()


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
