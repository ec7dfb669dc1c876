"""Fair start-up figures for procstart's forkserver and spawn against the stdlib.

Each measurement runs in its own fresh interpreter whose ``__main__`` imports
only its own library (the stdlib side never loads procstart). Rounds
alternate A B B A. Every figure is taken twice: from a script file and from
``python -c`` (no main file; the target is then ``os.getpid``, importable on
both sides). Per start+join we keep the wall time; per worker we keep the
CPU time of the whole process tree (``getrusage`` self+children of the
driver after the worker, its server and their children are reaped), divided
by the children started, after the CPU of an idle worker (same imports, no
child) is taken off.

Run: ``.venv/bin/python plugins/forkserver/bench/startup.py [--rounds 4] [--children 60]``;
results go to ``plugins/forkserver/bench/results-<python>.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))

#: the worker: started as a file or with -c; prints one JSON line
WORKER = r"""
import os, sys, time, json
LIB, METHOD, N, KIND, FORM = sys.argv[-5:]
N = int(N)
if LIB == "stdlib":
    import multiprocessing as lib
else:
    import procstart as lib

def target():
    pass

def main():
    ctx = lib.get_context(METHOD)
    if KIND == "idle":
        print(json.dumps({"idle": True}))
        return
    if KIND == "lambda":
        # a by-value target and a plain one, alternating in the same program
        fns = [os.getpid, lambda: None]
        both = [[], []]
        for i in range(2 * N + 2):
            t = time.perf_counter()
            p = ctx.Process(target=fns[i % 2])
            p.start()
            p.join()
            both[i % 2].append(time.perf_counter() - t)
        _stop_server()
        print(json.dumps({"plain": both[0][1:], "lambda": both[1][1:]}))
        return
    if FORM == "script":
        fn = target
    else:
        fn = os.getpid
    if KIND == "uss":
        import numpy  # noqa: F401  (preloaded in the fork server)
        if METHOD == "forkserver":
            ctx.set_forkserver_preload(["numpy"])
    times = []
    for i in range(N + 1):
        if KIND == "uss":
            r, w = ctx.Pipe(duplex=False)
            p = ctx.Process(target=_hold, args=(w,))
            p.start()
            r.recv()
            uss = _uss(p.pid)
            w.close(); r.close()
            p.join()
            times.append(uss)
            continue
        t = time.perf_counter()
        p = ctx.Process(target=fn)
        p.start()
        p.join()
        times.append(time.perf_counter() - t)
    _stop_server()
    print(json.dumps({"first": times[0], "warm": times[1:]}))

def _stop_server():
    # the driver counts the CPU of reaped descendants only: stop and reap the
    # fork server (and so its children) on both sides before leaving
    if METHOD != "forkserver":
        return
    if LIB == "stdlib":
        from multiprocessing import forkserver
        fs = forkserver._forkserver
        if fs._forkserver_pid:
            os.close(fs._forkserver_alive_fd)
            os.waitpid(fs._forkserver_pid, 0)
    else:
        from procstart_forkserver import _client
        _client.stop()

def _hold(w):
    import numpy  # noqa: F401  (the target uses numpy: preloaded, or imported here)
    w.send(1)
    w.close()
    import time
    time.sleep(2)

def _uss(pid):
    total = 0
    with open(f"/proc/{pid}/smaps_rollup") as fh:
        for line in fh:
            if line.startswith(("Private_Clean:", "Private_Dirty:")):
                total += int(line.split()[1])
    return total * 1024

if __name__ == "__main__":
    main()
