"""The wire format's writing half and name checks, light enough for every child.

Every process that registers something encodes messages, spawned children
included, so this module imports nothing beyond ``posixpath`` (no ``re``,
``dataclasses``, ``typing`` or ``urllib``). The parser, which only the
tracker process needs, is in :mod:`procstart_tracker._protocol` and uses the
same constants and :func:`check_name`.

:func:`encode_message` checks the common messages itself (a check that
implies what :func:`procstart_tracker._protocol.parse_message` accepts) and
hands anything else to that parser, so an invalid message still raises
``ProtocolError`` in the caller, exactly as before.
"""

from __future__ import annotations

import posixpath  # os.path on POSIX: already loaded

__all__ = [
    "BUILTIN_KINDS",
    "IPC_KINDS",
    "MAX_LINE",
    "MAX_NAME",
    "MAX_PID",
    "OPS",
    "PATH_KINDS",
    "ROOT_ENV",
    "check_name",
    "encode_field",
    "encode_line",
    "encode_message",
    "kind_ok",
    "ref_ok",
]

#: ``root_pid:root_create_time:tracker_pid``, set in every child's environment
ROOT_ENV = "PROCSTART_TRACKER_ROOT"
#: seconds between the tracker's reads of the pipe while the root lives; its
#: first read comes this long after it started at the earliest (the root's
#: quiet exit, ``Client._quiet_exit``, relies on that)
DRAIN_EVERY = 0.1
#: one line, newline included, fits in one atomic pipe write
MAX_LINE = 4096
#: the longest resource name accepted (decoded bytes)
MAX_NAME = 3800
#: highest pid on any supported system (Linux caps at 2**22)
MAX_PID = 2**31 - 1

#: op -> names of its fields after the pid
OPS: dict[str, tuple[str, ...]] = {
    "HELLO": (),
    "CHILD": ("child",),
    "REG": ("kind", "name"),
    "UNREG": ("kind", "name"),
    "TYPE": ("kind", "ref"),
    "PING": (),
    "BYE": (),
}

BUILTIN_KINDS = frozenset({"shared_memory", "semaphore", "file", "folder"})
PATH_KINDS = frozenset({"file", "folder"})
IPC_KINDS = frozenset({"shared_memory", "semaphore"})

#: bytes a field keeps as they are: what ``urllib.parse.quote_from_bytes``
#: leaves alone with ``safe="/._~+=,@-"``
SAFE_BYTES = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-~/+=,@"
_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_KIND_CHARS = frozenset(_LETTERS + "0123456789_.-")


def _ipc_name_ok(name: str) -> bool:
    """``/?[^/\\x00]{1,250}`` without ``re``."""
    rest = name[1:] if name.startswith("/") else name
    return 1 <= len(rest) <= 250 and "/" not in rest and "\x00" not in rest


def check_name(kind: str, name: str) -> str | None:
    """Why ``name`` is not acceptable for ``kind`` (None when it is).

    Paths must be absolute and normalised, with no ``.``/``..`` component
    and at least two components (a top-level folder is never cleaned up).

    >>> check_name("folder", "/tmp/x/../../etc") is not None
    True
    >>> check_name("shared_memory", "/psm_1") is None
    True
    """
    if not name:
        return "empty name"
    if "\x00" in name:
        return "name contains a NUL byte"
    if len(name.encode("utf-8", "surrogateescape")) > MAX_NAME:
        return f"name longer than {MAX_NAME} bytes"
    if kind in PATH_KINDS:
        if not name.startswith("/"):
            return f"{kind} path must be absolute: {name!r}"
        parts = name.split("/")[1:]
        if any(part in ("", ".", "..") for part in parts):
            return f"{kind} path must be normalised (no '.', '..', '//' or trailing '/'): {name!r}"
        if posixpath.normpath(name) != name:
            return f"{kind} path must be normalised: {name!r}"
        if len(parts) < 2:
            return f"refusing to track a top-level path: {name!r}"
    elif kind in IPC_KINDS and (not _ipc_name_ok(name) or name.lstrip("/") in (".", "..")):
        return f"{kind} name must be '/name' without further '/': {name!r}"
    return None


def encode_field(value: str) -> str:
    """Percent-encode one field, as ``quote_from_bytes(..., safe="/._~+=,@-")``.

    >>> encode_field("/tmp/a b")
    '/tmp/a%20b'
    """
    data = value.encode("utf-8", "surrogateescape")
    if not data.translate(None, SAFE_BYTES):
        return data.decode("ascii")
    return "".join(chr(byte) if byte in SAFE_BYTES else f"%{byte:02X}" for byte in data)


def encode_line(op: str, pid: int, *fields: str | int) -> bytes:
    """The line for one message, not checked."""
    line = " ".join([op, str(pid), *(encode_field(str(field)) for field in fields)]).encode("ascii")
    return line + b"\n"


def _pid_ok(value: object) -> bool:
    return type(value) is int and 1 <= value <= MAX_PID


def kind_ok(kind: str) -> bool:
    """``[A-Za-z][A-Za-z0-9_.-]{0,63}`` without ``re``.

    >>> kind_ok("shared_memory"), kind_ok("9lives")
    (True, False)
    """
    return 1 <= len(kind) <= 64 and kind[0] in _LETTERS and _KIND_CHARS.issuperset(kind)


def _ascii_identifier(text: str) -> bool:
    return text.isascii() and text.isidentifier()


def ref_ok(ref: str) -> bool:
    """``"module.path:function"`` with ASCII identifiers, without ``re``.

    >>> ref_ok("pkg.mod:clean"), ref_ok("pkg.mod"), ref_ok("a:b:c")
    (True, False, False)
    """
    module, sep, attr = ref.partition(":")
    return (
        bool(sep)
        and _ascii_identifier(attr)
        and all(_ascii_identifier(part) for part in module.split("."))
    )


def _plainly_valid(op: str, pid: object, fields: tuple[object, ...], line: bytes) -> bool:
    """True only for messages ``parse_message`` surely accepts (False: ask it)."""
    spec = OPS.get(op)
    if spec is None or len(fields) != len(spec) or len(line) > MAX_LINE or not _pid_ok(pid):
        return False
    if not fields:
        return True
    if op == "CHILD":
        return _pid_ok(fields[0])
    kind, value = fields
    if type(kind) is not str or type(value) is not str or not kind_ok(kind):
        return False
    try:
        value.encode("utf-8")  # strict: then decoding the field gives ``value`` back
    except UnicodeEncodeError:
        return False
    if op == "TYPE":
        return kind not in BUILTIN_KINDS and ref_ok(value)
    return check_name(kind, value) is None


def encode_message(op: str, pid: int, *fields: str | int) -> bytes:
    """The line for one message; raises ``ProtocolError`` if it is invalid.

    >>> encode_message("REG", 42, "folder", "/tmp/a b")
    b'REG 42 folder /tmp/a%20b\\n'
    """
    line = encode_line(op, pid, *fields)
    if not _plainly_valid(op, pid, fields, line):
        # the tracker's own parser decides (and says why): imported only here
        from ._protocol import parse_message

        parse_message(line)
    return line
