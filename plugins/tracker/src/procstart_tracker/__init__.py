"""procstart-tracker: nothing leaks and nothing is orphaned when a parent dies.

One tracker process per top-level parent, started on first need. Every
descendant, whatever its start method, reports to it through an inherited
pipe. When the top-level parent dies (even by SIGKILL) the tracker
terminates its remaining descendants (``[tool.procstart]
children-die-with-parent``, on by default) and cleans every resource still
registered: shared memory, semaphores, files, folders and kinds other
plugins add with ``procstart_resource_types``.

>>> import procstart
>>> procstart.register_resource("folder", "/tmp/my-scratch")  # doctest: +SKIP
True
"""

from __future__ import annotations

import os

from ._client import HANDLE_KEY, ROOT_ENV, SERVER_ENV, TrackerWarning, client
from ._plugin import (
    install_bridge,
    procstart_child_setup,
    procstart_inherited_handles,
    procstart_launch,
    procstart_register_resource,
    procstart_status,
    procstart_unregister_resource,
)

__version__ = "0.1.0"
__all__ = [
    "HANDLE_KEY",
    "ROOT_ENV",
    "TrackerWarning",
    "procstart_child_setup",
    "procstart_inherited_handles",
    "procstart_launch",
    "procstart_register_resource",
    "procstart_status",
    "procstart_unregister_resource",
    "status",
]


def status() -> dict[str, object]:
    """This process's view of the tracker (state, pid, root, option).

    >>> sorted(status())  # doctest: +SKIP
    ['children-die-with-parent', 'pid', 'root', 'tracker']
    """
    return client.status()


if not os.environ.get(SERVER_ENV):
    # loaded as a plugin: from now on SharedMemory and SemLock report here
    install_bridge()
