"""Every figure: its rows, its columns, and what one measured process does.

Start-up figures have one row per method *and form* (``script``: the
measured process runs a script file; ``-c``: it has no main file). A
warm figure's process takes a warm-up sample (servers and trackers start)
and then a few samples; a cold figure's process takes exactly one.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

from ._contenders import Contender, installed
from ._model import (
    IMPORT_COUNT,
    IMPORT_TIME,
    PEAK_RSS,
    PER_CHILD,
    SECONDS,
    USS,
    Figure,
    Metric,
)
from ._runner import FORMS, TIMEOUT, Plan, Sample, TurnResult

FIRST_USE = Metric("first_use", "s", 1e3, "ms")
WALL = Metric("wall", "s", 1e3, "ms")
PROGRAM_RSS = Metric("peak_rss", "bytes", 1 / 2**20, "MiB")
FUNCTION = Metric("function", "s", 1e3, "ms")
LAMBDA = Metric("lambda", "s", 1e3, "ms")
COLD = Metric("create_map_shutdown", "s", 1e3, "ms")
WARM = Metric("warm_map", "s", 1e3, "ms")
#: samples per warm process (after one warm-up sample)
SAMPLES, QUICK_SAMPLES = 5, 3
#: for warm start+join, whose differences are tenths of a millisecond: the
#: median of 5 samples per process moved by 10-20% from run to run
START_SAMPLES, QUICK_START_SAMPLES = 20, 5
#: warm start+join only: starts taken and dropped after the settle. The
#: settle lets the CPUs idle, and the first starts after it ran slower in
#: every column, the stdlib's too, falling for about ten starts (the median
#: of each sample position over a run's processes): the samples were half
#: in that slope and half after it, and their median moved with the mix
REWARM = 10
#: rounds of the one-child program per round of the run (one sample each,
#: about 0.1 s a process). With 5, a bootstrap over the 30 rounds of the
#: stored runs put the wall ratio's 95% interval about 0.08x either side of
#: its median (0.06x to 0.11x), against a target of 1.3x; 30 take about a
#: minute a run (a quick run takes 2)
PROGRAM_ROUNDS, QUICK_PROGRAM_ROUNDS = 30, 2
#: rounds of the tracker's share and the untimed fork join per round of the
#: run: their targets are a few hundredths of a millisecond on ~1.5 ms, and
#: with 6 rounds of 20 samples three runs of one commit read the fork share
#: anywhere from -0.15 to +0.52 ms; with 18 rounds, from -0.12 to +0.23 ms
#: (the machine's speed drifts by a fifth over minutes: more rounds average it);
#: with 30 rounds a bootstrap over the rounds of the stored runs still put the
#: share's 95% interval about 0.1 ms either side of its median, and with 60
#: still about 0.08 ms
FINE_ROUNDS = 10
#: rounds of the tracker's share of fork, the row its target reads, per round
#: of the run: three times :data:`FINE_ROUNDS` (an interval about 0.05 ms
#: either side if it narrows as the square root); about a second a process
SHARE_ROUNDS = 30
COUNTS, QUICK_COUNTS = (1, 8, 64), (1, 8)
SIZES = ((1 << 10, "1 KB"), (10 << 20, "10 MB"), (100 << 20, "100 MB"))
QUICK_SIZES = ((1 << 10, "1 KB"), (10 << 20, "10 MB"))
ITEMS, QUICK_ITEMS = 10_000, 1_000
LIMITS = (("fork", "os.fork() + waitpid"), ("-S", "python -S -c pass"), ("-I", "python -I -c pass"))
#: the row's "method" of the limits figure
LIMIT = "limit"
BEGIN = "@@procstart-bench-child-begin@@"
END = "@@procstart-bench-child-end@@"


def samples_per_process(figure_id: str, quick: bool) -> int:
    """What each process of ``figure_id`` took, for a run stored without it (0: unknown).

    Runs stored since figures record ``per_process`` in the JSON do not need it.

    >>> samples_per_process("tracker", quick=False), samples_per_process("program", quick=True)
    (20, 1)
    """
    if figure_id in ("start_warm", "start_untimed", "tracker"):
        return QUICK_START_SAMPLES if quick else START_SAMPLES
    return 1 if figure_id in ("start_cold", "program") else 0


def _warm(
    plan: Plan,
    figure: Figure,
    name: str,
    columns: Callable[[str], list[Contender]],
    params: Callable[[str], list[tuple[str, dict[str, str]]]] | None = None,
    forms: tuple[str, ...] = FORMS,
    many: bool = False,
    methods: tuple[str, ...] | None = None,
    fine: int = 1,
    turns: bool = False,
) -> Figure:
    """Rows ``method[, param], form``: warm processes of ``name`` per column.

    ``many``: :data:`START_SAMPLES` per process instead of :data:`SAMPLES`,
    after up to :data:`REWARM` starts dropped, and each round's processes in
    that round's memory layout (:data:`LAYOUTS_NOTE`); ``methods``: only
    these of the plan's methods; ``fine``: that many times the run's rounds
    (not in a quick run); ``turns``: each round's processes run at once and
    take their samples in turns (:data:`TURNS_NOTE`).
    """
    rounds = plan.rounds * fine if fine > 1 and not plan.quick else None
    if many:
        samples = QUICK_START_SAMPLES if plan.quick else START_SAMPLES
    else:
        samples = QUICK_SAMPLES if plan.quick else SAMPLES
    figure.per_process = samples
    for method in plan.methods:
        if methods is not None and method not in methods:
            continue
        for label, extra in params(method) if params else [("", {})]:
            if many and not plan.quick:
                extra = {**extra, "rewarm": str(REWARM)}
            for form in forms:
                row = figure.row(method, ", ".join(filter(None, (label, form))))

                def take(
                    contender: Contender, form: str = form, extra: dict[str, str] = extra
                ) -> tuple[list[Sample], dict[str, Any]]:
                    if many:  # every column of a round in the round's layout
                        extra = {**extra, "layout": str(plan.round)}
                    report, _ = plan.worker(name, contender, form, samples, 1, extra)
                    return report.pop("samples"), report

                def take_turns(
                    order: list[Contender], form: str = form, extra: dict[str, str] = extra
                ) -> dict[Contender, TurnResult]:
                    extra = {**extra, "layout": str(plan.round)}
                    got = plan.workers_in_turns(name, order, form, samples, 1, extra)
                    return {
                        contender: (report.pop("samples"), report)
                        if isinstance(report, dict)
                        else report
                        for contender, report in got.items()
                    }

                if turns:
                    plan.alternate_in_turns(figure, row, columns(method), take_turns, rounds)
                else:
                    plan.alternate(figure, row, columns(method), take, rounds=rounds)
    return figure


def limits(plan: Plan) -> Figure:
    """What the machine allows: raw fork + waitpid, bare interpreters."""
    figure = Figure(
        "limits",
        "the machine's limits",
        [SECONDS],
        how="in a process without any multiprocessing library: os.fork() whose child "
        "calls os._exit(0), then waitpid; and posix_spawn of `python -S -c pass` / "
        "`python -I -c pass`, then waitpid.",
        baseline="",
    )
    samples = QUICK_SAMPLES if plan.quick else SAMPLES
    machine = Contender("machine", "none", "none")
    for kind, label in LIMITS:
        row = figure.row(LIMIT, label)

        def take(contender: Contender, kind: str = kind) -> tuple[list[Sample], dict[str, Any]]:
            report, _ = plan.worker("limits", contender, "-c", samples, 1, {"kind": kind})
            return report.pop("samples"), report

        plan.alternate(figure, row, [machine], take)
    return figure


#: what the warm single-child figures record besides the time (not shown in the tables)
FAULTS_NOTE = (
    "Each sample also counts the minor page faults of the measured process and of "
    "its reaped children (parent_faults, child_faults in the JSON; fork's child is "
    "the started one): counts do not drift with the machine's speed."
)
#: how the warm start+join figures (``many``) place each round's processes
LAYOUTS_NOTE = (
    "Each round's processes first allocate a padding seeded by the round number, "
    "the same in every column (procstart_bench._layout): which objects share a "
    "page, and so the copy-on-write faults a fork parent takes per launch, is "
    "otherwise one arrangement per library version, fixed by its allocation order "
    "(over 30 seeds one version's faults per fork launch spanned about ten pages); "
    "the medians are over as many arrangements as rounds."
)
#: how the tracker's share is taken: its columns' processes at once, in turns
TURNS_NOTE = (
    "The columns of a round run at once and take their samples in turns: one "
    "start+join of the first column's process, then one of the second's, and so on "
    "(the other waits on a pipe; each process hands the turn on; who goes first "
    "alternates by round). The machine's speed moves within a fraction of a second: "
    "taken one after another, a round's processes met it a second apart, and the "
    "difference's interval was wider than its target; in turns both columns' "
    "samples meet the same moments. Each sample follows the other column's, so the "
    "times are above those of the start+join figure, whose samples follow their own."
)


def start(plan: Plan) -> Figure:
    """start + join of a trivial child, warm."""
    figure = Figure(
        "start_warm",
        "start+join, warm",
        [SECONDS],
        how="Process(target=int).start(); join(timeout), in a fresh process per column "
        "and round that imports only its library, after one warm-up start (so a fork "
        "server or tracker is already up), a settle and up to "
        f"{REWARM} more starts dropped (the first starts after the settle are slower "
        f"in every column); {START_SAMPLES} samples per process. {FAULTS_NOTE} {LAYOUTS_NOTE}",
    )
    return _warm(plan, figure, "start", plan.lineup.columns, many=True)


def untimed(plan: Plan) -> Figure:
    """start + join of a trivial fork child, warm, joined without a timeout."""
    figure = Figure(
        "start_untimed",
        "start+join() without a timeout, warm (fork)",
        [SECONDS],
        how="as start+join, warm, but join() without a timeout: the stdlib then waits "
        "with waitpid, as procstart always does; with a timeout the stdlib first waits "
        f"on a selector where procstart polls the one fd. {FINE_ROUNDS} times the "
        f"run's rounds: the target is a ratio of 1.0. {FAULTS_NOTE} {LAYOUTS_NOTE}",
    )
    return _warm(
        plan,
        figure,
        "untimed",
        plan.lineup.columns,
        many=True,
        methods=("fork",),
        fine=FINE_ROUNDS,
    )


def tracker(plan: Plan) -> Figure:
    """procstart's start + join with and without the tracker plugin registered."""
    lineup = plan.lineup
    figure = Figure(
        "tracker",
        "the tracker's share per child",
        [SECONDS],
        how=f"warm start+join of procstart with every plugin and with {lineup.tracker} "
        "left out (PROCSTART_DISABLE_PLUGINS in the second process: the same autoload "
        "path minus the tracker); the ratio is with / without. "
        f"{SHARE_ROUNDS} times the run's rounds for fork (the target is +0.05 ms), "
        f"{FINE_ROUNDS} for the other methods. {TURNS_NOTE} {FAULTS_NOTE} {LAYOUTS_NOTE}",
        baseline="no tracker",
    )

    def columns(method: str) -> list[Contender]:
        without = lineup.without_tracker(method)
        with_all = lineup.procstart(method)
        return [with_all] if without is None else [with_all, without]

    for method in plan.methods:  # rows in the plan's order, each with its rounds
        fine = SHARE_ROUNDS if method == "fork" else FINE_ROUNDS
        _warm(plan, figure, "tracker", columns, many=True, methods=(method,), fine=fine, turns=True)
    return figure


