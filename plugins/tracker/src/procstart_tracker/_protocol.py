"""The tracker's wire format: pure functions, no I/O, so they can be fuzzed.

Every process of a program writes one line per message to the write end of
the tracker's pipe. A line is at most :data:`MAX_LINE` bytes so that each
``write()`` is atomic (POSIX guarantees it up to ``PIPE_BUF``, which is 4096
on Linux and at least 512 everywhere) and lines from many writers never
interleave::

    OP SP pid [SP field]... LF

- ``HELLO pid``            procstart started the child ``pid`` (written by its parent
                           right after the launch returned; the child writes nothing)
- ``CHILD pid child``      ``pid`` started the child ``child``
- ``REG pid kind name``    ``pid`` holds a reference to the resource
- ``UNREG pid kind name``  the resource was released normally: forget it
- ``TYPE pid kind ref``    resources of ``kind`` are cleaned by ``ref``
  (``"module:function"``)
- ``PING pid``             liveness probe (a write fails if the tracker died)
- ``BYE pid``              ``pid`` is exiting normally (sent at interpreter exit)

Fields are percent-encoded bytes (no spaces, no line breaks, ASCII only).
:func:`parse_message` accepts exactly what :func:`encode_message` produces for
valid input and raises :class:`ProtocolError` for anything else; it never
touches the file system or another process.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote_to_bytes

from ._wire import (
    BUILTIN_KINDS,
    IPC_KINDS,
    MAX_LINE,
    MAX_NAME,
    MAX_PID,
    OPS,
    PATH_KINDS,
    check_name,
    encode_line,
)

__all__ = [
    "BUILTIN_KINDS",
    "IPC_KINDS",
    "MAX_LINE",
    "MAX_NAME",
    "MAX_PID",
    "OPS",
    "PATH_KINDS",
    "Message",
    "ProtocolError",
    "check_name",
    "encode_message",
    "parse_message",
]

_KIND = re.compile(r"[A-Za-z][A-Za-z0-9_.-]{0,63}")
_PID = re.compile(r"[1-9][0-9]{0,9}")
_ENCODED = re.compile(rb"(?:[A-Za-z0-9/._~+=,@-]|%[0-9A-F]{2})+")
_REF = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*:[A-Za-z_][A-Za-z0-9_]*")


class ProtocolError(ValueError):
    """A message that is not well formed; the tracker ignores it."""


@dataclass(frozen=True)
class Message:
    """One parsed message. ``kind``/``name`` are empty where the op has none.

    For ``CHILD`` the child's pid is in ``child``; for ``TYPE`` the cleanup
    reference is in ``name``.
    """

    op: str
    pid: int
    kind: str = ""
    name: str = ""
    child: int = 0


def encode_message(op: str, pid: int, *fields: str | int) -> bytes:
    """The line for one message; raises :class:`ProtocolError` if it is invalid.

    >>> encode_message("REG", 42, "folder", "/tmp/a b")
    b'REG 42 folder /tmp/a%20b\\n'
    """
    line = encode_line(op, pid, *fields)
    parse_message(line)  # the same checks as the tracker: fail in the caller
    return line


def _decode(field: bytes) -> str:
    if not _ENCODED.fullmatch(field):
        raise ProtocolError(f"badly encoded field {field[:40]!r}")
    return unquote_to_bytes(field).decode("utf-8", "surrogateescape")


def _parse_pid(field: bytes, what: str) -> int:
    text = field.decode("ascii", "replace")
    if not _PID.fullmatch(text):
        raise ProtocolError(f"{what} is not a pid: {text[:20]!r}")
    value = int(text)
    if value > MAX_PID:
        raise ProtocolError(f"{what} out of range: {value}")
    return value


def parse_message(line: bytes) -> Message:
    """Parse one line (with or without its ``\\n``); pure, never does I/O.

    >>> parse_message(b"REG 42 folder /tmp/a%20b\\n")
    Message(op='REG', pid=42, kind='folder', name='/tmp/a b', child=0)
    """
    if not isinstance(line, bytes):
        raise ProtocolError("a message is bytes")
    if len(line) > MAX_LINE:
        raise ProtocolError(f"message longer than {MAX_LINE} bytes")
    if line.endswith(b"\n"):
        line = line[:-1]
    parts = line.split(b" ")
    op = parts[0].decode("ascii", "replace")
    spec = OPS.get(op)
    if spec is None:
        raise ProtocolError(f"unknown op {op[:20]!r}")
    if len(parts) != 2 + len(spec):
        raise ProtocolError(f"{op} takes {1 + len(spec)} fields, got {len(parts) - 1}")
    pid = _parse_pid(parts[1], "sender")
    if op == "CHILD":
        return Message(op, pid, child=_parse_pid(parts[2], "child"))
    if not spec:
        return Message(op, pid)
    kind = _decode(parts[2])
    if not _KIND.fullmatch(kind):
        raise ProtocolError(f"bad resource kind {kind[:70]!r}")
    value = _decode(parts[3])
    if op == "TYPE":
        if kind in BUILTIN_KINDS:
            raise ProtocolError(f"built-in kind {kind!r} cannot be redefined")
        if not _REF.fullmatch(value):
            raise ProtocolError(f"cleanup must be 'module:function', got {value[:80]!r}")
        return Message(op, pid, kind, value)
    problem = check_name(kind, value)
    if problem is not None:
        raise ProtocolError(problem)
    return Message(op, pid, kind, value)
