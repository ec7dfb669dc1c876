"""The ``dask`` start method on a LocalCluster over loopback.

One cluster for the session (``dask_cluster``); every blocking call has a
timeout, and every wait is generous (the machine is shared): nothing here
asserts a duration.
"""

from __future__ import annotations

import concurrent.futures
import multiprocessing
import multiprocessing.connection
import os
import queue
import signal
import socket
import subprocess
import sys
import textwrap
import threading
from pathlib import Path
from typing import Any

import dask_targets as t
import psutil
import pytest

import procstart

WAIT = 120
HERE = Path(__file__).resolve().parent


def _run(ctx: Any, target: Any, *args: Any, **kwargs: Any) -> Any:
    proc = ctx.Process(target=target, args=args, **kwargs)
    proc.start()
    proc.join(WAIT)
    assert not proc.is_alive(), "child did not finish in time"
    return proc


def _wait_for_pid(proc: Any) -> int:
    pid = proc.pid  # blocks until the worker has started the child
    assert isinstance(pid, int) and pid > 0
    return pid


# -- process semantics ---------------------------------------------------------


def test_exit_codes_and_traceback_on_parent_stderr(ctx: Any, capsys: Any) -> None:
    assert _run(ctx, t.square, 3).exitcode == 0
    assert _run(ctx, t.exit_with, 3).exitcode == 3
    failed = _run(ctx, t.fail, "boom from a worker")
    assert failed.exitcode == 1
    err = capsys.readouterr().err
    assert "Traceback (most recent call last)" in err
    assert "RuntimeError: boom from a worker" in err
    assert f"Process {failed.name}:" in err


def test_lambda_target_and_queue_round_trip(ctx: Any) -> None:
    results = ctx.Queue()
    proc = _run(ctx, lambda q, x: q.put(x * 2), results, 21)
    assert proc.exitcode == 0
    assert results.get(timeout=WAIT) == 42


def test_identity_name_pid_method_parent(ctx: Any) -> None:
    results = ctx.Queue()
    proc = ctx.Process(target=t.identity, args=(results,), name="remote-one")
    proc.start()
    name, pid, method, parent_pid = results.get(timeout=WAIT)
    proc.join(WAIT)
    assert (name, method, parent_pid) == ("remote-one", "dask", os.getpid())
    assert pid == proc.pid and pid != os.getpid()
    assert proc.exitcode == 0


def test_terminate_and_kill_reach_a_busy_remote_child(ctx: Any) -> None:
    for stop, signum in (("terminate", signal.SIGTERM), ("kill", signal.SIGKILL)):
        proc = ctx.Process(target=t.spin, args=(600,))
        proc.start()
        pid = _wait_for_pid(proc)
        assert proc.is_alive()
        proc.join(0.2)  # a join with a timeout returns while it runs
        assert proc.is_alive() and proc.exitcode is None
        getattr(proc, stop)()
        proc.join(WAIT)
        assert proc.exitcode == -signum
        assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == "zombie"


def test_start_does_not_wait_for_a_busy_cluster_to_start_the_child(ctx: Any) -> None:
    # A remote child's pid waits until a worker has started it, so nothing on
    # the launch path may ask for it: procstart-tracker's announcement of
    # each child (an after_launch callback, armed by the local launch first)
    # and procstart-launchlog's log line (a launch wrapper) both run on every
    # launch, of any method. Every worker thread is busy until the gate
    # opens, and start() must return before that.
    from distributed import Event, Queue

    import procstart_dask

    local = "fork" if "fork" in procstart.get_all_start_methods() else "spawn"
    _run(procstart.get_context(local), int)
    client = procstart_dask.client()
    threads = sum(client.nthreads().values())
    gate = Event(f"procstart-test-gate-{os.getpid()}", client=client)
    started = Queue(f"procstart-test-started-{os.getpid()}", client=client)
    busy = [
        client.submit(t.hold, gate.name, started.name, WAIT, pure=False) for _ in range(threads)
    ]
    proc = ctx.Process(target=int)
    returned = threading.Event()
    starter = threading.Thread(target=lambda: (proc.start(), returned.set()), daemon=True)
    try:
        for _ in busy:
            started.get(timeout=WAIT)  # every worker thread is held now
        starter.start()
        assert returned.wait(30), "start() waited for a worker to start the child"
    finally:
        gate.set()
    for future in busy:
        future.result(timeout=WAIT)
    starter.join(WAIT)
    proc.join(WAIT)
    assert proc.exitcode == 0


