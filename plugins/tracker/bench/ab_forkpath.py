"""Interleaved A/B of a warm fork launch: wall, CPU and page faults per child.

Each column runs in its own fresh interpreter whose ``__main__`` imports only
its library; rounds alternate the columns' order (A B, B A, ...). A process
starts one child to warm up (the tracker starts there), waits 0.3 s, then
times ``--children`` launches of ``Process(target=int).start(); join()`` (no
timeout: both libraries wait with ``waitpid``) and reports per child: wall
time, CPU (``getrusage`` of itself and of its children) and minor page
faults (copy-on-write, mostly) on each side of the fork. Each figure is the
median over that column's processes. Every column after the first is
also shown as its difference from the first (wall, parent CPU, child CPU,
ms per child), with the 95% bootstrap interval over the rounds that
``procstart bench`` prints beside its targets (``procstart_bench._bootstrap``:
whole rounds resampled, the columns of a round kept together; none below
its 20 rounds, or without procstart-bench installed). A variant moves the
tracker's share only when that interval leaves out 0: one run's medians
alone moved by as much as the share's target between runs of one commit.

A column is ``NAME=KIND[@CHECKOUT][+ENV=VALUE...]``: KIND ``stdlib`` or
``procstart``; ``@CHECKOUT`` runs procstart from another checkout's sources
(a ``git worktree`` of an older commit: its ``core/src`` and
``plugins/*/src`` go first on ``PYTHONPATH``); ``+PROCSTART_DISABLE_PLUGINS=
procstart-tracker`` leaves a distribution out (added to ``--without``).
Every checkout (this one too) is byte-compiled for ``--python`` first.

Before the first round each procstart column is checked and warmed once,
untimed: ``procstart methods --json`` in its environment must report no
broken plugin (a plugin that fails to load leaves the column without it,
and pluggy loaded in every process: the column would measure something
else), and the run that loads every plugin writes the entry-point cache a
later process reads (a new checkout has none: its first processes would
import pluggy and ``importlib.metadata``). Each column's line ends with the
modules its processes imported; a column whose processes did not all import
the same number is named, as its rounds did not all run the same code. (The
cache is not written while a ``sys.path`` folder changed in the last two
seconds: a checkout made just before the run is waited for.)

With ``--layouts`` every process first allocates objects of random sizes
(:data:`PAD`: ``procstart bench``'s padding, seeded by the round, the same
seed in every column of a round; it needs procstart-bench installed), so
that each column's figures are medians over many arrangements of the
library's objects on pages rather than the one its allocation order gives
every process of it (see ``fault_pages.py --layouts``).

    python plugins/tracker/bench/ab_forkpath.py stdlib=stdlib \\
        before=procstart@/tmp/before after=procstart \\
        no-tracker=procstart+PROCSTART_DISABLE_PLUGINS=procstart-tracker

Not a test: figures go to notes and reports, never into assertions.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

#: the environment variable that gives :data:`PAD` its seed (0 or unset: no padding)
LAYOUT_ENV = "AB_FORKPATH_LAYOUT"

#: first of all, with ``--layouts``: ``procstart_bench``'s padding
#: (``procstart_bench._layout``, which imports nothing), so that the
#: library's objects land at other offsets within their pages. Which objects
#: share a page is otherwise the same in every process of a column
#: (allocation order decides it), and a change anywhere moves it: two versions
#: of one check read two or three pages apart by where their objects fell
PAD = f"""
_seed = int(__import__("os").environ.get({LAYOUT_ENV!r}, "0"))
if _seed:
    from procstart_bench._layout import pad
    _pad = pad(_seed)
"""

#: the environment variable naming modules a column imports after its
#: padding and before its library (comma-separated): a column that leaves the
#: tracker out but imports its modules, ``none+imported=procstart+PROCSTART_
#: DISABLE_PLUGINS=procstart-tracker+AB_FORKPATH_IMPORT=procstart_tracker._plugin``,
#: takes the modules' presence in memory apart from their work
IMPORT_ENV = "AB_FORKPATH_IMPORT"

#: how every measured process begins (``fault_pages.py``'s too): the column's
#: library, one launch to warm up (the tracker starts there) and a settle
WARM_START = rf"""
import os, sys, time
for _name in filter(None, os.environ.get({IMPORT_ENV!r}, "").split(",")):
    __import__(_name)
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
"""

WORKER = (
    PAD
    + WARM_START
    + r"""
import resource
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
      (s1.ru_minflt - s0.ru_minflt) / n, (c1.ru_minflt - c0.ru_minflt) / n, len(sys.modules))
"""
)


def column_env(spec: str, without: str) -> tuple[str, dict[str, str], str]:
    """The library to import, the environment and the checkout ("" for none) of one column."""
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
        paths = source_dirs(checkout)
        env["PYTHONPATH"] = os.pathsep.join([*paths, env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return kind, env, checkout


#: this checkout (the one an editable install of procstart imports from)
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))


def source_dirs(checkout: str) -> list[str]:
    """The import roots of procstart's core and plugins in ``checkout``."""
    paths = [os.path.join(checkout, "core", "src")]
    return paths + sorted(glob.glob(os.path.join(checkout, "plugins", "*", "src")))


def compile_sources(python: str, checkouts: list[str]) -> None:
    """Byte-compile every checkout measured (this one included) for ``python``.

    Where bytecode is not written (``PYTHONDONTWRITEBYTECODE``, as in some
    shells), a ``.pyc`` older than its source, or none (a new worktree), is
    compiled again by every process that imports it, and what compiling
    leaves in that process's heap makes its every ``fork()`` and child exit
    slower: a column would measure the compiler, not the code.
    """
    folders = [path for checkout in {REPO, *checkouts} for path in source_dirs(checkout)]
    subprocess.run([python, "-m", "compileall", "-q", *folders], check=True)


