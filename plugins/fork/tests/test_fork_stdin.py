"""A fork child's stdin is what multiprocessing's fork makes it.

procstart's fork opens the ``os.devnull`` reader once in the parent
(``procstart_fork._stdin``) instead of in every child; a child must still
see what the stdlib's child sees: its stdin closed and a UTF-8 reader of
``os.devnull`` in its place, ``None`` left alone, at every depth, and the
stdlib's own way when the parent's reader fd no longer is ``os.devnull``.
Real fork children, each program in its own interpreter.
"""

from __future__ import annotations

import sys

import pytest
from tests.conftest import last_json_line, run_python

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="fork")

REPORT = """
import json, multiprocessing, os, sys
import procstart


def report(conn):
    stdin = sys.stdin
    if stdin is None:
        conn.send(None)
        return
    conn.send({
        "read": stdin.read(),
        "encoding": stdin.encoding,
        "mode": stdin.mode,
        "devnull": os.path.samestat(os.fstat(stdin.fileno()), os.stat(os.devnull)),
        "original closed": sys.__stdin__ is None or sys.__stdin__.closed,
    })


def run(ctx, target=report, args=()):
    ours, theirs = ctx.Pipe()
    p = ctx.Process(target=target, args=(theirs, *args))
    p.start()
    got = ours.recv()
    p.join(30)
    return got, p.exitcode
"""

#: what a stdlib fork child's stdin looks like (checked against one below)
EXPECTED = {
    "read": "",
    "encoding": "utf-8",
    "mode": "r",
    "devnull": True,
    "original closed": True,
}


def _json_lines(code: str) -> dict:
    result = run_python(REPORT + code)
    return last_json_line(result)


def test_a_fork_child_sees_the_stdin_a_stdlib_fork_child_sees() -> None:
    out = _json_lines(
        """
if __name__ == "__main__":
    ours = [run(procstart.get_context("fork")) for _ in range(3)]
    theirs = run(multiprocessing.get_context("fork"))
    print(json.dumps({"ours": ours, "theirs": theirs}))
"""
    )
    assert out["theirs"] == [EXPECTED, 0]
    assert out["ours"] == [[EXPECTED, 0]] * 3


def test_no_stdin_stays_none() -> None:
    out = _json_lines(
        """
if __name__ == "__main__":
    sys.stdin = None
    print(json.dumps(run(procstart.get_context("fork"))))
"""
    )
    assert out == [None, 0]


def test_children_of_children_see_it_too() -> None:
    # a fork child's stdin is the parent's reader: its own procstart fork child
    # keeps it open, a stdlib fork child replaces it as the stdlib does
    out = _json_lines(
        """
def middle(conn, kind):
    lib = procstart if kind == "procstart" else multiprocessing
    ctx = lib.get_context("fork")
    conn.send(run(ctx))


if __name__ == "__main__":
    fork = procstart.get_context("fork")
    print(json.dumps({kind: run(fork, middle, (kind,)) for kind in ("procstart", "stdlib")}))
"""
    )
    assert out == {"procstart": [[EXPECTED, 0], 0], "stdlib": [[EXPECTED, 0], 0]}


def test_a_reused_fd_is_never_a_childs_stdin(tmp_path) -> None:
    # the parent closed the reader's fd and the number now names another file:
    # the child falls back to the stdlib's way and reads nothing of that file
    secret = tmp_path / "secret.txt"
    secret.write_text("not for the child")
    out = _json_lines(
        f"""
from procstart_fork import _stdin

if __name__ == "__main__":
    fork = procstart.get_context("fork")
    run(fork)
    fd = _stdin._reader.fileno()
    other = os.open({str(secret)!r}, os.O_RDONLY)
    os.dup2(other, fd)
    os.close(other)
    print(json.dumps(run(fork)))
"""
    )
    assert out[1] == 0
    assert out[0]["read"] == ""
    assert out[0]["devnull"] is True


def test_a_closed_reader_is_never_a_childs_stdin() -> None:
    # the parent (some code of the program) closed the reader itself: the
    # check before the fork sees it, and the child gets the stdlib's own
    out = _json_lines(
        """
from procstart_fork import _stdin

if __name__ == "__main__":
    fork = procstart.get_context("fork")
    run(fork)
    _stdin._reader.close()
    print(json.dumps(run(fork)))
"""
    )
    assert out == [EXPECTED, 0]
