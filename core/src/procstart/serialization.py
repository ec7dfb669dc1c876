"""Serialising what a child needs: stdlib reducers first, cloudpickle when needed.

``dumps`` pickles with ``multiprocessing.reduction.ForkingPickler``'s
reducers (Queues, Locks, Connections, heap arenas, shared memory and Manager
proxies keep working) while the launching Popen is the "spawning popen", as
the standard library does. Objects that cannot travel by reference (lambdas,
closures, locally defined functions and classes, and anything defined in a
``__main__`` the child cannot import: ``python -c``, stdin, a REPL, a
notebook) are serialised by value with cloudpickle. cloudpickle is imported
only when such an object is met, here and in the child (pickle imports it
while loading).
"""

from __future__ import annotations

import copyreg
import io
import os
import pickle
import sys
import types
from collections import ChainMap
from collections.abc import Iterator
from contextlib import contextmanager
from multiprocessing import context as _mp_context
from multiprocessing.reduction import ForkingPickler
from typing import Any

from .errors import SerializationError

__all__ = ["dumps", "loads", "main_is_importable", "spawning"]

_PROTOCOL = pickle.HIGHEST_PROTOCOL


def main_is_importable() -> bool:
    """True when a fresh interpreter can re-import ``__main__`` by path or name.

    False for ``python -c``, a script read from stdin, the REPL and notebooks:
    then functions defined there travel by value.
    """
    main = sys.modules.get("__main__")
    if main is None:
        return False
    spec = getattr(main, "__spec__", None)
    if spec is not None and getattr(spec, "name", None):
        return True
    path = getattr(main, "__file__", None)
    return isinstance(path, str) and os.path.isfile(path)


class _NeedsValue(Exception):  # noqa: N818 - a signal, not an error
    """Raised inside the fast pickler when an object must travel by value."""


def _importable(obj: Any) -> bool:
    module_name = getattr(obj, "__module__", None)
    qualname = getattr(obj, "__qualname__", None)
    if not isinstance(module_name, str) or not isinstance(qualname, str):
        return False
    if "<locals>" in qualname or "<lambda>" in qualname:
        return False
    if module_name == "__main__":
        return _main_importable_cached()
    module = sys.modules.get(module_name)
    if module is None:
        return False
    target: Any = module
    for part in qualname.split("."):
        target = getattr(target, part, None)
        if target is None:
            return False
    return target is obj


_main_flag: tuple[object, bool] | None = None


def _main_importable_cached() -> bool:
    global _main_flag
    main = sys.modules.get("__main__")
    if _main_flag is None or _main_flag[0] is not main:
        _main_flag = (main, main_is_importable())
    return _main_flag[1]


def _forking_reducers() -> dict[Any, Any]:
    """The reducers registered with ForkingPickler (Connection, socket, ...)."""
    table = ForkingPickler(io.BytesIO()).dispatch_table
    return {
        kind: reduce
        for kind, reduce in table.items()
        if copyreg.dispatch_table.get(kind) is not reduce
    }


class _ByReferencePickler(ForkingPickler):
    """ForkingPickler that refuses (signals) objects needing by-value pickling."""

    def reducer_override(self, obj: Any) -> Any:
        if isinstance(obj, (types.FunctionType, type)) and not _importable(obj):
            raise _NeedsValue(obj)
        return NotImplemented


def _by_value_dumps(obj: Any) -> bytes:
    import cloudpickle  # only here: most payloads never need it

    class _ByValuePickler(cloudpickle.Pickler):  # type: ignore[misc]
        dispatch_table = ChainMap(_forking_reducers(), cloudpickle.Pickler.dispatch_table)  # noqa: RUF012

        def reducer_override(self, obj: Any) -> Any:
            # plain module-level objects still go by reference, like pickle;
            # __main__ of an importable script too (the child re-imports it).
            if (
                isinstance(obj, (types.FunctionType, type))
                and getattr(obj, "__module__", None) == "__main__"
                and _importable(obj)
            ):
                return NotImplemented
            return super().reducer_override(obj)

    buf = io.BytesIO()
    _ByValuePickler(buf, protocol=_PROTOCOL).dump(obj)
    return buf.getvalue()


@contextmanager
def spawning(popen: object) -> Iterator[None]:
    """Mark ``popen`` as the spawning popen while pickling, as the stdlib does.

    Queues and Locks only agree to be pickled inside this block, and handles
    are duplicated into ``popen``.
    """
    _mp_context.set_spawning_popen(popen)  # type: ignore[arg-type]
    try:
        yield
    finally:
        _mp_context.set_spawning_popen(None)


def dumps(obj: Any, *, what: str = "object", method: str = "spawn") -> bytes:
    """Pickle ``obj`` for a child; call inside :func:`spawning`.

    Raises :class:`SerializationError` naming the type that failed.

    >>> loads(dumps(lambda x: x + 1))(1)
    2
    """
    buf = io.BytesIO()
    try:
        _ByReferencePickler(buf, _PROTOCOL).dump(obj)
        return buf.getvalue()
    except _NeedsValue:
        pass
    except Exception as exc:
        raise _explain(obj, what, method, exc) from exc
    try:
        return _by_value_dumps(obj)
    except Exception as exc:
        raise _explain(obj, what, method, exc) from exc


def loads(data: bytes) -> Any:
    """Unpickle data made by :func:`dumps`."""
    return pickle.loads(data)


def _explain(obj: Any, what: str, method: str, exc: BaseException) -> SerializationError:
    culprit = _find_culprit(obj)
    detail = str(exc) or type(exc).__name__
    return SerializationError(
        f"cannot send {culprit or what} to a child started with {method!r}: {detail}"
    )


def _find_culprit(obj: Any) -> str | None:
    """Name the part of a process object that fails to pickle, if we can."""
    parts: list[tuple[str, Any]] = []
    target = getattr(obj, "_target", None)
    if target is not None:
        parts.append(("the target", target))
    for index, arg in enumerate(getattr(obj, "_args", ()) or ()):
        parts.append((f"argument {index}", arg))
    for key, value in (getattr(obj, "_kwargs", {}) or {}).items():
        parts.append((f"keyword argument {key!r}", value))
    for label, value in parts:
        try:
            try:
                _ByReferencePickler(io.BytesIO(), _PROTOCOL).dump(value)
            except _NeedsValue:
                _by_value_dumps(value)
        except Exception:  # noqa: BLE001 - this is the one
            kind = type(value)
            return f"{label} of type '{kind.__module__}.{kind.__qualname__}'"
    return None
