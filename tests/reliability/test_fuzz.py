"""Fuzzing every parser that reads bytes from another process.

- ``procstart.child.read_payload`` (the launch payload header of spawn and
  forkserver children), fed through a real pipe;
- the fork server's wire protocol (``procstart_forkserver._protocol``) and a
  live server fed garbage over its socket: it never forks for it;
- the tracker's line protocol and its message-driven state
  (``procstart_tracker._server.TrackerState``): garbage is rejected and never
  turns into a registration, so it can never be cleaned up (unlinked).

Example counts go to the "procstart reliability figures" summary; ``--soak``
multiplies them by ten.
"""

from __future__ import annotations

import contextlib
import os
import posixpath
import socket
import threading

import psutil
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import procstart
from procstart.child import MAGIC, PayloadError, read_payload
from tests.reliability import _targets
from tests.reliability.conftest import INSTALLED, WAIT, Counts, read_until_closed


def _settings(counts: Counts, base: int) -> settings:
    return settings(
        max_examples=base * (10 if counts.soak else 1),
        deadline=None,  # no timing assertions
        database=None,  # nothing written into the repository
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )


# -- the launch payload ------------------------------------------------------------------


def _read_from_pipe(data: bytes) -> tuple[bytes, bytes]:
    """Write ``data`` to a pipe (from a thread: it may exceed the pipe buffer), close it, read."""
    r, w = os.pipe()

    def writer() -> None:
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(w, view) :]
        except BrokenPipeError:
            pass  # the reader stopped early: fine
        finally:
            os.close(w)

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        return read_payload(r)
    finally:
        os.close(r)
        thread.join(WAIT)
        assert not thread.is_alive()


def _payload(prep: bytes, proc: bytes) -> bytes:
    return MAGIC + len(prep).to_bytes(8, "big") + prep + len(proc).to_bytes(8, "big") + proc


def test_read_payload_on_random_bytes(counts: Counts, figure) -> None:
    seen = {"examples": 0, "parsed": 0}

    @_settings(counts, 300)
    @given(
        st.one_of(
            st.binary(max_size=256),
            # a right header followed by anything: lengths that lie, truncations
            st.binary(max_size=256).map(lambda tail: MAGIC + tail),
            st.tuples(st.integers(0, 2**64 - 1), st.binary(max_size=128)).map(
                lambda t: MAGIC + t[0].to_bytes(8, "big") + t[1]
            ),
            # well-formed payloads, maybe followed by more bytes
            st.tuples(st.binary(max_size=64), st.binary(max_size=64), st.binary(max_size=8)).map(
                lambda t: _payload(t[0], t[1]) + t[2]
            ),
        )
    )
    def check(data: bytes) -> None:
        seen["examples"] += 1
        try:
            prep, proc = _read_from_pipe(data)
        except (PayloadError, EOFError):
            return
        seen["parsed"] += 1
        # accepted only when it starts with exactly a well-formed payload
        assert data.startswith(_payload(prep, proc))

    check()
    figure(f"read_payload: {seen['examples']} examples, {seen['parsed']} well-formed")
    assert seen["examples"] > 0


def test_read_payload_on_every_truncation_of_a_real_payload() -> None:
    full = _payload(b"prep-" * 20, b"process-" * 30)
    assert _read_from_pipe(full) == (b"prep-" * 20, b"process-" * 30)
    for cut in range(len(full)):
        with pytest.raises(PayloadError):
            _read_from_pipe(full[:cut])


def test_read_payload_refuses_absurd_lengths_before_allocating() -> None:
    huge = MAGIC + (1 << 62).to_bytes(8, "big") + b"x" * 16
    with pytest.raises(PayloadError, match="out of range"):
        _read_from_pipe(huge)


# -- the fork server -------------------------------------------------------------------------

forkserver_only = pytest.mark.skipif(
    "forkserver" not in INSTALLED,
    reason=f"procstart-forkserver is not installed (get_all_start_methods() = {INSTALLED})",
)


