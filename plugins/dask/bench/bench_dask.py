"""Benchmark the ``dask`` start method on a LocalCluster against local procstart.

    .venv/bin/python plugins/dask/bench/bench_dask.py [--rounds 3] [--quick]

Measures, each as the median of ``--rounds`` alternating rounds:

- Process start+join latency (a child that does nothing), dask vs the
  local default method (forkserver on Linux);
- ``Pool.map`` of 10,000 small items (default chunking), dask ``Pool(n)`` vs
  a local ``Pool(n)`` of the same size (n = the LocalCluster's workers);
- ``Pool.map`` of 100 items of 50 ms CPU work each, same pools;
- ``Pool.map`` of 100 items of 5 ms and of 200 ms (to place the crossover).

Writes ``plugins/dask/bench/results/<UTC time>.json`` and ``latest.json``,
with the load average before and after (the machine may be shared).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"


def noop() -> None:
    """A child that does nothing."""


def tiny(x: int) -> int:
    """A small item."""
    return x + 1


def work(ms: float) -> float:
    """``ms`` milliseconds of CPU work."""
    deadline = time.perf_counter() + ms / 1e3
    n = 0
    while time.perf_counter() < deadline:
        n += 1
    return ms


def _time(fn: Any) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def _start_join(ctx: Any, count: int) -> list[float]:
    times = []
    for _ in range(count):
        proc = ctx.Process(target=noop)
        started = time.perf_counter()
        proc.start()
        proc.join(120)
        times.append(time.perf_counter() - started)
        assert proc.exitcode == 0, proc.exitcode
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="fewer items (a smoke run)")
    args = parser.parse_args()

    import distributed

    import procstart
    import procstart_dask

    local_name = procstart.get_start_method()
    if local_name == "dask":
        local_name = "forkserver"
    dask_ctx, local_ctx = procstart.get_context("dask"), procstart.get_context(local_name)
    client = procstart_dask.client()
    workers = len(client.scheduler_info()["workers"])
    n = max(1, workers)
    small = 1_000 if args.quick else 10_000
    load_before = os.getloadavg()

    # warm both sides: the cluster, the fork server, lazy imports
    _start_join(dask_ctx, 2)
    _start_join(local_ctx, 2)

    rows: dict[str, dict[str, list[float]]] = {}

    def record(name: str, side: str, seconds: float) -> None:
        rows.setdefault(name, {"dask": [], "local": []})[side].append(seconds)

    with dask_ctx.Pool(n) as dask_pool, local_ctx.Pool(n) as local_pool:
        pools = {"dask": dask_pool, "local": local_pool}
        for pool in pools.values():  # warm-up (initial imports on the workers)
            pool.map(tiny, range(100))
            pool.map(work, [1.0] * (2 * n))
        for round_no in range(args.rounds):
            order = ["dask", "local"] if round_no % 2 == 0 else ["local", "dask"]
            for side in order:
                ctx = dask_ctx if side == "dask" else local_ctx
                record(
                    "process start+join (ms)",
                    side,
                    statistics.median(_start_join(ctx, 5)) * 1e3,
                )
                pool = pools[side]
                record(
                    f"Pool.map {small} small items (s)",
                    side,
                    _time(lambda p=pool: p.map(tiny, range(small))),
                )
                for ms in (5.0, 50.0, 200.0):
                    count = 20 if args.quick else 100
                    if ms == 200.0:
                        count //= 4
                    record(
                        f"Pool.map {count} items of {ms:g} ms (s)",
                        side,
                        _time(lambda p=pool, m=ms, c=count: p.map(work, [m] * c, chunksize=1)),
                    )
            print(f"round {round_no + 1}/{args.rounds} done", file=sys.stderr)

    summary = {}
    for name, sides in rows.items():
        dask_median = statistics.median(sides["dask"])
        local_median = statistics.median(sides["local"])
        summary[name] = {
            "dask": round(dask_median, 4),
            "local": round(local_median, 4),
            "ratio_dask_over_local": round(dask_median / local_median, 2),
            "samples": sides,
        }
    result = {
        "when": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "distributed": distributed.__version__,
        "cpu_count": os.cpu_count(),
        "cluster": f"LocalCluster, {workers} worker processes x 1 thread, loopback",
        "pool_size": n,
        "local_method": local_name,
        "rounds": args.rounds,
        "quick": args.quick,
        "loadavg_before": load_before,
        "loadavg_after": os.getloadavg(),
        "note": "machine shared with other jobs while measuring: see loadavg",
        "results": summary,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = result["when"].replace(":", "").replace("+0000", "Z")
    text = json.dumps(result, indent=2)
    (RESULTS / f"{stamp}.json").write_text(text + "\n")
    (RESULTS / "latest.json").write_text(text + "\n")
    for name, row in summary.items():
        print(
            f"{name:40} dask {row['dask']:>9}  local {row['local']:>9}  "
            f"ratio {row['ratio_dask_over_local']:>6}"
        )
    procstart_dask.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
