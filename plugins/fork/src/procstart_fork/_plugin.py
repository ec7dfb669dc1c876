"""Registers the ``fork`` method with procstart."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator

import procstart

from ._popen import ForkPopen


def _unavailable() -> str | None:
    if not hasattr(os, "fork"):
        return f"os.fork() does not exist on {sys.platform}"
    return None


def _launch(request: procstart.LaunchRequest) -> ForkPopen:
    return ForkPopen(request.process, request)


@procstart.hookimpl
def procstart_start_methods() -> Iterator[procstart.StartMethod]:
    """Provide ``fork``.

    >>> [m.name for m in procstart_start_methods()]
    ['fork']
    """
    yield procstart.StartMethod(
        name="fork",
        launcher=_launch,
        description="os.fork() of the parent: fastest; unsafe with threads",
        unavailable_reason=_unavailable,
        inherits_all_fds=True,
    )
