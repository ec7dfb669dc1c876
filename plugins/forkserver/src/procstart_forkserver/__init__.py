"""procstart-forkserver: the ``forkserver`` start method, faster and safer.

A server process per parent, started on first use as a fresh interpreter,
imports the preload modules (by default the parent's ``__main__``) once and
forks every child from there: children start fast, share the preloaded
memory copy-on-write, and receive only the fds they asked for. Connections
to the server are authenticated with a per-server secret; a server that dies
is replaced on the next ``start()``.

Public names: :class:`ForkServerPopen`, :data:`SERVER_DIED_EXITCODE`,
:class:`PreloadWarning`, :class:`ServerDiedWarning`, :func:`server_info`,
:func:`stop_server`.
"""

from __future__ import annotations

from procstart.plugin import lazy_attach

# no typing import: the server process imports this package and must start fast
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping

    from ._client import PreloadWarning, ServerDiedWarning
    from ._plugin import (
        procstart_config_keys,
        procstart_start_methods,
        procstart_status,
    )
    from ._popen import SERVER_DIED_EXITCODE, ForkServerPopen

__version__ = "0.1.0"
__all__ = [
    "SERVER_DIED_EXITCODE",
    "ForkServerPopen",
    "PreloadWarning",
    "ServerDiedWarning",
    "procstart_config_keys",
    "procstart_start_methods",
    "procstart_status",
    "server_info",
    "stop_server",
]

# resolved on first use: the server process imports this package and must
# not pay for pluggy or the client side (pluggy finds the hook through
# __getattr__/__dir__ like any attribute)
_LAZY = {
    "procstart_config_keys": "._plugin",
    "procstart_start_methods": "._plugin",
    "procstart_status": "._plugin",
    "SERVER_DIED_EXITCODE": "._popen",
    "ForkServerPopen": "._popen",
    "PreloadWarning": "._client",
    "ServerDiedWarning": "._client",
}


_HOOKS = (
    "procstart_config_keys",
    "procstart_start_methods",
    "procstart_status",
)


__getattr__, _lazy_dir = lazy_attach(__name__, _LAZY)


def __dir__() -> list[str]:
    # pluggy lists a plugin's names with dir() and then reads the module's
    # __dict__ (no __getattr__): bind the hooks now, so registration sees them
    for name in _HOOKS:
        __getattr__(name)
    return _lazy_dir()


def server_info() -> Mapping[str, object]:
    """This process's fork server: ``server`` (running / not started), ``pid``, preloads.

    >>> server_info()["server"]  # doctest: +SKIP
    'not started'
    """
    from ._client import info

    return info()


def stop_server(timeout: float = 5.0) -> None:
    """Stop this process's fork server; children it started keep running.

    The next ``start()`` starts a new server (with the preload list then in
    effect).
    """
    from ._client import stop

    stop(timeout)