def cold(plan: Plan) -> Figure:
    """The first start + join in a fresh process."""
    figure = Figure(
        "start_cold",
        "start+join, cold",
        [SECONDS, FIRST_USE],
        how="one sample per fresh process: time = the first start + join (fork server "
        "and tracker launch included); first_use = that plus importing the library and "
        "getting its context (procstart: loading its plugins). The process has imported "
        "none of dataclasses, inspect, typing, json, re, enum, importlib.metadata "
        "before (checked). Interpreter start-up is in neither.",
        per_process=1,
    )
    for method in plan.methods:
        for form in FORMS:
            row = figure.row(method, form)

            def take(contender: Contender, form: str = form) -> tuple[list[Sample], dict[str, Any]]:
                report, _ = plan.worker("cold", contender, form, 1, 0, {})
                return report.pop("samples"), report

            plan.alternate(figure, row, plan.lineup.columns(method), take)
    return figure


PROGRAM_BODY = (
    'if __name__ == "__main__":\n'
    '    p = mp.get_context("fork").Process(target=int)\n'
    "    p.start()\n"
    "    p.join()\n"
)
#: appended to both libraries' programs: the peak RSS of this process's own memory
#: (VmHWM; wait4's ru_maxrss would include the launcher's memory from before the exec)
PROGRAM_PEAK = (
    "    with open('/proc/self/status') as status:\n"
    "        print([line for line in status if line.startswith('VmHWM:')][0].split()[1])\n"
)


