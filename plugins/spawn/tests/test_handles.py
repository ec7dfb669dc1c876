"""The child inherits exactly the fds asked for, and nothing else."""

from __future__ import annotations

import os
import socket
from pathlib import Path
from typing import Any

import pytest
import spawn_targets as t
from spawn_testlib import WAIT


def _child_fds(ctx: Any) -> dict[int, str]:
    queue = ctx.Queue()
    proc = ctx.Process(target=t.open_fds, args=(queue,))
    proc.start()
    fds: dict[int, str] = queue.get(timeout=WAIT)
    proc.join(WAIT)
    assert proc.exitcode == 0
    return fds


def test_inheritable_file_is_not_inherited(ctx: Any, tmp_path: Path) -> None:
    path = tmp_path / "secret.txt"
    with open(path, "w") as fh:
        os.set_inheritable(fh.fileno(), True)
        read_end, write_end = os.pipe()
        os.set_inheritable(read_end, True)
        sock = socket.socket()
        sock.set_inheritable(True)
        try:
            fds = _child_fds(ctx)
        finally:
            sock.close()
            os.close(read_end)
            os.close(write_end)
    assert str(path) not in fds.values()
    assert not any(target.startswith("socket:") for target in fds.values())
    # stdio, the launch pipe (read end + the child's sentinel end), the stdlib
    # tracker's and/or the procstart tracker's handle (both when the parent
    # runs a stdlib tracker), and what the child opened itself
    assert len([fd for fd in fds if fd > 2]) <= 7, fds


def test_only_requested_fds_besides_stdio(ctx: Any) -> None:
    fds = _child_fds(ctx)
    others = {fd: what for fd, what in fds.items() if fd > 2}
    # pipes (launch pipe, sentinel, tracker) and /dev/null (stdin replaced by
    # multiprocessing in the child): no files of the parent
    assert all(what.startswith("pipe:") or what == os.devnull for what in others.values()), others


def test_pipe_end_passed_explicitly_arrives(ctx: Any) -> None:
    here, there = ctx.Pipe()
    proc = ctx.Process(target=t.echo_over, args=(there,))
    proc.start()
    there.close()
    here.send([1, 2])
    assert here.poll(WAIT)
    assert here.recv() == [1, 2, 1, 2]
    proc.join(WAIT)
    assert proc.exitcode == 0


def test_fd_passed_with_dupfd_arrives(ctx: Any, tmp_path: Path) -> None:
    from multiprocessing import reduction

    path = tmp_path / "shared.txt"
    path.write_text("x")
    with open(path) as fh:
        queue = ctx.Queue()
        # a DupFd made while pickling: the spawning popen is asked for the fd
        proc = ctx.Process(target=t.fstat_ino, args=(queue, t.FdHolder(fh.fileno())))
        proc.start()
        got = queue.get(timeout=WAIT)
        proc.join(WAIT)
        assert got == os.fstat(fh.fileno()).st_ino
    assert proc.exitcode == 0
    assert reduction is not None


def test_subprocess_fallback_passes_exactly_the_same(
    ctx: Any, tmp_path: Path, monkeypatch: Any
) -> None:
    # a Python whose fork_exec signature we do not know uses subprocess.Popen
    from procstart_spawn import _exec

    monkeypatch.setattr(_exec, "_use_fork_exec", False)
    path = tmp_path / "secret.txt"
    with open(path, "w") as fh:
        os.set_inheritable(fh.fileno(), True)
        fds = _child_fds(ctx)
    assert str(path) not in fds.values()
    here, there = ctx.Pipe()
    proc = ctx.Process(target=t.echo_over, args=(there,))
    proc.start()
    there.close()
    here.send("ab")
    assert here.poll(WAIT)
    assert here.recv() == "abab"
    proc.join(WAIT)
    assert proc.exitcode == 0


FD_PARENT = """
import json, os, procstart, spawn_targets
ctx = procstart.get_context("spawn")
with open({path!r}, "w") as fh:
    os.set_inheritable(fh.fileno(), True)
    q = ctx.Queue()
    p = ctx.Process(target=spawn_targets.open_fds, args=(q,))
    p.start()
    fds = q.get(timeout=60)
    p.join(60)
    q2 = ctx.Queue()
    p2 = ctx.Process(target=spawn_targets.report, args=(q2,))
    p2.start()
    facts = q2.get(timeout=60)
    p2.join(60)
import procstart_spawn, sys
skip = procstart_spawn.startup_plan(sys.executable).skip_site
print(json.dumps([p.exitcode, fds, facts["procstart_loader"], facts["no_site"], skip]))
"""


@pytest.mark.parametrize("site_less", ["0", "1"])
def test_exact_fds_with_the_bytecode_handoff(tmp_path: Path, site_less: str) -> None:
    import json

    from spawn_testlib import run_parent

    path = str(tmp_path / "parent-file.txt")
    out = run_parent(FD_PARENT.format(path=path), env={"PROCSTART_SPAWN_FAST_STARTUP": site_less})
    assert out.returncode == 0, out.stderr
    exitcode, fds, loader, no_site, skip = json.loads(out.stdout.strip().splitlines()[-1])
    assert exitcode == 0
    assert no_site == int(skip)
    if site_less == "0":
        assert not skip
    assert loader == "ShippedLoader"  # this parent used the bytecode handoff
    assert path not in fds.values()
    others = {fd: what for fd, what in fds.items() if int(fd) > 2}
    assert all(what.startswith("pipe:") or what == os.devnull for what in others.values()), others


def test_passed_fds_do_not_leak_to_grandchildren(ctx: Any) -> None:
    # the child's own exec'd children (os.system, close_fds=False) get only stdio
    queue = ctx.Queue()
    here, there = ctx.Pipe()
    proc = ctx.Process(target=t.grandchild_fds, args=(queue, there))
    proc.start()
    listing, err, conn_fd = queue.get(timeout=WAIT)
    proc.join(WAIT)
    assert proc.exitcode == 0, err
    fds = set(eval(listing))  # a printed list of ints
    assert fds <= {0, 1, 2, 3}, fds  # 3: the listing's own fd
    assert conn_fd not in fds or conn_fd == 3
    here.close()
    there.close()
