"""Start a program with exactly the fds asked for, an environment, no shell.

``_posixsubprocess.fork_exec`` (what ``subprocess`` and the stdlib's
``spawnv_passfds`` use) closes every fd not listed, even ones marked
inheritable, and uses ``vfork`` where it can; unlike ``spawnv_passfds`` we
pass an environment and read the exec error back, so a bad executable is
reported instead of silently giving exit code 255.

Private CPython internals: ``fork_exec``'s positional signature is
21 arguments on 3.10 and 23 on 3.11-3.13 (``process_group`` and
``allow_vfork`` were added); checked against ``subprocess.py`` of CPython
3.10.13, 3.11.7, 3.12.1 and 3.13.0. Any other signature (a future Python)
raises ``TypeError`` before forking, and we fall back to ``subprocess.Popen``,
which behaves the same and is only slower.
"""

from __future__ import annotations

import errno
import os
import sys
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

__all__ = ["ExecError", "spawn"]


class ExecError(OSError):
    """The program could not be executed.

    ``pid`` is the forked child (already exiting with status 255) when there
    is one to wait for, else None.
    """

    pid: int | None = None


def _executable_list(executable: str, env: Mapping[str, str] | None) -> tuple[bytes, ...]:
    path = os.fsencode(executable)
    if os.path.dirname(path):
        return (path,)
    return tuple(
        os.path.join(os.fsencode(folder), path)
        for folder in os.get_exec_path(dict(env) if env is not None else None)
    )


def _env_list(env: Mapping[str, str] | None) -> list[bytes] | None:
    if env is None:
        return None
    out = []
    for key, value in env.items():
        name = os.fsencode(key)
        if b"=" in name or not name:
            raise ValueError(f"illegal environment variable name {key!r}")
        out.append(name + b"=" + os.fsencode(value))
    return out


_use_fork_exec = sys.platform != "win32"


def _fork_exec(
    args: Sequence[str], executable: str, pass_fds: tuple[int, ...], env: Mapping[str, str] | None
) -> int:
    import _posixsubprocess

    fork_exec: Any = _posixsubprocess.fork_exec  # its signature differs by version

    errpipe_read, errpipe_write = os.pipe()
    # the error pipe must survive close_fds too (fork_exec keeps it close-on-exec)
    keep = tuple(sorted((*pass_fds, errpipe_write)))
    try:
        common = (
            list(args), _executable_list(executable, env), True, keep, None, _env_list(env),
            -1, -1, -1, -1, -1, -1, errpipe_read, errpipe_write,
            False, False,
        )  # fmt: skip
        if sys.version_info < (3, 11):
            pid: int = fork_exec(*common, None, None, None, -1, None)
        else:
            pid = fork_exec(*common, -1, None, None, None, -1, None, True)
    except BaseException:
        os.close(errpipe_read)
        os.close(errpipe_write)
        raise
    os.close(errpipe_write)
    try:
        failure = _read_failure(errpipe_read)
    finally:
        os.close(errpipe_read)
    if failure:
        error = _as_error(failure, executable)
        error.pid = pid
        raise error
    return pid


def _read_failure(fd: int) -> bytes:
    chunks: list[bytes] = []
    while True:
        try:
            chunk = os.read(fd, 50_000)
        except InterruptedError:  # pragma: no cover - PEP 475 retries for us
            continue
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)


def _as_error(failure: bytes, executable: str) -> ExecError:
    # the child writes b"OSError:<hex errno>:<where>" before _exit(255)
    kind, _, rest = failure.partition(b":")
    code_hex, _, _where = rest.partition(b":")
    try:
        code = int(code_hex, 16)
    except ValueError:
        code = errno.EINVAL
    text = os.strerror(code) if kind == b"OSError" else failure.decode(errors="replace")
    return ExecError(code, f"cannot execute {executable!r}: {text}", executable)


def _popen_spawn(
    args: Sequence[str], executable: str, pass_fds: tuple[int, ...], env: Mapping[str, str] | None
) -> int:
    import subprocess

    try:
        child = subprocess.Popen(
            list(args), executable=executable, pass_fds=pass_fds, close_fds=True,
            env=dict(env) if env is not None else None, restore_signals=False,
        )  # fmt: skip
    except OSError as exc:
        raise ExecError(exc.errno, f"cannot execute {executable!r}: {exc.strerror}") from exc
    # we wait for it ourselves (os.waitpid); keep subprocess from reaping it
    child.returncode = 0
    return child.pid


def spawn(
    executable: str,
    args: Sequence[str],
    pass_fds: Iterable[int],
    env: Mapping[str, str] | None = None,
) -> int:
    """Run ``executable`` with ``args``; the child keeps fds 0-2 and ``pass_fds`` only.

    ``env`` replaces the environment (None inherits ``os.environ``). Returns
    the pid; raises :class:`ExecError` (an ``OSError`` naming the program)
    when the program cannot be executed.
    """
    global _use_fork_exec
    fds = tuple(sorted({int(fd) for fd in pass_fds}))
    if _use_fork_exec:
        try:
            return _fork_exec(args, executable, fds, env)
        except TypeError as exc:
            if "fork_exec" not in str(exc) and "argument" not in str(exc):
                raise
            _use_fork_exec = False  # a Python whose fork_exec we do not know
    return _popen_spawn(args, executable, fds, env)
