"""Frozen value types that plugins return from hooks and the core passes around.

Everything here is plain data: no plugin manager, no I/O, cheap to import in a
child process.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from ._childinfo import ChildInfo
from ._names import normalize_method_name

if TYPE_CHECKING:
    from multiprocessing.context import BaseContext
    from multiprocessing.process import BaseProcess

__all__ = [
    "ChildInfo",
    "ConfigKey",
    "InheritedHandle",
    "LaunchRequest",
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
    method works here, otherwise a sentence saying why not. ``info`` returns
    live state for ``procstart methods`` (a server's pid, say).

    >>> from procstart.popen import ChildPopen
    >>> StartMethod(name="Mine", launcher=lambda request: ...).name
    'mine'
    """

    name: str
    launcher: Callable[[LaunchRequest], PopenLike]
    description: str = ""
    unavailable_reason: Callable[[], str | None] = _always_available
    info: Callable[[], Mapping[str, object]] = _no_info
    #: True for fork-like methods: the child already holds every fd of the
    #: parent, so handles need not be sent (they keep their numbers)
    inherits_all_fds: bool = False
    #: set by the core: the distribution that provided the method
    distribution: str = field(default="", compare=False)
    #: set by the core: that distribution's version
    version: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "name", normalize_method_name(self.name))
        if not callable(self.launcher):
            raise TypeError(f"StartMethod {self.name!r}: launcher must be callable")

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


@dataclass(slots=True)
class LaunchRequest:
    """Everything a launcher needs to start one child; hook wrappers may edit it.

    - ``process``: the ``BaseProcess`` being started;
    - ``method``: the chosen :class:`StartMethod`;
    - ``context``: the procstart context the process belongs to;
    - ``handles``: fds every child must receive (from the handle-inheritance
      hook), on top of those the pickled arguments ask for;
    - ``env``: environment overrides applied before the child's target runs
      (before the interpreter starts for exec-based methods);
    - ``child_setup``: plugins whose ``procstart_child_setup`` runs in the
      child, as references the child can import without scanning entry points;
    - ``options``: free-form values plugins pass to their own launcher.
    """

    process: BaseProcess
    method: StartMethod
    context: BaseContext
    handles: list[InheritedHandle] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    child_setup: list[Any] = field(default_factory=list)
    options: dict[str, Any] = field(default_factory=dict)
