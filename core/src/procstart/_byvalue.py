"""Load a function that cloudpickle sent by value, without importing cloudpickle.

cloudpickle serialises lambdas, closures and local functions (the parent
side: which globals, submodules and closure cells travel is its decision,
see :mod:`procstart.serialization`). The stream then names the functions that
rebuild the value, normally cloudpickle's own, so the child imports
cloudpickle and, with it, ``typing``, ``dataclasses`` (``inspect``, ``ast``,
``dis``), ``logging``, ``platform`` and ``uuid``: 10-15 ms for every spawn
child, more than the rest of the child's bootstrap.

For a plain function the rebuilding is a call of ``types.FunctionType`` plus
attribute assignments, so the parent maps cloudpickle's six function
reconstructors onto these equivalents (and only when cloudpickle's reducers
have the shapes this module was written against, checked in the parent);
everything else in the stream (classes and enums by value, type variables,
loggers, dynamic modules) keeps cloudpickle's reconstructors, and a child
that meets one imports cloudpickle as before.

This module imports only ``sys`` and ``types`` (both already loaded when a
child unpickles anything): keep it that way, every child may import it.
"""

from __future__ import annotations

import sys
import types

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["builtin_type", "cell", "empty_cell", "function", "module", "set_function_state"]


def function(
    code: types.CodeType,
    namespace: dict[str, Any],
    name: str | None,
    defaults: tuple[Any, ...] | None,
    closure: tuple[types.CellType, ...] | None,
) -> types.FunctionType:
    """A function from its code and globals; its state arrives next (:func:`set_function_state`).

    >>> f = function((lambda: 42).__code__, {}, None, None, None)
    >>> f()
    42
    """
    namespace["__builtins__"] = __builtins__
    return types.FunctionType(code, namespace, name, defaults, closure)


def set_function_state(
    func: types.FunctionType, state: tuple[dict[str, Any], dict[str, Any]]
) -> None:
    """Give ``func`` its attributes, the globals it uses and its closure's values.

    ``state`` is ``(func.__dict__, slots)``; ``slots`` holds the function's
    attributes (``__name__``, ``__qualname__``, ``__defaults__``, ...) plus
    ``__globals__`` (merged into the function's globals: they can refer back
    to the function itself), ``__closure__`` (cells whose values are copied
    into the function's own cells) and ``_cloudpickle_submodules`` (modules
    imported while unpickling, nothing to keep).

    >>> f = function((lambda: g).__code__, {}, None, None, None)
    >>> set_function_state(f, ({"tag": 1}, {"__globals__": {"g": 5}, "__closure__": None,
    ...                                    "_cloudpickle_submodules": [], "__name__": "f"}))
    >>> f(), f.tag, f.__name__
    (5, 1, 'f')
    """
    attributes, slots = state
    slots = dict(slots)
    func.__dict__.update(attributes)
    func.__globals__.update(slots.pop("__globals__"))
    func.__globals__["__builtins__"] = __builtins__
    sent_cells = slots.pop("__closure__")
    slots.pop("_cloudpickle_submodules", None)
    if sent_cells is not None and func.__closure__ is not None:
        for own, sent in zip(func.__closure__, sent_cells, strict=True):
            try:
                own.cell_contents = sent.cell_contents
            except ValueError:  # an empty cell (a name assigned later) stays empty
                continue
    for name, value in slots.items():
        setattr(func, name, value)


def builtin_type(name: str) -> type:
    """A type of the ``types`` module by name (``CodeType``, ``CellType``, ...).

    >>> builtin_type("CodeType") is types.CodeType
    True
    """
    found: type = getattr(types, name)
    return found


def empty_cell() -> types.CellType:
    """A closure cell with no value yet.

    >>> empty_cell().cell_contents
    Traceback (most recent call last):
    ValueError: Cell is empty
    """
    return types.CellType()


def cell(value: Any) -> types.CellType:
    """A closure cell holding ``value``.

    >>> cell(3).cell_contents
    3
    """
    return types.CellType(value)


def module(name: str) -> types.ModuleType:
    """The module ``name`` (a submodule too), imported if needed.

    >>> module("os.path").__name__ == sys.modules["os.path"].__name__
    True
    """
    __import__(name)
    return sys.modules[name]
