"""procstart's forkserver against multiprocessing's, interleaved in one run.

    python benchmarks/bench_forkserver.py            # warm, cold and memory
    python benchmarks/bench_forkserver.py --json     # one JSON object on stdout

- warm: median start()+join() of a trivial child, both servers running;
  samples alternate between the two (A B B A ...) after a warm-up, so
  drifts in machine load hit both alike;
- cold: the first start()+join() in a fresh interpreter (server launch
  included), one interpreter per sample, alternating;
- memory: USS (psutil) of a child that holds numpy, measured from the
  parent while the child waits: procstart forkserver with numpy preloaded
  vs a procstart ``spawn`` child that imports numpy (vs a plain
  ``subprocess`` interpreter that imports numpy when spawn is not installed).

Targets (issue 4): warm <= 0.5x stdlib, cold <= 1.0x, USS <= 0.3x spawn.
Self-contained: only the standard library, procstart, and numpy/psutil for
the memory part (skipped when they are missing).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.abspath(__file__)


def trivial() -> None:
    """The child's whole job."""


ONLY_ENV = "BENCH_FORKSERVER_ONLY"


def _contexts():
    import multiprocessing

    import procstart

    if os.environ.get(ONLY_ENV):  # no other procstart plugin (tracker, examples)
        import procstart_forkserver

        procstart.register_plugin(procstart_forkserver, name="forkserver")

    return {
        "procstart": procstart.get_context("forkserver"),
        "stdlib": multiprocessing.get_context("forkserver"),
    }


def _start_join(ctx) -> float:
    started = time.perf_counter()
    p = ctx.Process(target=trivial)
    p.start()
    p.join(30)
    elapsed = time.perf_counter() - started
    if p.exitcode != 0:
        raise RuntimeError(f"child failed with exit code {p.exitcode}")
    return elapsed


def bench_warm(rounds: int, warmup: int) -> dict[str, list[float]]:
    """Interleaved warm samples (seconds) for both implementations."""
    contexts = _contexts()
    for _ in range(warmup):
        for ctx in contexts.values():
            _start_join(ctx)
    samples: dict[str, list[float]] = {name: [] for name in contexts}
    names = list(contexts)
    for i in range(rounds):
        order = names if i % 2 == 0 else names[::-1]
        for name in order:
            samples[name].append(_start_join(contexts[name]))
    return samples


def _cold_one(name: str) -> float:
    """In a fresh interpreter: time of the very first start()+join()."""
    return _start_join(_contexts()[name])


def _cold_env(bytecode_cache: bool) -> dict[str, str]:
    """The environment of the cold-start interpreters.

    The standard library's modules come compiled (.pyc); an installed
    procstart is compiled by pip too. A checkout run with
    PYTHONDONTWRITEBYTECODE=1 would recompile procstart's sources in every
    fresh interpreter (the parent's first start and the server), which
    measures the checkout, not the start method: give them a byte-code cache
    of their own instead (outside the source tree).
    """
    env = dict(os.environ)
    if bytecode_cache:
        import tempfile

        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = os.path.join(tempfile.gettempdir(), "procstart-bench-pycache")
    return env


def bench_cold(rounds: int, bytecode_cache: bool = True) -> dict[str, list[float]]:
    """One fresh interpreter per sample, alternating (the first round only warms up)."""
    env = _cold_env(bytecode_cache)
    samples: dict[str, list[float]] = {"procstart": [], "stdlib": []}
    names = list(samples)
    for i in range(rounds + 1):
        order = names if i % 2 == 0 else names[::-1]
        for name in order:
            out = subprocess.run(
                [sys.executable, HERE, "--cold-one", name],
                capture_output=True,
                text=True,
                timeout=120,
                check=True,
                env=env,
            )
            if i:  # the first round warms the OS caches
                samples[name].append(float(out.stdout.strip().splitlines()[-1]))
    return samples


def _hold(ready, release) -> None:
    import numpy  # noqa: F401 - already there when preloaded

    ready.set()
    release.wait(60)


def _uss(pid: int) -> int:
    import psutil

    return int(psutil.Process(pid).memory_full_info().uss)


def _uss_of_context_child(ctx) -> int:
    ready, release = ctx.Event(), ctx.Event()
    p = ctx.Process(target=_hold, args=(ready, release))
    p.start()
    try:
        if not ready.wait(60):
            raise RuntimeError("child did not get ready")
        time.sleep(0.2)
        return _uss(p.pid)
    finally:
        release.set()
        p.join(30)


