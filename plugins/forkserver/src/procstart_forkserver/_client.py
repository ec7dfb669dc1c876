"""The parent's side: start the fork server on first use, ask it for children.

One server per parent process. Its state lives in :data:`_state` (guarded
by :data:`_lock`); a child made by ``os.fork()`` of the parent forgets it
(it would otherwise keep the server alive after the parent died) and starts
its own server if it needs one.
"""

from __future__ import annotations

import contextlib
import os
import socket
import sys
import threading
import warnings
from collections.abc import Mapping

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs a program ~3 ms to import: annotations only
    from typing import Any

__all__ = [
    "PreloadWarning",
    "ServerDiedWarning",
    "ServerState",
    "connect_and_fork",
    "current",
    "ensure_running",
    "environment_drift",
    "info",
    "resolved_preload",
    "stop",
]

#: bytes of the per-server key (``_protocol.KEY_LEN``; the protocol module,
#: with hashlib, is imported only after the server was launched)
_KEY_LEN = 32

#: longest path an AF_UNIX address may have (Linux 108 with the NUL; macOS 104)
_MAX_ADDRESS = 100


class PreloadWarning(RuntimeWarning):
    """A module in the preload list failed to import in the fork server."""


class ServerDiedWarning(RuntimeWarning):
    """The fork server was gone; a new one was started."""


class ServerState:
    """A running server as its parent sees it."""

    def __init__(
        self,
        process: Any,
        *,
        address: str,
        key: bytes,
        alive_w: int,
        report_r: int,
        preload: list[str],
    ) -> None:
        self.process = process  # subprocess.Popen
        self.address = address
        self.key = key
        self.alive_w: int | None = alive_w
        self.report_r: int | None = report_r
        self.preload = preload
        self.preloaded: list[str] | None = None
        #: the environment the server started with (and children inherit)
        self.environ: dict[str, str] = {}
        self.failed: list[tuple[str, str]] = []
        self.owner = os.getpid()
        #: the authenticated connection children are asked for on (see _protocol)
        self.session: socket.socket | None = None
        self.session_lock = threading.Lock()

    @property
    def pid(self) -> int:
        """The server's pid."""
        return int(self.process.pid)

    def close_ends(self) -> None:
        """Close our ends of the alive and report pipes and the session (once)."""
        session, self.session = self.session, None
        if session is not None:
            session.close()
        for fd in (self.alive_w, self.report_r):
            if fd is not None:
                with contextlib.suppress(OSError):
                    os.close(fd)
        self.alive_w = self.report_r = None

    def alive(self) -> bool:
        """False once the server has exited (it is then reaped)."""
        return self.process.poll() is None


_lock = threading.RLock()
_state: ServerState | None = None
_fork_hook_installed = False


def resolved_preload() -> list[str]:
    """Modules the next server will preload: code, then pyproject, then the default.

    ``set_forkserver_preload()`` wins; else ``[tool.procstart]
    forkserver-preload``; else ``["__main__"]``.
    """
    import procstart.plugin

    from ._plugin import DEFAULT_PRELOAD, PRELOAD_KEY

    chosen = procstart.plugin.forkserver_preload()
    if chosen is not None:
        return chosen
    # declared as an array of strings: a wrong type is a ConfigError naming the file
    return list(procstart.plugin.config_value(PRELOAD_KEY, list(DEFAULT_PRELOAD)))


def _private_folder() -> str:
    """A fresh folder only this user can enter (0700), short enough for AF_UNIX."""
    import tempfile

    for base in (tempfile.gettempdir(), "/tmp"):
        for _ in range(100):
            folder = os.path.join(base, f"procstart-fs-{os.urandom(6).hex()}")
            if len(folder) + 3 > _MAX_ADDRESS:
                break
            try:
                os.mkdir(folder, 0o700)
            except FileExistsError:
                continue
            os.chmod(folder, 0o700)  # whatever the umask
            return folder
    raise OSError("cannot create a private folder for the fork server socket")


