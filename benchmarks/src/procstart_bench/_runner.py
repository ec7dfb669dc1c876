"""The coordinator: starts the measured processes, alternating A B B A, and collects.

The coordinator itself measures nothing: each round starts one fresh
process per contender (:mod:`procstart_bench._worker`, or the one-child
program of :mod:`procstart_bench._figures`), in the order A B C, then C B
A, then A B C..., so that a noisy neighbour hits every column alike and no
column always goes first. Every process's report (its ``__main__`` and the
non-stdlib modules it had) is kept in the row's ``checks``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

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
        for line in reversed(done.stdout.splitlines()):
            if line.startswith("{"):
                report: dict[str, Any] = json.loads(line)
                if "error" in report:
                    raise RuntimeError(report["error"])
                return report, done.stderr
        tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise RuntimeError(f"measured process exited with {done.returncode}: {tail}")

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
