"""Spawn start-up benchmark: procstart's ``spawn`` against ``multiprocessing``'s.

Measures the median wall time of ``Process(target=noop).start(); join()``
for both, interleaved (A, B, A, B, ...) after a warm-up so that both see the
same machine state, and the import cost of each child's bootstrap
(``-X importtime``: the sum of the self times of every module the child
imports before and while running a trivial target).

    .venv/bin/python benchmarks/bench_spawn.py [--runs 40] [--warmup 5] [--json]
    .venv/bin/python benchmarks/bench_spawn.py --ablation   # what each speed-up is worth

Self-contained on purpose: ``procstart bench`` folds these rows in.
"""

from __future__ import annotations

# the child re-imports this module as __mp_main__: keep its imports light,
# as a well-behaved script would
import multiprocessing
import os
import sys
import time

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


def noop() -> None:
    """The trivial target."""


def procstart_context(all_plugins: bool) -> Any:
    """procstart's spawn context; with only procstart-spawn loaded unless ``all_plugins``.

    Other installed plugins (examples with child-side setup, launch wrappers)
    would add their own cost to every child; they are measured with
    ``--all-plugins``.
    """
    if not all_plugins:
        os.environ["PROCSTART_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    import procstart

    if not all_plugins:
        import procstart_spawn

        procstart.register_plugin(procstart_spawn, name="spawn")
    return procstart.get_context("spawn")


_cpu: dict[int, list[float]] = {}


def _children_cpu() -> float:
    import resource

    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _one(ctx: Any) -> float:
    """Wall time of one start+join; the child's CPU time goes to ``_cpu``."""
    cpu = _children_cpu()
    started = time.perf_counter()
    proc = ctx.Process(target=noop)
    proc.start()
    proc.join(60)
    elapsed = time.perf_counter() - started
    if proc.exitcode != 0:
        raise RuntimeError(f"{ctx.get_start_method()} child exited with {proc.exitcode}")
    _cpu.setdefault(id(ctx), []).append(_children_cpu() - cpu)
    return elapsed


def measure(runs: int, warmup: int, all_plugins: bool = False) -> dict[str, Any]:
    """Interleaved start+join timings; medians in milliseconds and their ratio."""
    import statistics

    contexts = {
        "multiprocessing spawn": multiprocessing.get_context("spawn"),
        "procstart spawn": procstart_context(all_plugins),
    }
    for _ in range(warmup):
        for ctx in contexts.values():
            _one(ctx)
    _cpu.clear()
    samples: dict[str, list[float]] = {name: [] for name in contexts}
    for index in range(runs):
        order = list(contexts.items())
        if index % 2:
            order.reverse()  # neither side always goes first
        for name, ctx in order:
            samples[name].append(_one(ctx))
    medians = {name: statistics.median(values) * 1e3 for name, values in samples.items()}
    # the children's own CPU time (user+sys, from getrusage): what a busy
    # machine does not inflate, unlike wall time
    cpu = {name: statistics.median(_cpu[id(ctx)][warmup:]) * 1e3 for name, ctx in contexts.items()}
    return {
        "runs": runs,
        "median_ms": medians,
        "ratio": medians["procstart spawn"] / medians["multiprocessing spawn"],
        "child_cpu_ms": cpu,
        "cpu_ratio": cpu["procstart spawn"] / cpu["multiprocessing spawn"],
        "p90_ms": {
            name: statistics.quantiles(values, n=10)[-1] * 1e3 for name, values in samples.items()
        },
    }


def ablation(runs: int, warmup: int) -> dict[str, dict[str, float]]:
    """What each of procstart-spawn's speed-ups is worth: one switched off at a time.

    Random order in every round; wall and child CPU medians in milliseconds.
    """
    import random
    import statistics

    import procstart_spawn
    from procstart_spawn import _bytecode, _popen

    ps = procstart_context(False)
    real_bundle = _bytecode.bundle

    def variant(*, site: bool | None, fast_exit: bool, handoff: bool) -> Any:
        def configure() -> None:
            procstart_spawn.set_fast_startup(site)
            procstart_spawn.set_fast_exit(fast_exit)
            _popen._bytecode.bundle = real_bundle if handoff else (lambda: None)  # type: ignore[attr-defined]

        return configure

    variants: dict[str, tuple[Any, Any]] = {
        "multiprocessing spawn": (multiprocessing.get_context("spawn"), None),
        "procstart spawn (default)": (ps, variant(site=None, fast_exit=True, handoff=True)),
        "  without the fast exit": (ps, variant(site=None, fast_exit=False, handoff=True)),
        "  without the bytecode handoff": (ps, variant(site=None, fast_exit=True, handoff=False)),
        "  with -S (fast startup)": (ps, variant(site=True, fast_exit=True, handoff=True)),
        "  none of them": (ps, variant(site=False, fast_exit=False, handoff=False)),
    }
    wall: dict[str, list[float]] = {name: [] for name in variants}
    cpu: dict[str, list[float]] = {name: [] for name in variants}
    try:
        for index in range(warmup + runs):
            order = list(variants.items())
            random.shuffle(order)
            for name, (ctx, configure) in order:
                if configure is not None:
                    configure()
                before = _children_cpu()
                elapsed = _one(ctx)
                if index >= warmup:
                    wall[name].append(elapsed)
                    cpu[name].append(_children_cpu() - before)
    finally:
        variant(site=None, fast_exit=True, handoff=True)()
        procstart_spawn.set_fast_startup(None)
        procstart_spawn.set_fast_exit(None)
    base = statistics.median(wall["multiprocessing spawn"])
    return {
        name: {
            "wall_ms": statistics.median(wall[name]) * 1e3,
            "cpu_ms": statistics.median(cpu[name]) * 1e3,
            "ratio": statistics.median(wall[name]) / base,
        }
        for name in variants
    }


def _probe(which: str, all_plugins: bool) -> None:
    """In a subprocess: start one child of ``which`` with import profiling on."""
    if which == "procstart":
        ctx: Any = procstart_context(all_plugins)
    else:
        ctx = multiprocessing.get_context("spawn")
    _one(ctx)  # trackers and servers start now, before profiling: not counted
    os.environ["PYTHONPROFILEIMPORTTIME"] = "1"  # read by the child's interpreter only
    _one(ctx)


def import_profile(which: str, all_plugins: bool = False, repeat: int = 5) -> dict[str, Any]:
    """Modules a trivial child of ``which`` imports and their summed self time.

    The median of ``repeat`` probes (each a fresh parent), as one is noisy.
    """
    import statistics

    probes = [_import_probe(which, all_plugins) for _ in range(repeat)]
    times = [probe["self_ms"] for probe in probes]
    return {**probes[0], "self_ms": statistics.median(times)}


def _import_probe(which: str, all_plugins: bool) -> dict[str, Any]:
    import subprocess

    out = subprocess.run(
        [sys.executable, os.path.abspath(__file__), "--probe", which]
        + (["--all-plugins"] if all_plugins else []),
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    total_us = 0
    modules: list[str] = []
    for line in out.stderr.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        self_us, _cumulative, name = line[len("import time:") :].split("|")
        total_us += int(self_us)
        modules.append(name.strip())
    heavy = [name for name in ("pluggy", "cloudpickle", "psutil", "runpy", "subprocess",
                               "multiprocessing.spawn") if name in modules]  # fmt: skip
    return {"modules": len(modules), "self_ms": total_us / 1e3, "heavy": heavy}


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print a small table (or JSON)."""
    import argparse
    import json

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=40)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--json", action="store_true")
    parser.add_argument(
        "--all-plugins", action="store_true", help="load every installed procstart plugin"
    )
    parser.add_argument(
        "--ablation", action="store_true", help="switch each speed-up off in turn instead"
    )
    parser.add_argument("--probe", choices=["procstart", "stdlib"], help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.probe:
        _probe(args.probe, args.all_plugins)
        return 0
    if args.ablation:
        rows = ablation(args.runs, args.warmup)
        if args.json:
            print(json.dumps(rows, indent=2))
            return 0
        print(f"start+join of a trivial child, median of {args.runs} runs, random order")
        for name, row in rows.items():
            print(
                f"  {name:<32} {row['wall_ms']:7.2f} ms  ratio {row['ratio']:.2f}"
                f"   child CPU {row['cpu_ms']:6.2f} ms"
            )
        return 0
    result = measure(args.runs, args.warmup, args.all_plugins)
    result["child_imports"] = {
        "procstart spawn": import_profile("procstart", args.all_plugins),
        "multiprocessing spawn": import_profile("stdlib"),
    }
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print(f"start+join of a trivial child, median of {args.runs} interleaved runs")
    for name, median in result["median_ms"].items():
        imports = result["child_imports"][name]
        print(
            f"  {name:<22} {median:7.2f} ms   (p90 {result['p90_ms'][name]:6.2f} ms; child imports "
            f"{imports['modules']} modules, {imports['self_ms']:.1f} ms"
            + (f"; incl. {', '.join(imports['heavy'])}" if imports["heavy"] else "")
            + ")"
        )
    print(f"  ratio procstart / multiprocessing: {result['ratio']:.2f}")
    cpu = result["child_cpu_ms"]
    print(
        f"  child CPU time (user+sys), median: multiprocessing {cpu['multiprocessing spawn']:.1f}"
        f" ms, procstart {cpu['procstart spawn']:.1f} ms, ratio {result['cpu_ratio']:.2f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
