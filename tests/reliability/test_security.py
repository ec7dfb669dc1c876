"""Security: what a child, another connection or another user can reach.

- no fd of the parent reaches a spawn or forkserver child unless it was asked
  for (checked for a socket, a file and a pipe, all marked inheritable); under
  fork they all arrive, which shows the check can see them;
- the fork server: private folder (0700, this user), no abstract socket,
  unauthenticated / wrong-key connections closed without forking, another
  user cannot even connect;
- the tracker: no endpoint anyone could open (only an inherited pipe), and
  registration names that climb out with ``..`` are refused.
"""

from __future__ import annotations

import os
import socket
import stat

import psutil
import pytest

import procstart
from tests.reliability import _targets
from tests.reliability.conftest import (
    INSTALLED,
    WAIT,
    last_json,
    read_until_closed,
    run_parent,
)


def _identity(fd: int) -> tuple[int, int]:
    st = os.fstat(fd)
    return (st.st_dev, st.st_ino)


def test_inheritable_parent_fds_do_not_reach_the_child(method: str, tmp_path) -> None:
    ctx = procstart.get_context(method)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    secret = open(tmp_path / "secret", "w")  # noqa: SIM115 - closed below
    pipe_r, pipe_w = os.pipe()
    theirs = {"socket": sock.fileno(), "file": secret.fileno(), "pipe": pipe_r, "pipe-w": pipe_w}
    try:
        for fd in theirs.values():
            os.set_inheritable(fd, True)
        wanted = {name: _identity(fd) for name, fd in theirs.items()}
        reader, writer = ctx.Pipe(duplex=False)  # asked for: passed as an argument
        proc = ctx.Process(target=_targets.fd_identities, args=(writer,))
        proc.start()
        writer_identity = _identity(writer.fileno())
        writer.close()
        assert reader.poll(WAIT), "the child never answered"
        held = {(dev, ino) for _fd, dev, ino in reader.recv()}
        proc.join(WAIT)
        assert proc.exitcode == 0
    finally:
        sock.close()
        secret.close()
        os.close(pipe_r)
        os.close(pipe_w)
    leaked = sorted(name for name, ident in wanted.items() if ident in held)
    assert writer_identity in held  # the handle that was asked for does arrive
    if method == "fork":
        # a forked child holds every fd of its parent: the check sees them
        assert leaked == sorted(theirs)
    else:
        assert leaked == [], f"parent fds reached the {method} child: {leaked}"


# -- the fork server -----------------------------------------------------------------------

forkserver_only = pytest.mark.skipif(
    "forkserver" not in INSTALLED,
    reason=f"procstart-forkserver is not installed (get_all_start_methods() = {INSTALLED})",
)


def _running_forkserver():  # type: ignore[no-untyped-def]
    from procstart_forkserver import _client

    ctx = procstart.get_context("forkserver")
    proc = ctx.Process(target=_targets.noop)
    proc.start()
    proc.join(WAIT)
    assert proc.exitcode == 0
    state = _client.current()
    assert state is not None and state.alive()
    return ctx, state


@forkserver_only
def test_forkserver_socket_is_private() -> None:
    _ctx, state = _running_forkserver()
    address = state.address
    assert isinstance(address, str) and address.startswith("/"), "abstract or unnamed socket"
    folder = os.stat(os.path.dirname(address))
    assert stat.S_IMODE(folder.st_mode) == 0o700
    assert folder.st_uid == os.getuid()
    sock_stat = os.stat(address)
    assert stat.S_ISSOCK(sock_stat.st_mode)
    assert stat.S_IMODE(sock_stat.st_mode) & 0o077 == 0
    assert sock_stat.st_uid == os.getuid()


def _exchange(address: str, answer_to, fds: list[int]) -> bytes:  # type: ignore[no-untyped-def]
    """Connect, read the challenge, send ``answer_to(nonce)`` (None: nothing) with ``fds``.

    Returns whatever the server says afterwards (b"" when it just hangs up).
    """
    from procstart_forkserver import _protocol as proto

    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(WAIT)
    try:
        sock.connect(address)
        challenge = b""
        while len(challenge) < proto.CHALLENGE_LEN:
            chunk = sock.recv(proto.CHALLENGE_LEN - len(challenge))
            assert chunk, "the server hung up before its challenge"
            challenge += chunk
        message = answer_to(proto.parse_challenge(challenge))
        if message is not None:
            socket.send_fds(sock, [message], fds)
        sock.shutdown(socket.SHUT_WR)
        return read_until_closed(sock)
    finally:
        sock.close()


