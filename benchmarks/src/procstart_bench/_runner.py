"""The coordinator: starts the measured processes, alternating A B B A, and collects.

The coordinator itself measures nothing: each round starts one fresh
process per contender (:mod:`procstart_bench._worker`, or the one-child
program of :mod:`procstart_bench._figures`), in the order A B C, then C B
A, then A B C..., so that a noisy neighbour hits every column alike and no
column always goes first. Every process's report (its ``__main__`` and the
non-stdlib modules it had) is kept in the row's ``checks``.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from . import _environment
from ._contenders import Contender, Lineup, procstart_methods
from ._model import Figure, Results, Row

#: the figures, in the order they run and are shown (``--figures``)
FIGURES = (
    "limits",
    "start",
    "untimed",
    "tracker",
    "cold",
    "program",
    "many",
    "lambda",
    "args",
    "pool",
    "uss",
    "imports",
)
#: the two ways a measured process is started
FORMS = ("script", "-c")
DEFAULT_ROUNDS = 6
QUICK_ROUNDS = 2
#: a measured process that takes longer than this is a hang
TIMEOUT = 600.0
#: the ``-c`` form's code
C_CODE = "from procstart_bench._worker import main; main()"

Sample = dict[str, float]
#: what one contender's process of a round in turns gave: its samples and report,
#: the error that ended it, or None (another contender failed: the round is dropped)
TurnResult = tuple[list[Sample], dict[str, Any]] | Exception | None


@dataclass
class Options:
    """What to run: ``quick`` shrinks every figure's parameters and rounds."""

    quick: bool = False
    methods: Sequence[str] | None = None
    rounds: int | None = None
    figures: Sequence[str] | None = None
    peers: bool = True
    #: plugin distributions left out of every procstart process
    without: Sequence[str] = ()
    #: the distribution whose share the ``tracker`` figure shows
    tracker: str = "procstart-tracker"
    #: free text stored with the results (e.g. "taken on a loaded machine")
    note: str = ""
    #: called with one line of progress text (the CLI draws it on stderr)
    progress: Callable[[str], None] | None = None

    def as_dict(self) -> dict[str, Any]:
        """For the JSON output."""
        return {
            "quick": self.quick,
            "methods": list(self.methods) if self.methods else None,
            "rounds": self.rounds,
            "figures": list(self.figures) if self.figures else None,
            "peers": self.peers,
            "without": list(self.without),
            "tracker": self.tracker,
        }


def describe_error(exc: BaseException) -> str:
    """``Type: message`` on one line."""
    text = str(exc).strip().replace("\n", " ")
    return f"{type(exc).__name__}: {text[:300]}" if text else type(exc).__name__


