"""Runs the figures: warm-up, A/B/A/B interleaving, progress, isolated samples.

Each figure module exposes ``ID``, ``TITLE`` and ``measure(plan) -> Figure``;
:class:`Plan` gives them the methods, the contenders of each method, the
repeat count and :meth:`Plan.interleave`, which takes one sample per
contender in turn (procstart, stdlib, peers, procstart, stdlib, ...) after
a warm-up, so that a noisy neighbour hits every column alike.
"""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from . import _contenders, _environment, _plugins
from ._contenders import Contender
from ._model import Figure, Results, Row

#: figure modules, in the order they run and are shown
FIGURES = ("start", "cold", "many", "args", "pool", "uss", "imports")
DEFAULT_REPEAT = 7
QUICK_REPEAT = 2
#: a child that takes longer than this to start and exit is a hang
TIMEOUT = 300.0

Sample = dict[str, float]


@dataclass
class Options:
    """What to run: ``quick`` shrinks every figure's parameters and repeats."""

    quick: bool = False
    methods: Sequence[str] | None = None
    repeat: int | None = None
    warmup: int = 1
    figures: Sequence[str] | None = None
    peers: bool = True
    #: keep plugins that provide none of the methods (launch wrappers...)
    all_plugins: bool = False
    #: distributions left out of every row (to see what one costs)
    without: Sequence[str] = ()
    #: called with one line of progress text (the CLI draws it on stderr)
    progress: Callable[[str], None] | None = None

    def as_dict(self) -> dict[str, Any]:
        """For the JSON output."""
        return {
            "quick": self.quick,
            "methods": list(self.methods) if self.methods else None,
            "repeat": self.repeat,
            "warmup": self.warmup,
            "figures": list(self.figures) if self.figures else None,
            "peers": self.peers,
            "all_plugins": self.all_plugins,
            "without": list(self.without),
        }


def describe_error(exc: BaseException) -> str:
    """``Type: message`` on one line."""
    text = str(exc).strip().replace("\n", " ")
    return f"{type(exc).__name__}: {text[:300]}" if text else type(exc).__name__


@dataclass
class Plan:
    """What a figure needs to know and the one way it takes samples."""

    methods: list[str]
    repeat: int
    warmup: int
    quick: bool
    peers: bool
    progress: Callable[[str], None] = field(default=lambda text: None)
    figure_index: str = ""

    def contenders(self, method: str) -> list[Contender]:
        """procstart and its namesakes for ``method`` (whose plugins it registers)."""
        _plugins.focus(method)
        return _contenders.contenders(method, peers=self.peers)

    def interleave(
        self,
        figure: Figure,
        row: Row,
        contenders: Sequence[Contender],
        sample: Callable[[Contender], Sample],
        *,
        repeat: int | None = None,
        isolated: bool = False,
    ) -> None:
        """Warm up each contender, then take ``repeat`` samples in turn.

        Rounds alternate direction (A B C, C B A, A B C, ...) so that no
        column always follows the same one.

        A contender whose sample raises is dropped from the row with the
        error recorded (shown as ``-`` in the table, kept in the JSON).
        ``isolated`` samples (each in a fresh interpreter) skip the warm-up
        under ``--quick``: there is no server to start, only OS caches.
        """
        repeat = self.repeat if repeat is None else repeat
        warmup = 0 if isolated and self.quick else self.warmup
        live = list(contenders)

        def take(contender: Contender, step: str) -> Sample | None:
            self.progress(
                f"{self.figure_index} {figure.title}: {row.label} [{contender.column}] {step}"
            )
            try:
                return sample(contender)
            except Exception as exc:  # noqa: BLE001 - one failing library must not end the run
                row.errors[contender.column] = describe_error(exc)
                live.remove(contender)
                return None

        for contender in list(live):
            for _ in range(warmup):
                if contender in live:
                    take(contender, "warm-up")
        for index in range(repeat):
            order = list(live) if index % 2 == 0 else list(reversed(live))
            for contender in order:  # A B C, C B A, ...: nobody always goes first
                if contender not in live:
                    continue
                result = take(contender, f"{index + 1}/{repeat}")
                if result is not None:
                    row.add(contender.column, result)


