"""A PNG of the start-up figures of every stored run.

Needs matplotlib: ``pip install procstart-bench[chart]``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ._model import COLUMNS, Figure, Metric, Results

#: (figure id, metric name) drawn, in order
LATENCY = (
    ("start_warm", "time"),
    ("start_cold", "time"),
    ("program", "wall"),
    ("limits", "time"),
)
COLORS = {
    "procstart": "#1f77b4",
    "stdlib": "#7f7f7f",
    "multiprocess": "#2ca02c",
    "loky": "#ff7f0e",
    "no tracker": "#9467bd",
    "machine": "#000000",
}


def available() -> bool:
    """True when matplotlib can be imported."""
    import importlib.util

    return importlib.util.find_spec("matplotlib") is not None


def _panel(ax: Any, figure: Figure, metric: Metric, python: str) -> None:
    from matplotlib.ticker import NullFormatter

    columns = [c for c in COLUMNS if any(c in row.results for row in figure.rows)]
    height = 0.8 / max(1, len(columns))
    labels = [row.label for row in figure.rows]
    for index, column in enumerate(columns):
        ys, medians, low, high = [], [], [], []
        for position, row in enumerate(figure.rows):
            stats = row.results.get(column, {}).get(metric.name)
            if stats is None or not stats.samples:
                continue
            median = stats.median * metric.scale
            ys.append(position + index * height - 0.4 + height / 2)
            medians.append(median)
            low.append(median - stats.min * metric.scale)
            high.append(stats.max * metric.scale - median)
        if ys:
            ax.barh(
                ys,
                medians,
                height=height,
                color=COLORS.get(column),
                label=column,
                xerr=[low, high],
                error_kw={"elinewidth": 0.6, "capsize": 1.5},
            )
    ax.set_yticks(range(len(labels)))
    ax.set_yticklabels(labels, fontsize=7)
    ax.invert_yaxis()
    ax.set_xscale("log")
    # a narrow log range labels its minor ticks too, and they overlap
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xlabel(f"{metric.display_unit} (log scale; bar = median, whisker = min-max)", fontsize=7)
    ax.set_title(f"Python {python}: {figure.title}", fontsize=9)
    ax.tick_params(axis="x", labelsize=7)
    ax.grid(axis="x", which="both", alpha=0.25)


def write(runs: Sequence[Results], path: str | Path) -> bool:
    """Draw the start-up figures of every run into ``path``; False when nothing to draw."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = []
    for figure_id, metric_name in LATENCY:
        for results in runs:
            figure = results.figure(figure_id)
            if figure is None or not figure.rows:
                continue
            for metric in figure.metrics:
                if metric.name == metric_name:
                    panels.append((figure, metric, str(results.environment.get("python"))))
    if not panels:
        return False
    columns = len(runs) if len(panels) > 1 and len(runs) > 1 else 1
    rows = (len(panels) + columns - 1) // columns
    heights = [
        max(len(panels[i][0].rows) for i in range(r * columns, min(len(panels), (r + 1) * columns)))
        for r in range(rows)
    ]
    fig, axes = plt.subplots(
        rows,
        columns,
        figsize=(12, 1.2 + sum(0.32 * h + 0.9 for h in heights)),
        gridspec_kw={"height_ratios": [max(h, 2) for h in heights]},
        squeeze=False,
    )
    for ax, (figure, metric, python) in zip(axes.flat, panels, strict=False):
        _panel(ax, figure, metric, python)
    for ax in list(axes.flat)[len(panels) :]:
        ax.set_visible(False)
    legend: dict[str, Any] = {}
    for ax in axes.flat:
        for handle, label in zip(*ax.get_legend_handles_labels(), strict=True):
            legend.setdefault(label, handle)
    env = runs[0].environment
    fig.suptitle(
        f"procstart bench - {env.get('cpu_count')} CPUs"
        + (" (loaded machine)" if any(r.environment.get("loaded") for r in runs) else ""),
        fontsize=10,
    )
    fig.legend(
        list(legend.values()),
        list(legend),
        loc="upper center",
        ncol=len(legend),
        fontsize=8,
        bbox_to_anchor=(0.5, 0.965),
    )
    fig.tight_layout(rect=(0, 0, 1, 0.94))
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True
