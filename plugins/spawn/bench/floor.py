"""How far a spawn child is from the floor: procstart, the stdlib, and what any such child must do.

Every row is per child, medians over alternating rounds (A B B A ...), each
round a fresh interpreter whose ``__main__`` imports only its own library:

- ``stdlib`` / ``procstart``: ``Process(target=int)`` start + join;
- ``procstart lambda``: the same with ``target=lambda: None`` (by value);
- ``floor``: ``python -c "import pickle, multiprocessing.util,
  multiprocessing.process"`` started and waited for: what any child that
  unpickles a ``BaseProcess`` and runs its ``_bootstrap`` imports (the
  ``multiprocessing`` package brings ``context``, ``reduction`` and
  ``socket``; ``_bootstrap`` imports ``util``, which imports ``subprocess``),
  with no pipe, no unpickling, no target;
- ``python -c pass``: the interpreter alone.

Figures: wall time, and CPU time of the child (``getrusage(RUSAGE_CHILDREN)``
deltas in the worker: robust on a loaded machine, where wall times are not).
Each in both forms, the worker run as a script file and with ``-c``.
procstart runs with every installed plugin but the examples (launch wrappers).

    .venv/bin/python plugins/spawn/bench/floor.py [--rounds 6] [--children 10] [--python PY]

Results go to ``plugins/spawn/bench/results-<python>.json`` and a table to stdout.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
LEFT_OUT = {"procstart-launchlog", "procstart-limits"}

#: the worker: LIB KIND N; prints one "wall cpu" line (ms) per child
WORKER = r"""
import os, sys, time, resource

def make_lambda():
    return lambda: None

def cpu():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime

class Command:
    # a child that runs a command line: the floor and the bare interpreter
    argv = []
    def __init__(self, target):
        pass
    def start(self):
        import subprocess
        self.child = subprocess.Popen(self.argv)
    def join(self):
        self.exitcode = self.child.wait()

def context(lib):
    if lib == "stdlib":
        import multiprocessing
        return multiprocessing.get_context("spawn")
    if lib == "procstart":
        from importlib import metadata
        import procstart
        seen = set()
        for ep in metadata.entry_points(group="procstart"):
            if ep.dist.name in LEFT_OUT or ep.name in seen:
                continue
            seen.add(ep.name)
            procstart.register_plugin(ep.load(), name=ep.name)
        return procstart.get_context("spawn")
    needs = "import pickle, multiprocessing.util, multiprocessing.process"
    code = "pass" if lib == "pass" else needs
    Command.argv = [sys.executable, "-c", code]
    class ctx:
        Process = Command
    return ctx

def main():
    lib, kind, n = sys.argv[-3], sys.argv[-2], int(sys.argv[-1])
    ctx = context(lib)
    target = make_lambda() if kind == "lambda" else int
    for i in range(n + 1):
        before, started = cpu(), time.perf_counter()
        p = ctx.Process(target=target)
        p.start()
        p.join()
        wall, used = time.perf_counter() - started, cpu() - before
        if p.exitcode != 0:
            raise SystemExit(f"child exited with {p.exitcode}")
        if i:  # the first one warms up
            print(f"{wall * 1e3:.3f} {used * 1e3:.3f}")

if __name__ == "__main__":
    main()
""".replace("LEFT_OUT", repr(sorted(LEFT_OUT)))

ROWS = [
    ("stdlib", "function"),
    ("procstart", "function"),
    ("procstart", "lambda"),
    ("floor", "function"),
    ("pass", "function"),
]
LABELS = {
    ("stdlib", "function"): "stdlib spawn",
    ("procstart", "function"): "procstart spawn",
    ("procstart", "lambda"): "procstart spawn, lambda target",
    ("floor", "function"): "floor (imports any such child needs)",
    ("pass", "function"): "python -c pass",
}


def run(python: str, rounds: int, children: int) -> dict[str, dict[str, list[list[float]]]]:
    """Samples ``{row: {form: [[wall, cpu], ...]}}`` in milliseconds."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROCSTART_")}
    env["PROCSTART_DISABLE_PLUGIN_AUTOLOAD"] = "1"  # the worker registers the plugins itself
    samples: dict[str, dict[str, list[list[float]]]] = {}
    with tempfile.TemporaryDirectory() as folder:
        script = os.path.join(folder, "spawn_floor_worker.py")
        with open(script, "w") as fh:
            fh.write(WORKER)
        runs = [(row, form) for row in ROWS for form in ("script", "-c")]
        for index in range(rounds):
            for (lib, kind), form in runs if index % 2 == 0 else runs[::-1]:
                head = [python, script] if form == "script" else [python, "-c", WORKER]
                done = subprocess.run(
                    [*head, lib, kind, str(children)],
                    env=env,
                    cwd=folder,
                    capture_output=True,
                    text=True,
                    timeout=600,
                    check=False,
                )
                if done.returncode != 0:
                    raise SystemExit(f"{lib} {kind} {form}: {done.stderr}")
                bucket = samples.setdefault(f"{lib}:{kind}", {}).setdefault(form, [])
                lines = filter(None, done.stdout.split("\n"))
                bucket.extend([float(x) for x in line.split()] for line in lines)
    return samples


def table(result: dict[str, object]) -> str:
    """Medians and ratios to the stdlib, per form."""
    samples = result["samples"]
    assert isinstance(samples, dict)
    lines = [
        f"Python {result['python']}, {result['rounds']} rounds x {result['children']} children; "
        f"{result['note']}",
        "",
        "| per child | form | wall ms | CPU ms | CPU / stdlib |",
        "|---|---|---|---|---|",
    ]
    for form in ("script", "-c"):
        base = statistics.median(c for _, c in samples["stdlib:function"][form])
        for lib, kind in ROWS:
            got = samples[f"{lib}:{kind}"][form]
            wall = statistics.median(w for w, _ in got)
            cpu = statistics.median(c for _, c in got)
            label = LABELS[(lib, kind)]
            lines.append(f"| {label} | {form} | {wall:.2f} | {cpu:.2f} | {cpu / base:.2f}x |")
    return "\n".join(lines)


def main() -> None:
    """Measure, store the JSON, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--python", default=sys.executable)
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--children", type=int, default=10)
    parser.add_argument("--note", default="")
    parser.add_argument("--from-json", help="print the table of a stored run")
    options = parser.parse_args()
    # the workers run in a temporary folder: a relative interpreter path would break
    python = options.python if os.sep not in options.python else os.path.abspath(options.python)
    if options.from_json:
        with open(options.from_json) as fh:
            print(table(json.load(fh)))
        return
    version = subprocess.run(
        [python, "-c", "import platform; print(platform.python_version())"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    started = time.time()
    result: dict[str, object] = {
        "python": version,
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "rounds": options.rounds,
        "children": options.children,
        "note": options.note,
        "samples": run(python, options.rounds, options.children),
        "seconds": round(time.time() - started, 1),
    }
    short = ".".join(version.split(".")[:2])
    path = os.path.join(HERE, f"results-{short}.json")
    with open(path, "w") as fh:
        json.dump(result, fh, indent=1)
        fh.write("\n")
    print(table(result))
    print(f"\nwrote {path}")


if __name__ == "__main__":
    main()
