"""``__main__`` as the stdlib's spawn handles it; lambdas and friends by value."""

from __future__ import annotations

import json
import sys
import textwrap
from pathlib import Path
from typing import Any

import spawn_targets as t
from spawn_testlib import WAIT, run_parent

REPORT = """
import json, sys
def report(queue):
    queue.put({"name": __name__, "main": sys.modules["__main__"].__name__})
"""


def _last_json(out: str) -> Any:
    return json.loads(out.strip().splitlines()[-1])


def test_lambda_closure_and_local_function_targets(ctx: Any) -> None:
    queue = ctx.Queue()
    offset = 40

    def local(x: int) -> None:
        queue.put(("local", x + offset))

    targets = [
        (lambda: queue.put(("lambda", 1)), ()),
        (local, (2,)),
        (t.call_and_put, (queue, lambda x: x * offset, 3)),
    ]
    results = []
    for target, args in targets:
        proc = ctx.Process(target=target, args=args)
        proc.start()
        results.append(queue.get(timeout=WAIT))
        proc.join(WAIT)
        assert proc.exitcode == 0
    assert results == [("lambda", 1), ("local", 42), 120]


def test_script_main_is_reimported_as_mp_main(tmp_path: Path) -> None:
    script = tmp_path / "app.py"
    script.write_text(
        REPORT
        + textwrap.dedent(
            """
            import sys
            print("module body ran as", __name__, file=sys.stderr)
            if __name__ == "__main__":
                import procstart
                ctx = procstart.get_context("spawn")
                q = ctx.Queue()
                p = ctx.Process(target=report, args=(q,))
                p.start()
                got = q.get(timeout=60)
                p.join(60)
                print(json.dumps([p.exitcode, got]))
            """
        )
    )
    out = run_parent("", args=[str(script)], cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert _last_json(out.stdout) == [0, {"name": "__mp_main__", "main": "__mp_main__"}]
    assert "module body ran as __mp_main__" in out.stderr


def test_module_main_is_reimported_by_name(tmp_path: Path) -> None:
    (tmp_path / "spawnapp.py").write_text(
        REPORT
        + textwrap.dedent(
            """
            if __name__ == "__main__":
                import procstart
                ctx = procstart.get_context("spawn")
                q = ctx.Queue()
                p = ctx.Process(target=report, args=(q,))
                p.start()
                got = q.get(timeout=60)
                p.join(60)
                print(json.dumps([p.exitcode, got]))
            """
        )
    )
    out = run_parent("", args=["-m", "spawnapp"], cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert _last_json(out.stdout) == [0, {"name": "__mp_main__", "main": "__mp_main__"}]


def test_unguarded_start_in_main_fails_with_the_clear_error(tmp_path: Path) -> None:
    script = tmp_path / "unguarded.py"
    script.write_text(
        textwrap.dedent(
            """
            import procstart, spawn_targets
            ctx = procstart.get_context("spawn")
            p = ctx.Process(target=spawn_targets.noop)
            p.start()
            p.join(60)
            print("exitcode", p.exitcode)
            """
        )
    )
    out = run_parent("", args=[str(script)], cwd=tmp_path)
    assert "exitcode 1" in out.stdout
    assert "RuntimeError: An attempt has been made to start a new process" in out.stderr
    assert 'if __name__ == "__main__":' in out.stderr


PARENT = """
import json, procstart
ctx = procstart.get_context("spawn")
q = ctx.Queue()
factor = 6
def local_function(x):
    q.put(("def", x * factor))
class Box:
    def __init__(self, v):
        self.v = v
def closure_maker():
    hidden = 7
    return lambda: q.put(("closure", hidden * factor, Box(1).v))
results = []
for target, args in [(lambda: q.put(("lambda", factor)), ()),
                     (local_function, (7,)),
                     (closure_maker(), ())]:
    p = ctx.Process(target=target, args=args)
    p.start()
    results.append(q.get(timeout=60))
    p.join(60)
    results.append(p.exitcode)
print(json.dumps(results))
"""

EXPECTED = [["lambda", 6], 0, ["def", 42], 0, ["closure", 42, 1], 0]


def test_python_dash_c_main() -> None:
    out = run_parent(PARENT)
    assert out.returncode == 0, out.stderr
    assert _last_json(out.stdout) == EXPECTED


def test_stdin_main() -> None:
    out = run_parent("", args=["-"], stdin=PARENT)
    assert out.returncode == 0, out.stderr
    assert _last_json(out.stdout) == EXPECTED


def test_parent_sys_argv_reaches_the_child(tmp_path: Path) -> None:
    script = tmp_path / "argv.py"
    script.write_text(
        textwrap.dedent(
            """
            import json, sys
            def argv(q):
                q.put(sys.argv)
            if __name__ == "__main__":
                import procstart
                ctx = procstart.get_context("spawn")
                q = ctx.Queue()
                p = ctx.Process(target=argv, args=(q,))
                p.start()
                print(json.dumps(q.get(timeout=60)))
                p.join(60)
            """
        )
    )
    out = run_parent("", args=[str(script), "one", "two"], cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert _last_json(out.stdout) == [str(script), "one", "two"]
    assert sys.argv  # this process's argv is untouched


def test_main_script_runs_as_written_in_the_child(tmp_path: Path) -> None:
    # annotations stay objects (no __future__ of procstart's leaks into it), and
    # a script changed on disk between two starts is re-run as it is now
    script = tmp_path / "annotated.py"
    script.write_text(
        textwrap.dedent(
            """
            import json, sys
            MARKER = 1
            def facts(q, x: int) -> None:
                q.put([MARKER, str(facts.__annotations__["x"])])
            if __name__ == "__main__":
                import procstart
                ctx = procstart.get_context("spawn")
                q = ctx.Queue()
                out = []
                for round in range(2):
                    p = ctx.Process(target=facts, args=(q, 1))
                    p.start()
                    out.append(q.get(timeout=60))
                    p.join(60)
                    with open(__file__, "a") as fh:
                        fh.write("\\nMARKER = 22\\n")
                print(json.dumps(out))
            """
        )
    )
    out = run_parent("", args=[str(script)], cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert _last_json(out.stdout) == [[1, "<class 'int'>"], [22, "<class 'int'>"]]
