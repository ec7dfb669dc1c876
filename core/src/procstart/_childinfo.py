"""``ChildInfo``: what child-setup hooks receive (tiny: every child imports it)."""

from __future__ import annotations

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: every child would import typing
if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping
    from typing import Any


class ChildInfo:
    """What a child's setup hooks learn about how it was started.

    ``handles`` maps each :class:`procstart.InheritedHandle` key to its fd
    number in this child. A plain slotted class, not a dataclass, so that a
    spawned child does not import ``dataclasses`` and ``inspect`` for it.

    >>> ChildInfo(method="spawn", parent_pid=1, handles={}).method
    'spawn'
    """

    __slots__ = ("handles", "method", "parent_pid")

    def __init__(self, method: str, parent_pid: int, handles: Mapping[str, int] | None = None):
        self.method = method
        self.parent_pid = parent_pid
        self.handles: Mapping[str, int] = dict(handles or {})

    def __setattr__(self, name: str, value: object) -> None:
        if hasattr(self, name):
            raise AttributeError(f"ChildInfo is read-only: cannot set {name!r}")
        object.__setattr__(self, name, value)

    def __repr__(self) -> str:
        return (
            f"ChildInfo(method={self.method!r}, parent_pid={self.parent_pid!r}, "
            f"handles={dict(self.handles)!r})"
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ChildInfo):
            return NotImplemented
        return (self.method, self.parent_pid, dict(self.handles)) == (
            other.method,
            other.parent_pid,
            dict(other.handles),
        )

    __hash__ = None  # type: ignore[assignment]


def run_child_setup(refs: Iterable[Any], info: ChildInfo) -> None:
    """Call every plugin's ``procstart_child_setup(info=...)`` in this child.

    ``refs`` come from ``Plugins.child_setup_refs()``: ``"module:qualname"``
    of a function, a module name, pickled bytes of a plugin object, or the
    object itself (fork children share the parent's memory).
    """
    for ref in refs:
        if isinstance(ref, str):
            from ._submodules import import_module

            module_name, _, qualname = ref.partition(":")
            target: Any = import_module(module_name)
            if not qualname:
                target.procstart_child_setup(info=info)
                continue
            for part in qualname.split("."):
                target = getattr(target, part)
            target(info=info)
        else:
            if isinstance(ref, bytes):
                import pickle

                ref = pickle.loads(ref)  # noqa: PLW2901
            ref.procstart_child_setup(info=info)
