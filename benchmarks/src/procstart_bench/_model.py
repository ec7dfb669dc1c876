"""Result types: samples per contender, summarised per row and figure.

A *figure* (warm start, N children, ...) has *rows* (one per start method and
parameter, e.g. ``spawn, N=8``); a row holds, per *column* (``procstart``,
``stdlib``, ``multiprocess``, ``loky``), the samples of each *metric* (``time``,
``peak_rss``, ...). Everything converts to plain JSON-able dicts.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from typing import Any

#: the column every ratio is computed against, and the one it divides
BASELINE = "stdlib"
SUBJECT = "procstart"
#: below this, on both sides, a metric's ratio is not shown (bytes: 1 MiB)
RATIO_FLOOR = {"peak_rss": float(1 << 20)}
#: display order of the columns
COLUMNS = ("procstart", "stdlib", "multiprocess", "loky", "no tracker", "machine")


@dataclass
class Stats:
    """Median, min and max of one contender's samples of one metric."""

    samples: list[float]

    @property
    def median(self) -> float:
        """The median sample (what every ratio uses)."""
        return statistics.median(self.samples)

    @property
    def min(self) -> float:
        """The smallest sample."""
        return min(self.samples)

    @property
    def max(self) -> float:
        """The largest sample."""
        return max(self.samples)

    def as_dict(self) -> dict[str, Any]:
        """``{"median", "min", "max", "n", "samples"}``."""
        return {
            "median": self.median,
            "min": self.min,
            "max": self.max,
            "n": len(self.samples),
            "samples": list(self.samples),
        }


@dataclass
class Metric:
    """What a figure measures: a name, a unit and how to show it."""

    name: str
    unit: str
    #: multiply a raw sample by this to get ``display_unit``
    scale: float = 1.0
    display_unit: str = ""

    def show(self, value: float) -> str:
        """``value`` in the display unit, with three significant figures."""
        shown = value * self.scale
        if shown >= 100:
            return f"{shown:.0f}"
        if shown >= 10:
            return f"{shown:.1f}"
        return f"{shown:.2f}"


#: how a unit is shown: (scale, display unit)
DISPLAY = {"s": (1e3, "ms"), "bytes": (1 / 2**20, "MiB"), "count": (1.0, "modules")}


def metric(name: str, unit: str) -> Metric:
    """A metric in ``unit`` (``s``, ``bytes``, ``count``), shown in a readable unit."""
    scale, display = DISPLAY.get(unit, (1.0, unit))
    return Metric(name, unit, scale, display)


SECONDS = Metric("time", "s", 1e3, "ms")
PER_CHILD = Metric("time_per_child", "s", 1e3, "ms")
PEAK_RSS = Metric("peak_rss", "bytes", 1 / 2**20, "MiB")
USS = Metric("uss", "bytes", 1 / 2**20, "MiB")
IMPORT_TIME = Metric("import_time", "s", 1e3, "ms")
IMPORT_COUNT = Metric("modules", "count", 1.0, "modules")


@dataclass
class Row:
    """One start method (and parameter) of one figure, all its columns."""

    method: str
    param: str = ""
    #: column -> metric name -> stats
    results: dict[str, dict[str, Stats]] = field(default_factory=dict)
    #: column -> why it has no samples (unsupported, failed: message)
    errors: dict[str, str] = field(default_factory=dict)
    #: column -> what its last measured process reported about itself: its
    #: ``__main__`` ("-c" or the script's name) and the non-stdlib modules it had
    checks: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def label(self) -> str:
        """``method`` or ``method, param``."""
        return f"{self.method}, {self.param}" if self.param else self.method

    def add(self, column: str, sample: dict[str, float]) -> None:
        """Record one sample (metric -> value) of ``column``."""
        per_metric = self.results.setdefault(column, {})
        for metric, value in sample.items():
            per_metric.setdefault(metric, Stats([])).samples.append(float(value))

    def median(self, column: str, metric: str) -> float | None:
        """The median of ``column``'s ``metric``, or None without samples."""
        stats = self.results.get(column, {}).get(metric)
        return stats.median if stats and stats.samples else None

    def ratio(self, metric: str, over: str = BASELINE, of: str = SUBJECT) -> float | None:
        """median(``of``) / median(``over``), None when either is missing.

        Also None when both are below the metric's :data:`RATIO_FLOOR` (a
        ratio of two near-zero peaks says nothing).
        """
        top, bottom = self.median(of, metric), self.median(over, metric)
        if top is None or bottom is None or bottom <= 0:
            return None
        if max(top, bottom) < RATIO_FLOOR.get(metric, 0.0):
            return None
        return top / bottom

    def as_dict(self, metrics: list[Metric], baseline: str = BASELINE) -> dict[str, Any]:
        """Plain data, with the procstart/``baseline`` ratio per metric."""
        return {
            "method": self.method,
            "param": self.param,
            "results": {
                column: {name: stats.as_dict() for name, stats in per_metric.items()}
                for column, per_metric in self.results.items()
            },
            "errors": dict(self.errors),
            "checks": dict(self.checks),
            "ratio": {
                m.name: self.ratio(m.name, over=baseline) if baseline else None for m in metrics
            },
        }


