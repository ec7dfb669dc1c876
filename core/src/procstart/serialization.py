"""Serialising what a child needs: stdlib reducers first, cloudpickle when needed.

``dumps`` pickles with ``multiprocessing.reduction.ForkingPickler``'s
reducers (Queues, Locks, Connections, heap arenas, shared memory and Manager
proxies keep working) while the launching Popen is the "spawning popen", as
the standard library does. Objects that cannot travel by reference (lambdas,
closures, locally defined functions and classes, anything defined in a
``__main__`` the child cannot import: ``python -c``, stdin, a REPL, a
notebook, and what a main script defines only under
``if __name__ == "__main__":``, which the child's re-import skips) are
serialised by value with cloudpickle, imported only when such an object
is met. Functions in that stream name the light reconstructors of
:mod:`procstart._byvalue` instead of cloudpickle's, so a child imports
cloudpickle only for what needs it (a class or an enum by value, say).
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

from . import _queues
from .errors import SerializationError

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs a program ~3 ms to import: annotations only
    from typing import Any

__all__ = ["dumps", "dumps_message", "loads", "main_is_importable", "spawning"]

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
        return _main_importable_cached() and qualname.partition(".")[0] not in _main_guarded()
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


_guarded: tuple[object, tuple[int, int] | None, frozenset[str]] | None = None


def _main_guarded() -> frozenset[str]:
    """Names the main script binds only under ``if __name__ == "__main__":``.

    A child re-runs the main script as ``__mp_main__``, which skips that
    block: a class or function defined there cannot be found by reference.
    Names bound dynamically (``globals()[...] = ...``) are in neither set and
    keep going by reference, as with ``multiprocessing``.
    """
    global _guarded
    main = sys.modules.get("__main__")
    path = getattr(main, "__file__", None)
    if not isinstance(path, str):
        return frozenset()
    try:
        info = os.stat(path)
        key: tuple[int, int] | None = (info.st_mtime_ns, info.st_size)
    except OSError:
        key = None
    if _guarded is not None and _guarded[0] is main and _guarded[1] == key:
        return _guarded[2]
    names: frozenset[str] = frozenset()
    if key is not None:
        try:
            with open(path, "rb") as fh:
                names = _guarded_names(fh.read())
        except (OSError, SyntaxError, ValueError):
            pass  # unreadable or not Python (a zipapp): keep the stdlib's behaviour
    _guarded = (main, key, names)
    return names


def _guarded_names(source: bytes) -> frozenset[str]:
    import ast  # only when a __main__ object is pickled

    def is_main_guard(node: ast.stmt) -> bool:
        if not isinstance(node, ast.If) or not isinstance(node.test, ast.Compare):
            return False
        test = node.test
        if len(test.ops) != 1 or not isinstance(test.ops[0], ast.Eq):
            return False
        sides = (test.left, test.comparators[0])
        return any(isinstance(n, ast.Name) and n.id == "__name__" for n in sides) and any(
            isinstance(n, ast.Constant) and n.value == "__main__" for n in sides
        )

    def bound(nodes: list[ast.AST]) -> set[str]:
        names: set[str] = set()
        stack = list(nodes)
        while stack:
            node = stack.pop()
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                names.add(node.name)  # its body is another scope
                continue
            if isinstance(
                node, (ast.Lambda, ast.GeneratorExp, ast.ListComp, ast.SetComp, ast.DictComp)
            ):
                continue
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                names.add(node.id)
            elif isinstance(node, (ast.Import, ast.ImportFrom)):
                names.update((a.asname or a.name).partition(".")[0] for a in node.names)
            elif isinstance(node, ast.ExceptHandler) and node.name:
                names.add(node.name)
            stack.extend(ast.iter_child_nodes(node))
        return names

    module = ast.parse(source)
    guarded: set[str] = set()
    everywhere_else: list[ast.AST] = []
    for statement in module.body:
        if is_main_guard(statement):
            assert isinstance(statement, ast.If)
            guarded |= bound(list(statement.body))
            everywhere_else.extend(statement.orelse)  # runs on re-import
        else:
            everywhere_else.append(statement)
    return frozenset(guarded - bound(everywhere_else))


def _forking_reducers() -> dict[Any, Any]:
    """The reducers registered with ForkingPickler (Connection, socket, ...)."""
    table = ForkingPickler(io.BytesIO()).dispatch_table
    return {
        kind: reduce
        for kind, reduce in table.items()
        if copyreg.dispatch_table.get(kind) is not reduce
    }


def _adopt_queue(obj: Any, method: str) -> None:
    """A queue sent to a child of ``method``: its items go as procstart sends them."""
    from multiprocessing import queues

    if isinstance(obj, (queues.Queue, queues.SimpleQueue)):
        _queues.adopt(obj, method)


_table: tuple[tuple[int, int], dict[Any, Any]] | None = None


def _shared_dispatch_table() -> dict[Any, Any]:
    """``ForkingPickler``'s table (copyreg's plus its registered reducers), cached."""
    global _table
    extra = ForkingPickler._extra_reducers  # type: ignore[attr-defined]
    key = (len(copyreg.dispatch_table), len(extra))
    if _table is None or _table[0] != key:
        table = dict(copyreg.dispatch_table)
        table.update(extra)
        _table = (key, table)
    return _table[1]


class _ByReferencePickler(ForkingPickler):
    """ForkingPickler that refuses (signals) objects needing by-value pickling.

    With ``adopt_for`` (a method name: a process object is being sent),
    queues it meets are adopted (:func:`procstart._queues.adopt`).
    """

    adopt_for: str | None = None

    def __init__(self, file: Any, protocol: int | None = None) -> None:
        # ForkingPickler copies its dispatch table for every pickler; a queue
        # item pickles with a new one each time: share one, rebuilt on change
        pickle.Pickler.__init__(self, file, protocol)
        self.dispatch_table = _shared_dispatch_table()

    def reducer_override(self, obj: Any) -> Any:
        if isinstance(obj, (types.FunctionType, type)):
            if not _importable(obj):
                raise _NeedsValue(obj)
        elif self.adopt_for is not None:
            _adopt_queue(obj, self.adopt_for)
        return NotImplemented


#: cloudpickle's function reconstructors, with the parameters this project
#: was written against, and their equivalents in procstart._byvalue
_LIGHT_NAMES = {
    "_make_function": ("function", ("code", "globals", "name", "argdefs", "closure")),
    "_function_setstate": ("set_function_state", ("obj", "state")),
    "_builtin_type": ("builtin_type", ("name",)),
    "_make_empty_cell": ("empty_cell", ()),
    "_make_cell": ("cell", ("value",)),
    "subimport": ("module", ("name",)),
}

_light: dict[int, Any] | None = None


def light_reconstructors() -> dict[int, Any]:
    """``id(cloudpickle reconstructor) -> procstart._byvalue equivalent``.

    Empty (every by-value stream then names cloudpickle's own, as cloudpickle
    writes it) unless all six of cloudpickle's function reconstructors exist
    with the parameters :mod:`procstart._byvalue` mirrors: checked once, so a
    cloudpickle release that changes them costs speed, never correctness.
    """
    global _light
    if _light is None:
        import cloudpickle.cloudpickle as cp

        from . import _byvalue

        found: dict[int, Any] = {}
        for theirs, (ours, params) in _LIGHT_NAMES.items():
            func = getattr(cp, theirs, None)
            code = getattr(func, "__code__", None)
            if code is None or code.co_varnames[: code.co_argcount] != params:
                found = {}
                break
            found[id(func)] = getattr(_byvalue, ours)
        _light = found
    return _light


def _lighten(reduced: Any) -> Any:
    """A reduce value naming procstart._byvalue's reconstructors instead of cloudpickle's."""
    if not isinstance(reduced, tuple) or not reduced:
        return reduced
    light = light_reconstructors()
    items = list(reduced)
    for index in (0, 5):  # the callable, and the state setter
        if index < len(items):
            items[index] = light.get(id(items[index]), items[index])
    return tuple(items)


def _lightened(reduce: Any) -> Any:
    def reduce_light(obj: Any) -> Any:
        return _lighten(reduce(obj))

    return reduce_light


def _by_value_dumps(obj: Any, adopt_for: str | None = None) -> bytes:
    import cloudpickle  # only here: most payloads never need it

    theirs = cloudpickle.Pickler.dispatch_table
    # closure cells and module references (the ones in a function's state)
    kinds = (types.CellType, types.ModuleType)
    light_table = {kind: _lightened(theirs[kind]) for kind in kinds if kind in theirs}

    class _ByValuePickler(cloudpickle.Pickler):  # type: ignore[misc]
        dispatch_table = ChainMap(_forking_reducers(), light_table, theirs)  # noqa: RUF012

        def reducer_override(self, obj: Any) -> Any:
            if adopt_for is not None and not isinstance(obj, (types.FunctionType, type)):
                _adopt_queue(obj, adopt_for)
            # plain module-level objects still go by reference, like pickle;
            # __main__ of an importable script too (the child re-imports it).
            if (
                isinstance(obj, (types.FunctionType, type))
                and getattr(obj, "__module__", None) == "__main__"
                and _importable(obj)
            ):
                return NotImplemented
            return _lighten(super().reducer_override(obj))

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
    pickler = _ByReferencePickler(buf, _PROTOCOL)
    pickler.adopt_for = method
    try:
        pickler.dump(obj)
        return buf.getvalue()
    except _NeedsValue:
        pass
    except Exception as exc:
        raise _explain(obj, what, method, exc) from exc
    try:
        return _by_value_dumps(obj, adopt_for=method)
    except Exception as exc:
        raise _explain(obj, what, method, exc) from exc


def dumps_message(obj: Any, *, method: str = "spawn") -> bytes:
    """Pickle a queue item or ``Pool`` task for a child of ``method``.

    As ``ForkingPickler.dumps`` (errors it raises are raised unchanged), but
    what a child could not find by reference goes by value; if that fails
    too, :class:`SerializationError` names the object, in the parent.

    >>> loads(dumps_message((1, lambda x: x * 2)))[1](21)
    42
    """
    buf = io.BytesIO()
    try:
        _ByReferencePickler(buf, _PROTOCOL).dump(obj)
        return buf.getvalue()
    except _NeedsValue as signal:
        first = signal.args[0]
    try:
        return _by_value_dumps(obj)
    except Exception as exc:
        kind = "class" if isinstance(first, type) else "function"
        name = f"{first.__module__}.{first.__qualname__}"
        raise SerializationError(
            f"cannot send a message to a child started with {method!r}: "
            f"{exc or type(exc).__name__} (while sending {kind} '{name}' by value: "
            "the child cannot import it)"
        ) from exc


def loads(data: bytes) -> Any:
    """Unpickle data made by :func:`dumps`."""
    return pickle.loads(data)


_error_classes: dict[type[BaseException], type[SerializationError]] = {}


def _error_class(kind: type[BaseException]) -> type[SerializationError]:
    """A :class:`SerializationError` that is also a ``kind`` where the two can mix.

    ``except RuntimeError`` (a Queue outside inheritance, a fork context's
    lock sent to a spawned child) and ``except pickle.PicklingError`` keep
    catching what the stdlib would raise. Instances pickle as plain
    ``SerializationError``.
    """
    if issubclass(kind, SerializationError) or not issubclass(kind, Exception):
        return SerializationError
    cls = _error_classes.get(kind)
    if cls is None:

        def reduce(self: BaseException) -> tuple[type[SerializationError], tuple[Any, ...]]:
            return (SerializationError, self.args)

        try:
            cls = type(
                "SerializationError",
                (SerializationError, kind),
                {"__module__": SerializationError.__module__, "__reduce__": reduce},
            )
        except TypeError:  # layouts that cannot be combined
            cls = SerializationError
        _error_classes[kind] = cls
    return cls


def _explain(obj: Any, what: str, method: str, exc: BaseException) -> SerializationError:
    culprit = _find_culprit(obj)
    detail = str(exc) or type(exc).__name__
    return _error_class(type(exc))(
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