def _config_for_server(key: bytes, address: str, preload: list[str]) -> dict[str, Any]:
    from procstart.plugin import child_setup_refs, main_reference

    # child setup references are "module:function" (or a module name): the
    # server imports the modules so that forked children find them loaded
    extra = [ref.partition(":")[0] for ref in child_setup_refs() if isinstance(ref, str)]
    if "cloudpickle" in sys.modules:  # this program sends things by value
        extra.append("cloudpickle")
    # their child setup may import more of their package: what this process
    # has of it is imported by the server when idle (never before a child)
    packages = tuple(ref.partition(".")[0] + "." for ref in extra)
    idle = (
        sorted(name for name in list(sys.modules) if name.startswith(packages)) if packages else []
    )
    return {
        "key": key,
        "address": address,
        "preload": preload,
        "main": main_reference() if "__main__" in preload else {},
        "sys_path": list(sys.path),
        "argv": list(sys.argv),
        "dir": os.getcwd(),
        "extra": extra,
        "idle": idle,
    }


def _interpreter() -> list[str]:
    from multiprocessing import util

    import procstart.plugin

    executable = procstart.plugin.executable()
    return [executable, *util._args_from_interpreter_flags()]  # type: ignore[attr-defined]


def _import_path() -> list[str]:
    """Folders that make procstart and this plugin importable in the server."""
    import procstart

    folders = []
    for module in (sys.modules[__package__ or "procstart_forkserver"], procstart):
        init = module.__file__
        if init:
            folders.append(os.path.dirname(os.path.dirname(os.path.abspath(init))))
    return list(dict.fromkeys(folders))


def _server_popen_class(subprocess: Any) -> Any:
    """``subprocess.Popen`` that stays quiet in a forked copy of its owner.

    A fork child drops the parent's handle (:func:`_after_fork_in_child`);
    the server is not its child, so ``Popen.__del__`` must not warn
    "subprocess N is still running" there (``python -X dev``), as the stdlib's
    fork children print nothing for the stdlib's fork server.
    """

    class _ServerPopen(subprocess.Popen):  # type: ignore[misc,name-defined]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            self.owner_pid = os.getpid()
            super().__init__(*args, **kwargs)

        def __del__(self) -> None:
            if os.getpid() == self.owner_pid:
                super().__del__()

    return _ServerPopen


def _start_server() -> ServerState:
    import pickle
    import subprocess

    from procstart.plugin import close_fds

    key = os.urandom(_KEY_LEN)
    folder = _private_folder()
    address = os.path.join(folder, "s")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    fds: list[int] = []
    try:
        listener.bind(address)
        os.chmod(address, 0o600)
        listener.listen(128)
        config_r, config_w = os.pipe()
        fds += [config_r, config_w]
        alive_r, alive_w = os.pipe()
        fds += [alive_r, alive_w]
        report_r, report_w = os.pipe()
        fds += [report_r, report_w]
        passed = (listener.fileno(), config_r, alive_r, report_w)
        code = (
            f"import sys; sys.path[:0] = {_import_path()!r}; "
            "from procstart_forkserver._server import main; "
            f"main{passed!r}"
        )
        environ = dict(os.environ)
        process = _server_popen_class(subprocess)(
            [*_interpreter(), "-c", code], pass_fds=passed, close_fds=True, env=environ
        )
    except BaseException:
        listener.close()
        close_fds(*fds)
        _remove(address)
        raise
    # the server holds the listener now: when it dies, connecting fails at once
    listener.close()
    close_fds(config_r, alive_r, report_w)
    try:
        # after the launch: reading the configuration overlaps the server's start
        preload = resolved_preload()
        data = pickle.dumps(_config_for_server(key, address, preload), pickle.HIGHEST_PROTOCOL)
        from procstart.plugin import write_all

        write_all(config_w, [data])
    except BaseException:
        process.kill()
        process.wait()
        close_fds(alive_w, report_r)
        _remove(address)
        raise
    finally:
        os.close(config_w)
    state = ServerState(
        process, address=address, key=key, alive_w=alive_w, report_r=report_r, preload=preload
    )
    state.environ = environ
    _track_folder(folder, register=True)
    return state