@dataclass
class Figure:
    """One figure: its rows, metrics and a sentence on how it is measured."""

    id: str
    title: str
    metrics: list[Metric]
    how: str = ""
    rows: list[Row] = field(default_factory=list)
    #: the column ratios divide by ("" for none: a figure of one column)
    baseline: str = BASELINE
    #: samples each measured process adds to its column of a row, in the
    #: order taken (0: not a whole number): what a round is, for the intervals
    per_process: int = 0

    def row(self, method: str, param: str = "") -> Row:
        """The row of ``method`` / ``param``, created on first use."""
        for row in self.rows:
            if row.method == method and row.param == param:
                return row
        row = Row(method, param)
        self.rows.append(row)
        return row

    def find(self, method: str, param: str = "") -> Row | None:
        """The row of ``method`` / ``param`` if it was measured."""
        for row in self.rows:
            if row.method == method and row.param == param:
                return row
        return None

    def as_dict(self) -> dict[str, Any]:
        """Plain data for ``--json``."""
        return {
            "id": self.id,
            "title": self.title,
            "how": self.how,
            "metrics": {m.name: m.unit for m in self.metrics},
            "baseline": self.baseline,
            "per_process": self.per_process,
            "rows": [row.as_dict(self.metrics, self.baseline) for row in self.rows],
        }


@dataclass
class Check:
    """One measured value of a target against its limit (one form, one N...)."""

    label: str
    value: float | None
    limit: float
    #: how ``value`` and ``limit`` read: "x" (a ratio), "ms" or "MiB" (a difference)
    unit: str = "x"
    #: ``value``'s 95% bootstrap interval over the row's rounds (``_bootstrap``),
    #: None where the row has too few rounds; the verdict reads ``value`` only
    interval: tuple[float, float] | None = None

    @property
    def met(self) -> bool | None:
        """True/False, or None when it could not be measured."""
        return None if self.value is None else self.value <= self.limit

    def as_dict(self) -> dict[str, Any]:
        """Plain data for ``--json``."""
        return {
            "label": self.label,
            "value": self.value,
            "limit": self.limit,
            "unit": self.unit,
            "interval": list(self.interval) if self.interval else None,
            "met": self.met,
        }


@dataclass
class Target:
    """One goal of issue 11 or 12: met only when every one of its checks is met."""

    name: str
    requirement: str
    checks: list[Check] = field(default_factory=list)

    @property
    def met(self) -> bool | None:
        """False if any check misses; None if one was not measured and none misses."""
        verdicts = [check.met for check in self.checks]
        if not verdicts:
            return None
        if False in verdicts:
            return False
        return None if None in verdicts else True

    def as_dict(self) -> dict[str, Any]:
        """Plain data for ``--json``."""
        return {
            "name": self.name,
            "requirement": self.requirement,
            "met": self.met,
            "checks": [check.as_dict() for check in self.checks],
        }


@dataclass
class Results:
    """A whole run: environment, options, figures and targets."""

    environment: dict[str, Any]
    options: dict[str, Any]
    figures: list[Figure] = field(default_factory=list)
    targets: list[Target] = field(default_factory=list)
    elapsed: float = 0.0

    def figure(self, figure_id: str) -> Figure | None:
        """The figure called ``figure_id`` if it ran."""
        for figure in self.figures:
            if figure.id == figure_id:
                return figure
        return None

    def as_dict(self) -> dict[str, Any]:
        """Plain data for ``--json`` (schema 2)."""
        return {
            "schema": 2,
            "environment": self.environment,
            "options": self.options,
            "elapsed": self.elapsed,
            "figures": [figure.as_dict() for figure in self.figures],
            "targets": [target.as_dict() for target in self.targets],
        }


def _per_process(figure_id: str, options: dict[str, Any]) -> int:
    """A run stored before figures recorded ``per_process``: what its figure took."""
    from ._figures import samples_per_process

    return samples_per_process(figure_id, bool(options.get("quick")))


def results_from_dict(data: dict[str, Any]) -> Results:
    """Rebuild :class:`Results` from ``--json`` output (schema 2)."""
    if data.get("schema") != 2:
        raise ValueError(f"not a procstart bench result (schema {data.get('schema')!r})")
    results = Results(
        environment=dict(data["environment"]),
        options=dict(data["options"]),
        elapsed=float(data.get("elapsed", 0.0)),
    )
    for raw in data["figures"]:
        figure = Figure(
            raw["id"],
            raw["title"],
            [metric(name, unit) for name, unit in raw["metrics"].items()],
            how=raw.get("how", ""),
            baseline=raw.get("baseline", BASELINE),
            per_process=int(raw.get("per_process") or _per_process(raw["id"], data["options"])),
        )
        for raw_row in raw["rows"]:
            row = figure.row(raw_row["method"], raw_row.get("param", ""))
            row.errors.update(raw_row.get("errors", {}))
            row.checks.update(raw_row.get("checks", {}))
            for column, per_metric in raw_row["results"].items():
                row.results[column] = {
                    name: Stats([float(x) for x in stats["samples"]])
                    for name, stats in per_metric.items()
                }
        results.figures.append(figure)
    from ._targets import evaluate

    # targets are derived from the figures, never read back: one source
    results.targets = evaluate(results)
    return results