def join_or_kill(proc: Any, timeout: float = TIMEOUT) -> None:
    """Join a started process; a hung or failed one raises."""
    proc.join(timeout)
    if proc.exitcode is None:
        proc.kill()
        proc.join(5)
        raise TimeoutError(f"child {proc.pid} did not exit within {timeout:.0f} s")
    if proc.exitcode != 0:
        raise RuntimeError(f"child exited with code {proc.exitcode}")


#: the script every measuring process runs as ``__main__`` (see ``_script.py``)
SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "_script.py")


def under_script() -> bool:
    """True when this process runs :data:`SCRIPT` as its ``__main__``."""
    main = sys.modules.get("__main__")
    path = getattr(main, "__file__", None)
    return path is not None and os.path.abspath(path) == SCRIPT


def isolated(
    module: str,
    contender: Contender,
    params: dict[str, Any],
    env: dict[str, str] | None = None,
) -> tuple[Sample, str]:
    """One sample taken in a fresh interpreter: its result and its stderr.

    The worker runs ``procstart.bench.<module>.isolated_sample``.
    """
    spec = {
        "module": module,
        "contender": contender.as_list(),
        "params": params,
        "all_plugins": _plugins.keep_all(),
        "without": _plugins.left_out(),
    }
    full_env = dict(os.environ)
    full_env.pop("PYTHONPROFILEIMPORTTIME", None)
    full_env.update(env or {})
    done = subprocess.run(
        [sys.executable, SCRIPT, "worker", json.dumps(spec)],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        env=full_env,
        check=False,
    )
    for line in reversed(done.stdout.splitlines()):
        if line.startswith("{"):
            result = json.loads(line)
            if "error" in result:
                raise RuntimeError(result["error"])
            return {key: float(value) for key, value in result.items()}, done.stderr
    tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
    raise RuntimeError(f"worker exited with {done.returncode}: {tail}")


def select_methods(requested: Sequence[str] | None) -> list[str]:
    """Installed methods, restricted to ``requested`` (in its order)."""
    available = _contenders.procstart_methods()
    if not requested:
        return available
    from .._names import normalize_method_name

    chosen = []
    for name in requested:
        canonical = normalize_method_name(name)
        if canonical not in available:
            listed = ", ".join(available) or "none"
            raise ValueError(f"start method {canonical!r} is not installed; installed: {listed}")
        if canonical not in chosen:
            chosen.append(canonical)
    return chosen


def select_figures(requested: Sequence[str] | None) -> list[str]:
    """Figure module names, restricted to ``requested``."""
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

    >>> results = run(Options(quick=True, methods=["fork"]))  # doctest: +SKIP
    >>> [f.id for f in results.figures][:2]  # doctest: +SKIP
    ['start_warm', 'start_cold']
    """
    from . import _targets

    _plugins.configure(options.all_plugins, list(options.without))
    methods = select_methods(options.methods)
    figures = select_figures(options.figures)
    repeat = options.repeat or (QUICK_REPEAT if options.quick else DEFAULT_REPEAT)
    if repeat < 1:
        raise ValueError("--repeat must be at least 1")
    started = time.perf_counter()
    results = Results(
        environment=_environment.describe(methods, options.peers),
        options={**options.as_dict(), "repeat": repeat, "methods": methods, "figures": figures},
    )
    plan = Plan(
        methods=methods,
        repeat=repeat,
        warmup=max(0, options.warmup),
        quick=options.quick,
        peers=options.peers,
        progress=options.progress or (lambda text: None),
    )
    for index, name in enumerate(figures, 1):
        plan.figure_index = f"[{index}/{len(figures)}]"
        module = importlib.import_module(f"{__package__}.{name}")
        results.figures.append(module.measure(plan))
    results.targets = _targets.evaluate(results)
    results.elapsed = time.perf_counter() - started
    return results
