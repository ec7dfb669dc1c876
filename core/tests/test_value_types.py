"""The value types behave as the frozen dataclasses they replaced, without importing them."""

from __future__ import annotations

import copy
import pickle

import pytest
from tests.conftest import run_python

from procstart import ConfigKey, InheritedHandle, Resource, ResourceType, StartMethod
from procstart._manager import BrokenPlugin, Conflict
from procstart.config import ConfigEntry


def _launch(request: object) -> None:
    raise NotImplementedError


def test_fields_by_keyword_or_position_and_the_dataclass_repr() -> None:
    assert InheritedHandle("my-tracker", 7) == InheritedHandle(key="my-tracker", fd=7)
    assert (
        repr(InheritedHandle(key="my-tracker", fd=7)) == "InheritedHandle(key='my-tracker', fd=7)"
    )
    assert (
        repr(Conflict("twin", ("a==1", "b==2")))
        == "Conflict(name='twin', providers=('a==1', 'b==2'))"
    )
    method = StartMethod("Nice_Spawn", _launch, "d")
    assert (method.name, method.description, method.context_api, method.child_setup) == (
        "nice_spawn",
        "d",
        {},
        (),
    )


def test_equality_and_hash_leave_out_what_the_dataclasses_left_out() -> None:
    one = StartMethod(name="m", launcher=_launch, distribution="a", plugin="p")
    other = one.replace(distribution="b", version="2", plugin="q", context_api={"Queue": list})
    assert one == other and hash(one) == hash(other)
    assert one != one.replace(remote=True)
    assert len({Resource("file", "/a"), Resource("file", "/a"), Resource("folder", "/a")}) == 2
    assert InheritedHandle("k", 1) != ("k", 1)


def test_assignment_is_refused() -> None:
    handle = InheritedHandle("k", 1)
    with pytest.raises(AttributeError, match="cannot assign to field 'fd'"):
        handle.fd = 2  # type: ignore[misc]
    with pytest.raises(AttributeError, match="cannot delete field 'key'"):
        del handle.key  # type: ignore[misc]


@pytest.mark.parametrize(
    "value",
    [
        InheritedHandle("k", 3),
        Resource("shared_memory", "/psm_1"),
        ResourceType("lockfile", "mod:clean"),
        ConfigKey("nice-level", int, "niceness", 0, "PROCSTART_NICE"),
        BrokenPlugin("x", "dist", "1.0", "ImportError: no"),
        ConfigEntry("k", [1], "default", "", "", "", "procstart"),
    ],
)
def test_copies_and_pickles_are_equal(value: object) -> None:
    assert pickle.loads(pickle.dumps(value)) == value
    assert copy.deepcopy(value) == value and copy.copy(value) == value


def test_replace_names_an_unknown_field() -> None:
    with pytest.raises(TypeError, match="Resource has no field 'size'"):
        Resource("file", "/a").replace(size=3)


def test_validation_errors_are_those_of_the_dataclasses() -> None:
    with pytest.raises(TypeError, match="StartMethod 'm': launcher must be callable"):
        StartMethod(name="m", launcher="not callable")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="child_setup must be a tuple"):
        StartMethod(name="m", launcher=_launch, child_setup="mod")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="type must be str, bool, int, float or list"):
        ConfigKey(name="k", type=dict)
    with pytest.raises(ValueError, match="must start with PROCSTART_"):
        ConfigKey(name="k", type=int, env="NICE")


def test_importing_the_value_types_imports_no_dataclasses() -> None:
    result = run_python(
        "import sys; import procstart._types; print('dataclasses' in sys.modules)",
        env={"PROCSTART_DISABLE_PLUGIN_AUTOLOAD": "1"},
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"
