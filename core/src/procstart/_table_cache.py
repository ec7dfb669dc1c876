"""The ``[tool.procstart]`` answer of each ``pyproject.toml``, kept until the file changes.

Reading the table means parsing TOML, and ``tomllib`` imports ``typing``,
``datetime`` and ``string``: memory and milliseconds in a program run from
a project folder, even when the file has no ``[tool.procstart]`` table at
all (procstart-tracker asks for one key the first time a program starts a
child). The memory is not a one-off: every ``fork()`` afterwards copies the
page tables of a bigger process, and a bigger process forks slower.

So the answer for a file (its table, or that it has none) is kept in the
cache folder of :mod:`procstart._epcache`, one small ``marshal`` file per
``pyproject.toml`` path, and used while the file's device, inode, size,
modification and change times (ns) are the ones it was read with. As for
the entry points, an answer read from a file changed less than
:data:`procstart._epcache.RACY_SECONDS` ago is not kept (an edit within the
same clock tick would go unseen), a cache file that is unreadable, of
another version or for another path is ignored, and
``PROCSTART_ENTRY_POINT_CACHE=0`` turns this off too. A table holding a
value ``marshal`` cannot write (a TOML date or time) is read every time;
a file that is not valid TOML is never kept (the error is raised every time).

    >>> cached_table("/no/such/pyproject.toml")  # doctest: +SKIP
    (False, None, None)
"""

from __future__ import annotations

import marshal
import os
import time

from . import _epcache

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: a program must not import typing
if TYPE_CHECKING:
    from typing import Any

__all__ = ["cached_table", "file_key", "keep_table"]

_HEADER = "procstart-table 1"


def file_key(path: str) -> tuple[int, int, int, int, int] | None:
    """What identifies ``path``'s content: ``(dev, inode, size, mtime_ns, ctime_ns)``.

    >>> file_key("/no/such/file") is None
    True
    """
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def _cache_file(path: str) -> str | None:
    folder = _epcache.cache_folder()
    if folder is None:
        return None
    return os.path.join(folder, f"table-{_epcache.digest(path.encode('utf-8', 'surrogatepass'))}")


def cached_table(path: str) -> tuple[bool, Any, tuple[int, int, int, int, int] | None]:
    """``(True, table, key)`` if the cache knows ``path``'s ``[tool.procstart]`` (None: none).

    ``(False, None, key)`` when it must be read from the file; ``key`` is
    :func:`file_key` as found now, for :func:`keep_table` after the read.
    """
    cache = _cache_file(path)
    key = file_key(path)
    if cache is None or key is None:
        return False, None, key
    try:
        with open(cache, "rb") as fh:
            # the user's own cache folder (made 0700), as trusted as the entry
            # point cache beside it, which names the modules to import; nothing
            # read here is ever run, and anything but the record below is ignored
            record = marshal.loads(fh.read())  # noqa: S302
    except (OSError, EOFError, ValueError, TypeError):
        return False, None, key
    if (
        type(record) is tuple
        and len(record) == 4
        and record[0] == _HEADER
        and record[1] == path
        and record[2] == key
        and (record[3] is None or type(record[3]) is dict)
    ):
        return True, record[3], key
    return False, None, key


def keep_table(path: str, key: tuple[int, int, int, int, int] | None, table: Any) -> None:
    """Remember ``table`` (a dict, or None: no table) for ``path`` as it was at ``key``.

    ``key`` is :func:`file_key` taken *before* the file was read: if the
    file changed meanwhile, the answer is kept under the old key and never
    used. Nothing is kept for a file changed less than
    ``_epcache.RACY_SECONDS`` ago, a table ``marshal`` cannot write, or when
    the cache is off; any error writing is ignored.
    """
    cache = _cache_file(path)
    if cache is None or key is None or not (table is None or type(table) is dict):
        return
    if time.time_ns() - max(key[3], key[4]) < _epcache.RACY_SECONDS * 1e9:
        return  # too fresh to tell a later change in the same tick apart
    try:
        data = marshal.dumps((_HEADER, path, key, table))
    except ValueError:  # a date or time value: read the file each time
        return
    _epcache.replace_file(cache, data)
