"""Functions the ecosystem tests send to children (importable by reference)."""

from __future__ import annotations

import os


def square(x: int) -> int:
    """x * x."""
    return x * x


def whoami(_: object = None) -> tuple[int, str, str]:
    """(pid, procstart's start method here, who decided it)."""
    import procstart

    source = procstart.get_start_method_source()
    return os.getpid(), source.method, source.source


def mp_view(_: object = None) -> tuple[str | None, list[str]]:
    """What ``multiprocessing`` says in this process: its default and its methods."""
    import multiprocessing

    return multiprocessing.get_start_method(
        allow_none=True
    ), multiprocessing.get_all_start_methods()
