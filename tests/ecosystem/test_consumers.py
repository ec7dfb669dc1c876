"""Real consumers of a multiprocessing context, under every installed start method.

``start_method`` / ``procstart_context`` come from procstart's own pytest
plugin, so each test runs once per installed method (spawn, forkserver and
third-party methods included as they are installed).
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.pool
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from multiprocessing.context import BaseContext

import pytest

from tests.ecosystem import _workers

WAIT = 60


def _check_workers(infos: list[tuple[int, str, str]], start_method: str) -> None:
    # every worker was started by procstart with this method, not by the stdlib
    assert {(method, source) for _pid, method, source in infos} == {(start_method, "parent")}


def test_process_pool_executor(procstart_context: BaseContext, start_method: str) -> None:
    with ProcessPoolExecutor(max_workers=2, mp_context=procstart_context) as executor:
        assert list(executor.map(_workers.square, range(20), timeout=WAIT)) == [
            x * x for x in range(20)
        ]
        infos = [executor.submit(_workers.whoami).result(timeout=WAIT) for _ in range(4)]
    _check_workers(infos, start_method)


def test_process_pool_executor_error_travels_back(procstart_context: BaseContext) -> None:
    with ProcessPoolExecutor(max_workers=1, mp_context=procstart_context) as executor:
        future = executor.submit(_workers.square, "not a number")
        with pytest.raises(TypeError, match="can't multiply sequence"):
            future.result(timeout=WAIT)


def test_context_pool(procstart_context: BaseContext, start_method: str) -> None:
    with procstart_context.Pool(2) as pool:
        assert pool.map_async(_workers.square, range(20)).get(timeout=WAIT) == [
            x * x for x in range(20)
        ]
        infos = pool.map_async(_workers.whoami, range(4)).get(timeout=WAIT)
    _check_workers(infos, start_method)


# replacing workers forks while the pool's threads run: under fork, 3.12+ warns as it
# does for the stdlib's own fork context
@pytest.mark.filterwarnings("ignore:This process .* is multi-threaded:DeprecationWarning")
def test_stdlib_pool_with_context(procstart_context: BaseContext, start_method: str) -> None:
    pool = multiprocessing.pool.Pool(2, context=procstart_context, maxtasksperchild=1)
    try:
        infos = pool.map_async(_workers.whoami, range(4), chunksize=1).get(timeout=WAIT)
    finally:
        pool.terminate()
        pool.join()
    _check_workers(infos, start_method)
    # maxtasksperchild=1: workers were replaced, each by procstart
    assert len({pid for pid, _m, _s in infos}) >= 2


def test_pebble_process_pool(procstart_context: BaseContext, start_method: str) -> None:
    pebble = pytest.importorskip("pebble")
    with pebble.ProcessPool(max_workers=2, context=procstart_context) as pool:
        future = pool.schedule(_workers.square, args=(7,))
        assert future.result(timeout=WAIT) == 49
        mapped = pool.map(_workers.square, range(10), timeout=WAIT)
        assert list(mapped.result()) == [x * x for x in range(10)]
        info = pool.schedule(_workers.whoami).result(timeout=WAIT)
        failing = pool.schedule(_workers.square, args=(None,))
        with pytest.raises(TypeError, match="unsupported operand"):
            failing.result(timeout=WAIT)
    _check_workers([info], start_method)


@pytest.fixture
def bridged() -> Iterator[list[str]]:
    """The stdlib bridge, installed for one test and removed afterwards."""
    import procstart.bridge

    before = multiprocessing.get_start_method(allow_none=True)
    names = procstart.bridge.install()
    try:
        yield names
    finally:
        procstart.bridge.uninstall()
        multiprocessing.set_start_method(before, force=True)


def test_joblib_multiprocessing_backend(start_method: str, bridged: list[str]) -> None:
    """joblib's multiprocessing backend takes only multiprocessing's default context."""
    joblib = pytest.importorskip("joblib")
    multiprocessing.set_start_method(start_method, force=True)
    infos = joblib.Parallel(n_jobs=2, backend="multiprocessing", timeout=WAIT)(
        joblib.delayed(_workers.whoami)(i) for i in range(4)
    )
    _check_workers(list(infos), start_method)
