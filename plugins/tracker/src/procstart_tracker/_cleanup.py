"""Cleanup functions the tracker process runs for each kind of resource.

Paths are handled defensively: the tracker only ever removes the exact path
that was registered. Every directory from ``/`` down to the path's parent is
opened with ``O_NOFOLLOW``, so a component swapped for a symbolic link after
registration makes the cleanup refuse instead of following it elsewhere; the
last component is removed relative to that directory fd (``rmtree`` with
``dir_fd`` on Python 3.11+, which never follows symlinks inside the tree).
"""

from __future__ import annotations

import importlib
import os
import shutil
import stat
import sys
from collections.abc import Callable, Mapping

from . import _stdlib_routing
from ._protocol import check_name

__all__ = ["CleanupRefusedError", "cleanup", "remove_path", "resolve"]


class CleanupRefusedError(Exception):
    """The tracker will not clean this resource (unsafe or unknown)."""


def _open_parent(path: str) -> int:
    """An fd of ``path``'s parent directory, reached without following symlinks."""
    flags = os.O_RDONLY | os.O_DIRECTORY | getattr(os, "O_NOFOLLOW", 0) | os.O_CLOEXEC
    fd = os.open("/", flags)
    try:
        for part in path.split("/")[1:-1]:
            try:
                next_fd = os.open(part, flags, dir_fd=fd)
            except OSError as exc:
                raise CleanupRefusedError(
                    f"{part!r} in {path!r} is no longer a plain directory ({exc.strerror})"
                ) from None
            os.close(fd)
            fd = next_fd
    except BaseException:
        os.close(fd)
        raise
    return fd


def remove_path(kind: str, path: str) -> bool:
    """Remove registered file or folder ``path``; False if it was already gone.

    Raises :class:`CleanupRefusedError` for a path that is not exactly what was
    registered (not normalised, a symlink on the way, a folder that became a
    file or a symlink, ...).
    """
    problem = check_name(kind, path)
    if problem is not None:
        raise CleanupRefusedError(problem)
    try:
        parent = _open_parent(path)
    except CleanupRefusedError:
        if not os.path.lexists(os.path.dirname(path)):
            return False
        raise
    leaf = os.path.basename(path)
    try:
        try:
            st = os.stat(leaf, dir_fd=parent, follow_symlinks=False)
        except FileNotFoundError:
            return False
        if kind == "file":
            if stat.S_ISDIR(st.st_mode):
                raise CleanupRefusedError(f"file {path!r} is now a directory")
            os.unlink(leaf, dir_fd=parent)
            return True
        if not stat.S_ISDIR(st.st_mode):
            raise CleanupRefusedError(f"folder {path!r} is now a file or a symlink")
        if sys.version_info >= (3, 11):
            shutil.rmtree(leaf, dir_fd=parent)
        else:  # pragma: no cover - 3.10: no dir_fd; the parent was checked just above
            shutil.rmtree(path)
        return True
    finally:
        os.close(parent)


def resolve(ref: str) -> Callable[[str], object]:
    """Import ``"module:function"``."""
    module_name, _, attr = ref.partition(":")
    obj: object = importlib.import_module(module_name)
    for part in attr.split("."):
        obj = getattr(obj, part)
    if not callable(obj):
        raise TypeError(f"{ref} is not callable")
    return obj


def cleanup(kind: str, name: str, types: Mapping[str, str]) -> bool:
    """Clean one resource; False if it was already gone.

    Raises :class:`CleanupRefusedError` or whatever the cleanup function raised.
    """
    if kind == "shared_memory":
        try:
            _stdlib_routing.shm_unlink(name)
        except FileNotFoundError:
            return False
        return True
    if kind == "semaphore":
        try:
            _stdlib_routing.sem_unlink(name)
        except FileNotFoundError:
            return False
        return True
    if kind in ("file", "folder"):
        return remove_path(kind, name)
    ref = types.get(kind)
    if ref is None:
        raise CleanupRefusedError(f"no cleanup function known for kind {kind!r}")
    resolve(ref)(name)
    return True
