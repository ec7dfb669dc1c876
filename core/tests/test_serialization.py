"""procstart.serialization: by reference when possible, by value when needed, clear errors."""

from __future__ import annotations

import multiprocessing
import os
import pickle
import threading
from pathlib import Path

import pytest
from tests.conftest import run_python

from procstart import SerializationError
from procstart.serialization import dumps, loads


def _module_level(x: int) -> int:
    return x + 1


def test_module_level_function_goes_by_reference() -> None:
    data = dumps(_module_level)
    assert b"cloudpickle" not in data
    assert loads(data) is _module_level


def test_lambda_closure_and_local_function_go_by_value() -> None:
    offset = 10

    def local(x: int) -> int:
        return x + offset

    assert loads(dumps(lambda x: x * 3))(2) == 6
    assert loads(dumps(local))(1) == 11

    class Local:
        def value(self) -> int:
            return 42

    assert loads(dumps(Local())).value() == 42


def test_cloudpickle_is_imported_only_when_needed() -> None:
    result = run_python(
        """
        import sys
        from procstart.serialization import dumps
        dumps({"plain": [1, 2.0, "three"], "fn": len})
        print("after plain:", "cloudpickle" in sys.modules)
        dumps(lambda: 1)
        print("after lambda:", "cloudpickle" in sys.modules)
        """
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["after plain: False", "after lambda: True"]


def test_python_c_main_functions_go_by_value(tmp_path: Path) -> None:
    # under `python -c` the child cannot import __main__: functions defined
    # there must travel by value, and load in a process that lacks them
    blob = tmp_path / "triple.pickle"
    result = run_python(
        f"""
        from procstart.serialization import dumps
        def triple(x):
            return 3 * x
        open({str(blob)!r}, "wb").write(dumps(triple))
        """
    )
    assert result.returncode == 0, result.stderr
    loaded = run_python(f"import pickle; print(pickle.load(open({str(blob)!r}, 'rb'))(5))")
    assert loaded.stdout.strip() == "15", loaded.stderr


def test_unpicklable_object_error_names_its_type() -> None:
    with pytest.raises(SerializationError) as excinfo:
        dumps(threading.Lock(), what="the lock")
    message = str(excinfo.value)
    assert message.startswith("cannot send the lock to a child started with 'spawn':")
    assert "_thread.lock" in message


def test_process_argument_error_names_the_argument_and_type() -> None:
    proc = multiprocessing.Process(target=os.getpid, args=(1, threading.Lock()))
    with pytest.raises(SerializationError) as excinfo:
        dumps(proc, what="the process object", method="forkserver")
    assert str(excinfo.value).startswith(
        "cannot send argument 1 of type '_thread.lock' to a child started with 'forkserver':"
    )


def test_by_value_keeps_stdlib_reducers_for_what_the_closure_holds() -> None:
    # a lambda holding a Connection: by-value pickling must still use the
    # reducer registered with ForkingPickler (fd handed over), not copy the
    # Connection's attributes raw
    reader, writer = multiprocessing.Pipe(duplex=False)
    try:
        data = dumps(lambda: writer.send(1))
        assert b"rebuild_connection" in data
        loads(data)()
        assert reader.poll(10)
        assert reader.recv() == 1
    finally:
        reader.close()
        writer.close()


def test_loads_is_plain_pickle() -> None:
    assert loads(pickle.dumps({"a": 1})) == {"a": 1}
