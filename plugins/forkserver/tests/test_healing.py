"""Self-healing: a killed server is replaced; a dead parent takes its server along."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from typing import Any

import fs_targets as t
import psutil
import pytest
from fs_helpers import HERE, WAIT, start_join

from procstart_forkserver import SERVER_DIED_EXITCODE, ServerDiedWarning, _client


def _kill_server() -> int:
    state = _client.current()
    assert state is not None
    pid = state.pid
    os.kill(pid, signal.SIGKILL)
    state.process.wait(WAIT)
    return pid


def test_server_sigkill_then_new_start(ctx: Any) -> None:
    assert start_join(ctx, t.noop).exitcode == 0
    event = ctx.Event()
    survivor = ctx.Process(target=t.wait_event, args=(event, 7))
    survivor.start()
    victim = ctx.Process(target=t.sleep, args=(60,))
    victim.start()
    old = _kill_server()
    # children of the dead server keep running; a bounded join still returns
    survivor.join(0.2)
    assert survivor.exitcode is None
    assert survivor.is_alive() and victim.is_alive()
    assert psutil.pid_exists(survivor.pid)
    # the next start launches a new server, with a warning, and succeeds
    with pytest.warns(
        ServerDiedWarning, match=rf"forkserver \(pid {old}\) had exited with code -9"
    ):
        assert start_join(ctx, t.exit_with, 3).exitcode == 3
    state = _client.current()
    assert state is not None and state.pid != old
    # the orphans still report: their own exit code, or the documented one
    event.set()
    survivor.join(WAIT)
    assert survivor.exitcode == 7
    victim.kill()
    victim.join(WAIT)
    assert victim.exitcode == SERVER_DIED_EXITCODE == 255


def test_server_killed_between_starts_is_detected_on_connect(ctx: Any) -> None:
    """Even if the parent has not noticed the death yet, start() recovers."""
    assert start_join(ctx, t.noop).exitcode == 0
    state = _client.current()
    assert state is not None
    os.kill(state.pid, signal.SIGKILL)
    with pytest.warns(ServerDiedWarning) as record:
        assert start_join(ctx, t.exit_with, 0).exitcode == 0
    assert record[0].filename.endswith("fs_helpers.py")  # points at the start() call


PARENT = """
import os, sys, time
import procstart, fs_targets as t
ctx = procstart.get_context("forkserver")
p = ctx.Process(target=t.noop); p.start(); p.join(60)
sleeper = ctx.Process(target=t.sleep, args=(2,)); sleeper.start()
from procstart_forkserver import _client
state = _client.current()
print(state.pid, sleeper.pid, state.address, flush=True)
time.sleep(120)
"""


def test_parent_sigkill_takes_the_server_along() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROCSTART_")}
    env["PYTHONPATH"] = str(HERE)
    parent = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(PARENT)],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert parent.stdout is not None
        line = parent.stdout.readline()
        server_pid, child_pid, address = line.split()
        server = psutil.Process(int(server_pid))
        assert os.path.exists(address)
        parent.kill()
        parent.wait(WAIT)
        _gone, alive = psutil.wait_procs([server], timeout=WAIT)
        assert not alive, "the server outlived its parent"
        # the child finishes its work and is reaped (by init: no zombie left)
        deadline = time.monotonic() + WAIT
        child_pid = int(child_pid)
        while psutil.pid_exists(child_pid) and time.monotonic() < deadline:
            try:
                if psutil.Process(child_pid).status() == psutil.STATUS_ZOMBIE:
                    time.sleep(0.05)
                    continue
            except psutil.NoSuchProcess:
                break
            time.sleep(0.05)
        assert not psutil.pid_exists(child_pid) or (
            psutil.Process(child_pid).status() != psutil.STATUS_ZOMBIE
        )
        # the server removed its socket and folder on the way out
        assert not os.path.exists(os.path.dirname(address))
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait(WAIT)


def test_server_reaps_its_children(ctx: Any) -> None:
    for _ in range(5):
        start_join(ctx, t.noop)
    state = _client.current()
    assert state is not None
    zombies = [
        child.pid
        for child in psutil.Process(state.pid).children()
        if child.status() == psutil.STATUS_ZOMBIE
    ]
    assert zombies == []


def test_server_sigterm_removes_its_socket_folder(ctx: Any) -> None:
    assert start_join(ctx, t.noop).exitcode == 0
    state = _client.current()
    assert state is not None
    folder = os.path.dirname(state.address)
    os.kill(state.pid, signal.SIGTERM)
    assert state.process.wait(WAIT) == 128 + signal.SIGTERM
    assert not os.path.exists(folder)
    with pytest.warns(ServerDiedWarning, match=f"exited with code {128 + signal.SIGTERM}"):
        assert start_join(ctx, t.noop).exitcode == 0


def test_parent_exit_while_the_server_preloads_leaves_no_server() -> None:
    code = """
        import procstart
        from procstart_forkserver import _client
        procstart.set_forkserver_preload(["fs_preload_slow"])
        print(_client.ensure_running().pid, flush=True)
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROCSTART_")}
    env["PYTHONPATH"] = str(HERE)
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        env=env,
        timeout=WAIT,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    server = int(done.stdout.split()[0])
    if psutil.pid_exists(server):
        _gone, alive = psutil.wait_procs([psutil.Process(server)], timeout=WAIT)
        assert not alive


def test_socket_folder_of_a_server_killed_with_its_parent_goes_with_a_tracker() -> None:
    """Both SIGKILLed: nobody of ours is left to clean up; the tracker does it."""
    pytest.importorskip("procstart_tracker")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROCSTART_")}
    env["PYTHONPATH"] = str(HERE)
    parent = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(PARENT)], stdout=subprocess.PIPE, text=True, env=env
    )
    try:
        assert parent.stdout is not None
        server_pid, _child, address = parent.stdout.readline().split()
        os.kill(int(server_pid), signal.SIGKILL)
        parent.kill()
        parent.wait(WAIT)
        deadline = time.monotonic() + WAIT
        while os.path.exists(os.path.dirname(address)) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not os.path.exists(os.path.dirname(address))
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait(WAIT)