def program_code(contender: Contender) -> str:
    """The whole one-child program of ``contender``'s library."""
    if contender.library == "stdlib":
        return "import multiprocessing as mp\n" + PROGRAM_BODY + PROGRAM_PEAK
    return "import procstart as mp\n" + PROGRAM_BODY + PROGRAM_PEAK


def run_program(plan: Plan, contender: Contender, form: str) -> Sample:
    """Wall time and peak RSS of one run of the one-child program."""
    code = program_code(contender)
    if form == "script":
        path = plan.workdir / f"program_{contender.library}.py"
        if not path.exists():  # written once: a user's script folder does not change per run
            path.write_text(code, encoding="utf-8")
        argv = [sys.executable, str(path)]
    else:
        argv = [sys.executable, "-c", code]
    env = plan.env(contender)
    started = time.perf_counter()
    proc = subprocess.Popen(
        argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=plan.workdir
    )
    out, err = proc.communicate(timeout=TIMEOUT)
    wall = time.perf_counter() - started
    if proc.returncode != 0:
        tail = (err.decode(errors="replace").strip().splitlines() or ["no output"])[-1]
        raise RuntimeError(f"the program exited with {proc.returncode}: {tail}")
    return {"wall": wall, "peak_rss": float(out.split()[-1]) * 1024}


