"""Leaks and concurrency: many start/join cycles, many threads, nested children.

Counts are small by default and the full ones of issue 8 with ``--soak``
(see ``conftest.Counts``). Figures (fds before/after) appear in the
terminal summary under "procstart reliability figures".
"""

from __future__ import annotations

import faulthandler
import gc
import os
import signal
import threading
import time
from pathlib import Path

import psutil
import pytest

import procstart
from tests.reliability import _targets
from tests.reliability.conftest import WAIT, Counts, last_json, run_parent

#: fds a lazily started helper may keep open after the first launches
#: (a fork server's socket and alive pipe, a tracker's pipe); the cycles
#: themselves must add nothing on top
HELPER_SLACK = 2


def _zombies(me: psutil.Process) -> int:
    count = 0
    for child in me.children(recursive=False):
        try:
            if child.status() == psutil.STATUS_ZOMBIE:
                count += 1
        except psutil.NoSuchProcess:
            pass
    return count


def _cycle(ctx: procstart.ProcstartContext, code: int) -> None:
    proc = ctx.Process(target=_targets.exit_with, args=(code,))
    proc.start()
    proc.join(WAIT)
    assert proc.exitcode == code, f"cycle exited with {proc.exitcode}, expected {code}"
    # no close(): most programs never call it, so the fds must go with the object


@pytest.mark.soak
def test_sequential_start_join_cycles_leak_nothing(method: str, counts: Counts, figure) -> None:
    ctx = procstart.get_context(method)
    me = psutil.Process()
    for i in range(3):  # warm-up: fork server, stdlib resource tracker...
        _cycle(ctx, i)
    gc.collect()
    fds_before, zombies_before = me.num_fds(), _zombies(me)
    children_before = len(me.children(recursive=False))
    started = time.monotonic()
    for i in range(counts.cycles):
        _cycle(ctx, i % 7)
    elapsed = time.monotonic() - started
    gc.collect()
    procstart.active_children()  # what the stdlib does before each start: reap finished ones
    fds_after, zombies_after = me.num_fds(), _zombies(me)
    children_after = len(me.children(recursive=False))
    figure(
        f"{counts.cycles} cycles in {elapsed:.1f} s: fds {fds_before} -> {fds_after}, "
        f"zombies {zombies_before} -> {zombies_after}, "
        f"children {children_before} -> {children_after}"
    )
    assert fds_after <= fds_before + HELPER_SLACK, (fds_before, fds_after)
    assert zombies_after <= zombies_before
    assert children_after <= children_before


@pytest.mark.soak
def test_threads_start_and_join_concurrently(
    method: str, counts: Counts, figure, tmp_path: Path
) -> None:
    ctx = procstart.get_context(method)
    results: dict[tuple[int, int], tuple[int | None, int]] = {}
    errors: list[BaseException] = []
    go = threading.Barrier(counts.threads)
    # a forked child inherits this: SIGUSR1 makes a hung child print where it hangs
    dump = tmp_path / "hung-children.txt"
    dump_file = dump.open("w")
    faulthandler.register(signal.SIGUSR1, file=dump_file, all_threads=True)

    def starter(thread: int) -> None:
        try:
            go.wait(WAIT)
            for i in range(counts.per_thread):
                code = 1 + (thread * counts.per_thread + i) % 200
                proc = ctx.Process(target=_targets.exit_with, args=(code,))
                proc.start()
                proc.join(WAIT)
                if proc.exitcode is None:
                    os.kill(proc.pid, signal.SIGUSR1)
                    proc.join(1.0)
                    proc.kill()
                    proc.join(WAIT)
                results[(thread, i)] = (proc.exitcode, code)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=starter, args=(t,)) for t in range(counts.threads)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + counts.per_thread * 2 * WAIT  # each join is bounded
    try:
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))
    finally:
        faulthandler.unregister(signal.SIGUSR1)
        dump_file.close()
    elapsed = time.monotonic() - started
    assert not any(thread.is_alive() for thread in threads), "a starter thread hung"
    assert errors == []
    total = counts.threads * counts.per_thread
    wrong = {key: got for key, got in results.items() if got[0] != got[1]}
    figure(f"{counts.threads} threads x {counts.per_thread} processes in {elapsed:.1f} s")
    assert len(results) == total
    assert wrong == {}, f"{wrong}; where hung children were:\n{dump.read_text()}"


def test_nesting_three_deep(method: str) -> None:
    ctx = procstart.get_context(method)
    queue = ctx.Queue()
    top = ctx.Process(target=_targets.nest, args=(method, 1, 3, queue))
    top.start()
    top.join(WAIT * 2)
    assert top.exitcode == 43  # 40 + depth of the innermost level, passed up by each
    reports = sorted(queue.get(timeout=WAIT) for _ in range(3))
    depths = [r[0] for r in reports]
    assert depths == [1, 2, 3]
    assert [r[4] for r in reports] == [method] * 3  # each level's default is the method
    pids = [r[1] for r in reports]
    assert len(set(pids)) == 3
    logical_parents = [r[3] for r in reports]
    assert logical_parents == [os.getpid(), pids[0], pids[1]]
    queue.close()
    queue.join_thread()


BIG_ARGUMENT = """
import json, resource
import procstart
from tests.reliability import _targets

def peak():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux

SIZE = {size}
ctx = procstart.get_context({method!r})
warm = ctx.Process(target=_targets.noop)  # imports and helpers before measuring
warm.start(); warm.join(60)
reader, writer = ctx.Pipe(duplex=False)
base = peak()
blob = b"\\x01" * SIZE  # one allocation, every page touched
with_blob = peak()
proc = ctx.Process(target=_targets.report_size_and_peak, args=(blob, writer))
proc.start()
writer.close()
assert reader.poll(300), "no answer from the child"
size, ends, child_peak = reader.recv()
proc.join(300)
print(json.dumps({{"base": base, "with_blob": with_blob, "peak": peak(), "child_peak": child_peak,
                  "size": size, "ends": ends.hex(), "exitcode": proc.exitcode}}))
"""


@pytest.mark.soak
def test_big_argument_uses_at_most_two_copies(method: str, counts: Counts, figure) -> None:
    size = (1 << 30) if counts.soak else (256 << 20)
    result = last_json(run_parent(BIG_ARGUMENT.format(method=method, size=size), timeout=600))
    assert result["exitcode"] == 0
    assert (result["size"], result["ends"]) == (size, "0101")
    parent_copies = (result["peak"] - result["base"]) / size
    extra_copies = (result["peak"] - result["with_blob"]) / size
    child_copies = result["child_peak"] / size
    figure(
        f"{size >> 20} MiB argument: parent peak {parent_copies:.2f} copies "
        f"({extra_copies:.2f} made by the launch), "
        f"child peak {child_copies:.2f} copies (+ interpreter)"
    )
    # the argument itself plus at most one serialised copy in the parent; in the
    # child the payload and the object built from it (+ ~100 MB of interpreter)
    assert parent_copies <= 2.2, result
    assert extra_copies <= 1.2, result
    assert result["child_peak"] <= 2.2 * size + (100 << 20), result