@dataclass
class Plan:
    """What a figure needs to know and the one way it takes samples."""

    methods: list[str]
    rounds: int
    quick: bool
    lineup: Lineup
    workdir: Path
    progress: Callable[[str], None] = field(default=lambda text: None)
    figure_index: str = ""
    #: the round :meth:`alternate` is taking (from 1): a figure whose columns
    #: share a per-round parameter (the memory layout's seed) reads it here
    round: int = 0

    # -- starting measured processes -------------------------------------
    def script(self) -> Path:
        """The script-form ``__main__``: a copy of ``_script.py`` in the work folder."""
        path = self.workdir / "bench_main.py"
        if not path.exists():
            shutil.copyfile(Path(__file__).with_name("_script.py"), path)
        return path

    def argv(self, form: str) -> list[str]:
        """The interpreter and ``__main__`` of ``form``."""
        if form == "script":
            return [sys.executable, str(self.script())]
        return [sys.executable, "-c", C_CODE]

    def env(self, contender: Contender, extra: dict[str, str] | None = None) -> dict[str, str]:
        """The measured process's environment: no ``PROCSTART_*`` setting leaks in."""
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith("PROCSTART_") and key != "PYTHONPROFILEIMPORTTIME"
        }
        if contender.library == "procstart" and contender.disabled:
            env["PROCSTART_DISABLE_PLUGINS"] = ",".join(contender.disabled)
        env.update(extra or {})
        return env

    def worker(
        self,
        figure: str,
        contender: Contender,
        form: str,
        samples: int,
        warmup: int,
        params: dict[str, str],
        env: dict[str, str] | None = None,
    ) -> tuple[dict[str, Any], str]:
        """Run one measured process; its report and its stderr."""
        items = [f"{k}={v}" for k, v in (*params.items(), *contender.params)]
        done = subprocess.run(
            [
                *self.argv(form),
                figure,
                contender.library,
                contender.method,
                str(samples),
                str(warmup),
                *items,
            ],
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
            env=self.env(contender, env),
            cwd=self.workdir,
            check=False,
        )
        return _report(done.stdout, done.stderr, done.returncode), done.stderr

    def workers_in_turns(
        self,
        figure: str,
        contenders: Sequence[Contender],
        form: str,
        samples: int,
        warmup: int,
        params: dict[str, str],
    ) -> dict[Contender, dict[str, Any] | Exception | None]:
        """Run one process per contender at once; they take their samples in turns.

        Each process warms up on its own (all at once) and says it is ready.
        Then the first contender's process takes one sample and hands the
        turn to the second's, which hands it on, and so round, until each
        has taken ``samples`` (``_worker.Turns``: the others wait on a pipe).
        The machine's speed moves within a fraction of a second, and columns
        run one after another meet it a second apart: in turns, every
        column's samples meet the same moments. Each contender gets its
        report, or the error that ended its process; when one fails, the
        others' samples of this round are dropped (None).
        """
        go_pipes = [os.pipe() for _ in contenders]
        takers: list[_TurnTaker] = []
        with contextlib.ExitStack() as cleanup:
            for go_read, go_write in go_pipes:
                cleanup.callback(_close_quietly, go_read)
                cleanup.callback(_close_quietly, go_write)
            for index, contender in enumerate(contenders):
                files = [cleanup.enter_context(tempfile.TemporaryFile()) for _ in "12"]
                ring = (go_pipes[index][0], go_pipes[(index + 1) % len(go_pipes)][1])
                taker = _TurnTaker.start(
                    self, figure, contender, form, samples, warmup, params, ring, *files
                )
                cleanup.callback(taker.close)
                takers.append(taker)
            for go_read, _ in go_pipes:  # each process has its own
                _close_quietly(go_read)
            deadline = time.monotonic() + TIMEOUT
            for taker in takers:
                taker.expect(b"r", deadline)
            if all(taker.failed is None for taker in takers):
                os.write(go_pipes[0][1], b"g")
                _until_finished(takers, deadline)
            for _, go_write in go_pipes:
                _end_round(go_write)
            cut_short = any(taker.failed is not None for taker in takers)
            return {
                contender: None if cut_short and taker.failed is None else taker.report(deadline)
                for contender, taker in zip(contenders, takers, strict=True)
            }

    # -- rounds ----------------------------------------------------------
    def alternate(
        self,
        figure: Figure,
        row: Row,
        contenders: Sequence[Contender],
        take: Callable[[Contender], tuple[list[Sample], dict[str, Any]]],
        rounds: int | None = None,
    ) -> None:
        """``rounds`` rounds, one process per contender each, A B C then C B A ...

        A contender whose process fails is dropped from the row with the
        error recorded (``-`` in the table, the message in the JSON).
        """
        live = list(contenders)
        rounds = self.rounds if rounds is None else rounds
        for index in range(rounds):
            self.round = index + 1
            order = list(live) if index % 2 == 0 else list(reversed(live))
            for contender in order:
                if contender not in live:
                    continue
                self.progress(
                    f"{self.figure_index} {figure.title}: {row.label} "
                    f"[{contender.column}] {index + 1}/{rounds}"
                )
                try:
                    samples, check = take(contender)
                except Exception as exc:
                    row.errors[contender.column] = describe_error(exc)
                    live.remove(contender)
                    continue
                for sample in samples:
                    row.add(contender.column, sample)
                row.checks[contender.column] = check

    def alternate_in_turns(
        self,
        figure: Figure,
        row: Row,
        contenders: Sequence[Contender],
        take: Callable[[list[Contender]], dict[Contender, TurnResult]],
        rounds: int | None = None,
    ) -> None:
        """As :meth:`alternate`, but each round's processes run at once, in turns.

        ``take`` gets the round's contenders in order (A B, then B A, ...:
        who takes the first turn alternates) and returns each one's samples
        and report, or its error, which drops it from the row, or None: its
        samples of the round are dropped (another contender failed).
        """
        live = list(contenders)
        rounds = self.rounds if rounds is None else rounds
        for index in range(rounds):
            self.round = index + 1
            order = list(live) if index % 2 == 0 else list(reversed(live))
            if not order:
                return
            self.progress(
                f"{self.figure_index} {figure.title}: {row.label} [in turns] {index + 1}/{rounds}"
            )
            for contender, got in take(order).items():
                if got is None:  # another contender failed: this round's samples are dropped
                    continue
                if isinstance(got, Exception):
                    row.errors[contender.column] = describe_error(got)
                    live.remove(contender)
                    continue
                samples, check = got
                for sample in samples:
                    row.add(contender.column, sample)
                row.checks[contender.column] = check


