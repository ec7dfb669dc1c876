"""Results as a terminal table, JSON and the Markdown of ``docs/benchmarks.md``."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ..cli._table import render
from ._model import (
    BASELINE,
    COLUMNS,
    SUBJECT,
    Figure,
    Metric,
    Results,
    Row,
    Target,
    results_from_dict,
)


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


def _header(metric: Metric) -> str:
    return f"{metric.name} [{metric.display_unit}]"


def figure_table(
    figure: Figure, metric: Metric, spread: bool = True
) -> tuple[list[str], list[list[str]]]:
    """Headers and rows of one figure and metric: median (min-max) per column."""
    columns = _columns(figure)
    headers = [_header(metric), *columns, f"{SUBJECT}/{BASELINE}"]
    rows = []
    for row in figure.rows:
        cells = [_cell(row, column, metric, spread) for column in columns]
        rows.append([row.label, *cells, _ratio(row.ratio(metric.name))])
    return headers, rows


def targets_table(targets: Iterable[Target]) -> tuple[list[str], list[list[str]]]:
    """Headers and rows of the targets: ratio, limit and whether it is met."""
    rows = []
    for target in targets:
        verdict = {True: "met", False: "MISSED", None: "not measured"}[target.met]
        rows.append([target.name, _ratio(target.ratio, 3), f"<= {target.limit:.2f}x", verdict])
    return ["target", "ratio", "limit", "verdict"], rows


def _errors(figure: Figure) -> list[str]:
    return [
        f"  {row.label} [{column}]: {error}"
        for row in figure.rows
        for column, error in row.errors.items()
        if not error.startswith("NotImplementedError")
    ]


def _environment_lines(results: Results) -> list[str]:
    env = results.environment
    memory = env.get("memory")
    mem = f", {memory / 2**30:.1f} GiB RAM" if memory else ""
    packages = ", ".join(f"{k} {v}" for k, v in env.get("packages", {}).items() if v)
    return [
        f"date: {env.get('date')}",
        f"machine: {env.get('cpu')} x{env.get('cpu_count')}{mem}; {env.get('platform')}",
        f"python: {env.get('implementation')} {env.get('python')}; load average at start: "
        f"{env.get('load_average')}",
        f"packages: {packages}",
        f"start methods: {', '.join(f'{k} ({v})' for k, v in env.get('methods', {}).items())}",
        f"other plugins: {', '.join(env.get('other_plugins') or []) or 'none'} ("
        + (
            "active in every row: --all-plugins)"
            if env.get("all_plugins")
            else "each active only in the rows of the method it provides)"
        )
        + (f"; left out of every row: {', '.join(env['without'])}" if env.get("without") else ""),
    ]


def text(results: Results) -> str:
    """The whole report for a terminal."""
    out = [*_environment_lines(results), ""]
    out.append(
        "every cell: median (min-max) of "
        f"{results.options.get('repeat')} interleaved samples after "
        f"{results.options.get('warmup')} warm-up; ratio = median procstart / median stdlib"
    )
    for figure in results.figures:
        out += ["", f"== {figure.title} ({figure.id})", f"   {figure.how}"]
        if not figure.rows:
            continue
        for metric in figure.metrics:
            out.append(render(*figure_table(figure, metric)))
        errors = _errors(figure)
        if errors:
            out += ["errors:", *errors]
    if results.targets:
        out += ["", "== targets (issue 7)", render(*targets_table(results.targets))]
    out += ["", f"total time: {results.elapsed:.0f} s"]
    return "\n".join(out)


def write_json(results: Results, path: str | Path) -> None:
    """Write ``results`` as indented JSON (schema 1)."""
    Path(path).write_text(json.dumps(results.as_dict(), indent=1) + "\n", encoding="utf-8")


def _md_table(headers: list[str], rows: list[list[str]]) -> str:
    def esc(cell: str) -> str:
        return cell.replace("|", "\\|")

    lines = ["| " + " | ".join(esc(h) for h in headers) + " |"]
    lines.append("|" + "|".join("---" for _ in headers) + "|")
    lines += ["| " + " | ".join(esc(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def markdown(
    results: Results,
    chart: str | None = None,
    command: str = "make bench",
    notes: str | None = None,
) -> str:
    """The page ``docs/benchmarks.md``: environment, chart, targets, ``notes``, figures."""
    out: list[str] = [
        "# Benchmarks",
        "",
        f"Latest results of `{command}` (`procstart bench`; code in "
        "`core/src/procstart/bench/`, how to run it in `benchmarks/README.md`). "
        "Regenerate this page with `make bench`; numbers are from one run on the "
        "machine below, so compare the ratios, not the absolute times.",
        "",
        *[f"- {line}" for line in _environment_lines(results)],
        f"- options: {json.dumps(results.options)}",
        f"- run time: {results.elapsed:.0f} s",
        "",
        "Each cell is the median (min-max) of the interleaved samples "
        "(procstart, stdlib, peers, procstart, ...) taken after a warm-up; "
        "the ratio is median procstart / median stdlib (below 1 is faster or smaller).",
        "",
    ]
    if chart:
        out += [f"![latency chart]({chart})", ""]
    if results.targets:
        out += ["## Targets", "", _md_table(*targets_table(results.targets)), ""]
    if notes:
        out += [notes.strip(), ""]
    for figure in results.figures:
        out += [f"## {figure.title}", "", figure.how, ""]
        for metric in figure.metrics:
            if figure.rows:
                out += [_md_table(*figure_table(figure, metric)), ""]
        errors = _errors(figure)
        if errors:
            out += ["Errors:", "", *[f"- {e.strip()}" for e in errors], ""]
    return "\n".join(out).rstrip() + "\n"


def load(path: str | Path) -> Results:
    """Read a ``--json`` file back as :class:`Results`."""
    data: dict[str, Any] = json.loads(Path(path).read_text(encoding="utf-8"))
    return results_from_dict(data)
