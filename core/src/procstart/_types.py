"""Frozen value types that plugins return from hooks and the core passes around.

Everything here is plain, immutable data: no plugin manager, no I/O, cheap to
import in a child process. The one mutable value of a launch,
:class:`~procstart._request.LaunchRequest`, lives in ``_request.py``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from ._childinfo import ChildInfo
from ._names import normalize_method_name

if TYPE_CHECKING:
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


@runtime_checkable
class PopenLike(Protocol):
    """What a launcher returns: the handle ``BaseProcess`` drives.

    It is the interface of ``multiprocessing.popen_*.Popen``; subclass
    :class:`procstart.popen.ChildPopen` to get all of it for a child of the
    current process.
    """

    pid: int
    sentinel: int
    returncode: int | None

    def poll(self, flag: int = ...) -> int | None: ...
    def wait(self, timeout: float | None = None) -> int | None: ...
    def terminate(self) -> None: ...
    def kill(self) -> None: ...
    def close(self) -> None: ...
    def duplicate_for_child(self, fd: int) -> int: ...


def _always_available() -> str | None:
    return None


def _no_info() -> Mapping[str, object]:
    return {}


@dataclass(frozen=True)
class StartMethod:
    """A named way of starting a child process, yielded by a plugin.

    ``launcher`` receives a :class:`LaunchRequest` and returns a started
    :class:`PopenLike`. ``unavailable_reason`` returns ``None`` when the
    method works here, otherwise a sentence saying why not. Live state for
    ``procstart methods`` (a server's pid, say) comes from the plugin's
    ``procstart_status`` hook; ``info`` is the older spelling of it, still
    honoured (shown as the plugin's status when it has no such hook).

    >>> from procstart.popen import ChildPopen
    >>> StartMethod(name="Mine", launcher=lambda request: ...).name
    'mine'
    """

    name: str
    launcher: Callable[[LaunchRequest], PopenLike]
    description: str = ""
    unavailable_reason: Callable[[], str | None] = _always_available
    #: deprecated: implement ``procstart_status`` instead
    info: Callable[[], Mapping[str, object]] = _no_info
    #: True for fork-like methods: the child already holds every fd of the
    #: parent, so handles need not be sent (they keep their numbers)
    inherits_all_fds: bool = False
    #: context attributes this method provides in place of the stdlib's
    #: (``Queue``, ``Lock``, ``Pool``...), each a callable taking the context
    #: first: for methods whose children do not share this machine's kernel
    #: objects (a cluster), so that ``ctx.Queue()`` makes one that reaches them
    context_api: Mapping[str, Callable[..., Any]] = field(default_factory=dict, compare=False)
    #: True when children run on other machines (a cluster): their pids are
    #: not this host's, so trackers leave them alone, and the method is never
    #: picked as the platform default
    remote: bool = False
    #: child setup for children of this method only: ``"module"`` (its
    #: ``procstart_child_setup`` is called) or ``"module:function"``; it runs
    #: after the plugins' ``procstart_child_setup`` hooks, and children of
    #: other methods never import these modules
    child_setup: tuple[str, ...] = ()
    #: set by the core: the distribution that provided the method
    distribution: str = field(default="", compare=False)
    #: set by the core: that distribution's version
    version: str = field(default="", compare=False)
    #: set by the core: the name of the plugin that yielded the method
    plugin: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "name", normalize_method_name(self.name))
        if not callable(self.launcher):
            raise TypeError(f"StartMethod {self.name!r}: launcher must be callable")
        if isinstance(self.child_setup, str) or not all(
            isinstance(ref, str) and ref.strip() for ref in self.child_setup
        ):
            raise TypeError(
                f"StartMethod {self.name!r}: child_setup must be a tuple of "
                f"'module' or 'module:function' strings, got {self.child_setup!r}"
            )
        object.__setattr__(self, "child_setup", tuple(self.child_setup))

    @property
    def is_available(self) -> bool:
        """True when the method can start children on this platform."""
        return self.unavailable_reason() is None


@dataclass(frozen=True)
class InheritedHandle:
    """A file descriptor a plugin wants every child to receive.

    ``key`` names it so that the child finds its number again with
    :func:`procstart.child.inherited_fd` (numbers may change on the way,
    e.g. through a fork server).

    >>> InheritedHandle(key="my-tracker", fd=7)
    InheritedHandle(key='my-tracker', fd=7)
    """

    key: str
    fd: int


@dataclass(frozen=True)
class Resource:
    """A named resource that must not outlive the program that made it.

    ``kind`` is one of ``shared_memory``, ``semaphore``, ``file``,
    ``folder`` or a kind a plugin added with ``procstart_resource_types``.

    >>> Resource(kind="shared_memory", name="/psm_1234")
    Resource(kind='shared_memory', name='/psm_1234')
    """

    kind: str
    name: str


@dataclass(frozen=True)
class ResourceType:
    """A kind of resource a plugin teaches the tracker to clean up.

    ``cleanup`` is an importable ``"module:function"`` reference, called with
    the resource's name in the tracker process.

    >>> ResourceType(kind="redis-key", cleanup="myplugin.cleanup:delete_key")
    ResourceType(kind='redis-key', cleanup='myplugin.cleanup:delete_key')
    """

    kind: str
    cleanup: str


@dataclass(frozen=True)
class ConfigKey:
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

    name: str
    type: type
    description: str = ""
    default: Any = None
    env: str | None = None

    def __post_init__(self) -> None:
        if self.type not in (str, bool, int, float, list):
            raise TypeError(
                f"ConfigKey {self.name!r}: type must be str, bool, int, float or list, "
                f"not {self.type!r}"
            )
        if self.env is not None and not self.env.startswith("PROCSTART_"):
            raise ValueError(
                f"ConfigKey {self.name!r}: env {self.env!r} must start with PROCSTART_"
            )