@forkserver_only
def test_forkserver_parsers_on_random_bytes(counts: Counts, figure) -> None:
    from procstart_forkserver import _protocol as proto

    seen = {"examples": 0}
    key = os.urandom(proto.KEY_LEN)

    @_settings(counts, 400)
    @given(
        message=st.one_of(
            st.binary(max_size=2 * proto.MESSAGE_LEN),
            st.binary(min_size=proto.MESSAGE_LEN, max_size=proto.MESSAGE_LEN),
            st.binary(max_size=proto.MAC_LEN).map(lambda mac: mac.ljust(proto.MAC_LEN, b"\0"))
            .flatmap(lambda mac: st.tuples(st.just(mac), st.integers(0, 0xFFFF),
                                           st.integers(0, 0xFFFF)))
            .map(lambda t: t[0] + b"FORK" + t[1].to_bytes(2, "big") + t[2].to_bytes(2, "big")),
        ),
        fd_count=st.integers(0, 300),
        nonce=st.binary(min_size=proto.NONCE_LEN, max_size=proto.NONCE_LEN),
        reply=st.binary(max_size=2 * proto.REPLY_LEN),
        report=st.binary(max_size=300),
    )  # fmt: skip
    def check(message: bytes, fd_count: int, nonce: bytes, reply: bytes, report: bytes) -> None:
        seen["examples"] += 1
        # a random message never authenticates (the server checks this first)
        assert proto.verify_request(key, nonce, message) is False
        try:
            request = proto.parse_request(message, fd_count)
        except proto.ProtocolError:
            pass
        else:
            assert request.fd_count == fd_count
            assert proto.FIXED_FDS <= fd_count <= proto.MAX_FDS
        for parse in (proto.parse_challenge, proto.parse_status):
            with contextlib.suppress(proto.ProtocolError):
                parse(reply)
        try:
            proto.parse_reply(reply)
        except proto.ProtocolError:
            pass
        except OSError:  # b"E" + errno: the server says it could not fork
            assert reply[:1] == b"E"
        preloaded, failed = proto.parse_report(report)
        assert all(isinstance(name, str) and name for name in preloaded)
        assert all(isinstance(name, str) and name for name, _ in failed)

    check()
    figure(f"forkserver protocol parsers: {seen['examples']} examples")


@forkserver_only
def test_forkserver_mac_rejects_any_other_key_or_request(counts: Counts, figure) -> None:
    from procstart_forkserver import _protocol as proto

    seen = {"examples": 0}
    key = os.urandom(proto.KEY_LEN)
    nonce = os.urandom(proto.NONCE_LEN)
    good = proto.answer_challenge(key, nonce, proto.encode_request(3))
    assert proto.verify_request(key, nonce, good)

    @_settings(counts, 300)
    @given(
        position=st.integers(0, len(good) - 1),
        flip=st.integers(1, 255),
        other_key=st.binary(min_size=proto.KEY_LEN, max_size=proto.KEY_LEN),
    )
    def check(position: int, flip: int, other_key: bytes) -> None:
        seen["examples"] += 1
        tampered = bytearray(good)
        tampered[position] ^= flip
        assert proto.verify_request(key, nonce, bytes(tampered)) is False
        if other_key != key:
            assert proto.verify_request(other_key, nonce, good) is False

    check()
    figure(f"forkserver MAC tampering: {seen['examples']} examples")


def _forkserver_state():  # type: ignore[no-untyped-def]
    from procstart_forkserver import _client

    ctx = procstart.get_context("forkserver")
    proc = ctx.Process(target=_targets.noop)
    proc.start()
    proc.join(WAIT)
    assert proc.exitcode == 0
    state = _client.current()
    assert state is not None and state.alive()
    return ctx, state