"""


def run_worker(lib: str, method: str, n: int, kind: str, form: str, *, script: str) -> dict:
    args = [lib, method, str(n), kind, form]
    if form == "script":
        cmd = [sys.executable, script, *args]
    else:
        code = WORKER.replace('if __name__ == "__main__":\n    main()', "main()")
        # a -c program's functions cannot go to a stdlib child: the target is os.getpid
        cmd = [sys.executable, "-c", code, *args]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    out = subprocess.run(cmd, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if out.returncode != 0:
        raise RuntimeError(f"{cmd[:3]}... failed: {out.stderr[-2000:]}")
    data = json.loads(out.stdout.strip().splitlines()[-1])
    data["cpu"] = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    data["process_wall"] = wall
    return data


def measure(method: str, kind: str, form: str, rounds: int, n: int, *, script: str) -> dict:
    sides = {"stdlib": [], "procstart": []}
    idle = {"stdlib": [], "procstart": []}
    order = ["stdlib", "procstart", "procstart", "stdlib"]
    for r in range(rounds):
        lib = order[r % 4]
        other = "procstart" if lib == "stdlib" else "stdlib"
        for side in (lib, other):
            sides[side].append(run_worker(side, method, n, kind, form, script=script))
            idle[side].append(run_worker(side, method, 0, "idle", form, script=script)["cpu"])
    result = {}
    for side, runs in sides.items():
        if kind == "uss":
            result[side] = {"uss_median": statistics.median(x for r in runs for x in r["warm"])}
            continue
        warm = [x for r in runs for x in r["warm"]]
        cpu_idle = statistics.median(idle[side])
        result[side] = {
            "warm_wall_median_ms": statistics.median(warm) * 1e3,
            "first_wall_median_ms": statistics.median(r["first"] for r in runs) * 1e3,
            "cpu_per_child_median_ms": statistics.median(
                (r["cpu"] - cpu_idle) / (n + 1) for r in runs
            )
            * 1e3,
            "samples": len(warm),
        }
    if kind != "uss":
        for key in ("warm_wall_median_ms", "first_wall_median_ms", "cpu_per_child_median_ms"):
            result[key.replace("_median_ms", "_ratio")] = (
                result["procstart"][key] / result["stdlib"][key]
            )
    else:
        result["uss_ratio"] = result["procstart"]["uss_median"] / result["stdlib"]["uss_median"]
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--children", type=int, default=60)
    parser.add_argument("--methods", default="forkserver,spawn")
    parser.add_argument("--kinds", default="plain,lambda")
    parser.add_argument("--out", default=None)
    opts = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        script = os.path.join(folder, "worker.py")
        with open(script, "w") as fh:
            fh.write(WORKER)
        results = {
            "python": platform.python_version(),
            "note": "wall figures taken on a shared, loaded 2-core machine",
            "rounds": opts.rounds,
            "children_per_round": opts.children,
            "figures": {},
        }
        for method in opts.methods.split(","):
            for kind in opts.kinds.split(","):
                forms = ("script",) if kind == "uss" else ("script", "c")
                for form in forms:
                    if kind == "lambda" and form == "script":
                        continue  # the lambda row compares with the plain -c row
                    if kind == "lambda":
                        # the stdlib cannot send a lambda: procstart against itself
                        res = _lambda_row(method, opts.rounds, opts.children, script)
                    elif kind == "uss":
                        if method != "forkserver":
                            continue
                        res = _uss_row(opts.rounds, script)
                    else:
                        res = measure(method, kind, form, opts.rounds, opts.children, script=script)
                    results["figures"][f"{method}/{kind}/{form}"] = res
                    print(method, kind, form, json.dumps(res), flush=True)
    out = opts.out or os.path.join(
        HERE, f"results-{sys.version_info[0]}.{sys.version_info[1]}.json"
    )
    with open(out, "w") as fh:
        json.dump(results, fh, indent=1)
    print("wrote", out)


def _lambda_row(method: str, rounds: int, n: int, script: str) -> dict:
    """procstart only (the stdlib cannot send a lambda): children alternate
    between ``os.getpid`` and a lambda in the same program, from ``-c``."""
    plain: list[float] = []
    lam: list[float] = []
    for _ in range(rounds):
        got = run_worker("procstart", method, n, "lambda", "c", script=script)
        plain.extend(got["plain"])
        lam.extend(got["lambda"])
    p, l_ = statistics.median(plain) * 1e3, statistics.median(lam) * 1e3
    return {"plain_warm_ms": p, "lambda_warm_ms": l_, "lambda_extra_ms": l_ - p}


def _uss_row(rounds: int, script: str) -> dict:
    """USS of a Pipe-holding child whose target uses numpy.

    procstart's forkserver child (numpy preloaded in the server) against a
    stdlib spawn child (imports numpy itself) and, for reference, the
    stdlib's forkserver child with numpy preloaded.
    """
    rows: dict[str, list[float]] = {"procstart_forkserver": [], "stdlib_spawn": [],
                                    "stdlib_forkserver": []}  # fmt: skip
    for _ in range(rounds):
        for name, values in rows.items():
            lib, method = name.split("_")
            values.extend(run_worker(lib, method, 3, "uss", "script", script=script)["warm"])
    medians = {f"{name}_uss": statistics.median(values) for name, values in rows.items()}
    medians["ratio_vs_stdlib_spawn"] = (
        medians["procstart_forkserver_uss"] / medians["stdlib_spawn_uss"]
    )
    medians["ratio_vs_stdlib_forkserver"] = (
        medians["procstart_forkserver_uss"] / medians["stdlib_forkserver_uss"]
    )
    return medians


if __name__ == "__main__":
    main()
