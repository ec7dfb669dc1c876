"""The one public module for plugin authors.

Everything a start method, a tracker or a launch wrapper needs from the core
is here; a plugin imports ``procstart`` (the ``multiprocessing`` API) and
``procstart.plugin``, nothing else. CI enforces it (``make lint-imports``).

The shape of a start method (``docs/plugin-guide.md`` has a complete one,
built and run by the test suite)::

    import procstart.plugin as psp

    class MinePopen(psp.ChildPopen):
        method = "mine"

        def _launch(self, process_obj, request):
            ...  # start the child; set self.pid, self.sentinel; self.own_fds(...)

    @psp.hookimpl
    def procstart_start_methods():
        yield psp.StartMethod(
            name="mine", launcher=lambda request: MinePopen(request.process, request)
        )

Names resolve on first use (PEP 562): a child that imports this module pays
only for what it touches.
"""

from __future__ import annotations

from ._submodules import import_module

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: children import this module
if TYPE_CHECKING:
    from typing import Any

#: public name -> (module, attribute); a module itself when attribute is ""
_EXPORTS: dict[str, tuple[str, str]] = {
    # hook markers
    "hookimpl": ("procstart._hookspecs", "hookimpl"),
    "hookspec": ("procstart._hookspecs", "hookspec"),
    # values plugins return or receive
    "StartMethod": ("procstart._types", "StartMethod"),
    "LaunchRequest": ("procstart._request", "LaunchRequest"),
    "InheritedHandle": ("procstart._types", "InheritedHandle"),
    "Resource": ("procstart._types", "Resource"),
    "ResourceType": ("procstart._types", "ResourceType"),
    "ConfigKey": ("procstart._types", "ConfigKey"),
    "PopenLike": ("procstart._types", "PopenLike"),
    "ChildInfo": ("procstart._types", "ChildInfo"),
    # errors
    "ConfigError": ("procstart.errors", "ConfigError"),
    "SerializationError": ("procstart.errors", "SerializationError"),
    # launcher building blocks
    "ChildPopen": ("procstart.popen", "ChildPopen"),
    "close_fds": ("procstart.popen", "close_fds"),
    "IndexedFd": ("procstart._fds", "IndexedFd"),
    "PassedFd": ("procstart._fds", "PassedFd"),
    "ForkedChild": ("procstart.forked", "ForkedChild"),
    "fork_atexit": ("procstart.fork_atexit", ""),
    "payload": ("procstart.payload", ""),
    # pickling a process object as a launcher does: Queues/Locks agree to be
    # pickled and ask this popen for their fds (``with spawning(popen): ...``)
    "spawning": ("procstart.serialization", "spawning"),
    "Preparation": ("procstart.child", "Preparation"),
    "main_reference": ("procstart.payload", "main_reference"),
    "write_all": ("procstart.payload", "write_all"),
    "child": ("procstart.child", ""),
    # resources
    "STDLIB_TRACKER_KEY": ("procstart._stdlib_tracker", "HANDLE_KEY"),
    "stdlib_tracker_fd": ("procstart._stdlib_tracker", "running_fd"),
    "register_resource": ("procstart.resources", "register_resource"),
    "unregister_resource": ("procstart.resources", "unregister_resource"),
    # helpers for light plugin packages
    "lazy_attach": ("procstart.lazy", "attach"),
    "after_import": ("procstart.importhook", "after_import"),
    "cancel_after_import": ("procstart.importhook", "cancel"),
    "after_import_pending": ("procstart.importhook", "pending"),
    # cheap fork children: work the parent does instead of the child
    "after_launch": ("procstart._launch", "after_launch"),
    "fork_inherited": ("procstart.forked", "fork_inherited"),
    "started_with": ("procstart._context", "started_with"),
    "launch_wrapper_for": ("procstart._launch", "launch_wrapper_for"),
    "once_per_fork_parent": ("procstart._launch", "once_per_fork_parent"),
}


def config_value(key: str, default: Any = None) -> Any:
    """The value of ``[tool.procstart] key`` for this process, or ``default``.

    A plugin reads only the keys it declared with ``procstart_config_keys``:
    the key's ``PROCSTART_*`` variable beats the file, which beats ``default``
    (or, when ``default`` is None, the key's declared default). The table is
    validated on first use (a wrong type raises ``ConfigError`` naming the
    file, the dotted key and the value).

    >>> config_value("no-such-key", 3)  # doctest: +SKIP
    3
    """
    from . import config

    return config.get(key, default)


def config_entry(key: str) -> ConfigEntry:
    """The value in effect of ``key`` and where it came from.

    ``source`` is ``environment`` (the key's ``PROCSTART_*`` variable;
    ``detail`` is ``NAME=value``), ``pyproject`` (``detail`` is the file) or
    ``default``: enough for a plugin to say why it behaves as it does.

    >>> config_entry("spawn-fast-startup").source  # doctest: +SKIP
    'default'
    """
    from . import config

    return config.entry(key)


def config_file() -> str | None:
    """Path of the ``pyproject.toml`` whose ``[tool.procstart]`` applies, if any.

    >>> config_file()  # doctest: +SKIP
    '/home/me/project/pyproject.toml'
    """
    from ._pyproject import project_config

    return project_config().path


