"""procstart: multiprocessing's start methods as installable plugins.

Drop-in for ``multiprocessing``'s module API::

    import procstart
    procstart.set_start_method("spawn")
    p = procstart.Process(target=print, args=("hi",))
    p.start(); p.join()

``procstart.get_context(name)`` returns a ``multiprocessing`` context, so
Pool, Manager, ProcessPoolExecutor(mp_context=...) and friends accept it.
"""

from __future__ import annotations

from ._submodules import SUBMODULES as _SUBMODULES
from ._submodules import import_module as _module
from ._submodules import install as _install_submodule_aliases

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: a spawned child would import typing
if TYPE_CHECKING:
    from typing import Any

__version__ = "0.1.0"

# ``procstart.shared_memory``, ``.managers``, ... are multiprocessing's own
# modules (an import alias: see procstart._submodules)
_install_submodule_aliases()

# Names resolve on first use (PEP 562): a child process that only needs
# procstart.child or a process class must not pay for pluggy, dataclasses or
# importlib.metadata.
_LAZY: dict[str, str] = {
    "AuthenticationError": "multiprocessing",
    "BufferTooShort": "multiprocessing",
    "ProcessError": "multiprocessing",
    "SUBDEBUG": "multiprocessing",
    "SUBWARNING": "multiprocessing",
    "TimeoutError": "multiprocessing",
    "active_children": "multiprocessing.process",
    "current_process": "multiprocessing.process",
    "parent_process": "multiprocessing.process",
    "Resolution": "procstart._resolution",
    "DefaultContext": "procstart._context",
    "ProcstartContext": "procstart._context",
    "get_all_start_methods": "procstart._context",
    "get_context": "procstart._context",
    "get_start_method": "procstart._context",
    "get_start_method_source": "procstart._context",
    "set_start_method": "procstart._context",
    "hookimpl": "procstart._hookspecs",
    "hookspec": "procstart._hookspecs",
    "register_plugin": "procstart._manager",
    "unregister_plugin": "procstart._manager",
    "ChildInfo": "procstart._types",
    "ConfigKey": "procstart._types",
    "InheritedHandle": "procstart._types",
    "LaunchRequest": "procstart._request",
    "PopenLike": "procstart._types",
    "Resource": "procstart._types",
    "ResourceType": "procstart._types",
    "StartMethod": "procstart._types",
    "ConfigError": "procstart.errors",
    "NoStartMethodError": "procstart.errors",
    "PluginConflictError": "procstart.errors",
    "SerializationError": "procstart.errors",
    "register_resource": "procstart.resources",
    "unregister_resource": "procstart.resources",
}

#: bound to the default context, as ``multiprocessing`` binds its module API
_DEFAULT_CONTEXT_API = frozenset(
    {
        "Array",
        "Barrier",
        "BoundedSemaphore",
        "Condition",
        "Event",
        "JoinableQueue",
        "Lock",
        "Manager",
        "Pipe",
        "Pool",
        "Queue",
        "RLock",
        "RawArray",
        "RawValue",
        "Semaphore",
        "SimpleQueue",
        "Value",
        "allow_connection_pickling",
        "cpu_count",
        "freeze_support",
        "get_logger",
        "log_to_stderr",
        "reducer",
        "set_executable",
        "set_forkserver_preload",
    }
)

_default_context: Any = None


def __getattr__(name: str) -> Any:
    global _default_context
    if name == "Process":
        from ._process import Process

        return Process
    if name in _DEFAULT_CONTEXT_API:
        if _default_context is None:
            from ._context import DefaultContext

            _default_context = DefaultContext()
        return getattr(_default_context, name)
    if name in _SUBMODULES:
        return _module(f"procstart.{name}")
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'procstart' has no attribute {name!r}")
    value = getattr(_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(__all__) | {"__version__"})


if TYPE_CHECKING:
    from multiprocessing import AuthenticationError, BufferTooShort, ProcessError, TimeoutError
    from multiprocessing.process import active_children, current_process, parent_process

    from ._context import (
        DefaultContext,
        ProcstartContext,
        get_all_start_methods,
        get_context,
        get_start_method,
        get_start_method_source,
        set_start_method,
    )
    from ._hookspecs import hookimpl, hookspec
    from ._manager import register_plugin, unregister_plugin
    from ._process import Process
    from ._request import LaunchRequest
    from ._resolution import Resolution
    from ._types import (
        ChildInfo,
        ConfigKey,
        InheritedHandle,
        PopenLike,
        Resource,
        ResourceType,
        StartMethod,
    )
    from .errors import ConfigError, NoStartMethodError, PluginConflictError, SerializationError
    from .resources import register_resource, unregister_resource

    _ctx = DefaultContext()
    cpu_count = _ctx.cpu_count
    Manager = _ctx.Manager
    Pipe = _ctx.Pipe
    Lock = _ctx.Lock
    RLock = _ctx.RLock
    Condition = _ctx.Condition
    Semaphore = _ctx.Semaphore
    BoundedSemaphore = _ctx.BoundedSemaphore
    Event = _ctx.Event
    Barrier = _ctx.Barrier
    Queue = _ctx.Queue
    JoinableQueue = _ctx.JoinableQueue
    SimpleQueue = _ctx.SimpleQueue
    Pool = _ctx.Pool
    RawValue = _ctx.RawValue
    RawArray = _ctx.RawArray
    Value = _ctx.Value
    Array = _ctx.Array
    freeze_support = _ctx.freeze_support
    get_logger = _ctx.get_logger
    log_to_stderr = _ctx.log_to_stderr
    allow_connection_pickling = _ctx.allow_connection_pickling
    set_executable = _ctx.set_executable
    set_forkserver_preload = _ctx.set_forkserver_preload
    reducer = _ctx.reducer
    SUBDEBUG: int
    SUBWARNING: int

__all__ = [
    "Array",
    "AuthenticationError",
    "Barrier",
    "BoundedSemaphore",
    "BufferTooShort",
    "ChildInfo",
    "Condition",
    "ConfigError",
    "ConfigKey",
    "DefaultContext",
    "Event",
    "InheritedHandle",
    "JoinableQueue",
    "LaunchRequest",
    "Lock",
    "Manager",
    "NoStartMethodError",
    "Pipe",
    "PluginConflictError",
    "Pool",
    "PopenLike",
    "Process",
    "ProcessError",
    "ProcstartContext",
    "Queue",
    "RLock",
    "RawArray",
    "RawValue",
    "Resolution",
    "Resource",
    "ResourceType",
    "Semaphore",
    "SerializationError",
    "SimpleQueue",
    "StartMethod",
    "TimeoutError",
    "Value",
    "active_children",
    "allow_connection_pickling",
    "cpu_count",
    "current_process",
    "freeze_support",
    "get_all_start_methods",
    "get_context",
    "get_logger",
    "get_start_method",
    "get_start_method_source",
    "hookimpl",
    "hookspec",
    "log_to_stderr",
    "parent_process",
    "reducer",
    "register_plugin",
    "register_resource",
    "set_executable",
    "set_forkserver_preload",
    "set_start_method",
    "unregister_plugin",
    "unregister_resource",
]