def _track_folder(folder: str, *, register: bool) -> None:
    """Tell the installed tracker (if any) about the socket folder.

    The server removes it when it exits, the parent when it finds the server
    dead; if both die by SIGKILL, a tracker is the only one left to do it.
    """
    import procstart

    call = procstart.register_resource if register else procstart.unregister_resource
    with contextlib.suppress(Exception):  # a tracker problem must not stop a launch
        call("folder", folder)


def environment_drift(state: ServerState) -> dict[str, str]:
    """Variables set or changed in ``os.environ`` since ``state``'s server started.

    Children are forked from the server and inherit its environment; these
    are applied on top, so a child sees what a spawned child would (except
    for variables deleted since, which it still has).
    """
    started = state.environ
    return {key: value for key, value in os.environ.items() if started.get(key) != value}


def _remove(address: str) -> None:
    for path, remove in ((address, os.unlink), (os.path.dirname(address), os.rmdir)):
        with contextlib.suppress(OSError):
            remove(path)


def _after_fork_in_child() -> None:
    """A forked copy of the parent must not keep the parent's server alive."""
    global _state, _lock
    _lock = threading.RLock()  # another thread may have held it at fork time
    state = _state
    _state = None
    if state is not None:
        state.close_ends()


def _forget(state: ServerState) -> None:
    """Drop a dead server: reap it, close our ends, remove its socket."""
    state.process.poll()
    state.close_ends()
    _remove(state.address)
    _track_folder(os.path.dirname(state.address), register=False)


def ensure_running() -> ServerState:
    """The running server, starting one (again) if there is none."""
    global _state, _fork_hook_installed
    with _lock:
        state = _state
        if state is not None and state.owner == os.getpid() and state.alive():
            return state
        if state is not None:
            _state = None
            if state.owner == os.getpid():
                code = state.process.returncode
                _forget(state)
                warnings.warn(
                    f"procstart forkserver (pid {state.pid}) had exited with code {code}; "
                    "starting a new one",
                    ServerDiedWarning,
                    stacklevel=_user_stacklevel(),
                )
        if not _fork_hook_installed:
            os.register_at_fork(after_in_child=_after_fork_in_child)
            from multiprocessing import util

            # at exit: after children are joined; a server still preloading is killed
            util.Finalize(None, stop, args=(1.0,), exitpriority=-100)
            _fork_hook_installed = True
        _state = _start_server()
        return _state


def _read_report(state: ServerState) -> None:
    """After the first reply the start-up report is complete: read it, warn."""
    if state.report_r is None:
        return
    with _lock:
        if state.report_r is None:
            return
        chunks = []
        while True:
            chunk = os.read(state.report_r, 1 << 16)
            if not chunk:
                break
            chunks.append(chunk)
        os.close(state.report_r)
        state.report_r = None
        from ._protocol import parse_report

        state.preloaded, state.failed = parse_report(b"".join(chunks))
    for module, error in state.failed:
        warnings.warn(
            f"procstart forkserver could not preload {module!r}: {error}",
            PreloadWarning,
            stacklevel=_user_stacklevel(),
        )


_INTERNAL = ("procstart", "procstart_forkserver", "multiprocessing", "pluggy", "concurrent")


def _user_stacklevel() -> int:
    """The ``stacklevel`` that points a warning at the caller of ``start()``."""
    frame = sys._getframe(1)
    level = 1
    while frame is not None:
        module = frame.f_globals.get("__name__", "")
        if module.partition(".")[0] not in _INTERNAL:
            return level
        frame = frame.f_back  # type: ignore[assignment]
        level += 1
    return 2