def program(plan: Plan) -> Figure:
    """A whole program that starts one fork child: import to exit."""
    figure = Figure(
        "program",
        "one-child program, import to exit",
        [WALL, PROGRAM_RSS],
        how="a fresh interpreter runs `import <library> as mp`, starts and joins one "
        "fork child of Process(target=int), prints its own peak RSS (VmHWM) and exits: "
        "wall time from Popen to exit, and that peak.",
        per_process=1,
    )
    if "fork" not in plan.methods:
        return figure
    for form in FORMS:
        row = figure.row("fork", form)

        def take(contender: Contender, form: str = form) -> tuple[list[Sample], dict[str, Any]]:
            return [run_program(plan, contender, form)], {"main": form}

        columns = plan.lineup.columns("fork", peers=False)
        # one sample per process: many rounds (a 40 ms program moves by a few ms)
        per_round = QUICK_PROGRAM_ROUNDS if plan.quick else PROGRAM_ROUNDS
        plan.alternate(figure, row, columns, take, rounds=plan.rounds * per_round)
    return figure


def many(plan: Plan) -> Figure:
    """N children at once."""
    figure = Figure(
        "many",
        "N children at once",
        [PER_CHILD],
        how="start N trivial children back to back, then join them all; total time / N "
        "(warm: servers already up).",
    )
    counts = QUICK_COUNTS if plan.quick else COUNTS
    return _warm(
        plan,
        figure,
        "many",
        lambda method: plan.lineup.columns(method, peers=False),
        lambda method: [(f"N={n}", {"n": str(n)}) for n in counts],
    )


def lambda_target(plan: Plan) -> Figure:
    """A lambda (sent by value) against a plain function, procstart only."""
    figure = Figure(
        "lambda",
        "a lambda target vs a plain function",
        [FUNCTION, LAMBDA],
        how="procstart only (the stdlib cannot send a lambda to spawn or forkserver "
        "children): each sample starts and joins a child of Process(target=int) and one "
        "of Process(target=lambda: None), in alternating order, warm.",
        baseline="",
    )
    methods = [m for m in plan.methods if m != "fork"]
    sub = Plan(methods, plan.rounds, plan.quick, plan.lineup, plan.workdir, plan.progress)
    sub.figure_index = plan.figure_index
    return _warm(sub, figure, "lambda", lambda method: [plan.lineup.procstart(method)])


def args(plan: Plan) -> Figure:
    """A child receiving one argument (script form only: not a start-up figure)."""
    figure = Figure(
        "args",
        "child receiving an argument",
        [SECONDS, PEAK_RSS],
        how="Process(target=len, args=(payload,)).start(); join(); peak = the parent's "
        "high-water mark during the launch minus its RSS before it (VmHWM reset per "
        "sample); script form.",
    )
    kinds = ["bytes"] + (["numpy"] if installed("numpy") and not plan.quick else [])
    sizes = QUICK_SIZES if plan.quick else SIZES
    rows = [
        (f"{kind} {label}", {"kind": kind, "size": str(size)})
        for kind in kinds
        for size, label in sizes
    ]
    return _warm(
        plan,
        figure,
        "args",
        lambda method: plan.lineup.columns(method, peers=False),
        lambda method: rows,
        forms=("script",),
    )


