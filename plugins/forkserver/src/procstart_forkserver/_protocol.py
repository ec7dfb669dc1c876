"""The wire protocol between a parent and its fork server: pure functions only.

Nothing here touches a socket or a process, so every parser can be fuzzed
(``parse_request``, ``verify_request``, ``parse_reply``, ``parse_status``,
``parse_report``).

One connection starts one child::

    server -> client   CHALLENGE_MAGIC (8) | nonce (32)
    client -> server   HMAC-SHA256(key, DOMAIN | nonce | request) (32) | request (8)
                       with SCM_RIGHTS: payload read end, sentinel write end,
                       then the child's inherited fds in order
    server -> client   b"P" | pid (int32)  or  b"E" | errno (int32)
    server -> client   b"S" | exit code (int32), when the child has been reaped

``request`` is ``b"FORK" | fd count (uint16) | flags (uint16, zero)``. The
server checks the MAC before it looks at anything else; a connection that
fails any check is closed without forking.

A parent that starts many children keeps one authenticated connection (a
*session*) instead, so each child costs one round trip, as in the stdlib::

    server -> client   CHALLENGE_MAGIC (8) | nonce (32)
    client -> server   HMAC-SHA256(key, DOMAIN | nonce | b"SESS\0\0\0\0") (32) | b"SESS\0\0\0\0"
    then, per child:
    client -> server   b"FORK" | fd count | flags (SESSION_STATUS_FD, maybe HOLD_CLOUDPICKLE,
                       HOLD_CONNECTION)
                       with SCM_RIGHTS: payload read end, sentinel write end,
                       status write end, then the child's inherited fds
    server -> client   b"P" | pid  or  b"E" | errno
    server -> status   b"S" | exit code, when the child has been reaped

Only the first message is MAC'd: the connection itself is the credential
from then on (the socket lives in a 0700 folder; the fd never leaves the
parent). A malformed request closes the session without forking.
"""

from __future__ import annotations

import hashlib
import hmac
import struct

__all__ = [
    "CHALLENGE_LEN",
    "CHALLENGE_MAGIC",
    "HOLD_CLOUDPICKLE",
    "HOLD_CONNECTION",
    "KEY_LEN",
    "MAX_FDS",
    "MESSAGE_LEN",
    "REPLY_LEN",
    "ForkRequest",
    "ProtocolError",
    "SessionFork",
    "answer_challenge",
    "encode_reply",
    "encode_request",
    "encode_session",
    "encode_session_fork",
    "encode_status",
    "parse_challenge",
    "parse_reply",
    "parse_request",
    "parse_session_fork",
    "parse_session_open",
    "parse_status",
    "verify_request",
]

#: bytes of the per-server secret
KEY_LEN = 32
NONCE_LEN = 32
MAC_LEN = 32
CHALLENGE_MAGIC = b"PSFSCHL1"
CHALLENGE_LEN = len(CHALLENGE_MAGIC) + NONCE_LEN
_DOMAIN = b"procstart-forkserver/1"
_OP_FORK = b"FORK"
_REQUEST = struct.Struct("!4sHH")
REQUEST_LEN = _REQUEST.size
#: MAC and request: what the client sends after the challenge
MESSAGE_LEN = MAC_LEN + REQUEST_LEN
#: the payload pipe, the sentinel pipe; the rest are the child's own handles
FIXED_FDS = 2
#: SCM_MAX_FD on Linux: the most fds one message may carry
MAX_FDS = 253
_REPLY = struct.Struct("!ci")
REPLY_LEN = _REPLY.size


_OP_SESSION = b"SESS"
#: session requests: the third fd is where the child's exit status goes
SESSION_STATUS_FD = 0x1
#: session requests: the parent sends targets by value; keep cloudpickle loaded
HOLD_CLOUDPICKLE = 0x2
#: session requests: the payload carries fds (a Pipe or Queue end: a
#: Connection); the server imports multiprocessing.connection before forking
HOLD_CONNECTION = 0x4
_SESSION_FLAGS = SESSION_STATUS_FD | HOLD_CLOUDPICKLE | HOLD_CONNECTION
#: payload, sentinel and status fds of a session request
SESSION_FIXED_FDS = 3


class ProtocolError(ValueError):
    """Bytes from the other side that do not follow the protocol."""


class ForkRequest:
    """A parsed, authenticated request: fork one child with ``fd_count`` fds.

    (A slotted class, not a dataclass: the server must start fast.)
    """

    __slots__ = ("fd_count",)

    def __init__(self, fd_count: int) -> None:
        self.fd_count = fd_count

    def __repr__(self) -> str:
        return f"ForkRequest(fd_count={self.fd_count})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ForkRequest) and other.fd_count == self.fd_count

    def __hash__(self) -> int:
        return hash(self.fd_count)

    @property
    def inherited_count(self) -> int:
        """How many of the fds are the child's own handles."""
        return self.fd_count - FIXED_FDS


