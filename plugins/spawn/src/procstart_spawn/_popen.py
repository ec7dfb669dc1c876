"""The spawn Popen: a fresh interpreter that reads its process object from a pipe."""

from __future__ import annotations

import contextlib
import os
import signal
import sys
from multiprocessing import util
from multiprocessing.process import BaseProcess

import procstart.plugin as psp
from procstart.plugin import ChildPopen, LaunchRequest, child, close_fds, payload

from . import _bytecode, _exec, _startup

__all__ = ["SpawnPopen", "command_line", "fit_pipe"]

_ENTRY = "from procstart.child import spawn_main;spawn_main({fd})"
_core_dir: str | None = None


def _interpreter_flags() -> list[str]:
    """The parent's -O/-W/-X/-E/... flags, as the stdlib passes them on.

    A ``-S`` that spawn itself gave this process is left to the startup plan.
    """
    flags: list[str] = util._args_from_interpreter_flags()  # type: ignore[attr-defined]
    if child.site_state() is not None:
        flags = [flag for flag in flags if flag != "-S"]
    return flags


def _procstart_dir() -> str:
    """The folder holding the ``procstart`` package, for a child without site."""
    global _core_dir
    if _core_dir is None:
        import procstart

        _core_dir = os.path.dirname(os.path.dirname(os.path.abspath(procstart.__file__ or "")))
    return _core_dir


def executable() -> str:
    """The interpreter spawn children run: ``set_executable()`` or ``sys.executable``."""
    return psp.executable()


def command_line(fd: int, plan: _startup.StartupPlan, bundle: bytes | None) -> list[str]:
    """The child's argv: interpreter flags, maybe ``-S``, and the bootstrap code.

    With a ``bundle`` (see :mod:`procstart_spawn._bytecode`) the child first
    reads procstart's bootstrap modules from ``fd``.
    """
    argv = [executable(), *_interpreter_flags()]
    if plan.skip_site and "-S" not in argv:
        argv.append("-S")
    if bundle is not None:
        code = _bytecode.bootstrap_code(fd)
    else:
        # procstart must be importable before the parent's sys.path arrives (no
        # site, or another interpreter): appended, so it never shadows anything
        code = f"import sys;sys.path.append({_procstart_dir()!r});" + _ENTRY.format(fd=fd)
    argv += ["-c", code]
    return argv


#: a pipe's capacity unless raised (Linux: 16 pages)
_PIPE_DEFAULT = 65536
#: the most we ask for (root could take more: kernel memory for one payload)
_PIPE_MOST = 1 << 20


def fit_pipe(fd: int, size: int) -> None:
    """Let the pipe ``fd`` hold ``size`` bytes, so writing them never waits for the reader.

    The payload (procstart's bootstrap bytecode, about 100 KB, plus the
    process object) is larger than a pipe holds by default: ``start()`` would
    block until the child, still starting its interpreter, reads it, so
    children started one after another would start one at a time. Linux
    raises a pipe's capacity on request; we ask for at most 1 MiB (the
    default ``/proc/sys/fs/pipe-max-size`` of an unprivileged process): a
    larger payload, or a system that refuses, and the write waits as before.

    >>> r, w = os.pipe(); fit_pipe(w, 200_000); os.close(r); os.close(w)
    """
    if size <= _PIPE_DEFAULT:
        return
    import fcntl

    set_size = getattr(fcntl, "F_SETPIPE_SZ", None)
    if set_size is None:
        return  # not Linux
    with contextlib.suppress(OSError):  # above the system's limit: write as before
        fcntl.fcntl(fd, set_size, min(size, _PIPE_MOST))


def _child_env(request: LaunchRequest) -> dict[str, str] | None:
    if not request.env:
        return None
    env = dict(os.environ)
    env.update(request.env)
    return env


class SpawnPopen(ChildPopen):
    """A child running a fresh interpreter; exit status by ``waitpid``."""

    method = "spawn"

    def _launch(self, process_obj: BaseProcess, request: LaunchRequest) -> None:
        # first, before anything is started: an unpicklable target fails here
        process_bytes = payload.pickle_process(self, request)
        handles = {handle.key: handle.fd for handle in request.handles}
        program = executable()
        plan = _startup.plan(program)
        same_python = program == sys.executable
        bundle = _bytecode.bundle(tuple(request.child_setup)) if same_python else None
        parent_r, child_w = os.pipe()
        child_r = parent_w = -1
        try:
            child_r, parent_w = os.pipe()
            passed = [*self.requested_fds(), *handles.values(), child_r, child_w]
            try:
                self.pid = _exec.spawn(
                    program, command_line(child_r, plan, bundle), passed, _child_env(request)
                )
            except _exec.ExecError as exc:
                if exc.pid is None:
                    raise
                # as a child that died before running its target: exit code 255
                # and the reason on stderr (Pool and friends see a dead worker)
                sys.stderr.write(f"procstart spawn: {exc.strerror}\n")
                sys.stderr.flush()
                self.pid = exc.pid
            self.sentinel = parent_r
            extra: dict[str, object] = {
                "fast_exit": _startup.fast_exit_enabled(),
                "noinherit_fds": sorted(set(passed)),
            }
            if plan.site is not None:
                extra["site"] = plan.site
            main_path = payload.main_reference().get("main_path")
            if bundle is not None and main_path:
                code = _bytecode.main_code(main_path)
                if code is not None:
                    extra["main_code"] = (main_path, code)
            chunks = payload.build(request, process_bytes, handles=handles, by_index=False,
                                   extra=extra)  # fmt: skip
            if bundle is not None:
                chunks.insert(0, len(bundle).to_bytes(8, "big") + bundle)
            fit_pipe(parent_w, sum(map(len, chunks)))
            with contextlib.suppress(BrokenPipeError):
                # a child that died before reading: its exit code says how
                payload.write_all(parent_w, chunks)
        except BaseException:
            close_fds(parent_r, parent_w)
            if self.pid:  # started, but the launch failed after that: leave no zombie
                with contextlib.suppress(OSError):
                    os.kill(self.pid, signal.SIGKILL)
                    os.waitpid(self.pid, 0)
                self.pid = 0
            raise
        finally:
            close_fds(child_r, child_w)
        self.finalizer = util.Finalize(self, util.close_fds, (parent_r, parent_w))  # type: ignore[attr-defined]
