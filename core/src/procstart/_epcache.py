"""The ``procstart`` entry points, scanned once and cached per installation.

Scanning entry points imports ``importlib.metadata`` (with ``email``,
``zipfile``, ``csv``, ``pathlib``...) and reads every distribution's
metadata: most of what importing procstart and starting one child costs
over the stdlib. The result rarely changes, so it is kept in a small text
file in the user's cache folder (``$PROCSTART_CACHE_DIR``, else
``$XDG_CACHE_HOME/procstart``, else ``~/.cache/procstart``), one per
interpreter and installation (``sys.path`` past the script's folder), and
used only while nothing it depends on changed:

- the modification time of every ``sys.path`` entry past the script's folder
  (installing, removing or upgrading a distribution adds or removes a
  ``.dist-info`` folder there);
- the modification time of the ``entry_points.txt`` of every distribution
  that declares ``procstart`` entry points (edited in place);
- the script's folder (``sys.path[0]``: the main file's folder, the current
  folder under ``-c``) is not watched by its time, which changes whenever a
  program writes a file next to itself: while it holds no ``*.dist-info`` or
  ``*.egg-info`` entry the cache is used, and while it holds one nothing is
  cached (the scan sees that distribution, in that folder only).

With the entry points the file keeps what the plugin manager learnt by
loading them (:func:`facts`): the hooks each implements and the start
methods it provides, so that a later process loads only the plugins a call
needs (see :mod:`procstart._manager`). Those facts are true only of the
code that was loaded: the modification times of the modules each plugin's
package had imported are watched too.

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

GROUP = "procstart"  # procstart._manager.ENTRY_POINT_GROUP
CACHE_ENV = "PROCSTART_ENTRY_POINT_CACHE"
CACHE_DIR_ENV = "PROCSTART_CACHE_DIR"
#: a key younger than this (seconds) is not cached: a later change could share its mtime
RACY_SECONDS = 2.0
_HEADER = "procstart-entry-points 4"
#: folder entries that make a folder a place distributions are installed
_METADATA_SUFFIXES = (".dist-info", ".egg-info")

__all__ = [
    "CachedEntryPoint",
    "Facts",
    "cache_folder",
    "digest",
    "entry_points",
    "facts",
    "record_facts",
    "replace_file",
]


class CachedEntryPoint:
    """One ``procstart`` entry point: enough to import it and name its distribution."""

    __slots__ = ("attr", "dist", "module", "name", "value", "version")

    def __init__(self, *fields: str) -> None:
        """``name, value, module, attr, dist, version`` (a cache line's fields)."""
        self.name, self.value, self.module, self.attr, self.dist, self.version = fields

    def load(self) -> object:
        """Import the module and follow the attribute path (as ``EntryPoint.load``)."""
        from ._submodules import import_module

        obj: object = import_module(self.module)
        for part in filter(None, self.attr.split(".")):
            obj = getattr(obj, part)
        return obj

    def fields(self) -> tuple[str, ...]:
        """What a cache line holds."""
        return (self.name, self.value, self.module, self.attr, self.dist, self.version)


class Facts:
    """What loading one entry point taught: its hooks, start methods and config keys.

    ``refs``: hook name -> ``"module:qualname"`` of its implementation, for
    the registration hooks (``procstart_start_methods``,
    ``procstart_config_keys``) that are plain module-level functions: called
    without pluggy to answer ``get_context(name)`` or read one setting.
    """

    __slots__ = ("hooks", "keys", "methods", "refs")

    def __init__(
        self,
        hooks: tuple[str, ...],
        methods: tuple[str, ...],
        keys: tuple[str, ...],
        refs: dict[str, str] | None = None,
    ) -> None:
        self.hooks = hooks
        self.methods = methods
        self.keys = keys
        self.refs = refs or {}


#: what this process read or scanned: (cache file, entry points, watched files,
#: facts by (name, value) or None, launch plans by plugin set); None when the
#: result is not cacheable
_last: (
    tuple[
        str, list[CachedEntryPoint], list[str], dict[tuple[str, str], Facts] | None, dict[str, str]
    ]
    | None
)
_last = None


def _mtime(path: str) -> int:
    try:
        return os.stat(path or ".").st_mtime_ns
    except OSError:
        return -1


def _first_installed() -> int:
    """Index of the first ``sys.path`` entry past the script's folder."""
    # -P / -I (3.11+): no script folder is put in front of sys.path
    return 0 if getattr(sys.flags, "safe_path", False) else 1


def _entries() -> list[str]:
    """The installation's ``sys.path`` entries (past the script's folder)."""
    return [entry or os.getcwd() for entry in sys.path[_first_installed() :]]


def _script_folder_has_metadata() -> bool:
    """True when the script's folder holds a ``*.dist-info`` / ``*.egg-info`` entry."""
    if _first_installed() == 0 or not sys.path:
        return False
    try:
        with os.scandir(sys.path[0] or ".") as entries:
            return any(entry.name.endswith(_METADATA_SUFFIXES) for entry in entries)
    except OSError:  # gone, unreadable, a zip file: importlib.metadata finds nothing either
        return False


def cache_folder() -> str | None:
    """The folder procstart's caches live in; None when ``PROCSTART_ENTRY_POINT_CACHE=0``.

    Also used by :mod:`procstart._table_cache` (the ``[tool.procstart]`` answers).
    """
    if os.environ.get(CACHE_ENV, "").strip().lower() in {"0", "false", "no", "off"}:
        return None
    folder = os.environ.get(CACHE_DIR_ENV)
    if not folder:
        base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        folder = os.path.join(base, "procstart")
    return folder


def _cache_file() -> str | None:
    folder = cache_folder()
    if folder is None:
        return None
    if not all(isinstance(entry, str) for entry in sys.path):
        return None
    # one file per interpreter and installation, whatever the script's folder
    # (sys.path[0]): a program run from another folder reads the same file
    key = "\0".join([sys.executable, sys.version, *sys.path[_first_installed() :]])
    return os.path.join(folder, f"entry-points-{digest(key.encode('utf-8', 'surrogatepass'))}.txt")


def digest(data: bytes) -> str:
    """64-bit FNV-1a of ``data`` as 16 hex digits (a file name, not a secret).

    Pure Python: ``zlib`` or ``hashlib`` would be one more import (0.3 ms)
    in every program, for a few hundred bytes.

    >>> digest(b"")
    'cbf29ce484222325'
    """
    value = 0xCBF29CE484222325
    for byte in data:
        value = ((value ^ byte) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return f"{value:016x}"


def _read(
    path: str,
) -> (
    tuple[list[CachedEntryPoint], list[str], dict[tuple[str, str], Facts] | None, dict[str, str]]
    | None
):
    """The cached entry points, watched files and facts if whole and still true, else None."""
    try:
        with open(path, encoding="utf-8") as fh:
            lines = fh.read().split("\n")
    except (OSError, UnicodeDecodeError):
        return None
    if len(lines) < 3 or lines[0] != _HEADER or lines[-2] != "END" or lines[-1] != "":
        return None
    paths: list[str] = []
    files: list[str] = []
    found: list[CachedEntryPoint] = []
    known: dict[tuple[str, str], Facts] | None = None
    plans: dict[str, str] = {}
    for line in lines[1:-2]:
        kind, _, rest = line.partition("\t")
        fields = rest.split("\t")
        if kind in ("P", "F") and len(fields) == 2:
            (paths if kind == "P" else files).append(fields[0])
            try:
                if _mtime(fields[0]) != int(fields[1]):
                    return None
            except ValueError:
                return None
        elif kind == "E" and len(fields) == 6:
            found.append(CachedEntryPoint(*fields))
        elif kind == "H" and len(fields) == 6:
            known = {} if known is None else known
            hooks, methods, keys = (tuple(filter(None, field.split(","))) for field in fields[2:5])
            refs = dict(item.partition("=")[::2] for item in fields[5].split(",") if item)
            known[(fields[0], fields[1])] = Facts(hooks, methods, keys, refs)
        elif kind == "L" and len(fields) == 2:
            plans[fields[0]] = fields[1]
        else:
            return None
    if paths != _entries():
        return None
    return found, files, known, plans


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


def _write(
    path: str,
    found: list[CachedEntryPoint],
    watched: list[str],
    known: dict[tuple[str, str], Facts] | None = None,
    plans: dict[str, str] | None = None,
) -> None:
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
    for (name, value), fact in (known or {}).items():
        listed = (",".join(items) for items in (fact.hooks, fact.methods, fact.keys))
        refs = ",".join(f"{hook}={ref}" for hook, ref in fact.refs.items())
        lines.append("\t".join(("H", name, value, *listed, refs)))
    for signature, plan in (plans or {}).items():
        lines.append(f"L\t{signature}\t{plan}")
    lines.append("END\n")
    text = "\n".join(lines)
    all_refs = [ref for fact in (known or {}).values() for ref in fact.refs.values()]
    if any("\t" in field or "\n" in field for ep in found for field in ep.fields()):
        return
    if any("\t" in p or "\n" in p for p in [*entries, *watched]):
        return
    if (
        any(
            "," in item or "\t" in item or "\n" in item
            for fact in (known or {}).values()
            for item in (*fact.methods, *fact.keys)
        )
        or any(mark in item for item in (*(plans or {}).values(), *all_refs) for mark in "\t\n")
        or any("," in ref or "=" in ref for ref in all_refs)
    ):
        return
    replace_file(path, text.encode("utf-8"))


def replace_file(path: str, data: bytes) -> None:
    """Write ``data`` to ``path`` whole or not at all; any error is ignored.

    Written to a temporary name in the same folder (made 0700 if missing),
    then renamed: concurrent writers each rename a whole file (the last one
    wins) and a reader never sees part of one. Also used by
    :mod:`procstart._table_cache`.
    """
    tmp = f"{path}.{os.getpid()}.tmp"
    try:
        os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
        with open(tmp, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except OSError:
        with contextlib.suppress(OSError):
            os.unlink(tmp)


def entry_points() -> list[CachedEntryPoint]:
    """The ``procstart`` entry points on ``sys.path``, in ``importlib.metadata``'s order."""
    global _last
    _last = None
    path = _cache_file()
    if path is not None and _script_folder_has_metadata():
        path = None  # the scan sees what is installed there: true of that folder only
    if path is not None:
        try:
            cached = _read(path)
        except OSError:  # the current folder is gone, say
            cached = None
        if cached is not None:
            _last = (path, *cached)
            return cached[0]
    found, watched = _scan()
    if path is not None and watched is not None:
        with contextlib.suppress(OSError):
            _write(path, found, watched)
        _last = (path, found, watched, None, {})
    return found


def facts() -> dict[tuple[str, str], Facts] | None:
    """What the cache read by the last :func:`entry_points` knows of each entry point.

    Keyed by ``(name, value)``; None when it knows nothing (a fresh scan).
    """
    return None if _last is None else _last[3]


def plan(signature: str) -> str | None:
    """The launch plan the cache read by the last :func:`entry_points` keeps for a plugin set.

    ``signature`` names the set of entry points loaded (see
    :mod:`procstart._manager`); the plan is opaque text the manager wrote.
    """
    return None if _last is None else _last[4].get(signature)


def record_facts(
    known: dict[tuple[str, str], Facts],
    modules: list[str],
    plan: tuple[str, str] | None = None,
) -> None:
    """Add ``known`` and ``plan`` to the cache file the last :func:`entry_points` used.

    ``plan`` is ``(signature, text)``: a launch plan for one set of plugins.

    ``modules`` are the files the facts were learnt from (watched from now
    on), merged with the facts the file has. Nothing is written when the
    entry points were not cacheable, when the file already knows every entry
    point in ``known`` and the plan, or when any watched file is too fresh.
    """
    global _last
    last = _last
    if last is None:
        return
    path, found, watched, old, plans = last
    new_plan = plan is not None and plans.get(plan[0]) != plan[1]
    if old is not None and set(known) <= set(old) and not new_plan:
        return
    merged = {**(old or {}), **known}  # a run that left some plugins out learnt less
    all_plans = {**plans, **dict([plan] if plan is not None else [])}
    files = [*watched, *(file for file in modules if file not in watched)]
    with contextlib.suppress(OSError):
        _write(path, found, files, merged, all_plans)
    _last = (path, found, files, merged, all_plans)
