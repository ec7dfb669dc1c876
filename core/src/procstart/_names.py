"""Start-method names: one canonical spelling (kept tiny: children import it)."""

from __future__ import annotations

import re

_NAME_RE = re.compile(r"^[a-z][a-z0-9_-]{0,63}$")


def normalize_method_name(name: object) -> str:
    """Return the canonical form of a start-method name or raise.

    Names are ASCII, lower-case, start with a letter and hold at most 64 of
    ``a-z 0-9 _ -``; surrounding blanks are dropped and case is folded.
    ``TypeError`` for a non-string, ``ValueError`` for a malformed name.

    >>> normalize_method_name(" Spawn ")
    'spawn'
    """
    if not isinstance(name, str):
        raise TypeError(f"start method name must be a str, not {type(name).__name__}")
    canonical = name.strip().lower()
    if not _NAME_RE.match(canonical):
        shown = name if len(name) <= 40 else name[:40] + f"... ({len(name)} chars)"
        raise ValueError(
            f"invalid start method name {shown!r}: expected 1-64 characters "
            "of a-z, 0-9, '_' or '-', starting with a letter"
        )
    return canonical
