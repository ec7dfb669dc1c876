"""Results as a terminal table, JSON, and the page ``docs/benchmarks.md``.

The page is generated from stored JSON files only (one per Python): every
figure on it is a value of those files, or a ratio, difference or verdict
this module computes from them. Hand-written notes are placed in it as
they are, and a test checks that they quote no number the page's generated
part does not hold.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from . import _bootstrap
from ._model import (
    BASELINE,
    COLUMNS,
    SUBJECT,
    Check,
    Figure,
    Metric,
    Results,
    Row,
    Target,
    results_from_dict,
)
from ._table import render


def _columns(figure: Figure) -> list[str]:
    present = {column for row in figure.rows for column in (*row.results, *row.errors)}
    return [column for column in COLUMNS if column in present]


def _cell(row: Row, column: str, metric: Metric, spread: bool) -> str:
    stats = row.results.get(column, {}).get(metric.name)
    if stats is None or not stats.samples:
        error = row.errors.get(column)
        if error is None:
            return "-"
        return "n/a" if error.startswith("NotImplementedError") else "failed"
    text = metric.show(stats.median)
    if spread:
        text += f" ({metric.show(stats.min)}-{metric.show(stats.max)})"
    return text


def _ratio(value: float | None, digits: int = 2) -> str:
    return "-" if value is None else f"{value:.{digits}f}x"


def figure_table(
    figure: Figure, metric: Metric, spread: bool = True
) -> tuple[list[str], list[list[str]]]:
    """Headers and rows of one figure and metric: median (min-max) per column."""
    columns = _columns(figure)
    headers = [f"{metric.name} [{metric.display_unit}]", *columns]
    if figure.baseline:
        headers.append(f"{SUBJECT}/{figure.baseline}")
    # a plugin's share is a difference of medians (per child), not only a ratio
    share = figure.baseline not in ("", BASELINE)
    if share:
        headers.append(f"{SUBJECT} - {figure.baseline} [{metric.display_unit}]")
    rows = []
    for row in figure.rows:
        cells = [row.label, *[_cell(row, column, metric, spread) for column in columns]]
        if figure.baseline:
            cells.append(_ratio(row.ratio(metric.name, over=figure.baseline)))
        if share:
            top, bottom = row.median(SUBJECT, metric.name), row.median(figure.baseline, metric.name)
            cells.append("-" if top is None or bottom is None else _signed(metric, top - bottom))
        rows.append(cells)
    return headers, rows


def _signed(metric: Metric, value: float) -> str:
    return ("-" if value < 0 else "+") + metric.show(abs(value))


def show_check(check: Check) -> str:
    """``-c / stdlib 1.12x [1.05, 1.20] (<= 1.00x)``, or a difference in ms / MiB.

    The brackets hold the check's bootstrap interval, where it has one.
    """
    if check.unit == "x":
        value, limit = _ratio(check.value), f"{check.limit:.2f}x"
        spread = "" if check.interval is None else "[{:.2f}, {:.2f}]".format(*check.interval)
    else:
        value = "-" if check.value is None else f"{check.value:+.2f} {check.unit}"
        limit = f"{check.limit:+.2f} {check.unit}"
        spread = "" if check.interval is None else "[{:+.2f}, {:+.2f}]".format(*check.interval)
    return f"{check.label} {value}{' ' + spread if spread else ''} (<= {limit})"


def verdict(target: Target) -> str:
    """``met``, ``not measured`` or ``MISSED by ...``: the check furthest over its limit.

    "Furthest" is relative (value / limit), so a ratio and a difference compare.
    """
    if target.met is None:
        return "not measured"
    if target.met:
        return "met"
    worst = max(
        (c for c in target.checks if c.met is False),
        key=lambda c: (c.value or 0.0) / c.limit if c.limit > 0 else float("inf"),
    )
    assert worst.value is not None
    unit = "x" if worst.unit == "x" else f" {worst.unit}"
    return f"MISSED by {worst.value - worst.limit:.2f}{unit} ({worst.label})"


def targets_table(targets: Iterable[Target]) -> tuple[list[str], list[list[str]]]:
    """Headers and rows of the targets of one run: checks and verdict."""
    rows = [
        [t.name, t.requirement, "; ".join(show_check(c) for c in t.checks), verdict(t)]
        for t in targets
    ]
    return ["target", "requirement", "measured (medians)", "verdict"], rows


def _errors(figure: Figure) -> list[str]:
    return [
        f"  {row.label} [{column}]: {error}"
        for row in figure.rows
        for column, error in row.errors.items()
        if not error.startswith("NotImplementedError")
    ]


def environment_lines(results: Results) -> list[str]:
    """Date, machine, Python, packages, plugins and load of one run."""
    env = results.environment
    memory = env.get("memory")
    mem = f", {memory / 2**30:.1f} GiB RAM" if memory else ""
    packages = ", ".join(f"{k} {v}" for k, v in env.get("packages", {}).items() if v)
    plugins = ", ".join(f"{k} {v}" for k, v in env.get("plugins", {}).items())
    lines = [
        f"date: {env.get('date')}",
        f"machine: {env.get('cpu')} x{env.get('cpu_count')}{mem}; {env.get('platform')}",
        f"python: {env.get('implementation')} {env.get('python')}",
        f"load average at start / end: {env.get('load_average')} / "
        f"{env.get('load_average_end')}"
        + (
            f"; other processes used {100 * env['others_cpu_share']:.0f}% of the CPUs"
            if "others_cpu_share" in env
            else ""
        )
        + ("; TAKEN ON A LOADED MACHINE" if env.get("loaded") else "")
        + ("; SOURCES CHANGED DURING THE RUN" if env.get("sources_changed") else ""),
        f"packages: {packages}",
        f"procstart plugins installed: {plugins or 'none'}"
        + (f"; left out of every row: {', '.join(env['without'])}" if env.get("without") else ""),
    ]
    if env.get("note"):
        lines.append(f"note: {env['note']}")
    return lines


def text(results: Results) -> str:
    """The whole report of one run, for a terminal."""
    out = [*environment_lines(results), ""]
    out.append(
        f"every cell: median (min-max) over {results.options.get('rounds')} alternating rounds "
        "of fresh processes, one per column; ratio = median / median"
    )
    for figure in results.figures:
        out += ["", f"== {figure.title} ({figure.id})", f"   {figure.how}"]
        for metric in figure.metrics:
            if figure.rows:
                out.append(render(*figure_table(figure, metric)))
        errors = _errors(figure)
        if errors:
            out += ["errors:", *errors]
    if results.targets:
        out += ["", "== targets (issues 11, 12)", render(*targets_table(results.targets))]
    out += ["", f"total time: {results.elapsed:.0f} s"]
    return "\n".join(out)


def write_json(results: Results, path: str | Path) -> None:
    """Write ``results`` as indented JSON (schema 2)."""
    Path(path).write_text(json.dumps(results.as_dict(), indent=1) + "\n", encoding="utf-8")


def load(path: str | Path) -> Results:
    """Read a ``--json`` file back as :class:`Results` (targets recomputed)."""
    data: dict[str, Any] = json.loads(Path(path).read_text(encoding="utf-8"))
    return results_from_dict(data)


def _md_table(headers: list[str], rows: list[list[str]]) -> str:
    def esc(cell: str) -> str:
        return cell.replace("|", "\\|")

    lines = ["| " + " | ".join(esc(h) for h in headers) + " |"]
    lines.append("|" + "|".join("---" for _ in headers) + "|")
    lines += ["| " + " | ".join(esc(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def _python(results: Results) -> str:
    return f"Python {results.environment.get('python')}"


def _targets_md(runs: Sequence[Results]) -> list[str]:
    headers = ["target", "requirement", *[_python(r) for r in runs]]
    rows = []
    for index, target in enumerate(runs[0].targets):
        row = [target.name, target.requirement]
        for run in runs:
            mine = run.targets[index]
            row.append(f"**{verdict(mine)}**: " + "; ".join(show_check(c) for c in mine.checks))
        rows.append(row)
    return [_md_table(headers, rows), ""]


#: where the page is generated from, written into it
MARK_NOTES_BEGIN = "<!-- notes: benchmarks/NOTES.md, by hand; no number the JSON lacks -->"
MARK_NOTES_END = "<!-- end of notes -->"


def markdown(
    runs: Sequence[Results],
    sources: Sequence[str],
    chart: str | None = None,
    notes: str | None = None,
) -> str:
    """The page ``docs/benchmarks.md`` for one stored run per Python."""
    out: list[str] = [
        "# Benchmarks",
        "",
        "Generated by `make bench` (`procstart bench --from-json ... --markdown`, from the "
        "distribution `procstart-bench` in `benchmarks/`) from these stored runs only: "
        + ", ".join(f"`{s}`" for s in sources)
        + ". Every number on this page is a value of those files or a ratio, difference or "
        "verdict computed from them; `benchmarks/tests/test_page_numbers.py` checks it.",
        "",
        "How it is measured: each column of each row runs in its own fresh interpreter "
        "that imports only its own library (the stdlib's never has procstart loaded, and "
        "procstart's has no peer loaded; each process checks and reports it, see `checks` "
        "in the JSON); rounds alternate A B, B A, A B...; every start-up figure is shown "
        "for a process started from a script file (`script`: children and fork servers "
        "re-import it) and from `python -c` (`-c`: no main file). Each cell is the median "
        "(min-max) of all samples; ratios are median / median (below 1: procstart is "
        "faster or smaller). A target is met only when all its checks are, in both forms. "
        f"Brackets after a target's value: its {_bootstrap.LEVEL:.0%} bootstrap interval "
        f"({_bootstrap.RESAMPLES} resamples of the row's rounds, both columns of a round "
        f"together), for rows of at least {_bootstrap.MIN_ROUNDS} rounds; the verdict reads "
        "the median.",
        "",
    ]
    for run, source in zip(runs, sources, strict=True):
        out += [f"### {_python(run)} (`{source}`)", ""]
        out += [f"- {line}" for line in environment_lines(run)]
        out += [
            f"- options: {json.dumps(run.options)}",
            f"- run time: {run.elapsed:.0f} s",
            "",
        ]
    if chart:
        out += [f"![start+join chart]({chart})", ""]
    if runs:
        out += ["## Targets (issues 11, 12)", "", *_targets_md(runs)]
    if notes:
        out += [MARK_NOTES_BEGIN, "", notes.strip(), "", MARK_NOTES_END, ""]
    for index, figure in enumerate(runs[0].figures if runs else []):
        out += [f"## {figure.title}", "", figure.how, ""]
        for run in runs:
            mine = run.figure(figure.id)
            if mine is None or not mine.rows:
                continue
            out += [f"{_python(run)}:", ""]
            for metric in mine.metrics:
                out += [_md_table(*figure_table(mine, metric)), ""]
            errors = _errors(mine)
            if errors:
                out += ["Errors:", "", *[f"- {e.strip()}" for e in errors], ""]
        del index
    return "\n".join(out).rstrip() + "\n"


_NUMBER = re.compile(r"(?<![\w.])[+-]?\d+(?:\.\d+)?")


def numbers(text: str) -> set[str]:
    """Every number written in ``text`` (signs dropped), e.g. for checking notes."""
    return {match.group().lstrip("+-") for match in _NUMBER.finditer(text)}


def split_notes(page: str) -> tuple[str, str]:
    """``(generated part, notes)`` of a page written by :func:`markdown`."""
    if MARK_NOTES_BEGIN not in page:
        return page, ""
    head, rest = page.split(MARK_NOTES_BEGIN, 1)
    notes, tail = rest.split(MARK_NOTES_END, 1)
    return head + tail, notes
