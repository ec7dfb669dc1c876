"""The server's socket is private and refuses anyone without the key, without forking."""

from __future__ import annotations

import contextlib
import os
import select
import socket
import stat
from typing import Any

import fs_targets as t
import pytest
from fs_helpers import server_children, start_join

from procstart_forkserver import _protocol as proto


@pytest.fixture
def server(ctx: Any) -> Any:
    from procstart_forkserver import _client

    assert start_join(ctx, t.noop).exitcode == 0
    state = _client.current()
    assert state is not None and state.alive()
    return state


def test_socket_is_private(server: Any) -> None:
    folder = os.path.dirname(server.address)
    assert server.address.startswith("/")  # a path, never the abstract namespace
    info = os.lstat(folder)
    assert stat.S_ISDIR(info.st_mode)
    assert stat.S_IMODE(info.st_mode) == 0o700
    assert info.st_uid == os.getuid()
    sock_info = os.lstat(server.address)
    assert stat.S_ISSOCK(sock_info.st_mode)
    assert stat.S_IMODE(sock_info.st_mode) == 0o600


def _attempt(address: str, answer: Any) -> tuple[bytes, bool]:
    """Connect, answer the challenge with ``answer(nonce)`` plus two pipe ends.

    Returns (what the server sent back, whether the sentinel write end we
    sent is still held somewhere, i.e. by a forked child).
    """
    payload_r, payload_w = os.pipe()
    sentinel_r, sentinel_w = os.pipe()
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(30)
    try:
        sock.connect(address)
        challenge = b""
        while len(challenge) < proto.CHALLENGE_LEN:
            chunk = sock.recv(proto.CHALLENGE_LEN - len(challenge))
            assert chunk, "server closed before its challenge"
            challenge += chunk
        nonce = proto.parse_challenge(challenge)
        message = answer(nonce)
        if message is not None:
            socket.send_fds(sock, [message], [payload_r, sentinel_w])
        else:
            sock.shutdown(socket.SHUT_WR)
        for fd in (payload_r, payload_w, sentinel_w):
            os.close(fd)  # a forked child gets EOF on its payload and exits
        reply = sock.recv(64)  # refused: the server closes the connection (b"")
    finally:
        sock.close()
    # the server closed the sentinel end it got: EOF now (a child would hold it)
    readable = bool(select.select([sentinel_r], [], [], 10)[0])
    eof = readable and os.read(sentinel_r, 1) == b""
    os.close(sentinel_r)
    return reply, not eof


@pytest.mark.parametrize(
    "answer",
    [
        pytest.param(lambda nonce: os.urandom(proto.MESSAGE_LEN), id="garbage"),
        pytest.param(
            lambda nonce: proto.answer_challenge(os.urandom(32), nonce, proto.encode_request(2)),
            id="wrong-key",
        ),
        pytest.param(lambda nonce: bytes(32) + proto.encode_request(2), id="no-mac"),
        pytest.param(lambda nonce: None, id="silent"),
    ],
)
def test_unauthenticated_connection_is_closed_without_fork(
    server: Any, ctx: Any, answer: Any
) -> None:
    before = server_children(server.pid)
    reply, still_held = _attempt(server.address, answer)
    assert reply == b""
    assert not still_held
    assert server_children(server.pid) == before
    assert server.alive()
    # and the server keeps working for its parent
    assert start_join(ctx, t.exit_with, 4).exitcode == 4


def test_right_key_wrong_fd_count_is_refused(server: Any) -> None:
    before = server_children(server.pid)
    reply, still_held = _attempt(
        server.address,
        lambda nonce: proto.answer_challenge(server.key, nonce, proto.encode_request(3)),
    )
    assert reply == b"" and not still_held
    assert server_children(server.pid) == before


