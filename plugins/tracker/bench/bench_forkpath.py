"""Fork-path and whole-program cost, procstart (every distribution) against the stdlib.

Each contender runs in its own fresh interpreter whose ``__main__`` imports
only its own library; rounds alternate A B B A; every figure is taken both
from a script file and from ``python -c``.

- ``stdlib``: ``multiprocessing.get_context("fork")``;
- ``raw``: ``os.fork()`` + ``os._exit(0)`` + ``waitpid`` (the machine's limit);
- ``procstart``: ``procstart.get_context("fork")`` with plugins autoloaded
  from the interpreter's entry points (run it in an environment with every
  project distribution installed, the examples left out);
- ``no-tracker``: procstart with the fork, spawn, forkserver and dask plugins
  registered by hand (no tracker), to isolate the tracker's share per child.

Figures (medians over rounds): fork start+join per child (wall, and CPU =
``getrusage`` self + children), N children started then joined (N in
``--many``), and a whole program that imports its library and starts one
fork child (wall, CPU and peak RSS from ``wait4``).

    python plugins/tracker/bench/bench_forkpath.py --python /path/to/venv/bin/python \\
        --json plugins/tracker/bench/results/forkpath-after.json

    python plugins/tracker/bench/bench_forkpath.py --table before.json after.json

prints the README's table (each cell: script / ``-c``) from stored runs.
Not a test: figures go to reports and the README, never into assertions.
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

PRELUDE = r"""
import sys
kind = sys.argv[1]
if kind == "stdlib":
    import multiprocessing
    ctx = multiprocessing.get_context("fork")
elif kind == "raw":
    ctx = None
elif kind == "procstart":
    import procstart
    ctx = procstart.get_context("fork")
else:  # no-tracker
    import importlib, procstart
    for name in ("procstart_fork", "procstart_spawn", "procstart_forkserver", "procstart_dask"):
        try:
            procstart.register_plugin(importlib.import_module(name), name=name)
        except ImportError:
            pass
    ctx = procstart.get_context("fork")

def nothing():
    pass

def start(n):
    import os
    if ctx is None:
        pids = []
        for _ in range(n):
            pid = os.fork()
            if pid == 0:
                os._exit(0)
            pids.append(pid)
        return pids
    ps = [ctx.Process(target=nothing) for _ in range(n)]
    for p in ps:
        p.start()
    return ps

def join(items):
    import os
    for item in items:
        if isinstance(item, int):
            os.waitpid(item, 0)
        else:
            item.join()
"""

LOOP = (
    PRELUDE
    + r"""