def _report(stdout: str, stderr: str, returncode: int | None) -> dict[str, Any]:
    """A measured process's JSON report (its error raised)."""
    for line in reversed(stdout.splitlines()):
        if line.startswith("{"):
            report: dict[str, Any] = json.loads(line)
            if "error" in report:
                raise RuntimeError(report["error"])
            return report
    tail = (stderr.strip().splitlines() or ["no output"])[-1]
    raise RuntimeError(f"measured process exited with {returncode}: {tail}")


def _close_quietly(fd: int) -> None:
    """Close ``fd`` if it is still open."""
    with contextlib.suppress(OSError):
        os.close(fd)


def _end_round(go_write: int) -> None:
    """Tell a process of a round in turns that the round is over (``q`` on its ``go``)."""
    with contextlib.suppress(OSError):  # it may have exited
        os.write(go_write, b"q")
    _close_quietly(go_write)


def _until_finished(takers: list[_TurnTaker], deadline: float) -> None:
    """Wait until every process says it has finished, or one fails (ends, or the deadline)."""
    waiting = list(takers)
    while waiting:
        left = deadline - time.monotonic()
        ready = select.select([t.done for t in waiting], [], [], max(0.0, left))[0]
        if not ready:
            for taker in waiting:
                taker.failed = TimeoutError(
                    f"measured process still taking turns after {TIMEOUT:.0f} s"
                )
            return
        for taker in [t for t in waiting if t.done in ready]:
            taker.expect(b"e", deadline)
            if taker.failed is not None:
                return
            waiting.remove(taker)


