"""The wire protocol's pure parsers, including fuzzing (hypothesis)."""

from __future__ import annotations

import contextlib
import os
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from procstart_forkserver import _protocol as proto

KEY = bytes(range(32))


def test_round_trip() -> None:
    nonce = os.urandom(32)
    message = proto.answer_challenge(KEY, nonce, proto.encode_request(5))
    assert proto.verify_request(KEY, nonce, message)
    assert proto.parse_request(message, 5).inherited_count == 3
    assert not proto.verify_request(bytes(32), nonce, message)
    assert not proto.verify_request(KEY, os.urandom(32), message)
    assert proto.parse_reply(proto.encode_reply(pid=123)) == 123
    assert proto.parse_status(proto.encode_status(-15)) == -15


@pytest.mark.parametrize(
    ("message", "fds", "error"),
    [
        (bytes(32) + b"FORK\x00\x02\x00\x00", 3, "request declares 2 fds, 3 arrived"),
        (bytes(32) + b"EXEC\x00\x02\x00\x00", 2, "unknown request b'EXEC'"),
        (bytes(32) + b"FORK\x00\x02\x00\x01", 2, "unknown request flags 0x1"),
        (bytes(32) + b"FORK\x00\x01\x00\x00", 1, "request with 1 fds"),
        (b"short", 2, "request of 5 bytes, expected 40"),
    ],
)
def test_bad_requests_name_the_problem(message: bytes, fds: int, error: str) -> None:
    with pytest.raises(proto.ProtocolError, match=error.replace("(", r"\(")):
        proto.parse_request(message, fds)


def test_fork_failure_reply_is_an_oserror() -> None:
    import errno

    with pytest.raises(OSError, match="the fork server could not fork") as info:
        proto.parse_reply(proto.encode_reply(errno=errno.EAGAIN))
    assert info.value.errno == errno.EAGAIN


def test_too_many_handles_is_refused_in_the_parent() -> None:
    with pytest.raises(ValueError, match="at most 251 handles, asked for 300"):
        proto.encode_request(302)


@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=80), st.integers(min_value=0, max_value=300))
def test_fuzz_parse_request(message: bytes, fds: int) -> None:
    try:
        request = proto.parse_request(message, fds)
    except proto.ProtocolError:
        return
    assert request.fd_count == fds


@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=80), st.binary(min_size=32, max_size=32))
def test_fuzz_random_messages_never_authenticate(message: bytes, nonce: bytes) -> None:
    assert not proto.verify_request(KEY, nonce, message)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=16))
def test_fuzz_replies(data: bytes) -> None:
    for parse in (proto.parse_reply, proto.parse_status, proto.parse_challenge):
        with contextlib.suppress(proto.ProtocolError, OSError):
            parse(data)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200))
def test_fuzz_report(data: bytes) -> None:
    preloaded, failed = proto.parse_report(data)
    assert all(isinstance(name, str) and name for name in preloaded)
    assert all(len(item) == 2 for item in failed)


def test_report_round_trip_keeps_one_line_per_module() -> None:
    data = proto.encode_report(["a", "b.c"], [("x", "Error:\ttab\nnewline")])
    assert proto.parse_report(data) == (["a", "b.c"], [("x", "Error: tab newline")])


def test_server_refuses_fuzzed_input_without_forking(ctx: object) -> None:
    """Random bytes on a real connection: refused, no fork, server alive."""
    import random
    import socket

    import fs_targets as t
    from fs_helpers import server_children, start_join

    from procstart_forkserver import _client

    start_join(ctx, t.noop)
    state = _client.current()
    assert state is not None
    before = server_children(state.pid)
    rng = random.Random(1234)
    for _ in range(50):
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(30)
            sock.connect(state.address)
            sock.recv(proto.CHALLENGE_LEN)
            sock.sendall(rng.randbytes(rng.randrange(0, 120)))
            sock.shutdown(socket.SHUT_WR)
            # refused: EOF, or a reset when our extra bytes were left unread
            with contextlib.suppress(ConnectionResetError):
                assert sock.recv(16) == b""
    assert server_children(state.pid) == before
    assert start_join(ctx, t.exit_with, 2).exitcode == 2


def test_client_key_length_matches_the_protocol() -> None:
    from procstart_forkserver import _client

    assert _client._KEY_LEN == proto.KEY_LEN


def test_session_round_trip() -> None:
    nonce = os.urandom(32)
    opening = proto.answer_challenge(KEY, nonce, proto.encode_session())
    assert proto.verify_request(KEY, nonce, opening)
    assert proto.parse_session_open(opening, 0)
    # a one-shot fork request is not a session
    assert not proto.parse_session_open(
        proto.answer_challenge(KEY, nonce, proto.encode_request(2)), 2
    )
    request = proto.parse_session_fork(proto.encode_session_fork(5, hold_cloudpickle=True), 5)
    assert (request.inherited_count, request.hold_cloudpickle) == (2, True)
    assert not proto.parse_session_fork(proto.encode_session_fork(3), 3).hold_cloudpickle
    request = proto.parse_session_fork(proto.encode_session_fork(4, hold_connection=True), 4)
    assert (request.hold_connection, request.hold_cloudpickle) == (True, False)
    assert not proto.parse_session_fork(proto.encode_session_fork(3), 3).hold_connection


@pytest.mark.parametrize(
    ("message", "fds", "error"),
    [
        (b"FORK\x00\x03\x00\x00", 3, "session request flags 0x0 lack the status fd"),
        (b"FORK\x00\x03\x00\x09", 3, "unknown request flags 0x9"),
        (b"EXEC\x00\x03\x00\x01", 3, "unknown request b'EXEC'"),
        (b"FORK\x00\x03\x00\x01", 4, "request declares 3 fds, 4 arrived"),
        (b"FORK\x00\x02\x00\x01", 2, "request with 2 fds (allowed 3..253)"),
        (b"FORK\x00\x03", 3, "session request of 6 bytes, expected 8"),
    ],
)
def test_bad_session_requests_name_the_problem(message: bytes, fds: int, error: str) -> None:
    with pytest.raises(proto.ProtocolError, match=re.escape(error)):
        proto.parse_session_fork(message, fds)


def test_session_opening_with_fds_is_refused() -> None:
    with pytest.raises(proto.ProtocolError, match="malformed session request"):
        proto.parse_session_open(bytes(32) + proto.encode_session(), 2)


@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=20), st.integers(min_value=0, max_value=300))
def test_fuzz_parse_session_fork(message: bytes, fds: int) -> None:
    try:
        request = proto.parse_session_fork(message, fds)
    except proto.ProtocolError:
        return
    assert request.fd_count == fds >= proto.SESSION_FIXED_FDS
