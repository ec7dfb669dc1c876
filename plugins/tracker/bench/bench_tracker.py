"""What the tracker costs: fork start+join and a one-child program, against the stdlib.

Each contender runs in its own interpreter whose ``__main__`` imports only its
own library (the stdlib side never has procstart loaded); rounds alternate.

- ``stdlib``: ``multiprocessing.get_context("fork")``;
- ``procstart``: the project's distributions (fork, spawn, forkserver,
  tracker; the examples left out), registered explicitly;
- ``no-tracker``: the same without the tracker, to isolate its share.

Figures: per-child fork start+join (ms, median of the rounds' means), the
tracker's share (procstart - no-tracker), and for a whole program that imports
its library and starts one fork child: wall time and peak RSS (``wait4``).

    python plugins/tracker/bench/bench_tracker.py --rounds 7 --children 200

Prints one JSON object. Not a test: figures go to the report, never into
assertions.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

START_JOIN = r"""
import sys, time
kind, n = sys.argv[1], int(sys.argv[2])

def load(kind):
    # the project's own distributions (not the examples), less the tracker for no-tracker
    import importlib, procstart
    from importlib.metadata import entry_points
    for ep in entry_points(group="procstart"):
        if ep.dist.name in ("procstart-launchlog", "procstart-limits"):
            continue
        if kind == "no-tracker" and ep.name == "tracker":
            continue
        procstart.register_plugin(importlib.import_module(ep.value), name=ep.dist.name)
    return procstart

if kind == "stdlib":
    import multiprocessing
    ctx = multiprocessing.get_context("fork")
else:
    ctx = load(kind).get_context("fork")

def nothing():
    pass

if __name__ == "__main__":
    for _ in range(10):  # warm up (the tracker starts here)
        p = ctx.Process(target=nothing); p.start(); p.join()
    import resource
    def cpu():
        me = resource.getrusage(resource.RUSAGE_SELF)
        kids = resource.getrusage(resource.RUSAGE_CHILDREN)
        return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime
    t0, c0 = time.perf_counter(), cpu()
    for _ in range(n):
        p = ctx.Process(target=nothing); p.start(); p.join()
    print((time.perf_counter() - t0) / n * 1000, (cpu() - c0) / n * 1000)
"""

ONE_CHILD = r"""
import sys

def load(kind):
    # the project's own distributions (not the examples), less the tracker for no-tracker
    import importlib, procstart
    from importlib.metadata import entry_points
    for ep in entry_points(group="procstart"):
        if ep.dist.name in ("procstart-launchlog", "procstart-limits"):
            continue
        if kind == "no-tracker" and ep.name == "tracker":
            continue
        procstart.register_plugin(importlib.import_module(ep.value), name=ep.dist.name)
    return procstart

if sys.argv[1] == "stdlib":
    import multiprocessing as mp
else:
    mp = load(sys.argv[1])

def nothing():
    pass

if __name__ == "__main__":
    ctx = mp.get_context("fork")
    p = ctx.Process(target=nothing)
    p.start()
    p.join()
"""

KINDS = ("stdlib", "procstart", "no-tracker")


def _env(kind: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROCSTART_")}
    env["PROCSTART_DISABLE_PLUGIN_AUTOLOAD"] = "1"  # the script registers what it measures
    return env


def start_join(script: str, kind: str, children: int) -> tuple[float, float]:
    """Wall and CPU (parent + children) milliseconds per fork start+join."""
    out = subprocess.run(
        [sys.executable, script, kind, str(children)],
        env=_env(kind),
        capture_output=True,
        text=True,
        check=True,
    )
    wall, cpu = out.stdout.strip().splitlines()[-1].split()
    return float(wall), float(cpu)


def one_child(script: str, kind: str) -> tuple[float, int]:
    """Wall seconds and peak RSS (KiB) of one whole program run."""
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, script, kind], env=_env(kind))
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        raise RuntimeError(f"{kind}: exit {proc.returncode}")
    return wall, usage.ru_maxrss


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--children", type=int, default=200)
    parser.add_argument("--programs", type=int, default=20, help="one-child runs per kind")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        sj, oc = os.path.join(tmp, "start_join.py"), os.path.join(tmp, "one_child.py")
        with open(sj, "w") as fh:
            fh.write(START_JOIN)
        with open(oc, "w") as fh:
            fh.write(ONE_CHILD)
        per_child: dict[str, list[float]] = {kind: [] for kind in KINDS}
        cpu_child: dict[str, list[float]] = {kind: [] for kind in KINDS}
        for _ in range(args.rounds):
            for kind in KINDS:
                wall_ms, cpu_ms = start_join(sj, kind, args.children)
                per_child[kind].append(wall_ms)
                cpu_child[kind].append(cpu_ms)
        walls: dict[str, list[float]] = {kind: [] for kind in KINDS}
        rss: dict[str, list[int]] = {kind: [] for kind in KINDS}
        for _ in range(args.programs):
            for kind in KINDS:
                wall, peak = one_child(oc, kind)
                walls[kind].append(wall)
                rss[kind].append(peak)
    med = {kind: statistics.median(values) for kind, values in per_child.items()}
    cpu = {kind: statistics.median(values) for kind, values in cpu_child.items()}
    wall = {kind: statistics.median(values) * 1000 for kind, values in walls.items()}
    peak = {kind: statistics.median(values) / 1024 for kind, values in rss.items()}
    print(
        json.dumps(
            {
                "python": sys.version.split()[0],
                "fork start+join ms/child (median)": med,
                "fork ratio procstart/stdlib": med["procstart"] / med["stdlib"],
                "tracker share ms/child": med["procstart"] - med["no-tracker"],
                "fork start+join CPU ms/child (median)": cpu,
                "fork CPU ratio procstart/stdlib": cpu["procstart"] / cpu["stdlib"],
                "tracker share CPU ms/child": cpu["procstart"] - cpu["no-tracker"],
                "one-child program wall ms (median)": wall,
                "one-child wall ratio procstart/stdlib": wall["procstart"] / wall["stdlib"],
                "one-child peak RSS MiB (median)": peak,
                "one-child peak RSS delta MiB": peak["procstart"] - peak["stdlib"],
                "rounds": args.rounds,
                "children": args.children,
                "programs": args.programs,
            },
            indent=1,
        )
    )


if __name__ == "__main__":
    main()
