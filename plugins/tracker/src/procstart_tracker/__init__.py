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

The plugin itself is :mod:`procstart_tracker._plugin` (the entry point).
Every child imports this package (it holds the child-side hook's module),
so it imports nothing here: the public names resolve on first use (PEP 562).
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs a child ~1.5 ms to import; annotations only
    from ._child import route_stdlib_registrations as route_stdlib_registrations
    from ._client import HANDLE_KEY, ROOT_ENV, TrackerWarning
    from ._client import SERVER_ENV as SERVER_ENV
    from ._plugin import (
        procstart_child_setup,
        procstart_inherited_handles,
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
    "procstart_register_resource",
    "procstart_status",
    "procstart_unregister_resource",
    "status",
]

_LAZY = {
    "HANDLE_KEY": "._client",
    "ROOT_ENV": "._client",
    "SERVER_ENV": "._client",
    "TrackerWarning": "._client",
    "route_stdlib_registrations": "._child",
    "procstart_child_setup": "._plugin",
    "procstart_inherited_handles": "._plugin",
    "procstart_register_resource": "._plugin",
    "procstart_status": "._plugin",
    "procstart_unregister_resource": "._plugin",
}


# Not procstart.plugin.lazy_attach: the tracker process imports this package
# too, and it must not pay for importing procstart (it starts while the
# program runs, and holds the program's stderr until it exits).
def __getattr__(name: str) -> object:
    """Resolve a public name from its submodule on first use (then cached)."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib  # here: importlib's package imports warnings

    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})


def status() -> dict[str, object]:
    """This process's view of the tracker (state, pid, root, option).

    >>> sorted(status())  # doctest: +SKIP
    ['children-die-with-parent', 'pid', 'root', 'tracker']
    """
    from ._client import client

    return client.status()