def test_more_children_than_worker_threads_all_run_at_once(ctx: Any) -> None:
    # each child waits for the others: with 2 worker threads this completes only
    # if children do not hold a thread each (as local processes do not)
    arrived, go = ctx.Queue(), ctx.Event()
    procs = [ctx.Process(target=t.check_in_then_wait, args=(arrived, go, n)) for n in range(5)]
    for proc in procs:
        proc.start()
    assert sorted(arrived.get(timeout=WAIT) for _ in procs) == list(range(5))
    go.set()
    for proc in procs:
        proc.join(WAIT)
        assert proc.exitcode == 0


def test_sentinel_works_with_connection_wait(ctx: Any) -> None:
    proc = ctx.Process(target=t.spin, args=(0.5,))
    proc.start()
    ready = multiprocessing.connection.wait([proc.sentinel], WAIT)
    assert ready == [proc.sentinel]
    assert proc.exitcode == 0


def test_unpicklable_target_fails_in_the_parent(ctx: Any) -> None:
    proc = ctx.Process(target=t.square, args=(threading.Lock(),))
    with pytest.raises(procstart.SerializationError, match=r"argument 0 of type '_thread\.lock'"):
        proc.start()


def test_stdlib_queue_argument_is_refused_with_the_alternative(ctx: Any) -> None:
    local = multiprocessing.get_context("spawn").Queue()
    proc = ctx.Process(target=t.echo, args=(local, local))
    import procstart_dask

    with pytest.raises(procstart_dask.UnsupportedOnCluster, match=r"ctx\.Queue\(\)"):
        proc.start()


def test_daemon_child_is_stopped_when_its_parent_exits(dask_cluster: str, tmp_path: Path) -> None:
    pid_file = tmp_path / "pid"
    code = f"import dask_targets; dask_targets.daemon_parent({dask_cluster!r}, {str(pid_file)!r})"
    env = {**os.environ, "PROCSTART_DASK_SCHEDULER": dask_cluster, "PYTHONPATH": str(HERE)}
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=WAIT
    )
    assert done.returncode == 0, done.stderr
    pid = int(pid_file.read_text())
    # the parent returned only after stopping it (the cluster lives on)
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == "zombie"


# -- what crosses machines -----------------------------------------------------


def test_queue_both_ways_and_timeouts(ctx: Any) -> None:
    inbox, outbox = ctx.Queue(), ctx.Queue()
    proc = ctx.Process(target=t.echo, args=(inbox, outbox))
    proc.start()
    inbox.put({"n": 1})
    assert outbox.get(timeout=WAIT) == ("echo", {"n": 1})
    proc.join(WAIT)
    assert proc.exitcode == 0
    with pytest.raises(queue.Empty):
        outbox.get(timeout=0.2)
    with pytest.raises(queue.Empty):
        outbox.get_nowait()
    small = ctx.Queue(1)
    small.put("a")
    assert small.full()
    with pytest.raises(queue.Full):
        small.put("b", timeout=0.2)
    assert small.get(timeout=WAIT) == "a" and small.empty()


def test_simple_and_joinable_queues(ctx: Any) -> None:
    simple = ctx.SimpleQueue()
    simple.put(1)
    assert simple.get() == 1 and simple.empty()
    jobs = ctx.JoinableQueue()
    jobs.put("x")
    assert jobs.join(timeout=0.1) is False
    assert jobs.get(timeout=WAIT) == "x"
    jobs.task_done()
    assert jobs.join(timeout=WAIT) is True
    with pytest.raises(ValueError, match="too many times"):
        jobs.task_done()