def _talk(address: str, data: bytes, fds: list[int]) -> bytes:
    """Connect, read the challenge, send ``data`` (with ``fds``), return what comes back."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(WAIT)
    try:
        sock.connect(address)
        challenge = b""
        while len(challenge) < 40:
            chunk = sock.recv(40 - len(challenge))
            if not chunk:
                break
            challenge += chunk
        try:
            if fds:
                socket.send_fds(sock, [data or b"\0"], fds)
            elif data:
                sock.sendall(data)
            sock.shutdown(socket.SHUT_WR)
        except (BrokenPipeError, ConnectionResetError):
            return b""
        return read_until_closed(sock)
    finally:
        sock.close()


@forkserver_only
def test_live_forkserver_never_forks_for_garbage(counts: Counts, figure) -> None:
    ctx, state = _forkserver_state()
    server = psutil.Process(state.pid)
    before = {child.pid for child in server.children()}
    r, w = os.pipe()
    seen = {"examples": 0}

    @_settings(counts, 60)
    @given(data=st.binary(max_size=120), with_fds=st.booleans())
    def check(data: bytes, with_fds: bool) -> None:
        seen["examples"] += 1
        answer = _talk(state.address, data, [r, w] if with_fds else [])
        assert answer == b"", f"the server answered garbage with {answer!r}"

    try:
        check()
    finally:
        os.close(r)
        os.close(w)
    new = {child.pid for child in server.children()} - before
    assert new == set(), f"the server forked for garbage: {new}"
    assert server.is_running() and state.alive()
    proc = ctx.Process(target=_targets.exit_with, args=(9,))
    proc.start()
    proc.join(WAIT)
    assert proc.exitcode == 9
    figure(f"live forkserver garbage connections: {seen['examples']} examples, 0 forks")


# -- the tracker --------------------------------------------------------------------------------


def _tracker_modules():  # type: ignore[no-untyped-def]
    proto = pytest.importorskip(
        "procstart_tracker._protocol", reason="procstart-tracker is not installed"
    )
    server = pytest.importorskip("procstart_tracker._server")
    if not hasattr(server, "TrackerState"):
        pytest.skip("procstart_tracker has no TrackerState to fuzz")
    return proto, server


_PATH_PART = st.sampled_from(["tmp", "a", "..", ".", "", "b c", "x%y", "\u00e9", "etc", "~"])


@st.composite
def _tracker_lines(draw):  # type: ignore[no-untyped-def]
    """A valid REG line (maybe), or a near miss, or garbage."""
    kind = draw(st.sampled_from(["file", "folder", "shared_memory", "semaphore", "custom"]))
    path = "/" + "/".join(draw(st.lists(_PATH_PART, min_size=0, max_size=5)))
    op = draw(st.sampled_from(["REG", "UNREG", "TYPE", "CHILD", "HELLO", "BYE", "reg", "REGX"]))
    pid = draw(st.sampled_from(["1", "42", "0", "-1", "99999999999", "x"]))
    from urllib.parse import quote

    choice = draw(st.integers(0, 4))
    if choice == 4:  # well-formed: a registration the tracker must accept
        folder = draw(st.sampled_from(["tmp", "var"]))
        leaf = draw(st.text("abc-_.", min_size=1, max_size=8).filter(lambda t: t not in ".."))
        return f"REG 42 {kind} /{folder}/{leaf}".encode("ascii")
    if choice == 0:
        return draw(st.binary(max_size=80))
    if choice == 1:  # raw, unencoded path: spaces, '..' and all
        return f"{op} {pid} {kind} {path}".encode("utf-8", "surrogateescape")
    return f"{op} {pid} {kind} {quote(path, safe='/')}".encode("ascii")


def test_tracker_parser_and_state_on_garbage(counts: Counts, figure) -> None:
    proto, server = _tracker_modules()
    seen = {"examples": 0, "accepted": 0}

    @_settings(counts, 300)
    @given(
        lines=st.lists(_tracker_lines(), max_size=12),
        cuts=st.lists(st.integers(0, 2000), max_size=6),
    )
    def check(lines: list[bytes], cuts: list[int]) -> None:
        seen["examples"] += 1
        stream = b"\n".join(lines) + b"\n"
        whole_lines = set(stream.split(b"\n"))
        state = server.TrackerState(root_pid=42)
        start = 0
        for cut in [*sorted(cuts), len(stream)]:  # arbitrary chunking, as a pipe delivers
            state.feed(stream[start : max(start, cut)])
            start = max(start, cut)
        for (kind, name), holders in state.resources.items():
            seen["accepted"] += 1
            assert holders, (kind, name)
            # registered only by a whole, well-formed REG line of the input...
            line = proto.encode_message("REG", next(iter(holders)), kind, name).rstrip(b"\n")
            assert line in whole_lines, (kind, name)
            # ...and never a path the cleanup could be tricked with
            assert proto.check_name(kind, name) is None
            if kind in ("file", "folder"):
                assert name.startswith("/") and posixpath.normpath(name) == name
                assert ".." not in name.split("/")
        for line in lines:
            try:
                message = proto.parse_message(line)
            except proto.ProtocolError:
                continue
            assert message.op in proto.OPS

    check()
    assert seen["accepted"] > 0, "no well-formed registration was ever generated"
    figure(
        f"tracker TrackerState.feed: {seen['examples']} examples, "
        f"{seen['accepted']} registrations accepted"
    )


def test_tracker_parser_on_random_bytes(counts: Counts, figure) -> None:
    proto, _server = _tracker_modules()
    seen = {"examples": 0}

    @_settings(counts, 500)
    @given(st.binary(max_size=proto.MAX_LINE + 10))
    def check(line: bytes) -> None:
        seen["examples"] += 1
        try:
            message = proto.parse_message(line)
        except proto.ProtocolError:
            return
        assert message.op in proto.OPS

    check()
    figure(f"tracker parse_message: {seen['examples']} examples")