def _mac(key: bytes, nonce: bytes, request: bytes) -> bytes:
    return hmac.new(key, _DOMAIN + nonce + request, hashlib.sha256).digest()


def encode_challenge(nonce: bytes) -> bytes:
    """The server's first message on a new connection."""
    if len(nonce) != NONCE_LEN:
        raise ValueError(f"nonce must be {NONCE_LEN} bytes")
    return CHALLENGE_MAGIC + nonce


def parse_challenge(data: bytes) -> bytes:
    """The nonce from a server's challenge; :class:`ProtocolError` if malformed.

    >>> parse_challenge(encode_challenge(bytes(32))) == bytes(32)
    True
    """
    if len(data) != CHALLENGE_LEN or not data.startswith(CHALLENGE_MAGIC):
        raise ProtocolError(f"not a fork server challenge: {data[:16]!r}")
    return data[len(CHALLENGE_MAGIC) :]


def encode_request(fd_count: int) -> bytes:
    """The request part of a fork message (without the MAC)."""
    if not FIXED_FDS <= fd_count <= MAX_FDS:
        raise ValueError(
            f"a forkserver child can receive at most {MAX_FDS - FIXED_FDS} handles, "
            f"asked for {fd_count - FIXED_FDS}"
        )
    return _REQUEST.pack(_OP_FORK, fd_count, 0)


def answer_challenge(key: bytes, nonce: bytes, request: bytes) -> bytes:
    """What the client sends: the MAC over the nonce and the request, then the request.

    >>> key, nonce = bytes(32), bytes(range(32))
    >>> message = answer_challenge(key, nonce, encode_request(2))
    >>> verify_request(key, nonce, message)
    True
    """
    return _mac(key, nonce, request) + request


def verify_request(key: bytes, nonce: bytes, message: bytes) -> bool:
    """True when ``message`` carries a valid MAC for ``nonce`` under ``key``.

    Constant-time comparison; any length is accepted and simply fails.
    """
    if len(message) != MESSAGE_LEN or len(key) != KEY_LEN or len(nonce) != NONCE_LEN:
        return False
    mac, request = message[:MAC_LEN], message[MAC_LEN:]
    return hmac.compare_digest(mac, _mac(key, nonce, request))


def parse_request(message: bytes, fd_count: int) -> ForkRequest:
    """Parse an (already authenticated) message that arrived with ``fd_count`` fds.

    Raises :class:`ProtocolError` for anything but a well-formed fork request
    whose declared fd count matches the fds received.

    >>> parse_request(bytes(32) + encode_request(3), 3)
    ForkRequest(fd_count=3)
    >>> parse_request(bytes(32) + encode_request(3), 2)
    Traceback (most recent call last):
    ...
    procstart_forkserver._protocol.ProtocolError: request declares 3 fds, 2 arrived
    """
    if len(message) != MESSAGE_LEN:
        raise ProtocolError(f"request of {len(message)} bytes, expected {MESSAGE_LEN}")
    op, declared, flags = _REQUEST.unpack(message[MAC_LEN:])
    if op != _OP_FORK:
        raise ProtocolError(f"unknown request {op!r}")
    if flags != 0:
        raise ProtocolError(f"unknown request flags {flags:#x}")
    if declared != fd_count:
        raise ProtocolError(f"request declares {declared} fds, {fd_count} arrived")
    if not FIXED_FDS <= declared <= MAX_FDS:
        raise ProtocolError(f"request with {declared} fds (allowed {FIXED_FDS}..{MAX_FDS})")
    return ForkRequest(declared)


def encode_session() -> bytes:
    """The request part (to be MAC'd) of a session's first message.

    >>> parse_session_open(bytes(32) + encode_session(), 0)
    True
    """
    return _REQUEST.pack(_OP_SESSION, 0, 0)


def parse_session_open(message: bytes, fd_count: int) -> bool:
    """True when an (authenticated) first message opens a session.

    False for a one-shot fork request; :class:`ProtocolError` for a session
    request that is malformed (fds sent with it, a count or flags).
    """
    if len(message) != MESSAGE_LEN or message[MAC_LEN : MAC_LEN + 4] != _OP_SESSION:
        return False
    _, declared, flags = _REQUEST.unpack(message[MAC_LEN:])
    if declared or flags or fd_count:
        raise ProtocolError(f"malformed session request ({declared} fds, flags {flags:#x})")
    return True


def encode_session_fork(
    fd_count: int, *, hold_cloudpickle: bool = False, hold_connection: bool = False
) -> bytes:
    """One fork request on a session: ``fd_count`` counts the status fd too.

    >>> parse_session_fork(encode_session_fork(4), 4).inherited_count
    1
    """
    if not SESSION_FIXED_FDS <= fd_count <= MAX_FDS:
        raise ValueError(
            f"a forkserver child can receive at most {MAX_FDS - SESSION_FIXED_FDS} handles, "
            f"asked for {fd_count - SESSION_FIXED_FDS}"
        )
    flags = SESSION_STATUS_FD | (HOLD_CLOUDPICKLE if hold_cloudpickle else 0)
    flags |= HOLD_CONNECTION if hold_connection else 0
    return _REQUEST.pack(_OP_FORK, fd_count, flags)


