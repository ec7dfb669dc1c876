"""``procstart.plugin.once_per_fork_parent``: a fork parent asks a marked handles hook once.

Real launches: the hook records each call (pid, method) in a file. A marked
hook answers the first fork launch of each launching process (the root, and
a fork child that launches children of its own) and no later one; a launch
of another method calls it every time; next to an unmarked hook, both are
called on every launch.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from tests.conftest import run_command

CODE = """
import json, os, sys
import procstart
from procstart import plugin

LOG = sys.argv[1]


def record(name, request):
    with open(LOG, "a") as log:
        log.write(json.dumps([name, os.getpid(), request.method.name]) + "\\n")


class Marked:
    @procstart.hookimpl
    @plugin.once_per_fork_parent
    def procstart_inherited_handles(self, request):
        record("marked", request)
        return ()


class Unmarked:
    @procstart.hookimpl
    def procstart_inherited_handles(self, request):
        record("unmarked", request)
        return ()


def grandparent():
    ctx = procstart.get_context("fork")
    for _ in range(2):
        p = ctx.Process(target=int)
        p.start()
        p.join()
        assert p.exitcode == 0


if __name__ == "__main__":
    import procstart_fork, procstart_spawn
    procstart.register_plugin(procstart_fork, name="fork")
    procstart.register_plugin(procstart_spawn, name="spawn")
    procstart.register_plugin(Marked())
    if sys.argv[2] == "both":
        procstart.register_plugin(Unmarked())
    fork = procstart.get_context("fork")
    for target in (int, int, grandparent, int):
        p = fork.Process(target=target)
        p.start()
        p.join()
        assert p.exitcode == 0
    for _ in range(2):
        p = procstart.get_context("spawn").Process(target=int)
        p.start()
        p.join()
        assert p.exitcode == 0
    print(os.getpid())
"""


def _calls(tmp_path: Path, which: str) -> tuple[int, list[list[object]]]:
    log = tmp_path / "calls.jsonl"
    (tmp_path / "main.py").write_text(CODE)
    result = run_command(
        [sys.executable, "main.py", str(log), which],
        env={"PROCSTART_DISABLE_PLUGIN_AUTOLOAD": "1"},
        cwd=tmp_path,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return int(result.stdout.split()[-1]), [
        json.loads(line) for line in log.read_text().splitlines()
    ]


def test_a_marked_hook_answers_each_fork_parents_first_launch_only(tmp_path: Path) -> None:
    root, calls = _calls(tmp_path, "marked")
    fork_calls = [pid for _, pid, method in calls if method == "fork"]
    # the root's first fork launch, then the fork child that launched two of its own, once
    assert fork_calls[0] == root
    assert len(fork_calls) == 2 and fork_calls[1] != root, calls
    assert [method for _, _, method in calls].count("spawn") == 2, calls


def test_next_to_an_unmarked_hook_both_answer_every_launch(tmp_path: Path) -> None:
    root, calls = _calls(tmp_path, "both")
    for name in ("marked", "unmarked"):
        mine = [(pid, method) for who, pid, method in calls if who == name]
        # 4 fork and 2 spawn launches from the root, 2 fork launches from its child
        assert [pid for pid, _ in mine].count(root) == 6, calls
        assert len(mine) == 8, calls
