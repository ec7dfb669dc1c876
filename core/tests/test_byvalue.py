"""Functions sent by value load without cloudpickle (procstart._byvalue), exactly as with it."""

from __future__ import annotations

import os.path
import pickle
import pickletools
import sys
from typing import Any

import cloudpickle
import pytest
from tests.conftest import run_python

from procstart import serialization
from procstart.serialization import dumps, loads


def _names_in(data: bytes) -> set[str]:
    """The modules a stream imports while loading (STACK_GLOBAL / GLOBAL opcodes)."""
    names: set[str] = set()
    strings: list[str] = []
    for opcode, arg, _ in pickletools.genops(data):
        if isinstance(arg, str):
            strings.append(arg)
        if opcode.name == "STACK_GLOBAL":
            names.add(strings[-2])
        elif opcode.name == "GLOBAL":
            names.add(str(arg).split(" ")[0])
    return names


def _functions() -> dict[str, Any]:
    """Functions cloudpickle sends by value, one per feature of its stream."""
    offset = 10
    later: Any

    def closure(x: int) -> int:
        return x + offset

    def recursive(n: int) -> int:
        return 1 if n <= 1 else n * recursive(n - 1)

    def uses_later() -> Any:
        return later

    def with_defaults(a: int, b: int = 2, *, c: int = 3) -> tuple[int, int, int]:
        """Documented."""
        return a, b, c

    def generator(n: int) -> Any:
        yield from range(n)

    def uses_submodule(path: str) -> str:
        return os.path.basename(path)

    def empty_cell_user() -> Any:
        return never_assigned  # an empty cell on purpose

    if False:  # an empty closure cell
        never_assigned = None
    with_defaults.tag = "attr"  # type: ignore[attr-defined]
    later = 5
    return {
        "lambda": lambda x: x * 3,
        "closure": closure,
        "recursive": recursive,
        "uses_later": uses_later,
        "with_defaults": with_defaults,
        "generator": generator,
        "uses_submodule": uses_submodule,
        "empty_cell_user": empty_cell_user,
    }


def _facts(name: str, func: Any) -> Any:
    """What a loaded function does and carries."""
    result: Any
    try:
        result = {
            "lambda": lambda: func(2),
            "closure": lambda: func(1),
            "recursive": lambda: func(5),
            "uses_later": func,
            "with_defaults": lambda: func(1),
            "generator": lambda: list(func(3)),
            "uses_submodule": lambda: func("/a/b.txt"),
            "empty_cell_user": func,
        }[name]()
    except NameError as exc:
        result = f"NameError: {exc}"
    return (
        result,
        func.__name__,
        func.__qualname__,
        func.__module__,
        func.__doc__,
        func.__defaults__,
        func.__kwdefaults__,
        sorted(func.__annotations__),
        dict(func.__dict__),
    )


@pytest.mark.parametrize("name", sorted(_functions()))
def test_function_streams_name_no_cloudpickle(name: str) -> None:
    data = dumps(_functions()[name])
    assert not any(module.startswith("cloudpickle") for module in _names_in(data))
    assert "procstart._byvalue" in _names_in(data)


@pytest.mark.parametrize("name", sorted(_functions()))
def test_loaded_function_matches_cloudpickles_own(name: str) -> None:
    func = _functions()[name]
    ours = loads(dumps(func))
    theirs = cloudpickle.loads(cloudpickle.dumps(func))
    assert _facts(name, ours) == _facts(name, theirs)


def test_functions_sharing_globals_share_them_after_loading() -> None:
    counter = 0

    def bump() -> int:
        nonlocal counter
        counter += 1
        return counter

    first, second = loads(dumps((lambda: bump(), lambda: bump())))
    assert (first(), second(), first()) == (1, 2, 3)


CHILD = """
import pickle, sys
data = sys.stdin.buffer.read()
funcs = pickle.loads(data)
print(sorted(name for name in sys.modules if name.startswith("cloudpickle")))
print(funcs["lambda"](2), funcs["closure"](1), funcs["recursive"](5), funcs["uses_later"](),
      funcs["uses_submodule"]("/x/y.z"))
"""


def test_a_fresh_interpreter_loads_functions_without_cloudpickle() -> None:
    import subprocess

    data = dumps(_functions())
    done = subprocess.run(
        [sys.executable, "-c", CHILD], input=data, capture_output=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr.decode()
    lines = done.stdout.decode().splitlines()
    assert lines == ["[]", "6 11 120 5 y.z"]


def test_a_class_by_value_still_uses_cloudpickle_in_the_child() -> None:
    class Local:
        def value(self) -> int:
            return 42

    data = dumps(Local)
    assert "cloudpickle.cloudpickle" in _names_in(data)
    assert loads(data)().value() == 42


def test_unknown_reconstructor_shapes_fall_back_to_cloudpickles(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # a cloudpickle release whose _make_function takes other parameters
    changed = dict(serialization._LIGHT_NAMES)
    params = ("code", "globals", "name", "argdefs", "closure", "extra")
    changed["_make_function"] = ("function", params)
    monkeypatch.setattr(serialization, "_LIGHT_NAMES", changed)
    monkeypatch.setattr(serialization, "_light", None)
    data = dumps(lambda x: x + 1)
    assert "procstart._byvalue" not in _names_in(data)
    assert "cloudpickle.cloudpickle" in _names_in(data)
    assert pickle.loads(data)(1) == 2


def test_the_loader_module_imports_nothing_new() -> None:
    done = run_python(
        """
        import sys, types, pickle
        import procstart  # what every child has loaded already
        before = set(sys.modules)
        import procstart._byvalue
        print(*sorted(set(sys.modules) - before - {"procstart._byvalue"}))
        """
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == []
