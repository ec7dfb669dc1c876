"""``procstart.plugin.started_with``: a process can tell whether procstart started it, and how.

Real children of every installed start method and of the standard library's
own fork context, each asking of its own ``current_process()``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from tests.conftest import run_script

pytestmark = [
    pytest.mark.skipif(sys.platform == "win32", reason="fork"),
    pytest.mark.timeout(120),
]

CODE = """
import json, multiprocessing, sys
import procstart
from procstart import plugin


def ask(queue):
    queue.put(plugin.started_with(multiprocessing.current_process()))


if __name__ == "__main__":
    report = {"root": plugin.started_with(multiprocessing.current_process())}
    methods = ("fork", "spawn", "forkserver")
    contexts = [("procstart " + m, procstart.get_context(m)) for m in methods]
    contexts.append(("stdlib fork", multiprocessing.get_context("fork")))
    for name, ctx in contexts:
        queue = ctx.SimpleQueue()
        proc = ctx.Process(target=ask, args=(queue,))
        report[name + " before start"] = plugin.started_with(proc)
        proc.start()
        report[name] = queue.get()
        proc.join()
    print(json.dumps(report))
"""


def test_started_with_names_the_method_only_in_processes_procstart_started(
    tmp_path: Path,
) -> None:
    script = tmp_path / "main.py"
    script.write_text(CODE)
    done = run_script(script, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.splitlines()[-1]) == {
        "root": None,
        "procstart fork before start": None,
        "procstart fork": "fork",
        "procstart spawn before start": None,
        "procstart spawn": "spawn",
        "procstart forkserver before start": None,
        "procstart forkserver": "forkserver",
        "stdlib fork before start": None,
        "stdlib fork": None,
    }