@forkserver_only
@pytest.mark.parametrize("how", ["silent", "wrong-key", "other-nonce", "no-fds"])
def test_forkserver_refuses_unauthenticated_connections_without_forking(how: str) -> None:
    from procstart_forkserver import _protocol as proto

    ctx, state = _running_forkserver()
    server = psutil.Process(state.pid)
    before = {child.pid for child in server.children()}
    payload_r, payload_w = os.pipe()
    sentinel_r, sentinel_w = os.pipe()
    fds = [payload_r, sentinel_w]
    request = proto.encode_request(len(fds))
    wrong_key = bytes(b ^ 0xFF for b in state.key)
    answer_to = {
        "silent": lambda nonce: None,
        # a well-formed request, MAC'd with a key that is not the server's
        "wrong-key": lambda nonce: proto.answer_challenge(wrong_key, nonce, request),
        # the right key, but for another challenge (a replayed answer)
        "other-nonce": lambda nonce: proto.answer_challenge(
            state.key, bytes(b ^ 1 for b in nonce), request
        ),
        # properly authenticated, but the fds it declares do not come with it
        "no-fds": lambda nonce: proto.answer_challenge(state.key, nonce, request),
    }[how]
    try:
        answer = _exchange(state.address, answer_to, [] if how == "no-fds" else fds)
    finally:
        for fd in (payload_r, payload_w, sentinel_r, sentinel_w):
            os.close(fd)
    assert answer == b"", f"the server answered an unauthenticated request: {answer!r}"
    assert {child.pid for child in server.children()} - before == set()
    proc = ctx.Process(target=_targets.exit_with, args=(8,))
    proc.start()
    proc.join(WAIT)
    assert proc.exitcode == 8  # and it still serves its parent


@forkserver_only
def test_another_user_cannot_connect_to_the_forkserver() -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root to act as another user (setuid to nobody)")
    _ctx, state = _running_forkserver()
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child: become nobody, try to connect
        code = 3
        try:
            os.close(r)
            os.setgroups([])
            os.setgid(65534)
            os.setuid(65534)
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.settimeout(10)
            try:
                sock.connect(state.address)
                code = 0
            except PermissionError:
                code = 1
            except OSError:
                code = 2
        finally:
            os.write(w, bytes([code]))
            os._exit(0)
    os.close(w)
    try:
        os.set_blocking(r, True)
        import select

        assert select.select([r], [], [], WAIT)[0], "the setuid child did not answer"
        answer = os.read(r, 1)
    finally:
        os.close(r)
        os.waitpid(pid, 0)
    assert answer == bytes([1]), {0: "connected!", 2: "other OSError", 3: "setup failed"}.get(
        answer[0] if answer else 3
    )


# -- the tracker ----------------------------------------------------------------------------------

TRACKER = """
import json, os
import procstart
try:
    import procstart_tracker
except ImportError:
    print(json.dumps({"installed": False})); raise SystemExit
out = {"installed": True, "refused": {}}
procstart.register_resource("folder", "/tmp/procstart-reliability-probe")  # start it
status = procstart_tracker.status()
pid = status["pid"]
out["pid"] = pid
def target(n):
    try:
        return os.readlink(f"/proc/{pid}/fd/{n}")
    except FileNotFoundError:  # closed meanwhile (a module file read while it starts)
        return None
out["fds"] = sorted(filter(None, map(target, os.listdir(f"/proc/{pid}/fd"))))
procstart.unregister_resource("folder", "/tmp/procstart-reliability-probe")
for name in ("/tmp/x/../../etc", "/tmp/../etc", "/../../..", "/", "/tmp", "/./tmp/.."):
    try:
        accepted = procstart.register_resource("folder", name)
        out["refused"][name] = f"accepted ({accepted})"
        procstart.unregister_resource("folder", name)
    except Exception as exc:
        out["refused"][name] = f"{type(exc).__name__}: {exc}"
print(json.dumps(out))
"""


def test_tracker_has_no_open_endpoint_and_refuses_path_tricks() -> None:
    out = last_json(run_parent(TRACKER))
    if not out["installed"]:
        pytest.skip("procstart-tracker is not installed")
    sockets = [target for target in out["fds"] if target.startswith("socket:")]
    assert sockets == [], f"the tracker holds sockets someone could reach: {out['fds']}"
    assert any(target.startswith("pipe:") for target in out["fds"])
    for name, outcome in out["refused"].items():
        assert "accepted" not in outcome, (name, outcome)
        assert outcome.startswith("ProtocolError: "), (name, outcome)
        assert "top-level path" in outcome or "must be normalised" in outcome, (name, outcome)