@dataclass
class _TurnTaker:
    """One measured process of a round taken in turns, seen from the coordinator."""

    process: subprocess.Popen[bytes]
    #: the coordinator's end of the pipe on which the process says it is ready and finished
    done: int
    stdout: IO[bytes]
    stderr: IO[bytes]
    failed: Exception | None = None

    @classmethod
    def start(
        cls,
        plan: Plan,
        figure: str,
        contender: Contender,
        form: str,
        samples: int,
        warmup: int,
        params: dict[str, str],
        ring: tuple[int, int],
        stdout: IO[bytes],
        stderr: IO[bytes],
    ) -> _TurnTaker:
        """Start the process with its place in the ring (``go``, the next one's ``go``).

        Its output goes to files: no pipe fills while it waits for its turn.
        """
        done_read, done_write = os.pipe()
        items = [f"{k}={v}" for k, v in (*params.items(), *contender.params)]
        items.append(f"turns={ring[0]},{ring[1]},{done_write}")
        try:
            process = subprocess.Popen(
                [
                    *plan.argv(form),
                    figure,
                    contender.library,
                    contender.method,
                    str(samples),
                    str(warmup),
                    *items,
                ],
                stdout=stdout,
                stderr=stderr,
                env=plan.env(contender),
                cwd=plan.workdir,
                pass_fds=(*ring, done_write),
            )
        except BaseException:
            os.close(done_read)
            raise
        finally:
            os.close(done_write)
        return cls(process, done_read, stdout, stderr)

    def expect(self, expected: bytes, deadline: float) -> None:
        """Read the process's next byte on ``done``; any other, its end or the deadline fail it."""
        if self.failed is not None:
            return
        ready, _, _ = select.select([self.done], [], [], max(0.0, deadline - time.monotonic()))
        got = os.read(self.done, 1) if ready else None
        if got != expected:
            what = "timed out" if got is None else "ended" if not got else f"sent {got!r}"
            self.failed = RuntimeError(f"measured process {what} while taking turns")

    def report(self, deadline: float) -> dict[str, Any] | Exception:
        """The process's report, or why there is none (its own error first)."""
        try:
            returncode = self.process.wait(max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired as exc:
            return exc
        self.stdout.seek(0)
        self.stderr.seek(0)
        out, err = (f.read().decode(errors="replace") for f in (self.stdout, self.stderr))
        try:
            return _report(out, err, returncode)
        except RuntimeError as exc:
            return self.failed if self.failed is not None and not out.strip() else exc

    def close(self) -> None:
        """Kill the process if it still runs; close the coordinator's end of ``done``."""
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        _close_quietly(self.done)


#: the measured processes run in a project folder, as a user's program does:
#: a ``pyproject.toml`` that depends on procstart and has no ``[tool.procstart]``
PROJECT_FILE = """\
[project]
name = "bench-app"
version = "0.1"
dependencies = ["procstart", "procstart-fork"]

[tool.ruff]
line-length = 100
"""


def _write_project_file(workdir: Path) -> None:
    """Make ``workdir`` a project folder, its file as old as a project's usually is.

    procstart reads the nearest ``pyproject.toml`` (its ``[tool.procstart]``
    table), and keeps the answer while the file is unchanged, except for a
    file changed in the last two seconds: waiting that long here makes every
    sample see what a program in an unedited project sees.
    """
    (workdir / "pyproject.toml").write_text(PROJECT_FILE)
    (workdir / ".git").mkdir()  # procstart looks no further up than a repository's root
    time.sleep(2.5)


def select_methods(requested: Sequence[str] | None) -> list[str]:
    """Installed methods, restricted to ``requested`` (in its order)."""
    available = procstart_methods()
    if not requested:
        return available
    chosen = []
    for name in requested:
        canonical = name.strip().lower()
        if canonical not in available:
            listed = ", ".join(available) or "none"
            raise ValueError(f"start method {canonical!r} is not installed; installed: {listed}")
        if canonical not in chosen:
            chosen.append(canonical)
    return chosen


def select_figures(requested: Sequence[str] | None) -> list[str]:
    """Figure names, restricted to ``requested``."""
    if not requested:
        return list(FIGURES)
    unknown = [name for name in requested if name not in FIGURES]
    if unknown:
        raise ValueError(
            f"unknown figure(s) {', '.join(unknown)}; choose from {', '.join(FIGURES)}"
        )
    return [name for name in FIGURES if name in requested]


def run(options: Options) -> Results:
    """Measure every selected figure; returns the results (with targets).

    >>> results = run(Options(quick=True, methods=["fork"], figures=["start"]))  # doctest: +SKIP
    >>> [f.id for f in results.figures]  # doctest: +SKIP
    ['start_warm']
    """
    from . import _figures, _targets

    methods = select_methods(options.methods)
    figures = select_figures(options.figures)
    rounds = options.rounds or (QUICK_ROUNDS if options.quick else DEFAULT_ROUNDS)
    if rounds < 1:
        raise ValueError("--rounds must be at least 1")
    lineup = Lineup(without=tuple(options.without), peers=options.peers, tracker=options.tracker)
    started = time.perf_counter()
    environment = _environment.describe(methods, options.peers, options.without)
    results = Results(
        environment=environment,
        options={**options.as_dict(), "rounds": rounds, "methods": methods, "figures": figures},
    )
    with tempfile.TemporaryDirectory(prefix="procstart-bench-") as workdir:
        _write_project_file(Path(workdir))
        plan = Plan(
            methods=methods,
            rounds=rounds,
            quick=options.quick,
            lineup=lineup,
            workdir=Path(workdir),
            progress=options.progress or (lambda text: None),
        )
        for index, name in enumerate(figures, 1):
            plan.figure_index = f"[{index}/{len(figures)}]"
            results.figures.append(_figures.FIGURES[name](plan))
    _environment.finish(environment, options.note)
    results.targets = _targets.evaluate(results)
    results.elapsed = time.perf_counter() - started
    return results
