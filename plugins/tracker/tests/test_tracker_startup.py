"""The tracker process starts light and leaves at once when it has nothing to do.

It starts while the program runs and holds the program's stderr until it
exits, so a caller reading that stderr to its end (``capture_output``, a
pipe to ``tee``) waits for it. Structural checks on real programs with a
real tracker (its debug log lists the modules it has imported): no
``typing``/``dataclasses``/``re``/``enum``/psutil/procstart on the way to
"watching the root" or to the early exit; the early exit happens only when
nothing is registered and no child procstart started still runs.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from tests.conftest import run_script
from tracker_testlib import alive, kill_all, wait_until

pytestmark = pytest.mark.timeout(90)

#: never imported by a tracker that has nothing to clean or end
HEAVY = {
    "typing",
    "dataclasses",
    "inspect",
    "re",
    "enum",
    "signal",
    "contextlib",
    "urllib.parse",
    "psutil",
    "procstart",
    "importlib",
    "warnings",
}

PROGRAM = """
import os, sys, time
import procstart

def child(hold):
    if hold:
        time.sleep(60)

if __name__ == "__main__":
    ctx = procstart.get_context("fork")
    hold = sys.argv[1] == "hold"
    p = ctx.Process(target=child, args=(hold,))
    p.start()
    if not hold:
        p.join()
    time.sleep(float(sys.argv[2]))
    print(p.pid, flush=True)
    if hold:
        # a normal exit as the tracker sees it (BYE, then the root is gone),
        # minus the interpreter's join of the running child
        from procstart_tracker._client import client

        client.at_exit()
        os._exit(0)
"""


def _run(tmp_path: Path, *args: str, program: str = PROGRAM) -> tuple[str, list[str]]:
    """Run ``program`` with the tracker's debug log; (stdout, the tracker's log lines)."""
    script = tmp_path / "prog.py"
    script.write_text(textwrap.dedent(program))
    env = {
        "PROCSTART_TRACKER_DEBUG": "1",
        "PROCSTART_DISABLE_PLUGINS": "procstart-launchlog,procstart-limits",
    }
    # reads stderr to its end: returns once the tracker has exited too
    done = run_script(script, *args, cwd=tmp_path, env=env)
    assert done.returncode == 0, done.stderr
    return done.stdout, [line for line in done.stderr.splitlines() if "procstart-tracker" in line]


def _modules(log: list[str], where: str) -> set[str]:
    marker = f"modules at {where}: "
    lines = [line.split(marker, 1)[1] for line in log if marker in line]
    assert len(lines) == 1, log
    return set(lines[0].split())


def test_a_program_that_ends_normally_lets_the_tracker_exit_without_imports(
    tmp_path: Path,
) -> None:
    # the tracker watched the root (and read the pipe) before the root exited
    _out, log = _run(tmp_path, "join", "0.6")
    assert any("nothing to clean, no process to end: exit" in line for line in log), log
    assert not any("ended tracker" in line for line in log), log
    assert not any("psutil imported" in line for line in log), log
    assert not any("warning:" in line for line in log), log
    assert sorted(HEAVY & _modules(log, "exit")) == []
    assert any("(pidfd)" in line or "(polling)" in line for line in log), log
    assert sorted(HEAVY & _modules(log, "watch")) == []


def test_a_short_program_ends_its_tracker_before_the_tracker_reads(tmp_path: Path) -> None:
    # the root exits before the tracker's first read, with only its own HELLO
    # in the pipe and no child running: it ends the tracker itself, at once
    _out, log = _run(tmp_path, "join", "0")
    ended = [line for line in log if "ended tracker" in line]
    assert len(ended) == 1, log
    assert not any("nothing to clean" in line for line in log), log
    assert not any("warning:" in line for line in log), log
    tracker = int(ended[0].split("ended tracker ")[1].split()[0])
    # killed, not waited for: torn down while the root finalized (the stderr
    # the test read to its end closed with it), a zombie at most now
    assert not alive(tracker)


CLOSES_FIRST = """
import os, time
import procstart

if __name__ == "__main__":
    p = procstart.get_context("fork").Process(target=int)
    p.start(); p.join()
    time.sleep(0.3)  # the tracker has read the pipe: no quiet exit
    from procstart_tracker._client import client
    client.at_exit()  # BYE
    os.close(client.fd); os.close(client.read_fd)
    # the pipe has ended and the root still runs, as in the instant between
    # an exiting process closing its files and its parent seeing it exit
    time.sleep(0.25)
    os._exit(0)
"""


def test_the_pipe_ending_just_before_the_root_exits_is_still_a_normal_exit(
    tmp_path: Path,
) -> None:
    # judged at EOF the root looked alive: "every process closed the pipe",
    # and a killed root's descendants would have been left running
    _out, log = _run(tmp_path, program=CLOSES_FIRST)
    assert any("root dead=True eof=True" in line for line in log), log
    assert any("nothing to clean, no process to end: exit" in line for line in log), log


LEAKS = """
import os, sys
import procstart

def leak(path):
    procstart.register_resource("file", path)  # never unregistered

if __name__ == "__main__":
    ctx = procstart.get_context("fork")
    if sys.argv[2] == "root":
        p = ctx.Process(target=int)
        p.start(); p.join()
        procstart.register_resource("file", sys.argv[1])
    else:
        p = ctx.Process(target=leak, args=(sys.argv[1],))
        p.start(); p.join()
"""


@pytest.mark.parametrize("who", ["child", "root"])
def test_a_short_program_with_a_registration_keeps_its_tracker(tmp_path: Path, who: str) -> None:
    # a registration in the pipe (the child's or the root's own): the tracker
    # must read it and clean, so the root leaves it running
    leaked = tmp_path / "leaked.txt"
    leaked.write_text("x")
    _out, log = _run(tmp_path, str(leaked), who, program=LEAKS)
    assert not any("ended tracker" in line for line in log), log
    assert wait_until(lambda: not leaked.exists(), 10) is not None, log


def test_a_child_still_running_at_exit_takes_the_full_path(tmp_path: Path) -> None:
    out, log = _run(tmp_path, "hold", "0.3")
    child = int(out.split()[0])
    try:
        # not the early exit: the child is ended (after the exit grace), with psutil
        assert not any("nothing to clean" in line for line in log), log
        assert any("psutil imported" in line for line in log), log
        assert any(f"terminated 1 orphaned process(es): {child}" in line for line in log), log
        assert wait_until(lambda: not alive(child), 5) is not None
    finally:
        kill_all([child])
