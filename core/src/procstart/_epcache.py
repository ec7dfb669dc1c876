"""The ``procstart`` entry points, scanned once and cached per ``sys.path``.

Scanning entry points imports ``importlib.metadata`` (with ``email``,
``zipfile``, ``csv``, ``pathlib``...) and reads every distribution's
metadata: most of what importing procstart and starting one child costs
over the stdlib. The result rarely changes, so it is kept in a small text
file in the user's cache folder (``$PROCSTART_CACHE_DIR``, else
``$XDG_CACHE_HOME/procstart``, else ``~/.cache/procstart``), one per
interpreter and installation (``sys.path`` past the script's folder), and
used only while nothing it depends on changed:

- the modification time of every ``sys.path`` entry (installing, removing or
  upgrading a distribution adds or removes a ``.dist-info`` folder there);
- the modification time of the ``entry_points.txt`` of every distribution
  that declares ``procstart`` entry points (edited in place).

A file whose recorded times are less than :data:`RACY_SECONDS` old is not
written (a change within the same clock tick would go unseen, as git's
"racily clean" index entries). The file is written to a temporary name and
renamed (concurrent writers: the last rename wins, every reader sees a whole
file); anything unreadable, truncated or of another version is ignored and
rescanned. ``PROCSTART_ENTRY_POINT_CACHE=0`` turns the cache off.

    >>> [ep.name for ep in entry_points()]  # doctest: +SKIP
    ['fork', 'forkserver', 'spawn', 'tracker']

CPython internals: ``importlib.metadata.PathDistribution`` keeps its
``.dist-info`` folder only in the private ``_path`` attribute (no public
equivalent; checked on 3.10-3.13); without it a distribution's
``entry_points.txt`` is not watched and the result is not cached.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
import zlib

GROUP = "procstart"  # procstart._manager.ENTRY_POINT_GROUP
CACHE_ENV = "PROCSTART_ENTRY_POINT_CACHE"
CACHE_DIR_ENV = "PROCSTART_CACHE_DIR"
#: a key younger than this (seconds) is not cached: a later change could share its mtime
RACY_SECONDS = 2.0
_HEADER = "procstart-entry-points 1"

__all__ = ["CachedEntryPoint", "entry_points"]


class CachedEntryPoint:
    """One ``procstart`` entry point: enough to import it and name its distribution."""

    __slots__ = ("attr", "dist", "module", "name", "value", "version")

    def __init__(self, *fields: str) -> None:
        """``name, value, module, attr, dist, version`` (a cache line's fields)."""
        self.name, self.value, self.module, self.attr, self.dist, self.version = fields

    def load(self) -> object:
        """Import the module and follow the attribute path (as ``EntryPoint.load``)."""
        import importlib

        obj: object = importlib.import_module(self.module)
        for part in filter(None, self.attr.split(".")):
            obj = getattr(obj, part)
        return obj

    def fields(self) -> tuple[str, ...]:
        """What a cache line holds."""
        return (self.name, self.value, self.module, self.attr, self.dist, self.version)


def _mtime(path: str) -> int:
    try:
        return os.stat(path or ".").st_mtime_ns
    except OSError:
        return -1


def _entries() -> list[str]:
    """``sys.path`` with ``""`` (the current folder) spelled out."""
    return [entry or os.getcwd() for entry in sys.path]


def _cache_file() -> str | None:
    if os.environ.get(CACHE_ENV, "").strip().lower() in {"0", "false", "no", "off"}:
        return None
    folder = os.environ.get(CACHE_DIR_ENV)
    if not folder:
        base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        folder = os.path.join(base, "procstart")
    if not all(isinstance(entry, str) for entry in sys.path):
        return None
    # one file per interpreter and installation, whatever the script's folder
    # (sys.path[0]): a program run from another folder rewrites it
    key = "\0".join([sys.executable, sys.version, *sys.path[1:]])
    key_bytes = key.encode("utf-8", "surrogatepass")
    tag = f"{zlib.crc32(key_bytes):08x}{zlib.adler32(key_bytes):08x}"
    return os.path.join(folder, f"entry-points-{tag}.txt")


def _read(path: str) -> list[CachedEntryPoint] | None:
    """The cached entry points if the file is whole and still true, else None."""
    try:
        with open(path, encoding="utf-8") as fh:
            lines = fh.read().split("\n")
    except (OSError, UnicodeDecodeError):
        return None
    if len(lines) < 3 or lines[0] != _HEADER or lines[-2] != "END" or lines[-1] != "":
        return None
    paths: list[str] = []
    found: list[CachedEntryPoint] = []
    for line in lines[1:-2]:
        kind, _, rest = line.partition("\t")
        fields = rest.split("\t")
        if kind in ("P", "F") and len(fields) == 2:
            if kind == "P":
                paths.append(fields[0])
            try:
                if _mtime(fields[0]) != int(fields[1]):
                    return None
            except ValueError:
                return None
        elif kind == "E" and len(fields) == 6:
            found.append(CachedEntryPoint(*fields))
        else:
            return None
    if paths != _entries():
        return None
    return found


def _scan() -> tuple[list[CachedEntryPoint], list[str] | None]:
    """Every ``procstart`` entry point, and the files to watch (None: don't cache)."""
    from importlib import metadata

    found: list[CachedEntryPoint] = []
    watched: list[str] | None = []
    for ep in metadata.entry_points(group=GROUP):
        dist = getattr(ep, "dist", None)
        if dist is None:
            name, version = "<unknown distribution>", "?"
            watched = None
        else:
            name, version = dist.metadata["Name"] or "<unnamed>", dist.version or "?"
            folder = getattr(dist, "_path", None)  # private: see the module docstring
            if folder is None or watched is None:
                watched = None
            else:
                watched.append(os.path.join(os.fspath(folder), "entry_points.txt"))
        found.append(CachedEntryPoint(ep.name, ep.value, ep.module, ep.attr or "", name, version))
    return found, watched


def _write(path: str, found: list[CachedEntryPoint], watched: list[str]) -> None:
    now = time.time_ns()
    lines = [_HEADER]
    entries = _entries()
    for kind, files in (("P", entries), ("F", watched)):
        for file in files:
            mtime = _mtime(file)
            if now - mtime < RACY_SECONDS * 1e9:
                return  # too fresh to tell a later change apart
            lines.append(f"{kind}\t{file}\t{mtime}")
    for ep in found:
        lines.append("E\t" + "\t".join(ep.fields()))
    lines.append("END\n")
    text = "\n".join(lines)
    if any("\t" in field or "\n" in field for ep in found for field in ep.fields()):
        return
    if any("\t" in p or "\n" in p for p in [*entries, *watched]):
        return
    tmp = f"{path}.{os.getpid()}.tmp"
    try:
        os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except OSError:
        with contextlib.suppress(OSError):
            os.unlink(tmp)


def entry_points() -> list[CachedEntryPoint]:
    """The ``procstart`` entry points on ``sys.path``, in ``importlib.metadata``'s order."""
    path = _cache_file()
    if path is not None:
        try:
            cached = _read(path)
        except OSError:  # the current folder is gone, say
            cached = None
        if cached is not None:
            return cached
    found, watched = _scan()
    if path is not None and watched is not None:
        with contextlib.suppress(OSError):
            _write(path, found, watched)
    return found
