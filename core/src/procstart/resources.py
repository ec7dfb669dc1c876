"""Resource registration: tell the installed tracker what must not leak.

With no tracker plugin installed both calls are no-ops that return False.
"""

from __future__ import annotations

from . import _manager
from ._types import Resource

__all__ = ["register_resource", "unregister_resource"]


def register_resource(kind: str, name: str) -> bool:
    """Track resource ``name`` of ``kind``; True if a tracker took it.

    >>> import procstart
    >>> procstart.register_resource("folder", "/tmp/my-scratch")  # doctest: +SKIP
    True
    """
    return _manager.plugins().register_resource(Resource(kind=kind, name=name))


def unregister_resource(kind: str, name: str) -> bool:
    """Stop tracking ``name`` (released normally); True if a tracker took it.

    >>> procstart.unregister_resource("folder", "/tmp/my-scratch")  # doctest: +SKIP
    True
    """
    return _manager.plugins().unregister_resource(Resource(kind=kind, name=name))