def _uss_of_subprocess() -> int:
    code = "import numpy, sys; print('ready', flush=True); sys.stdin.read()"
    proc = subprocess.Popen(
        [sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        proc.stdout.readline()
        time.sleep(0.2)
        return _uss(proc.pid)
    finally:
        assert proc.stdin is not None
        proc.stdin.close()
        proc.wait(30)


def bench_memory(rounds: int) -> dict[str, object]:
    """USS of a numpy-holding child: preloaded forkserver vs spawn."""
    try:
        import numpy  # noqa: F401
        import psutil  # noqa: F401
    except ImportError as exc:
        return {"skipped": f"needs numpy and psutil: {exc}"}
    import procstart
    import procstart_forkserver

    procstart_forkserver.stop_server()
    procstart.set_forkserver_preload(["__main__", "numpy"])
    forkserver = procstart.get_context("forkserver")
    try:
        spawn = procstart.get_context("spawn")
        baseline_name = "procstart spawn child importing numpy"
    except ValueError:
        spawn = None
        baseline_name = "subprocess python importing numpy (procstart spawn not installed)"
    fs_uss, base_uss = [], []
    for _ in range(rounds):
        fs_uss.append(_uss_of_context_child(forkserver))
        base_uss.append(_uss_of_context_child(spawn) if spawn else _uss_of_subprocess())
    procstart_forkserver.stop_server()
    fs, base = statistics.median(fs_uss), statistics.median(base_uss)
    return {
        "forkserver_uss_mib": fs / 2**20,
        "baseline_uss_mib": base / 2**20,
        "baseline": baseline_name,
        "ratio": fs / base,
    }


def _summary(samples: dict[str, list[float]]) -> dict[str, float]:
    ps, std = statistics.median(samples["procstart"]), statistics.median(samples["stdlib"])
    return {"procstart_ms": ps * 1e3, "stdlib_ms": std * 1e3, "ratio": ps / std}


def main() -> int:
    """Run the benchmark; print a table (or JSON)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=200, help="warm samples per side")
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--cold-rounds", type=int, default=10)
    parser.add_argument("--memory-rounds", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--skip-memory", action="store_true")
    parser.add_argument(
        "--no-bytecode-cache",
        action="store_true",
        help="cold runs keep PYTHONDONTWRITEBYTECODE (procstart then compiles from source)",
    )
    parser.add_argument(
        "--only-forkserver",
        action="store_true",
        help="load no other procstart plugin (isolates this plugin from the tracker's cost)",
    )
    parser.add_argument("--cold-one", choices=["procstart", "stdlib"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.only_forkserver:
        os.environ["PROCSTART_DISABLE_PLUGIN_AUTOLOAD"] = "1"
        os.environ[ONLY_ENV] = "1"
    if args.cold_one:
        print(_cold_one(args.cold_one))
        return 0
    results: dict[str, object] = {
        "python": sys.version.split()[0],
        "plugins": "forkserver only" if args.only_forkserver else "all installed",
        "warm": _summary(bench_warm(args.rounds, args.warmup)),
        "cold": _summary(bench_cold(args.cold_rounds, not args.no_bytecode_cache)),
        "bytecode_cache": not args.no_bytecode_cache,
    }
    if not args.skip_memory:
        results["memory"] = bench_memory(args.memory_rounds)
    if args.json:
        print(json.dumps(results, indent=2))
        return 0
    print(
        f"Python {results['python']}, procstart plugins: {results['plugins']};"
        " start()+join() of a trivial child, medians"
    )
    for kind, target in (("warm", 0.5), ("cold", 1.0)):
        row = results[kind]
        assert isinstance(row, dict)
        print(
            f"  {kind}: procstart {row['procstart_ms']:.2f} ms, stdlib {row['stdlib_ms']:.2f} ms,"
            f" ratio {row['ratio']:.2f} (target <= {target})"
        )
    memory = results.get("memory")
    if isinstance(memory, dict):
        if "skipped" in memory:
            print(f"  memory: skipped ({memory['skipped']})")
        else:
            print(
                "  memory: forkserver child with numpy preloaded"
                f" {memory['forkserver_uss_mib']:.1f} MiB USS"
                f" vs {memory['baseline']} {memory['baseline_uss_mib']:.1f} MiB,"
                f" ratio {memory['ratio']:.2f} (target <= 0.3)"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
