"""``LaunchRequest``: the one mutable value of a launch (hook wrappers edit it)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ._types import InheritedHandle, StartMethod

if TYPE_CHECKING:
    from multiprocessing.context import BaseContext
    from multiprocessing.process import BaseProcess

__all__ = ["LaunchRequest"]


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
