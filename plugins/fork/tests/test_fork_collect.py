"""A garbage collection that is about to be due runs in the parent, not in every fork child.

``procstart_fork._collect``: when the youngest generation's count is near
its threshold, the parent lets the interpreter collect before the fork, so
a short child does not walk the parent's young objects (a copy-on-write
fault per page). The collector's own schedule stays intact: off means off,
and older generations are still collected in a program that launches
children all the time. Real fork children, each program in its own
interpreter; a ``gc.callbacks`` entry inherited by the child reports
collections there.
"""

from __future__ import annotations

import sys

import pytest
from tests.conftest import last_json_line, run_python

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="fork")

SETUP = """
import gc, json, multiprocessing, os
import procstart

PARENT = os.getpid()
child_r, child_w = os.pipe()
os.set_blocking(child_r, False)
parent_collections = []


def note(phase, info):
    if phase != "start":
        return
    if os.getpid() == PARENT:
        parent_collections.append(info["generation"])
    else:
        os.write(child_w, b"%d " % info["generation"])


gc.callbacks.append(note)
kept = []


def allocate(n=100):
    # a short child's work: enough tracked objects (sets: an empty list may come
    # from the list free list, which the count does not see) to pass a threshold that
    # was 40 away before the launch (a launch allocates 10 to 20 of them)
    spare = [set() for _ in range(n)]
    del spare


def near_threshold(away):
    gc.collect()
    while gc.get_count()[0] < gc.get_threshold()[0] - away:
        kept.append(set())


def reports():
    try:
        return os.read(child_r, 1000).decode().split()
    except BlockingIOError:
        return []


def warm(ctx):
    # a first launch loads plugins and imports modules: thousands of objects,
    # and its child may collect (its report is dropped)
    for _ in range(2):
        p = ctx.Process(target=int)
        p.start()
        p.join(30)
    reports()


def child_collections(ctx):
    p = ctx.Process(target=allocate)
    p.start()
    p.join(30)
    assert p.exitcode == 0, p.exitcode
    return reports()
"""


def _run(code: str) -> dict:
    result = run_python(SETUP + code)
    return last_json_line(result)


def test_a_due_collection_runs_in_the_parent_not_in_the_child() -> None:
    out = _run(
        """
if __name__ == "__main__":
    out = {}
    for name, ctx in (("stdlib", multiprocessing.get_context("fork")),
                      ("procstart", procstart.get_context("fork"))):
        warm(ctx)
        near_threshold(40)
        del parent_collections[:]
        out[name] = {"child": child_collections(ctx), "parent": list(parent_collections)}
    print(json.dumps(out))
"""
    )
    # the setting is one where a stdlib fork child collects the parent's objects
    assert out["stdlib"]["child"], out
    assert out["procstart"] == {"child": [], "parent": [0]}, out


def test_a_collection_far_from_due_is_left_to_its_time() -> None:
    out = _run(
        """
if __name__ == "__main__":
    ctx = procstart.get_context("fork")
    warm(ctx)
    near_threshold(gc.get_threshold()[0] // 2)
    del parent_collections[:]
    before = gc.get_count()[0]
    children = child_collections(ctx)
    print(json.dumps({"child": children, "parent": parent_collections,
                      "grew": gc.get_count()[0] >= before}))
"""
    )
    assert out == {"child": [], "parent": [], "grew": True}


def test_a_collector_turned_off_stays_off() -> None:
    # the gc.freeze() recipe for forking programs turns the collector off first
    out = _run(
        """
if __name__ == "__main__":
    ctx = procstart.get_context("fork")
    warm(ctx)
    near_threshold(20)
    gc.disable()
    del parent_collections[:]
    before = gc.get_count()[0]
    p = ctx.Process(target=int)
    p.start()
    p.join(30)
    print(json.dumps({"parent": parent_collections, "kept": gc.get_count()[0] >= before}))
"""
    )
    assert out == {"parent": [], "kept": True}


def test_older_generations_are_still_collected_in_a_launch_loop() -> None:
    # each round keeps a cycle of objects alive across a launch and drops it
    # after: a cycle that a young collection found alive is freed only by a
    # collection of an older generation, which must come as without procstart
    # (a gc.collect(0) before every fork would promote every round's cycle
    # and never let the count reach the threshold that starts older ones)
    out = _run(
        """
import weakref


class Node:
    pass


if __name__ == "__main__":
    ctx = procstart.get_context("fork")
    warm(ctx)
    freed = []
    size = gc.get_threshold()[0] // 7
    gc.collect()
    del parent_collections[:]
    for rounds in range(1, 400):
        alive = [Node() for _ in range(size)]
        for a, b in zip(alive, alive[1:] + alive[:1]):
            a.next = b  # a cycle: reference counting never frees it
        weakref.finalize(alive[0], freed.append, 1)
        p = ctx.Process(target=int)
        p.start()
        p.join(30)
        del alive, a, b
        if any(g > 0 for g in parent_collections) and rounds >= 100:
            break
    print(json.dumps({"older": sorted(set(g for g in parent_collections if g > 0)),
                      "rounds": rounds, "freed": len(freed)}))
"""
    )
    assert out["older"], out
    assert out["freed"] >= out["rounds"] - 20, out