def test_event_round_trip(ctx: Any) -> None:
    go, done = ctx.Event(), ctx.Event()
    proc = ctx.Process(target=t.wait_then_set, args=(go, done))
    proc.start()
    assert done.wait(0.2) is False
    go.set()
    assert done.wait(WAIT) is True
    proc.join(WAIT)
    assert proc.exitcode == 0 and done.is_set()
    done.clear()
    assert not done.is_set()


def test_lock_and_value_across_children(ctx: Any) -> None:
    lock, value = ctx.Lock(), ctx.Value("i", 0)
    procs = [ctx.Process(target=t.add_under_lock, args=(lock, value, 10)) for _ in range(2)]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(WAIT)
        assert proc.exitcode == 0
    assert value.value == 20
    assert lock.acquire(timeout=WAIT)
    assert lock.acquire(False) is False  # held: a non-blocking try fails
    lock.release()
    rlock = ctx.RLock()
    with rlock, rlock:
        pass
    with value.get_lock():
        value.value += 1
    assert value.value == 21


def test_bounded_semaphore(ctx: Any) -> None:
    sem = ctx.BoundedSemaphore(2)
    assert sem.acquire(timeout=WAIT) and sem.acquire(timeout=WAIT)
    assert sem.acquire(False) is False
    sem.release()
    sem.release()
    with pytest.raises(ValueError, match="released too many times"):
        sem.release()


def test_barrier_across_children(ctx: Any) -> None:
    barrier, out = ctx.Barrier(3), ctx.Queue()
    procs = [ctx.Process(target=t.meet, args=(barrier, out)) for _ in range(2)]
    for proc in procs:
        proc.start()
    mine = barrier.wait(WAIT)
    indices = sorted([mine, *(out.get(timeout=WAIT) for _ in procs)])
    assert indices == [0, 1, 2]
    for proc in procs:
        proc.join(WAIT)
        assert proc.exitcode == 0
    assert barrier.parties == 3 and barrier.n_waiting == 0 and not barrier.broken
    alone = ctx.Barrier(2)
    with pytest.raises(threading.BrokenBarrierError):
        alone.wait(0.2)  # nobody else comes: the timeout breaks it
    assert alone.broken
    alone.reset()
    assert not alone.broken


def test_condition_across_a_child(ctx: Any) -> None:
    cond, state = ctx.Condition(), ctx.Value("i", 0)
    proc = ctx.Process(target=t.set_and_notify, args=(cond, state))
    with cond:
        proc.start()
        assert cond.wait_for(lambda: state.value == 1, timeout=WAIT)
    proc.join(WAIT)
    assert proc.exitcode == 0
    with cond:
        assert cond.wait(0.2) is False  # nobody notifies: times out
        cond.notify()  # the timed-out waiter is skipped, nothing raises


def test_pool_api(ctx: Any) -> None:
    with ctx.Pool(2, initializer=t.init_pool, initargs=("ready",)) as pool:
        assert pool.map(t.square, range(50), chunksize=7) == [x * x for x in range(50)]
        assert pool.starmap(divmod, [(7, 2), (9, 4)]) == [(3, 1), (2, 1)]
        assert list(pool.imap(t.square, range(10), 3)) == [x * x for x in range(10)]
        assert sorted(pool.imap_unordered(t.square, range(10))) == [x * x for x in range(10)]
        assert set(pool.map(t.initialised, range(8))) == {"ready"}
        assert pool.apply(t.divide, (1, 4)) == 0.25
        result = pool.apply_async(t.divide, (1, 0))
        with pytest.raises(ZeroDivisionError):
            result.get(timeout=WAIT)
        assert result.ready() and not result.successful()
        slow = pool.apply_async(t.spin, (5,))
        with pytest.raises(multiprocessing.TimeoutError):
            slow.get(timeout=0.1)
        got: list[Any] = []
        pool.map_async(t.square, [3], callback=got.append).wait(WAIT)
        assert pool.apply_async(lambda: "lambda ok").get(timeout=WAIT) == "lambda ok"
    pool = ctx.Pool(2)
    pool.map_async(t.square, range(4))
    pool.close()
    with pytest.raises(ValueError, match="Pool not running"):
        pool.map(t.square, [1])
    pool.join()