def pool(plan: Plan) -> Figure:
    """Pool / Executor map (script form only)."""
    items = QUICK_ITEMS if plan.quick else ITEMS
    figure = Figure(
        "pool",
        "Pool / Executor map",
        [COLD, WARM],
        how=f"2 workers, abs() over range({items}): create + map + shutdown, and a map "
        "on the warm pool (median of up to 5 within 50 ms); script form.",
    )
    kinds = [(kind, {"kind": kind, "items": str(items)}) for kind in ("Pool.map", "Executor.map")]
    return _warm(plan, figure, "pool", plan.lineup.columns, lambda method: kinds, forms=("script",))


def uss(plan: Plan) -> Figure:
    """A child's own memory (USS) when the parent has numpy loaded."""
    module = "numpy" if installed("numpy") else ""
    figure = Figure(
        "uss",
        "child USS",
        [USS],
        how=(
            "a fresh parent imports numpy and preloads it in the fork server; after one "
            "trivial child, a child that imports numpy too (checked: it has it loaded; "
            "whether it had it before, i.e. preloaded, is in the JSON's checks) and "
            "waits; its USS read with psutil"
            if module
            else "numpy is not installed: a plain child's USS, read with psutil"
        ),
    )
    if not installed("psutil"):
        figure.how = "psutil is not installed: not measured"
        return figure
    param = "numpy preloaded" if module else "plain"
    for method in plan.methods:
        for form in FORMS:
            row = figure.row(method, f"{param}, {form}")

            def take(contender: Contender, form: str = form) -> tuple[list[Sample], dict[str, Any]]:
                report, _ = plan.worker("uss", contender, form, 1, 0, {"module": module})
                return report.pop("samples"), report

            columns = plan.lineup.columns(method, peers=False)
            plan.alternate(figure, row, columns, take, rounds=1 if plan.quick else plan.rounds)
    return figure


def parse_importtime(stderr: str) -> Sample:
    """Sum the ``self [us]`` column of the import lines between the markers.

    >>> parse_importtime(f"{BEGIN}\\nimport time:  120 |  300 | json\\n{END}\\n")
    {'import_time': 0.00012, 'modules': 1.0}
    """
    total_us = 0
    count = 0
    inside = False
    for line in stderr.splitlines():
        if line.startswith(BEGIN):
            inside = True
        elif line.startswith(END):
            break
        elif inside and line.startswith("import time:"):
            fields = line[len("import time:") :].split("|")
            try:
                total_us += int(fields[0])
            except (ValueError, IndexError):
                continue  # the header line
            count += 1
    return {"import_time": total_us / 1e6, "modules": float(count)}


def imports(plan: Plan) -> Figure:
    """The child bootstrap's imports (``-X importtime``)."""
    figure = Figure(
        "imports",
        "child bootstrap imports",
        [IMPORT_TIME, IMPORT_COUNT],
        how="PYTHONPROFILEIMPORTTIME=1 in a fresh parent (its children and fork server "
        "inherit it): after one child and a 0.5 s settle, the summed self time of the "
        "modules imported while the second child starts and exits.",
    )
    for method in plan.methods:
        for form in FORMS:
            row = figure.row(method, form)

            def take(contender: Contender, form: str = form) -> tuple[list[Sample], dict[str, Any]]:
                report, stderr = plan.worker(
                    "imports", contender, form, 1, 0, {}, env={"PYTHONPROFILEIMPORTTIME": "1"}
                )
                if END not in stderr:
                    raise RuntimeError("the measured process's stderr has no end marker")
                report.pop("samples")
                return [parse_importtime(stderr)], report

            columns = plan.lineup.columns(method, peers=False)
            plan.alternate(figure, row, columns, take, rounds=1 if plan.quick else plan.rounds)
    return figure


#: figure name (``--figures``) -> its function
FIGURES: dict[str, Callable[[Plan], Figure]] = {
    "limits": limits,
    "start": start,
    "untimed": untimed,
    "tracker": tracker,
    "cold": cold,
    "program": program,
    "many": many,
    "lambda": lambda_target,
    "args": args,
    "pool": pool,
    "uss": uss,
    "imports": imports,
}
