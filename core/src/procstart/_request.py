"""``LaunchRequest``: the one mutable value of a launch (hook wrappers edit it)."""

from __future__ import annotations

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: a launch must not import typing
if TYPE_CHECKING:
    from multiprocessing.context import BaseContext
    from multiprocessing.process import BaseProcess
    from typing import Any

    from ._types import InheritedHandle, StartMethod

__all__ = ["LaunchRequest"]


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

    # a plain slotted class, not a dataclass: dataclasses imports inspect,
    # which a program starting one child must not pay for

    __slots__ = ("_setup", "context", "env", "handles", "method", "options", "process")
    _fields = ("process", "method", "context", "handles", "env", "child_setup", "options")

    process: BaseProcess
    method: StartMethod
    context: BaseContext
    handles: list[InheritedHandle]
    env: dict[str, str]
    options: dict[str, Any]
    #: ``child_setup``'s value: a list, or the start method's tuple shared by
    #: its launches until something reads ``child_setup``. The core sets and reads
    #: it directly (``_launch.launch``, ``forked.ForkedChild.for_request``): read
    #: as stored, the same tuple for every launch that kept its method's setup
    _setup: list[Any] | tuple[Any, ...]

    def __init__(  # noqa: PLR0917 - positional as the dataclass's fields were
        self,
        process: BaseProcess,
        method: StartMethod,
        context: BaseContext,
        handles: list[InheritedHandle] | None = None,
        env: dict[str, str] | None = None,
        child_setup: list[Any] | None = None,
        options: dict[str, Any] | None = None,
    ) -> None:
        self.process = process
        self.method = method
        self.context = context
        self.handles = [] if handles is None else handles
        self.env = {} if env is None else env
        self._setup = [] if child_setup is None else child_setup
        self.options = {} if options is None else options

    @property
    def child_setup(self) -> list[Any]:
        """The setup references (a list of this request's own, safe to edit)."""
        setup = self._setup
        if setup.__class__ is tuple:  # shared with other launches: copied on first use
            setup = self._setup = list(setup)
        return setup  # type: ignore[return-value]

    @child_setup.setter
    def child_setup(self, value: list[Any]) -> None:
        self._setup = value

    def __repr__(self) -> str:
        shown = ", ".join(f"{name}={getattr(self, name)!r}" for name in self._fields)
        return f"LaunchRequest({shown})"

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return all(getattr(self, name) == getattr(other, name) for name in self._fields)

    __hash__ = None  # type: ignore[assignment]  # mutable, as the dataclass was