def executable() -> str:
    """The interpreter children should run (``set_executable()`` or ``sys.executable``).

    >>> executable()  # doctest: +SKIP
    '/usr/bin/python3'
    """
    import sys

    from ._settings import settings

    return settings.executable or sys.executable


def forkserver_preload() -> list[str] | None:
    """The list given to ``set_forkserver_preload()`` in code, or None if never called.

    >>> forkserver_preload()  # doctest: +SKIP
    ['__main__']
    """
    from ._settings import settings

    chosen = settings.forkserver_preload
    return None if chosen is None else list(chosen)


def child_setup_refs() -> list[Any]:
    """Every installed ``procstart_child_setup`` as a reference a child can import.

    Server-based methods preload the modules these name so that forked
    children find them loaded.

    >>> child_setup_refs()  # doctest: +SKIP
    ['procstart_tracker._child:procstart_child_setup']
    """
    from . import _manager

    # the launch plan's copy: on a warm cache it comes without pluggy's manager
    return list(_manager.plugins().launch_plan().child_setup)


def child_modules() -> tuple[str, ...]:
    """Every ``procstart`` module a child may import before its target runs.

    A launcher that prepares children ahead (a fork server importing them
    once, spawn shipping their bytecode) uses this list instead of keeping
    its own.

    >>> "procstart.child" in child_modules()
    True
    """
    from .child import CHILD_MODULES

    return CHILD_MODULES


def hook() -> Any:
    """pluggy's hook relay: call a hook your plugin declared itself.

    A hook only one plugin calls is declared by that plugin
    (``procstart_hookspecs``, see ``docs/hooks.md``); that plugin calls it
    here, through pluggy, as procstart calls its own hooks. Other plugins
    implement it with ``@procstart.hookimpl(optionalhook=True)``, so that
    they still load where the declaring plugin is not installed.

    >>> [t.kind for batch in hook().procstart_resource_types() for t in batch]  # doctest: +SKIP
    ['limits-scratch']
    """
    from . import _manager

    return _manager.plugins().pm.hook


def stdlib_tracker_handle() -> Any:
    """The stdlib resource tracker's fd as an ``InheritedHandle``, if it runs here.

    Never starts the stdlib's tracker. A tracker plugin that leaves the
    top-level program's ``SharedMemory``/``SemLock`` to the stdlib passes this
    to children so the stdlib's tracker lives as long as the tree (children
    are attached to it as the stdlib's own spawn children are).

    >>> stdlib_tracker_handle() is None  # doctest: +SKIP
    True
    """
    from . import _stdlib_tracker
    from ._types import InheritedHandle

    fd = _stdlib_tracker.running_fd()
    return None if fd is None else InheritedHandle(_stdlib_tracker.HANDLE_KEY, fd)


def __getattr__(name: str) -> Any:
    try:
        module, attribute = _EXPORTS[name]
    except KeyError:
        raise AttributeError(f"module 'procstart.plugin' has no attribute {name!r}") from None
    loaded = import_module(module)
    value = loaded if not attribute else getattr(loaded, attribute)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


if TYPE_CHECKING:
    from . import child, fork_atexit, payload
    from ._context import started_with
    from ._fds import IndexedFd, PassedFd
    from ._hookspecs import hookimpl, hookspec
    from ._launch import after_launch, launch_wrapper_for, once_per_fork_parent
    from ._request import LaunchRequest
    from ._stdlib_tracker import HANDLE_KEY as STDLIB_TRACKER_KEY
    from ._stdlib_tracker import running_fd as stdlib_tracker_fd
    from ._types import (
        ChildInfo,
        ConfigKey,
        InheritedHandle,
        PopenLike,
        Resource,
        ResourceType,
        StartMethod,
    )
    from .child import Preparation
    from .config import ConfigEntry
    from .errors import ConfigError, SerializationError
    from .forked import ForkedChild, fork_inherited
    from .importhook import after_import
    from .importhook import cancel as cancel_after_import
    from .importhook import pending as after_import_pending
    from .lazy import attach as lazy_attach
    from .payload import main_reference, write_all
    from .popen import ChildPopen, close_fds
    from .resources import register_resource, unregister_resource
    from .serialization import spawning

__all__ = [
    "ChildInfo",
    "ChildPopen",
    "ConfigError",
    "ConfigKey",
    "ForkedChild",
    "IndexedFd",
    "InheritedHandle",
    "LaunchRequest",
    "PassedFd",
    "PopenLike",
    "Preparation",
    "Resource",
    "ResourceType",
    "STDLIB_TRACKER_KEY",
    "SerializationError",
    "StartMethod",
    "after_import",
    "after_import_pending",
    "cancel_after_import",
    "child",
    "child_modules",
    "child_setup_refs",
    "close_fds",
    "config_entry",
    "config_file",
    "config_value",
    "executable",
    "fork_atexit",
    "forkserver_preload",
    "hookimpl",
    "hookspec",
    "hook",
    "lazy_attach",
    "main_reference",
    "payload",
    "register_resource",
    "spawning",
    "started_with",
    "stdlib_tracker_fd",
    "stdlib_tracker_handle",
    "unregister_resource",
    "write_all",
    "after_launch",
    "fork_inherited",
    "launch_wrapper_for",
    "once_per_fork_parent",
]
