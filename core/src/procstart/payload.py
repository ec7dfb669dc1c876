"""The parent side of :mod:`procstart.child`: what a new child is told.

Launchers of exec- and server-based methods call :func:`build` while their
Popen is the spawning popen and write the bytes to the child's pipe.
"""

from __future__ import annotations

import os
import pickle
import sys
from collections.abc import Mapping
from multiprocessing import process, util

from . import _manager
from ._pyproject import project_config
from ._request import LaunchRequest
from ._settings import settings
from .child import MAGIC, Preparation
from .serialization import dumps, main_is_importable, spawning

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: a launch must not import typing
if TYPE_CHECKING:
    from typing import Any

__all__ = ["build", "main_reference", "pickle_process", "preparation_data", "write_all"]


def main_reference() -> dict[str, str]:
    """How a child finds the parent's ``__main__``: ``main_name``, ``main_path`` or nothing."""
    main = sys.modules.get("__main__")
    if main is None or not main_is_importable():
        return {}
    spec = getattr(main, "__spec__", None)
    name = getattr(spec, "name", None)
    if name:
        return {"main_name": name}
    path = getattr(main, "__file__", None)
    if isinstance(path, str):
        return {"main_path": os.path.normpath(os.path.join(process.ORIGINAL_DIR or "", path))}  # type: ignore[attr-defined]
    return {}


def preparation_data(
    request: LaunchRequest, *, handles: dict[str, int], by_index: bool
) -> Preparation:
    """Everything the child must know before it unpickles the process object.

    ``handles`` maps each inherited handle's key to its fd number (exec with
    pass_fds) or to its index among the fds sent (``by_index``, fork servers).
    """
    me = process.current_process()
    logger = util._logger  # type: ignore[attr-defined]
    registry = _manager.plugins()
    project = project_config()
    prep = Preparation(
        name=request.process.name,
        authkey=bytes(me.authkey),
        sys_path=list(sys.path),
        sys_argv=list(sys.argv),
        dir=os.getcwd(),
        orig_dir=process.ORIGINAL_DIR,  # type: ignore[attr-defined]
        method=request.method.name,
        parent_pid=os.getpid(),
        handles=handles,
        handles_by_index=by_index,
        child_setup=[
            ref if isinstance(ref, str) else pickle.dumps(ref) for ref in request.child_setup
        ],
        plugins=registry.snapshot(),
        config_path=project.path,
        config=dict(project.values),
        forkserver_preload=settings.forkserver_preload,
        executable=settings.executable,
        env=dict(request.env),
        **main_reference(),
    )
    if logger is not None:
        prep.log_level = logger.getEffectiveLevel()
        prep.log_to_stderr = util._log_to_stderr  # type: ignore[attr-defined]
    return prep


def _section(data: bytes) -> bytes:
    return len(data).to_bytes(8, "big") + data


def pickle_process(popen: object, request: LaunchRequest) -> bytes:
    """Pickle the process object with ``popen`` spawning (fds it asks for go there).

    Call this before starting anything: a target that cannot be sent fails
    here, in the parent, with its type named.
    """
    with spawning(popen):
        return dumps(request.process, what="the process object", method=request.method.name)


def build(
    request: LaunchRequest,
    process_bytes: bytes,
    *,
    handles: dict[str, int],
    by_index: bool,
    extra: Mapping[str, Any] | None = None,
) -> list[bytes]:
    """The payload for one child as chunks to write in order (no big copy).

    ``extra`` sets optional :class:`~procstart.child.Preparation` fields
    (spawn sends ``site``, ``main_code``, ``fast_exit``, ``noinherit_fds``);
    an unknown name is a ``TypeError``. Values must be plain builtins.
    """
    prep = preparation_data(request, handles=handles, by_index=by_index)
    for field, value in (extra or {}).items():
        if field not in Preparation.__slots__:
            raise TypeError(f"payload.build: Preparation has no field {field!r}")
        setattr(prep, field, value)
    prep_bytes = pickle.dumps(prep, protocol=pickle.HIGHEST_PROTOCOL)
    return [MAGIC + _section(prep_bytes) + len(process_bytes).to_bytes(8, "big"), process_bytes]


def write_all(fd: int, chunks: list[bytes]) -> None:
    """Write every chunk to ``fd`` (a blocking pipe or socket)."""
    for chunk in chunks:
        view = memoryview(chunk)
        while view:
            written = os.write(fd, view)
            view = view[written:]
