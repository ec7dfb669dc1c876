"""Frozen value types that plugins return from hooks and the core passes around.

Everything here is plain, immutable data: no plugin manager, no I/O, cheap to
import in a child process. The one mutable value of a launch,
:class:`~procstart._request.LaunchRequest`, lives in ``_request.py``.

The values behave as frozen dataclasses (keyword or positional fields,
``repr``, equality and hash over the compared fields, assignment refused,
``replace()``) but are plain slotted classes: creating a dataclass costs
0.3-0.6 ms each at import, and these are imported by every program that
asks for a start method.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable, Mapping

from ._childinfo import ChildInfo
from ._names import normalize_method_name

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: a launch must not import typing
if TYPE_CHECKING:
    from typing import Any

    from ._popenlike import PopenLike
    from ._request import LaunchRequest

__all__ = [
    "ChildInfo",
    "ConfigKey",
    "InheritedHandle",
    "PopenLike",
    "Resource",
    "ResourceType",
    "StartMethod",
    "normalize_method_name",
]


class _Value:
    """Frozen, slotted value: ``_fields`` in order; ``_uncompared`` left out of ==."""

    __slots__: tuple[str, ...] = ()
    #: the fields in their order (positional arguments, ``repr``)
    _fields: tuple[str, ...] = ()
    _uncompared: frozenset[str] = frozenset()

    def _set(self, **fields: Any) -> None:
        for name, value in fields.items():
            object.__setattr__(self, name, value)

    def _compared(self) -> tuple[Any, ...]:
        return tuple(getattr(self, f) for f in self._fields if f not in self._uncompared)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"cannot assign to field {name!r}")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"cannot delete field {name!r}")

    def __repr__(self) -> str:
        shown = ", ".join(f"{f}={getattr(self, f)!r}" for f in self._fields)
        return f"{type(self).__qualname__}({shown})"

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return self._compared() == other._compared()  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return hash(self._compared())

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), tuple(getattr(self, f) for f in self._fields))

    def replace(self, **changes: Any) -> Any:
        """A copy with ``changes`` applied (as ``dataclasses.replace``).

        >>> Resource(kind="file", name="/tmp/a").replace(name="/tmp/b")
        Resource(kind='file', name='/tmp/b')
        """
        unknown = set(changes) - set(self._fields)
        if unknown:
            raise TypeError(f"{type(self).__name__} has no field {sorted(unknown)[0]!r}")
        fields = {f: getattr(self, f) for f in self._fields}
        fields.update(changes)
        return type(self)(**fields)


def _always_available() -> str | None:
    return None


def _no_info() -> Mapping[str, object]:
    return {}


class StartMethod(_Value):
    """A named way of starting a child process, yielded by a plugin.

    ``launcher`` receives a :class:`LaunchRequest` and returns a started
    :class:`PopenLike`. ``unavailable_reason`` returns ``None`` when the
    method works here, otherwise a sentence saying why not. Live state for
    ``procstart methods`` (a server's pid, say) comes from the plugin's
    ``procstart_status`` hook; ``info`` is the older spelling of it, still
    honoured (shown as the plugin's status when it has no such hook).

    - ``inherits_all_fds``: True for fork-like methods: the child already
      holds every fd of the parent, so handles need not be sent (they keep
      their numbers);
    - ``context_api``: context attributes this method provides in place of
      the stdlib's (``Queue``, ``Lock``, ``Pool``...), each a callable taking
      the context first: for methods whose children do not share this
      machine's kernel objects (a cluster), so that ``ctx.Queue()`` makes one
      that reaches them (not compared);
    - ``remote``: True when children run on other machines (a cluster): their
      pids are not this host's, so trackers leave them alone, and the method
      is never picked as the platform default;
    - ``child_setup``: child setup for children of this method only:
      ``"module"`` (its ``procstart_child_setup`` is called) or
      ``"module:function"``; it runs after the plugins'
      ``procstart_child_setup`` hooks, and children of other methods never
      import these modules;
    - ``distribution``, ``version``, ``plugin``: set by the core: the
      distribution that provided the method, its version, and the plugin
      that yielded it (not compared).

    >>> from procstart.popen import ChildPopen
    >>> StartMethod(name="Mine", launcher=lambda request: ...).name
    'mine'
    """

    __slots__ = (
        "child_setup",
        "context_api",
        "description",
        "distribution",
        "info",
        "inherits_all_fds",
        "launcher",
        "name",
        "plugin",
        "remote",
        "unavailable_reason",
        "version",
    )
    _fields = (
        "name",
        "launcher",
        "description",
        "unavailable_reason",
        "info",
        "inherits_all_fds",
        "context_api",
        "remote",
        "child_setup",
        "distribution",
        "version",
        "plugin",
    )
    _uncompared = frozenset({"context_api", "distribution", "version", "plugin"})

    name: str
    launcher: Callable[[LaunchRequest], PopenLike]
    description: str
    unavailable_reason: Callable[[], str | None]
    #: deprecated: implement ``procstart_status`` instead
    info: Callable[[], Mapping[str, object]]
    inherits_all_fds: bool
    context_api: Mapping[str, Callable[..., Any]]
    remote: bool
    child_setup: tuple[str, ...]
    distribution: str
    version: str
    plugin: str

    def __init__(  # noqa: PLR0917 - positional, as the dataclass it was
        self,
        name: str,
        launcher: Callable[[LaunchRequest], PopenLike],
        description: str = "",
        unavailable_reason: Callable[[], str | None] = _always_available,
        info: Callable[[], Mapping[str, object]] = _no_info,
        inherits_all_fds: bool = False,
        context_api: Mapping[str, Callable[..., Any]] | None = None,
        remote: bool = False,
        child_setup: tuple[str, ...] = (),
        distribution: str = "",
        version: str = "",
        plugin: str = "",
    ) -> None:
        name = normalize_method_name(name)
        if not callable(launcher):
            raise TypeError(f"StartMethod {name!r}: launcher must be callable")
        if isinstance(child_setup, str) or not all(
            isinstance(ref, str) and ref.strip() for ref in child_setup
        ):
            raise TypeError(
                f"StartMethod {name!r}: child_setup must be a tuple of "
                f"'module' or 'module:function' strings, got {child_setup!r}"
            )
        self._set(
            name=name,
            launcher=launcher,
            description=description,
            unavailable_reason=unavailable_reason,
            info=info,
            inherits_all_fds=inherits_all_fds,
            context_api={} if context_api is None else context_api,
            remote=remote,
            child_setup=tuple(child_setup),
            distribution=distribution,
            version=version,
            plugin=plugin,
        )

    @property
    def is_available(self) -> bool:
        """True when the method can start children on this platform."""
        return self.unavailable_reason() is None


class InheritedHandle(_Value):
    """A file descriptor a plugin wants every child to receive.

    ``key`` names it so that the child finds its number again with
    :func:`procstart.child.inherited_fd` (numbers may change on the way,
    e.g. through a fork server).

    >>> InheritedHandle(key="my-tracker", fd=7)
    InheritedHandle(key='my-tracker', fd=7)
    """

    __slots__ = (
        "fd",
        "key",
    )
    _fields = (
        "key",
        "fd",
    )
    key: str
    fd: int

    def __init__(self, key: str, fd: int) -> None:
        self._set(key=key, fd=fd)


class Resource(_Value):
    """A named resource that must not outlive the program that made it.

    ``kind`` is one of ``shared_memory``, ``semaphore``, ``file``,
    ``folder`` or a kind a plugin added with ``procstart_resource_types``.

    >>> Resource(kind="shared_memory", name="/psm_1234")
    Resource(kind='shared_memory', name='/psm_1234')
    """

    __slots__ = (
        "kind",
        "name",
    )
    _fields = (
        "kind",
        "name",
    )
    kind: str
    name: str

    def __init__(self, kind: str, name: str) -> None:
        self._set(kind=kind, name=name)


class ResourceType(_Value):
    """A kind of resource a plugin teaches the tracker to clean up.

    ``cleanup`` is an importable ``"module:function"`` reference, called with
    the resource's name in the tracker process.

    >>> ResourceType(kind="redis-key", cleanup="myplugin.cleanup:delete_key")
    ResourceType(kind='redis-key', cleanup='myplugin.cleanup:delete_key')
    """

    __slots__ = (
        "cleanup",
        "kind",
    )
    _fields = (
        "kind",
        "cleanup",
    )
    kind: str
    cleanup: str

    def __init__(self, kind: str, cleanup: str) -> None:
        self._set(kind=kind, cleanup=cleanup)


class ConfigKey(_Value):
    """A ``[tool.procstart]`` key a plugin reads, with its expected type.

    - ``type``: ``str``, ``bool``, ``int``, ``float`` or ``list`` (of strings);
    - ``description``: one sentence; ``procstart config --markdown`` puts it
      in the configuration reference;
    - ``default``: the value in effect when nothing sets the key (what
      ``procstart config`` shows; ``procstart.plugin.config_value`` returns it);
    - ``env``: a ``PROCSTART_*`` variable that, when set, beats the file
      (parsed as the key's type: ``1/true/yes/on``, ``0/false/no/off`` for
      booleans, comma-separated for arrays).

    >>> ConfigKey(name="nice-level", type=int, description="niceness", default=0).default
    0
    """

    __slots__ = (
        "default",
        "description",
        "env",
        "name",
        "type",
    )
    _fields = (
        "name",
        "type",
        "description",
        "default",
        "env",
    )
    name: str
    type: builtins.type
    description: str
    default: Any
    env: str | None

    def __init__(
        self,
        name: str,
        type: builtins.type,
        description: str = "",
        default: Any = None,
        env: str | None = None,
    ) -> None:
        if type not in (str, bool, int, float, list):
            raise TypeError(
                f"ConfigKey {name!r}: type must be str, bool, int, float or list, not {type!r}"
            )
        if env is not None and not env.startswith("PROCSTART_"):
            raise ValueError(f"ConfigKey {name!r}: env {env!r} must start with PROCSTART_")
        self._set(name=name, type=type, description=description, default=default, env=env)


def __getattr__(name: str) -> object:
    # PopenLike is a typing.Protocol: importing typing costs a one-child
    # program 2-3 ms, so it is defined (and typing imported) on first use
    if name == "PopenLike":
        from ._popenlike import PopenLike

        return PopenLike
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