#: the entry-point cache is not written for folders changed more recently
#: than ``procstart._epcache.RACY_SECONDS`` (2 s): that and a margin
SETTLE_SECONDS = 3.0


def wait_settled(checkouts: list[str]) -> None:
    """Sleep until no import root of ``checkouts`` changed in the last :data:`SETTLE_SECONDS`."""
    roots = [path for checkout in checkouts for path in source_dirs(checkout)]
    newest = max((os.stat(path).st_mtime for path in roots), default=0.0)
    time.sleep(max(0.0, newest + SETTLE_SECONDS - time.time()))


def check_column(python: str, name: str, kind: str, env: dict[str, str], folder: str) -> None:
    """Stop if a procstart column has a broken plugin; its full load writes the cache."""
    if kind != "procstart":
        return
    out = subprocess.run(
        [python, "-m", "procstart", "methods", "--json"],
        env=env,
        cwd=folder,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    broken = json.loads(out)["broken"]
    if broken:
        errors = "; ".join(f"{b['distribution']}: {b['error']}" for b in broken)
        raise SystemExit(f"ab_forkpath: column {name!r} has a broken plugin: {errors}")


def main() -> None:
    """Run the columns interleaved and print one line per column."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("columns", nargs="+", metavar="NAME=KIND[@CHECKOUT][+ENV=VALUE]")
    parser.add_argument("--python", default=sys.executable)
    parser.add_argument("--rounds", type=int, default=12)
    parser.add_argument("--children", type=int, default=300)
    parser.add_argument("--form", choices=("script", "c"), default="script")
    parser.add_argument(
        "--layouts",
        action="store_true",
        help="each round's processes allocate objects of random sizes first (PAD, the "
        "round's seed, the same in every column): the differences average over where "
        "the library's objects fall instead of reading one arrangement per column",
    )
    parser.add_argument(
        "--without",
        default="procstart-launchlog,procstart-limits",
        help="distributions left out of every procstart column (the examples, as make bench)",
    )
    args = parser.parse_args()
    if os.sep in args.python:  # the columns run in a temporary folder
        args.python = os.path.abspath(args.python)
    columns = {}
    checkouts = []
    for column in args.columns:
        name, _, spec = column.partition("=")
        kind, env, checkout = column_env(spec, args.without)
        columns[name] = (kind, env)
        checkouts += [checkout] if checkout else []
    compile_sources(args.python, checkouts)
    results: dict[str, list[list[float]]] = {name: [] for name in columns}
    names = list(columns)
    with tempfile.TemporaryDirectory() as tmp:
        worker = os.path.join(tmp, "ab_worker.py")
        with open(worker, "w") as fh:
            fh.write(WORKER)
        form = [worker] if args.form == "script" else ["-c", WORKER]

        def measure(name: str, children: int, layout: int = 0) -> list[float]:
            kind, env = columns[name]
            out = subprocess.run(
                [args.python, *form, kind, str(children)],
                env={**env, LAYOUT_ENV: str(layout)},
                cwd=tmp,
                capture_output=True,
                text=True,
                check=True,
            ).stdout
            return [float(x) for x in out.split()]

        wait_settled(checkouts)
        for name in names:  # untimed: see the module's docstring
            check_column(args.python, name, *columns[name], tmp)
            measure(name, 1)
        for round_ in range(args.rounds):
            for name in names if round_ % 2 == 0 else reversed(names):
                layout = round_ + 1 if args.layouts else 0
                results[name].append(measure(name, args.children, layout))
    base = None
    for name, rows in results.items():
        med = [statistics.median(col) for col in zip(*rows, strict=True)]
        wall, parent, child = med[0] * 1e3, med[1] * 1e3, med[2] * 1e3
        base = base or wall
        modules = sorted({int(row[5]) for row in rows})
        print(
            f"{name:12s} {args.form:6s} wall {wall:.3f} ms ({wall / base:.3f}x)  "
            f"cpu parent {parent:.3f} child {child:.3f} ms  "
            f"faults parent {med[3]:.1f} child {med[4]:.1f}  modules {modules[-1]}"
        )
        if len(modules) > 1:
            print(
                f"  {name}: its processes imported from {modules[0]} to {modules[-1]} "
                "modules: its rounds did not all run the same code"
            )
    first = names[0]
    for name in names[1:]:
        parts = [
            f"{label} {differ(results[name], results[first], index)}"
            for index, label in enumerate(("wall", "cpu parent", "cpu child"))
        ]
        print(f"{name} - {first}: " + "  ".join(parts))


def differ(subject: list[list[float]], baseline: list[list[float]], index: int) -> str:
    """``median(subject) - median(baseline)`` of figure ``index``, in ms, with its interval.

    One value per process (the mean over its children), so a round is one
    value per column.
    """
    mine = [row[index] * 1e3 for row in subject]
    theirs = [row[index] * 1e3 for row in baseline]
    text = f"{statistics.median(mine) - statistics.median(theirs):+.3f}"
    try:
        from procstart_bench import _bootstrap
    except ImportError:  # procstart-bench not installed: the medians only
        return text
    found = _bootstrap.interval(mine, theirs, 1, _bootstrap.difference)
    return text if found is None else f"{text} [{found[0]:+.3f}, {found[1]:+.3f}]"


if __name__ == "__main__":
    main()