def test_right_key_forks(server: Any) -> None:
    """Control: the same client with the key does fork (the child gets no payload, exits)."""
    reply, _ = _attempt(
        server.address,
        lambda nonce: proto.answer_challenge(server.key, nonce, proto.encode_request(2)),
    )
    assert proto.parse_reply(reply[: proto.REPLY_LEN]) > 0


def test_answer_for_another_challenge_is_refused(server: Any) -> None:
    """The right key, but MAC'd over another nonce (a replayed answer): no fork."""
    before = server_children(server.pid)
    reply, still_held = _attempt(
        server.address,
        lambda nonce: proto.answer_challenge(
            server.key, bytes(b ^ 1 for b in nonce), proto.encode_request(2)
        ),
    )
    assert reply == b"" and not still_held
    assert server_children(server.pid) == before


def test_another_user_cannot_connect(server: Any) -> None:
    """The socket's folder is 0700: a process of another user cannot even connect."""
    if os.geteuid() != 0:
        pytest.skip("needs root to act as another user (setuid to nobody)")
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
                sock.connect(server.address)
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
        assert select.select([r], [], [], 30)[0], "the setuid child did not answer"
        answer = os.read(r, 1)
    finally:
        os.close(r)
        os.waitpid(pid, 0)
    outcomes = {0: "connected!", 1: "refused", 2: "another OSError", 3: "setup failed"}
    assert answer == bytes([1]), outcomes.get(answer[0] if answer else 3)


def _session(server: Any, key: bytes) -> socket.socket:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(30)
    sock.connect(server.address)
    challenge = b""
    while len(challenge) < proto.CHALLENGE_LEN:
        chunk = sock.recv(proto.CHALLENGE_LEN - len(challenge))
        assert chunk, "server closed before its challenge"
        challenge += chunk
    nonce = proto.parse_challenge(challenge)
    sock.sendall(proto.answer_challenge(key, nonce, proto.encode_session()))
    return sock


def _session_fork(sock: socket.socket, request: bytes) -> tuple[bytes, bool]:
    """Send ``request`` with payload, sentinel and status ends; (reply, sentinel held)."""
    pipes = [os.pipe() for _ in range(3)]
    payload_r, sentinel_w, status_w = pipes[0][0], pipes[1][1], pipes[2][1]
    with contextlib.suppress(OSError):  # the server closed the session already
        socket.send_fds(sock, [request], [payload_r, sentinel_w, status_w])
    for fd in (payload_r, pipes[0][1], sentinel_w, status_w, pipes[2][0]):
        os.close(fd)  # a forked child gets EOF on its payload and exits
    try:
        reply = sock.recv(64)
    except ConnectionResetError:
        reply = b""
    sentinel_r = pipes[1][0]
    readable = bool(select.select([sentinel_r], [], [], 10)[0])
    eof = readable and os.read(sentinel_r, 1) == b""
    os.close(sentinel_r)
    return reply, not eof


def test_session_with_a_wrong_key_is_closed_without_fork(server: Any, ctx: Any) -> None:
    before = server_children(server.pid)
    with _session(server, os.urandom(32)) as sock:
        reply, still_held = _session_fork(sock, proto.encode_session_fork(3))
    assert reply == b"" and not still_held
    assert server_children(server.pid) == before
    assert start_join(ctx, t.exit_with, 3).exitcode == 3


def test_malformed_request_ends_the_session_without_fork(server: Any) -> None:
    before = server_children(server.pid)
    with _session(server, server.key) as sock:
        # flags without the status fd: refused, and the session is closed
        reply, still_held = _session_fork(sock, b"FORK\x00\x03\x00\x00")
        assert reply == b"" and not still_held
        assert sock.recv(16) == b""
    assert server_children(server.pid) == before


def test_session_forks_one_child_per_request(server: Any) -> None:
    """Control: an authenticated session forks, and goes on serving."""
    with _session(server, server.key) as sock:
        for _ in range(2):
            reply, _ = _session_fork(sock, proto.encode_session_fork(3))
            assert proto.parse_reply(reply[: proto.REPLY_LEN]) > 0