def _recv_exact(sock: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            raise ConnectionResetError("the fork server closed the connection")
        data += chunk
    return data


def _open_session(state: ServerState) -> socket.socket:
    """Connect and authenticate once; the connection then asks for every child."""
    from . import _protocol as proto

    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.connect(state.address)
        nonce = proto.parse_challenge(_recv_exact(sock, proto.CHALLENGE_LEN))
        sock.sendall(proto.answer_challenge(state.key, nonce, proto.encode_session()))
    except BaseException:
        sock.close()
        raise
    return sock


def _request_fork(state: ServerState, fds: list[int], carries_fds: bool) -> tuple[int, int]:
    """One round trip on the session: send the fds, get the pid; (pid, status fd).

    The status fd is the read end of a pipe whose write end only the server
    holds: it carries the child's exit code, or EOF if the server dies.
    """
    from . import _protocol as proto

    payload_r, sentinel_w, *inherited = fds
    request = proto.encode_session_fork(
        len(fds) + 1, hold_cloudpickle="cloudpickle" in sys.modules, hold_connection=carries_fds
    )
    status_r, status_w = os.pipe()
    try:
        with state.session_lock:
            if state.session is None:
                state.session = _open_session(state)
            sock = state.session
            try:
                socket.send_fds(sock, [request], [payload_r, sentinel_w, status_w, *inherited])
                reply = _recv_exact(sock, proto.REPLY_LEN)
            except BaseException:  # the session is out of step or gone: a new one next time
                state.session = None
                sock.close()
                raise
        pid = proto.parse_reply(reply)
    except BaseException:
        os.close(status_r)
        raise
    finally:
        os.close(status_w)
    return pid, status_r


def connect_and_fork(fds: list[int], *, carries_fds: bool = False) -> tuple[int, int]:
    """Ask the server to fork a child that receives ``fds``; (pid, status fd).

    ``carries_fds``: the pickled process holds fds of its own (a Pipe or
    Queue end), so the server should hold ``multiprocessing.connection``.
    Starts the server if needed; if it turns out to be dead, starts a new one
    and tries once more.
    """
    from . import _protocol as proto

    state = ensure_running()
    try:
        pid, status_fd = _request_fork(state, fds, carries_fds)
    except (ConnectionError, FileNotFoundError, proto.ProtocolError) as exc:
        try:
            state.process.wait(timeout=5)
        except Exception:  # noqa: BLE001 - still running: it refused us for real
            raise OSError(
                f"procstart forkserver (pid {state.pid}) refused the request: {exc}"
            ) from exc
        state = ensure_running()
        try:
            pid, status_fd = _request_fork(state, fds, carries_fds)
        except (ConnectionError, FileNotFoundError, proto.ProtocolError) as again:
            try:
                code = state.process.wait(timeout=5)
            except Exception:  # noqa: BLE001 - alive, yet it refused us
                code = None
            raise OSError(
                f"procstart forkserver (pid {state.pid}) "
                + (f"exited with code {code}" if code is not None else "refused the request")
                + f" before it could fork; preload={state.preload!r} (a preloaded module "
                "that crashes or exits the server shows here)"
            ) from again
    _read_report(state)
    return pid, status_fd


def stop(timeout: float = 5.0) -> None:
    """Stop this process's server (children it started keep running)."""
    global _state
    with _lock:
        state = _state
        if state is None or state.owner != os.getpid():
            return
        _state = None
        state.close_ends()  # EOF on the alive pipe: the server exits
    try:
        state.process.wait(timeout=timeout)
    except Exception:  # noqa: BLE001 - a stuck server is killed
        state.process.kill()
        state.process.wait()
    _forget(state)


def current() -> ServerState | None:
    """The server of this process, if one was started (tests, ``info``)."""
    state = _state
    if state is not None and state.owner == os.getpid():
        return state
    return None


def info() -> Mapping[str, object]:
    """State for ``procstart methods``: running pid and preloads, or the config."""
    state = current()
    if state is not None and state.alive():
        preloaded = state.preloaded if state.preloaded is not None else state.preload
        out: dict[str, object] = {
            "server": "running",
            "pid": state.pid,
            "preloaded": ", ".join(preloaded) or "-",
        }
        if state.failed:
            out["preload failed"] = ", ".join(name for name, _ in state.failed)
        return out
    try:
        preload = ", ".join(resolved_preload()) or "-"
    except ValueError as exc:
        preload = f"error: {exc}"
    return {"server": "not started", "preload": preload}