if __name__ == "__main__":
    import resource, time
    n, many = int(sys.argv[2]), [int(x) for x in sys.argv[3].split(",")]
    join(start(10))  # warm up (the tracker starts here)
    def cpu():
        me = resource.getrusage(resource.RUSAGE_SELF)
        kids = resource.getrusage(resource.RUSAGE_CHILDREN)
        return (me.ru_utime + me.ru_stime, kids.ru_utime + kids.ru_stime,
                me.ru_minflt, kids.ru_minflt)
    out = {}
    t0, (s0, k0, f0, g0) = time.perf_counter(), cpu()
    for _ in range(n):
        join(start(1))
    t1, (s1, k1, f1, g1) = time.perf_counter(), cpu()
    out["one"] = [(t1 - t0) / n * 1e3, (s1 - s0) / n * 1e3, (k1 - k0) / n * 1e3,
                  (f1 - f0) / n, (g1 - g0) / n]
    for m in many:
        reps = max(1, n // m)
        t0 = time.perf_counter()
        for _ in range(reps):
            join(start(m))
        out[str(m)] = (time.perf_counter() - t0) / (reps * m) * 1e3
    print(repr(out))
"""
)

PROGRAM = (
    PRELUDE
    + r"""
if __name__ == "__main__":
    join(start(1))
"""
)

KINDS_LOOP = ("stdlib", "raw", "procstart", "no-tracker")
KINDS_PROGRAM = ("stdlib", "procstart")


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("PROCSTART_")}


def _argv(python: str, form: str, code: str, script: str) -> list[str]:
    return [python, script] if form == "script" else [python, "-c", code]


def loop(python: str, form: str, script: str, kind: str, *, n: int, many: str) -> dict:
    env = _env()
    if kind == "no-tracker":
        env["PROCSTART_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    out = subprocess.run(
        [*_argv(python, form, LOOP, script), kind, str(n), many],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    import ast

    return ast.literal_eval(out.stdout.strip().splitlines()[-1])


def program(python: str, form: str, script: str, kind: str) -> tuple[float, float, int]:
    """Wall ms, CPU ms (the program and its children) and peak RSS KiB of one run."""
    t0 = time.perf_counter()
    proc = subprocess.Popen([*_argv(python, form, PROGRAM, script), kind], env=_env())
    _, status, usage = os.wait4(proc.pid, 0)
    wall = (time.perf_counter() - t0) * 1e3
    if os.waitstatus_to_exitcode(status):
        raise RuntimeError(f"{kind}: exit status {status}")
    return wall, (usage.ru_utime + usage.ru_stime) * 1e3, usage.ru_maxrss


def _abba(kinds: tuple[str, ...], rounds: int) -> list[tuple[str, ...]]:
    return [kinds if r % 2 == 0 else tuple(reversed(kinds)) for r in range(rounds)]


def table(paths: list[str]) -> str:
    """A markdown table of stored runs (the README's figures come from this)."""
    runs = []
    for path in paths:
        with open(path) as fh:
            runs.append(json.load(fh))
    head = "| figure (median) | target | " + " | ".join(r["label"] for r in runs) + " |"
    rows = [head, "|---|---|" + "---|" * len(runs)]

    def row(name: str, target: str, cell: object) -> None:
        cells = []
        for r in runs:
            parts = []
            for form in ("script", "c"):
                parts.append(cell(r[form]))  # type: ignore[operator]
            cells.append(f"{parts[0]} / {parts[1]}")
        rows.append(f"| {name} | {target} | " + " | ".join(cells) + " |")

    def sj(kind: str, key: str) -> object:
        return lambda f: f"{f['start_join'][kind][key]:.2f}"

    row("fork start+join, wall ms/child: stdlib", "", sj("stdlib", "wall_ms"))
    row("fork start+join, wall ms/child: procstart", "", sj("procstart", "wall_ms"))
    row("fork start+join, CPU ms/child: stdlib", "", sj("stdlib", "cpu_ms"))
    row("fork start+join, CPU ms/child: procstart", "", sj("procstart", "cpu_ms"))
    row("fork start+join, CPU ms/child: raw fork+waitpid", "", sj("raw", "cpu_ms"))

    def faults(kind: str) -> object:
        def cell(f: dict) -> str:
            got = f["start_join"][kind]
            if "faults_parent" not in got:
                return "-"
            return f"{got['faults_parent']:.0f}, {got['faults_child']:.0f}"

        return cell

    for kind in ("stdlib", "no-tracker", "procstart"):
        row(f"fork start+join, page faults/child (parent, child): {kind}", "", faults(kind))
    row("fork start+join, CPU ms/child: no-tracker", "", sj("no-tracker", "cpu_ms"))
    row(
        "fork ratio vs stdlib, wall",
        "<= 1.0x",
        lambda f: f"{f['ratios']['fork_wall_vs_stdlib']:.2f}x",
    )
    row(
        "fork ratio vs stdlib, CPU",
        "<= 1.0x",
        lambda f: f"{f['ratios']['fork_cpu_vs_stdlib']:.2f}x",
    )
    row(
        "fork ratio vs raw fork+waitpid, CPU",
        "<= 1.5x",
        lambda f: f"{f['ratios']['fork_cpu_vs_raw']:.2f}x",
    )
    row(
        "tracker share, CPU ms/child",
        "<= 0.05",
        lambda f: f"{f['ratios']['tracker_share_cpu_ms']:.2f}",
    )
    row(
        "tracker share, wall ms/child",
        "<= 0.05",
        lambda f: f"{f['ratios']['tracker_share_wall_ms']:.2f}",
    )
    row(
        "N at once, wall ratio vs stdlib (N=1,4,16,64)",
        "<= 1.0x each",
        lambda f: ", ".join(f"{v:.2f}" for v in f["ratios"]["many_wall_vs_stdlib"].values()),
    )
    row(
        "one-child program, wall ms: stdlib / procstart",
        "",
        lambda f: (
            f"{f['program']['stdlib']['wall_ms']:.0f}, {f['program']['procstart']['wall_ms']:.0f}"
        ),
    )
    row(
        "one-child program, wall ratio",
        "<= 1.3x",
        lambda f: f"{f['ratios']['program_wall_vs_stdlib']:.2f}x",
    )
    row(
        "one-child program, CPU ratio", "", lambda f: f"{f['ratios']['program_cpu_vs_stdlib']:.2f}x"
    )
    row(
        "one-child program, peak RSS delta MiB",
        "<= +2",
        lambda f: f"{f['ratios']['program_rss_delta_mib']:+.2f}",
    )
    return "\n".join(rows)


def main() -> None:
    if sys.argv[1:2] == ["--table"]:
        print(table(sys.argv[2:]))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--python", default=sys.executable)
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--children", type=int, default=200)
    parser.add_argument("--many", default="1,4,16,64")
    parser.add_argument("--programs", type=int, default=16)
    parser.add_argument("--json", help="write the results here as well")
    parser.add_argument("--label", default="")
    parser.add_argument("--note", default="", help="free text stored with the run")
    args = parser.parse_args()
    med = statistics.median
    result: dict = {
        "label": args.label,
        "note": args.note,
        "python": subprocess.run(
            [args.python, "-c", "import sys; print(sys.version.split()[0])"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip(),
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "loadavg_start": os.getloadavg(),
        "rounds": args.rounds,
        "children": args.children,
        "programs": args.programs,
    }
    with tempfile.TemporaryDirectory() as tmp:
        ls, ps = os.path.join(tmp, "loop.py"), os.path.join(tmp, "program.py")
        with open(ls, "w") as fh:
            fh.write(LOOP)
        with open(ps, "w") as fh:
            fh.write(PROGRAM)
        for form in ("script", "c"):
            runs: dict[str, list[dict]] = {k: [] for k in KINDS_LOOP}
            for order in _abba(KINDS_LOOP, args.rounds):
                for kind in order:
                    runs[kind].append(
                        loop(args.python, form, ls, kind, n=args.children, many=args.many)
                    )
            start_join = {}
            for kind, rs in runs.items():
                start_join[kind] = {
                    "wall_ms": med(r["one"][0] for r in rs),
                    "cpu_parent_ms": med(r["one"][1] for r in rs),
                    "cpu_children_ms": med(r["one"][2] for r in rs),
                    "cpu_ms": med(r["one"][1] + r["one"][2] for r in rs),
                    # page faults (copy-on-write mostly): steady under load
                    "faults_parent": med(r["one"][3] for r in rs),
                    "faults_child": med(r["one"][4] for r in rs),
                    "many_wall_ms": {m: med(r[m] for r in rs) for m in args.many.split(",")},
                }
            ps_, st, raw, nt = (
                start_join["procstart"],
                start_join["stdlib"],
                start_join["raw"],
                start_join["no-tracker"],
            )
            progs: dict[str, list[tuple[float, float, int]]] = {k: [] for k in KINDS_PROGRAM}
            for order in _abba(KINDS_PROGRAM, args.programs):
                for kind in order:
                    progs[kind].append(program(args.python, form, ps, kind))
            whole = {
                kind: {
                    "wall_ms": med(r[0] for r in rs),
                    "cpu_ms": med(r[1] for r in rs),
                    "peak_rss_mib": med(r[2] for r in rs) / 1024,
                }
                for kind, rs in progs.items()
            }
            result[form] = {
                "start_join": start_join,
                "ratios": {
                    "fork_wall_vs_stdlib": ps_["wall_ms"] / st["wall_ms"],
                    "fork_cpu_vs_stdlib": ps_["cpu_ms"] / st["cpu_ms"],
                    "fork_wall_vs_raw": ps_["wall_ms"] / raw["wall_ms"],
                    "fork_cpu_vs_raw": ps_["cpu_ms"] / raw["cpu_ms"],
                    "tracker_share_wall_ms": ps_["wall_ms"] - nt["wall_ms"],
                    "tracker_share_cpu_ms": ps_["cpu_ms"] - nt["cpu_ms"],
                    "many_wall_vs_stdlib": {
                        m: ps_["many_wall_ms"][m] / st["many_wall_ms"][m]
                        for m in args.many.split(",")
                    },
                    "program_wall_vs_stdlib": whole["procstart"]["wall_ms"]
                    / whole["stdlib"]["wall_ms"],
                    "program_cpu_vs_stdlib": whole["procstart"]["cpu_ms"]
                    / whole["stdlib"]["cpu_ms"],
                    "program_rss_delta_mib": whole["procstart"]["peak_rss_mib"]
                    - whole["stdlib"]["peak_rss_mib"],
                },
                "program": whole,
            }
    result["loadavg_end"] = os.getloadavg()
    text = json.dumps(result, indent=1)
    print(text)
    if args.json:
        os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
        with open(args.json, "w") as fh:
            fh.write(text + "\n")


if __name__ == "__main__":
    main()
