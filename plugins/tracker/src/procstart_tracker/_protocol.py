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

from ._wire import (
    BUILTIN_KINDS,
    IPC_KINDS,
    MAX_LINE,
    MAX_NAME,
    MAX_PID,
    OPS,
    PATH_KINDS,
    SAFE_BYTES,
    check_name,
    encode_line,
    kind_ok,
    ref_ok,
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
    "parse_hello",
    "parse_message",
]

# The tracker process imports this module: it uses no ``re``, ``dataclasses``,
# ``typing`` or ``urllib`` (together ~20 ms of the tracker's start-up, spent
# while the program it watches runs, and before it lets go of its stderr).
_HEX = b"0123456789ABCDEF"


class ProtocolError(ValueError):
    """A message that is not well formed; the tracker ignores it."""


class Message:
    """One parsed message. ``kind``/``name`` are empty where the op has none.

    For ``CHILD`` the child's pid is in ``child``; for ``TYPE`` the cleanup
    reference is in ``name``. Immutable, compared and hashed by value.

    >>> Message("HELLO", 7) == Message("HELLO", 7, "", "", 0)
    True
    """

    __slots__ = ("child", "kind", "name", "op", "pid")
    op: str
    pid: int
    kind: str
    name: str
    child: int

    def __init__(self, op: str, pid: int, kind: str = "", name: str = "", child: int = 0) -> None:
        setattr_ = object.__setattr__  # past the guard below
        setattr_(self, "op", op)
        setattr_(self, "pid", pid)
        setattr_(self, "kind", kind)
        setattr_(self, "name", name)
        setattr_(self, "child", child)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"Message is immutable: cannot set {name!r}")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"Message is immutable: cannot delete {name!r}")

    def _key(self) -> tuple[str, int, str, str, int]:
        return (self.op, self.pid, self.kind, self.name, self.child)

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not Message:
            return NotImplemented
        return self._key() == other._key()  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        return (
            f"Message(op={self.op!r}, pid={self.pid!r}, kind={self.kind!r}, "
            f"name={self.name!r}, child={self.child!r})"
        )


def encode_message(op: str, pid: int, *fields: str | int) -> bytes:
    """The line for one message; raises :class:`ProtocolError` if it is invalid.

    >>> encode_message("REG", 42, "folder", "/tmp/a b")
    b'REG 42 folder /tmp/a%20b\\n'
    """
    line = encode_line(op, pid, *fields)
    parse_message(line)  # the same checks as the tracker: fail in the caller
    return line


def _unquote(field: bytes) -> bytes | None:
    """The bytes ``field`` encodes; None unless it is ``([safe]|%XX)+`` (hex upper case)."""
    if not field:
        return None
    first, *escaped = field.split(b"%")
    if first.translate(None, SAFE_BYTES):
        return None
    out = [first]
    for chunk in escaped:
        hex_digits, rest = chunk[:2], chunk[2:]
        if (
            len(hex_digits) != 2
            or hex_digits.translate(None, _HEX)
            or rest.translate(None, SAFE_BYTES)
        ):
            return None
        out.append(bytes.fromhex(hex_digits.decode("ascii")))
        out.append(rest)
    return b"".join(out)


def _decode(field: bytes) -> str:
    data = _unquote(field)
    if data is None:
        raise ProtocolError(f"badly encoded field {field[:40]!r}")
    return data.decode("utf-8", "surrogateescape")


def _parse_pid(field: bytes, what: str) -> int:
    # ``[1-9][0-9]{0,9}``; bytes.isdigit is ASCII only
    if not (1 <= len(field) <= 10 and field.isdigit() and field[:1] != b"0"):
        text = field.decode("ascii", "replace")
        raise ProtocolError(f"{what} is not a pid: {text[:20]!r}")
    value = int(field)
    if value > MAX_PID:
        raise ProtocolError(f"{what} out of range: {value}")
    return value


def parse_hello(line: bytes) -> int | None:
    """The child's pid if ``line`` (without its ``\\n``) is a well-formed ``HELLO``; else None.

    The tracker's most common line (one per child), read without building a
    :class:`Message`. None means "not this fast case": :func:`parse_message`
    then takes the line, and rejects it with the reason if it is malformed.

    >>> parse_hello(b"HELLO 42"), parse_hello(b"HELLO 042"), parse_hello(b"PING 42")
    (42, None, None)
    """
    if line[:6] != b"HELLO ":
        return None
    try:
        return _parse_pid(line[6:], "sender")
    except ProtocolError:  # parse_message says why
        return None


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
    if not kind_ok(kind):
        raise ProtocolError(f"bad resource kind {kind[:70]!r}")
    value = _decode(parts[3])
    if op == "TYPE":
        if kind in BUILTIN_KINDS:
            raise ProtocolError(f"built-in kind {kind!r} cannot be redefined")
        if not ref_ok(value):
            raise ProtocolError(f"cleanup must be 'module:function', got {value[:80]!r}")
        return Message(op, pid, kind, value)
    problem = check_name(kind, value)
    if problem is not None:
        raise ProtocolError(problem)
    return Message(op, pid, kind, value)
