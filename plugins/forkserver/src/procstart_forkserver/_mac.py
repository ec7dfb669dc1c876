"""HMAC-SHA256 without loading OpenSSL: the fork server starts ~3 ms sooner.

``hmac`` and ``hashlib`` load OpenSSL's libcrypto (``_hashlib``) when they
are imported: about 3 ms on the fork server's critical path (it must check
the parent's first MAC before it forks the first child), more than a third
of what the server costs beyond the stdlib's (which imports ``hmac`` only
for its first connection, if at all). CPython's own SHA-256 module needs no
OpenSSL, but it is private: ``_sha256`` up to 3.11, ``_sha2`` from 3.12
(checked on 3.10, 3.11, 3.12, 3.13); the constant-time comparison is
``_operator._compare_digest`` (what ``hmac.compare_digest`` is without
OpenSSL, 3.10-3.13). A build without them falls back to ``hashlib``/``hmac``.

The MAC is RFC 2104's, as ``hmac.new(key, msg, "sha256")`` computes it; a
test checks both agree.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

__all__ = ["compare_digest", "hmac_sha256"]

_BLOCK = 64
_IPAD = int.from_bytes(b"\x36" * _BLOCK, "big")
_OPAD = int.from_bytes(b"\x5c" * _BLOCK, "big")


def _sha256_constructor() -> Any:
    from importlib import import_module

    for name in ("_sha2", "_sha256"):  # 3.12+, then 3.10 and 3.11
        try:
            return import_module(name).sha256
        except (ImportError, AttributeError):
            pass
    from hashlib import sha256

    return sha256


def _compare_constructor() -> Callable[[bytes, bytes], bool]:
    try:
        from _operator import _compare_digest

        return _compare_digest
    except ImportError:  # pragma: no cover - every CPython 3.10-3.13 has it
        from hmac import compare_digest

        return compare_digest


_sha256 = _sha256_constructor()
compare_digest = _compare_constructor()


def hmac_sha256(key: bytes, message: bytes) -> bytes:
    """``hmac.new(key, message, "sha256").digest()``, without OpenSSL.

    >>> import hmac
    >>> hmac_sha256(b"k", b"m") == hmac.new(b"k", b"m", "sha256").digest()
    True
    """
    if len(key) > _BLOCK:
        key = _sha256(key).digest()
    padded = int.from_bytes(key.ljust(_BLOCK, b"\0"), "big")
    inner = _sha256((padded ^ _IPAD).to_bytes(_BLOCK, "big"))
    inner.update(message)
    outer = _sha256((padded ^ _OPAD).to_bytes(_BLOCK, "big"))
    outer.update(inner.digest())
    digest: bytes = outer.digest()
    return digest
