"""Targets for spawn children (imported by name in the child: keep it light)."""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import time
from typing import Any


def noop() -> None:
    """Do nothing."""


def exit_with(code: Any) -> None:
    """``sys.exit(code)``."""
    sys.exit(code)


def fail(message: str) -> None:
    """Raise ValueError(message)."""
    raise ValueError(message)


def sleep(seconds: float) -> None:
    """Sleep (the parent kills or terminates us)."""
    time.sleep(seconds)


def kill_self(sig: int = signal.SIGKILL) -> None:
    """Die of ``sig``."""
    os.kill(os.getpid(), sig)


def put(queue: Any, value: Any) -> None:
    """``queue.put(value)``."""
    queue.put(value)


def report(queue: Any) -> None:
    """Send back facts about this child (``modules``: those loaded before this ran)."""
    modules = sorted(sys.modules)
    import multiprocessing
    import multiprocessing.process as mp_process

    import procstart

    parent = mp_process.parent_process()
    me = multiprocessing.current_process()
    queue.put(
        {
            "pid": os.getpid(),
            "start_method": procstart.get_start_method(),
            "mp_start_method": multiprocessing.get_start_method(allow_none=True),
            "parent_pid": parent.pid if parent is not None else None,
            "parent_name": parent.name if parent is not None else None,
            "parent_alive": parent.is_alive() if parent is not None else None,
            "name": me.name,
            "daemon": me.daemon,
            "authkey": bytes(me.authkey),
            "cwd": os.getcwd(),
            "sys_path": list(sys.path),
            "argv": list(sys.argv),
            "no_site": sys.flags.no_site,
            "prefix": sys.prefix,
            "site_packages": _site_packages(),
            "exec_prefix": sys.exec_prefix,
            "has_exit_builtin": callable(getattr(__builtins__, "exit", None))
            if not isinstance(__builtins__, dict)
            else callable(__builtins__.get("exit")),
            "modules": modules,
            "meta_path": [
                type(f).__name__ if not isinstance(f, type) else f.__name__ for f in sys.meta_path
            ],
            "procstart_loader_is_source": _is_source_loader(procstart),
            "procstart_loader": type(getattr(procstart.__spec__, "loader", None)).__name__,
            "procstart_file": procstart.__file__,
            "main_name": getattr(sys.modules.get("__main__"), "__name__", None),
            "env_marker": os.environ.get("SPAWN_TEST_MARKER"),
            "hash_abc": hash("abc"),
        }
    )


def _site_packages() -> list[str]:
    import site

    return list(site.getsitepackages())


def _is_source_loader(module: Any) -> bool:
    from importlib.machinery import SourceFileLoader

    return isinstance(getattr(module.__spec__, "loader", None), SourceFileLoader)


def open_fds(queue: Any) -> None:
    """Send back this child's open fds and what each one is."""
    fds = {}
    for name in os.listdir("/proc/self/fd"):
        with contextlib.suppress(OSError):  # the listing's own fd, closed by now
            fds[int(name)] = os.readlink(f"/proc/self/fd/{name}")
    queue.put(fds)


def grandchild_fds(queue: Any, conn: Any) -> None:
    """Send back the fds an exec'd grandchild (close_fds=False) finds open."""
    import subprocess

    code = "import os; print(sorted(int(fd) for fd in os.listdir('/proc/self/fd')))"
    out = subprocess.run(
        [sys.executable, "-c", code], close_fds=False, capture_output=True, text=True, timeout=60
    )
    queue.put((out.stdout.strip(), out.stderr, conn.fileno()))


class FdHolder:
    """Pickles its fd through ``DupFd`` of the spawning popen, as Connections do."""

    def __init__(self, fd: int) -> None:
        self.fd = fd

    def __reduce__(self) -> Any:
        from multiprocessing import reduction

        return (FdHolder._rebuild, (reduction.DupFd(self.fd),))

    @staticmethod
    def _rebuild(dup: Any) -> int:
        return int(dup.detach())


def fstat_ino(queue: Any, fd: int) -> None:
    """Send back the inode of ``fd`` in this child, or the error."""
    try:
        queue.put(os.fstat(fd).st_ino)
    except OSError as exc:
        queue.put(f"OSError: {exc.strerror}")


def echo_over(conn: Any) -> None:
    """Receive one object on ``conn`` and send it back, doubled."""
    value = conn.recv()
    conn.send(value * 2)
    conn.close()


def call(function: Any, *args: Any) -> Any:
    """Call ``function(*args)`` (for pools)."""
    return function(*args)


def square(x: int) -> int:
    """x * x."""
    return x * x


def call_and_put(queue: Any, function: Any, *args: Any) -> None:
    """Put ``function(*args)`` on ``queue``."""
    queue.put(function(*args))


def start_grandchild(queue: Any) -> None:
    """Start a grandchild with the default method; report its facts."""
    import procstart

    inner = procstart.Queue()
    proc = procstart.Process(target=report, args=(inner,))
    proc.start()
    facts = inner.get(timeout=60)
    proc.join(60)
    queue.put(
        (
            proc.exitcode,
            facts["start_method"],
            facts["parent_pid"] == os.getpid(),
            facts["no_site"],
            facts["prefix"],
            facts["sys_path"] == sys.path,
        )
    )


def register_atexit_and_file(path: str) -> None:
    """Leave work for exit time: an atexit handler and an unflushed global file."""
    import atexit

    global _LOG
    _LOG = open(path + ".global", "w")  # noqa: SIM115 - left open on purpose
    _LOG.write("flushed at exit")

    def write_marker() -> None:
        with open(path + ".atexit", "w") as fh:
            fh.write("atexit ran")

    atexit.register(write_marker)


_LOG: Any = None