def parse_session_fork(message: bytes, fd_count: int) -> SessionFork:
    """Parse a fork request that arrived on a session with ``fd_count`` fds.

    >>> parse_session_fork(b"FORK\x00\x03\x00\x00", 3)
    Traceback (most recent call last):
    ...
    procstart_forkserver._protocol.ProtocolError: session request flags 0x0 lack the status fd
    """
    if len(message) != REQUEST_LEN:
        raise ProtocolError(f"session request of {len(message)} bytes, expected {REQUEST_LEN}")
    op, declared, flags = _REQUEST.unpack(message)
    if op != _OP_FORK:
        raise ProtocolError(f"unknown request {op!r}")
    if flags & ~_SESSION_FLAGS:
        raise ProtocolError(f"unknown request flags {flags:#x}")
    if not flags & SESSION_STATUS_FD:
        raise ProtocolError(f"session request flags {flags:#x} lack the status fd")
    if declared != fd_count:
        raise ProtocolError(f"request declares {declared} fds, {fd_count} arrived")
    if not SESSION_FIXED_FDS <= declared <= MAX_FDS:
        raise ProtocolError(f"request with {declared} fds (allowed {SESSION_FIXED_FDS}..{MAX_FDS})")
    return SessionFork(declared, bool(flags & HOLD_CLOUDPICKLE), bool(flags & HOLD_CONNECTION))


class SessionFork:
    """A parsed fork request from a session (see :func:`parse_session_fork`)."""

    __slots__ = ("fd_count", "hold_cloudpickle", "hold_connection")

    def __init__(
        self, fd_count: int, hold_cloudpickle: bool, hold_connection: bool = False
    ) -> None:
        self.fd_count = fd_count
        self.hold_cloudpickle = hold_cloudpickle
        self.hold_connection = hold_connection

    @property
    def inherited_count(self) -> int:
        """How many of the fds are the child's own handles."""
        return self.fd_count - SESSION_FIXED_FDS


def encode_reply(pid: int = 0, errno: int = 0) -> bytes:
    """``P|pid`` after a fork, ``E|errno`` when the fork failed."""
    if errno:
        return _REPLY.pack(b"E", errno)
    return _REPLY.pack(b"P", pid)


def parse_reply(data: bytes) -> int:
    """The child's pid from a reply; ``OSError`` if the server could not fork.

    >>> parse_reply(encode_reply(pid=42))
    42
    """
    if len(data) != REPLY_LEN:
        raise ProtocolError(f"fork reply of {len(data)} bytes, expected {REPLY_LEN}")
    kind, value = _REPLY.unpack(data)
    if kind == b"P" and value > 0:
        return int(value)
    if kind == b"E":
        import os

        raise OSError(value, f"the fork server could not fork: {os.strerror(value)}")
    raise ProtocolError(f"malformed fork reply {data!r}")


def encode_status(code: int) -> bytes:
    """``S|code``: the child's exit code (negative: killed by that signal)."""
    return _REPLY.pack(b"S", code)


def parse_status(data: bytes) -> int:
    """The exit code from a status message.

    >>> parse_status(encode_status(-9))
    -9
    """
    if len(data) != REPLY_LEN:
        raise ProtocolError(f"status of {len(data)} bytes, expected {REPLY_LEN}")
    kind, value = _REPLY.unpack(data)
    if kind != b"S":
        raise ProtocolError(f"malformed status {data!r}")
    return int(value)


#: the child writes its exit code to its sentinel pipe just before it exits
CHILD_CODE = struct.Struct("!i")


def encode_report(preloaded: list[str], failed: list[tuple[str, str]]) -> bytes:
    """The server's start-up report: one line per preload, tab-separated."""
    lines = [f"ok\t{name}" for name in preloaded]
    lines += [f"fail\t{name}\t{_one_line(error)}" for name, error in failed]
    return ("\n".join(lines) + "\n").encode("utf-8", "backslashreplace")


def _one_line(text: str) -> str:
    return " ".join(text.replace("\t", " ").split())


def parse_report(data: bytes) -> tuple[list[str], list[tuple[str, str]]]:
    """(preloaded modules, [(module, error)]) from a start-up report.

    Unknown or malformed lines are skipped: the report is informative only.

    >>> parse_report(encode_report(["numpy"], [("nope", "ModuleNotFoundError: x")]))
    (['numpy'], [('nope', 'ModuleNotFoundError: x')])
    """
    preloaded: list[str] = []
    failed: list[tuple[str, str]] = []
    for line in data.decode("utf-8", "replace").splitlines():
        parts = line.split("\t")
        if parts[0] == "ok" and len(parts) == 2 and parts[1]:
            preloaded.append(parts[1])
        elif parts[0] == "fail" and len(parts) == 3 and parts[1]:
            failed.append((parts[1], parts[2]))
    return preloaded, failed