def test_pool_refuses_maxtasksperchild(ctx: Any) -> None:
    import procstart_dask

    with pytest.raises(procstart_dask.UnsupportedOnCluster, match="maxtasksperchild"):
        ctx.Pool(2, maxtasksperchild=1)


def test_executor(ctx: Any) -> None:
    with ctx.Executor() as ex:
        assert isinstance(ex, concurrent.futures.Executor)
        assert ex.submit(pow, 2, 10).result(timeout=WAIT) == 1024
        assert list(ex.map(t.square, range(5), timeout=WAIT)) == [0, 1, 4, 9, 16]
        with pytest.raises(ZeroDivisionError):
            ex.submit(t.divide, 1, 0).result(timeout=WAIT)


@pytest.mark.parametrize(
    ("call", "alternative"),
    [
        (lambda ctx: ctx.Pipe(), r"Pipe\(\) cannot cross machines.*ctx\.Queue\(\)"),
        (lambda ctx: ctx.Array("i", 3), r"Array\(\) cannot cross machines.*ctx\.Queue\(\)"),
        (lambda ctx: ctx.RawValue("i", 3), r"RawValue\(\).*ctx\.Value\(\)"),
        (lambda ctx: ctx.Manager(), r"Manager\(\) cannot cross machines.*ctx\.Queue\(\)"),
        (lambda ctx: ctx.Semaphore(2), r"Semaphore\(\).*ctx\.BoundedSemaphore\(\)"),
        (
            lambda ctx: concurrent.futures.ProcessPoolExecutor(1, mp_context=ctx).submit(abs, 1),
            r"ProcessPoolExecutor.*ctx\.Executor\(\)",
        ),
    ],
    ids=["Pipe", "Array", "RawValue", "Manager", "Semaphore", "PPE"],
)
def test_what_cannot_cross_machines_raises_at_the_call(
    ctx: Any, call: Any, alternative: str
) -> None:
    import procstart_dask

    with pytest.raises(procstart_dask.UnsupportedOnCluster, match=alternative):
        call(ctx)


# -- configuration and faults ----------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


_START_ONE = textwrap.dedent(
    """
    import procstart
    p = procstart.get_context("dask").Process(target=print)
    p.start()
    """
)


def _start_in_subprocess(cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("PROCSTART_DASK")}
    return subprocess.run(
        [sys.executable, "-c", _START_ONE],
        cwd=cwd,
        env={**clean, "PROCSTART_DASK_CONNECT_TIMEOUT": "2", **env},
        capture_output=True,
        text=True,
        timeout=WAIT,
    )


def test_unreachable_scheduler_from_the_environment(tmp_path: Path) -> None:
    address = f"tcp://127.0.0.1:{_free_port()}"
    done = _start_in_subprocess(tmp_path, PROCSTART_DASK_SCHEDULER=address)
    assert done.returncode != 0
    assert "ConnectionError: procstart-dask: cannot reach the Dask scheduler" in done.stderr
    assert repr(address) in done.stderr
    assert "set by environment variable PROCSTART_DASK_SCHEDULER" in done.stderr


def test_unreachable_scheduler_from_pyproject(tmp_path: Path) -> None:
    address = f"tcp://127.0.0.1:{_free_port()}"
    (tmp_path / ".git").mkdir()
    (tmp_path / "pyproject.toml").write_text(f'[tool.procstart]\ndask-scheduler = "{address}"\n')
    done = _start_in_subprocess(tmp_path)
    assert done.returncode != 0
    assert repr(address) in done.stderr
    assert f"set by [tool.procstart] dask-scheduler in {tmp_path / 'pyproject.toml'}" in (
        done.stderr
    )


