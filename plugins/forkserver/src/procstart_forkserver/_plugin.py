"""Registers the ``forkserver`` method with procstart."""

from __future__ import annotations

import os
import socket
import sys
from collections.abc import Iterator, Mapping

import procstart

#: the ``[tool.procstart]`` key this plugin reads, and its default: the
#: parent's main module, as Python 3.14 intends
PRELOAD_KEY = "forkserver-preload"
DEFAULT_PRELOAD = ("__main__",)


def _unavailable() -> str | None:
    if not hasattr(os, "fork"):
        return f"os.fork() does not exist on {sys.platform}"
    if not hasattr(socket, "AF_UNIX") or not hasattr(socket, "send_fds"):
        return f"passing fds over AF_UNIX sockets is not supported on {sys.platform}"
    return None


def _launch(request: procstart.LaunchRequest) -> procstart.PopenLike:
    from ._client import ensure_running

    # first use: the server's interpreter starts while this process pickles
    # the payload (no launch wrapper for this: a wrapper would bring pluggy's
    # hook call into every forkserver launch)
    ensure_running()
    from ._popen import ForkServerPopen

    return ForkServerPopen(request.process, request)


@procstart.hookimpl
def procstart_status() -> Mapping[str, object]:
    """This process's fork server, for ``procstart methods``.

    >>> procstart_status()["server"]  # doctest: +SKIP
    'not started'
    """
    from ._client import info

    return info()


@procstart.hookimpl
def procstart_start_methods() -> Iterator[procstart.StartMethod]:
    """Provide ``forkserver``.

    >>> [m.name for m in procstart_start_methods()]
    ['forkserver']
    """
    yield procstart.StartMethod(
        name="forkserver",
        launcher=_launch,
        description="forked by a per-parent server that preloads modules; "
        "only requested fds reach the child",
        unavailable_reason=_unavailable,
    )


@procstart.hookimpl
def procstart_config_keys() -> Iterator[procstart.ConfigKey]:
    """Declare ``[tool.procstart] forkserver-preload``.

    >>> [key.name for key in procstart_config_keys()]
    ['forkserver-preload']
    """
    yield procstart.ConfigKey(
        name=PRELOAD_KEY,
        type=list,
        default=list(DEFAULT_PRELOAD),
        description="modules the fork server imports before it forks children "
        '(`"__main__"` is the program\'s main module); `set_forkserver_preload()` in code '
        "beats it; a module that fails to import is reported as a warning",
    )
