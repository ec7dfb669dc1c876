"""Interleaved A/B of a warm fork launch: wall, CPU and page faults per child.

Each column runs in its own fresh interpreter whose ``__main__`` imports only
its library; rounds alternate the columns' order (A B, B A, ...). A process
starts one child to warm up (the tracker starts there), waits 0.3 s, then
times ``--children`` launches of ``Process(target=int).start(); join()`` (no
timeout: both libraries wait with ``waitpid``) and reports per child: wall
time, CPU (``getrusage`` of itself and of its children) and minor page
faults (copy-on-write, mostly) on each side of the fork. Each figure is the
median over that column's processes.

A column is ``NAME=KIND[@CHECKOUT][+ENV=VALUE...]``: KIND ``stdlib`` or
``procstart``; ``@CHECKOUT`` runs procstart from another checkout's sources
(a ``git worktree`` of an older commit: its ``core/src`` and
``plugins/*/src`` go first on ``PYTHONPATH``); ``+PROCSTART_DISABLE_PLUGINS=
procstart-tracker`` leaves a distribution out (added to ``--without``).

    python plugins/tracker/bench/ab_forkpath.py stdlib=stdlib \\
        before=procstart@/tmp/before after=procstart \\
        no-tracker=procstart+PROCSTART_DISABLE_PLUGINS=procstart-tracker

Not a test: figures go to notes and reports, never into assertions.
"""

from __future__ import annotations

import argparse
import glob
import os
import statistics
import subprocess
import sys
import tempfile

WORKER = r"""
import os, resource, sys, time
kind, n = sys.argv[1], int(sys.argv[2])
if kind == "stdlib":
    import multiprocessing as library
else:
    import procstart as library
ctx = library.get_context("fork")


def one():
    p = ctx.Process(target=int)
    p.start()
    p.join()


one()
time.sleep(0.3)
usage = resource.getrusage
s0, c0 = usage(resource.RUSAGE_SELF), usage(resource.RUSAGE_CHILDREN)
t0 = time.perf_counter()
for _ in range(n):
    one()
t1 = time.perf_counter()
s1, c1 = usage(resource.RUSAGE_SELF), usage(resource.RUSAGE_CHILDREN)


def cpu(a, b):
    return b.ru_utime - a.ru_utime + b.ru_stime - a.ru_stime


print((t1 - t0) / n, cpu(s0, s1) / n, cpu(c0, c1) / n,
      (s1.ru_minflt - s0.ru_minflt) / n, (c1.ru_minflt - c0.ru_minflt) / n)
"""


def column_env(spec: str, without: str) -> tuple[str, dict[str, str]]:
    """The library to import and the environment of one column."""
    kind, *settings = spec.split("+")
    kind, _, checkout = kind.partition("@")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROCSTART_")}
    env["PROCSTART_DISABLE_PLUGINS"] = without
    for setting in settings:
        key, _, value = setting.partition("=")
        if key == "PROCSTART_DISABLE_PLUGINS":
            value = ",".join(filter(None, (without, value)))
        env[key] = value
    if checkout:
        paths = [os.path.join(checkout, "core", "src")]
        paths += sorted(glob.glob(os.path.join(checkout, "plugins", "*", "src")))
        env["PYTHONPATH"] = os.pathsep.join([*paths, env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return kind, env


def main() -> None:
    """Run the columns interleaved and print one line per column."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("columns", nargs="+", metavar="NAME=KIND[@CHECKOUT][+ENV=VALUE]")
    parser.add_argument("--python", default=sys.executable)
    parser.add_argument("--rounds", type=int, default=12)
    parser.add_argument("--children", type=int, default=300)
    parser.add_argument("--form", choices=("script", "c"), default="script")
    parser.add_argument(
        "--without",
        default="procstart-launchlog,procstart-limits",
        help="distributions left out of every procstart column (the examples, as make bench)",
    )
    args = parser.parse_args()
    if os.sep in args.python:  # the columns run in a temporary folder
        args.python = os.path.abspath(args.python)
    columns = {}
    for column in args.columns:
        name, _, spec = column.partition("=")
        columns[name] = column_env(spec, args.without)
    results: dict[str, list[list[float]]] = {name: [] for name in columns}
    names = list(columns)
    with tempfile.TemporaryDirectory() as tmp:
        worker = os.path.join(tmp, "ab_worker.py")
        with open(worker, "w") as fh:
            fh.write(WORKER)
        for round_ in range(args.rounds):
            for name in names if round_ % 2 == 0 else reversed(names):
                kind, env = columns[name]
                form = [worker] if args.form == "script" else ["-c", WORKER]
                out = subprocess.run(
                    [args.python, *form, kind, str(args.children)],
                    env=env,
                    cwd=tmp,
                    capture_output=True,
                    text=True,
                    check=True,
                ).stdout
                results[name].append([float(x) for x in out.split()])
    base = None
    for name, rows in results.items():
        med = [statistics.median(col) for col in zip(*rows, strict=True)]
        wall, parent, child = med[0] * 1e3, med[1] * 1e3, med[2] * 1e3
        base = base or wall
        print(
            f"{name:12s} {args.form:6s} wall {wall:.3f} ms ({wall / base:.3f}x)  "
            f"cpu parent {parent:.3f} child {child:.3f} ms  "
            f"faults parent {med[3]:.1f} child {med[4]:.1f}"
        )


if __name__ == "__main__":
    main()