def test_methods_shows_the_cluster_and_why(tmp_path: Path) -> None:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("PROCSTART_")}
    done = subprocess.run(
        [sys.executable, "-m", "procstart", "methods", "--json"],
        cwd=tmp_path,
        env=clean,
        capture_output=True,
        text=True,
        timeout=WAIT,
    )
    assert done.returncode == 0, done.stderr
    import json

    methods = {m["name"]: m for m in json.loads(done.stdout)["methods"]}
    info = methods["dask"]["info"]
    assert info["cluster"] == "local (starts on first use)"
    assert "neither PROCSTART_DASK_SCHEDULER nor [tool.procstart] dask-scheduler" in info["why"]
    assert json.loads(done.stdout)["default"]["method"] != "dask"


def test_worker_killed_while_running_a_child(ctx: Any, capsys: Any) -> None:
    proc = ctx.Process(target=t.spin, args=(600,))
    proc.start()
    pid = _wait_for_pid(proc)
    worker = psutil.Process(pid).parent()
    assert worker is not None and worker.pid != os.getpid()
    worker.kill()  # the nanny starts a new worker; the child dies with this one
    proc.join(WAIT)
    assert not proc.is_alive()
    assert proc.exitcode is not None and proc.exitcode != 0
    assert f"process {proc.name!r} was lost" in capsys.readouterr().err
    import procstart_dask

    procstart_dask.client().wait_for_workers(2, timeout=WAIT)


# fork in a process that runs a Dask client (threads): Python 3.12+ warns, as
# it does for any threaded parent; the program itself does nothing unsafe
@pytest.mark.filterwarnings("ignore:This process .* is multi-threaded:DeprecationWarning")
@pytest.mark.parametrize("method", ["fork", "dask"])
def test_same_program_same_results_under_fork_and_dask(dask_cluster: str, method: str) -> None:
    result = t.program(procstart.get_context(method))
    assert result == {
        "got": [(0, 0), (1, 1), (2, 4)],
        "exitcodes": [0, 0, 2],
        "value": 3,
        "mapped": [x * x for x in range(20)],
        "star": [(3, 1), (2, 1)],
    }


_MODULE_API_PROGRAM = textwrap.dedent(
    """
    import procstart as mp
    if __name__ == "__main__":
        q, lock = mp.Queue(), mp.Lock()
        p = mp.Process(target=lambda q, lock: q.put((mp.get_start_method(), type(lock).__module__)),
                       args=(q, lock))
        p.start()
        print(q.get(timeout=60), type(q).__module__)
        p.join(60)
        with mp.Pool(2) as pool:
            print(pool.map(abs, [-1, -2]), type(pool).__module__)
    """
)


def test_one_config_line_moves_the_module_api_to_dask(dask_cluster: str, tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    (tmp_path / "pyproject.toml").write_text(
        f'[tool.procstart]\nstart-method = "dask"\ndask-scheduler = "{dask_cluster}"\n'
    )
    clean = {k: v for k, v in os.environ.items() if not k.startswith("PROCSTART_")}
    done = subprocess.run(
        [sys.executable, "-c", _MODULE_API_PROGRAM],
        cwd=tmp_path,
        env=clean,
        capture_output=True,
        text=True,
        timeout=WAIT,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "('dask', 'procstart_dask._sync') procstart_dask._sync",
        "[1, 2] procstart_dask._pool",
    ]


def test_demo_starts_a_child_through_dask(dask_cluster: str, tmp_path: Path) -> None:
    env = {**os.environ, "PROCSTART_DASK_SCHEDULER": dask_cluster}
    done = subprocess.run(
        [sys.executable, "-m", "procstart", "demo"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=WAIT * 2,
    )
    rows = [line for line in done.stdout.splitlines() if line.startswith("dask")]
    assert rows, done.stdout + done.stderr
    assert "ok: lambda(21)=42, child says method=dask, exit=0" in rows[0]


def test_dask_is_a_remote_method_never_picked_by_default() -> None:
    method = procstart.get_context("dask").method
    assert method.remote is True
    assert method.distribution == "procstart-dask"
    # the pytest plugin's start_method fixture leaves remote methods out unless named
    from procstart.pytest_plugin import selected_methods

    class _Config:
        def getoption(self, _name: str) -> None:
            return None

        def getini(self, _name: str) -> str:
            return ""

    assert "dask" not in selected_methods(_Config())  # type: ignore[arg-type]
