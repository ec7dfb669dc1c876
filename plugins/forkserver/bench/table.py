"""Print the README tables from the stored results (``results-<python>.json``).

Run: ``python plugins/forkserver/bench/table.py`` (every figure in the
forkserver and spawn READMEs' speed sections comes from this output).
"""

from __future__ import annotations

import glob
import json
import os

HERE = os.path.dirname(os.path.abspath(__file__))

TARGETS = {
    ("forkserver", "script"): 0.5,
    ("forkserver", "c"): 1.0,
    ("spawn", "script"): 0.7,
    ("spawn", "c"): 0.7,
}


def _row(name: str, fig: dict, target: float | None) -> str:
    ps, sl = fig["procstart"], fig["stdlib"]
    warm = f"{ps['warm_wall_median_ms']:.2f} / {sl['warm_wall_median_ms']:.2f} ms"
    first = f"{ps['first_wall_median_ms']:.1f} / {sl['first_wall_median_ms']:.1f} ms"
    cpu = f"{ps['cpu_per_child_median_ms']:.2f} / {sl['cpu_per_child_median_ms']:.2f} ms"
    met = "" if target is None else (" met" if fig["warm_wall_ratio"] <= target else " missed")
    return (
        f"| {name} | {warm} | **{fig['warm_wall_ratio']:.2f}x** (target {target}x{met}) "
        f"| {first} | {fig['first_wall_ratio']:.2f}x | {cpu} | {fig['cpu_per_child_ratio']:.2f}x |"
    )


def main() -> None:
    """Print one table per stored Python version."""
    paths = sorted(glob.glob(os.path.join(HERE, "results-*.json")))
    paths += sorted(glob.glob(os.path.join(HERE, "baseline-*.json")))  # before the session
    for path in paths:
        data = json.load(open(path))  # noqa: SIM115 - a short script
        print(
            f"Python {data['python']} ({os.path.basename(path)}; {data['note']}; "
            f"{data['rounds']} rounds A B B A x {data['children_per_round']} children)\n"
        )
        print(
            "| start+join of a trivial child | warm, procstart / stdlib | ratio "
            "| first start / stdlib | ratio | CPU per child / stdlib | ratio |"
        )
        print("|---|---|---|---|---|---|---|")
        for key, fig in data["figures"].items():
            method, kind, form = key.split("/")
            if kind == "plain":
                label = f"{method}, {'script file' if form == 'script' else '`python -c`'}"
                print(_row(label, fig, TARGETS.get((method, form))))
        print()
        for key, fig in data["figures"].items():
            method, kind, _form = key.split("/")
            if kind == "lambda":
                target = 0.5 if method == "forkserver" else 5.0
                met = "met" if fig["lambda_extra_ms"] <= target else "missed"
                print(
                    f"- {method}, a lambda target vs `os.getpid` (procstart, `-c`, warm): "
                    f"{fig['lambda_warm_ms']:.2f} vs {fig['plain_warm_ms']:.2f} ms, "
                    f"**+{fig['lambda_extra_ms']:.2f} ms** (target +{target} ms: {met})"
                )
            if kind == "uss":
                mib = 1 << 20
                print(
                    f"- USS of a Pipe-holding child whose target uses numpy: procstart "
                    f"forkserver (numpy preloaded) "
                    f"{fig['procstart_forkserver_uss'] / mib:.2f} MiB, "
                    f"stdlib spawn {fig['stdlib_spawn_uss'] / mib:.2f} MiB "
                    f"(**{fig['ratio_vs_stdlib_spawn']:.2f}x**, target 0.3x), stdlib forkserver "
                    f"(numpy preloaded) {fig['stdlib_forkserver_uss'] / mib:.2f} MiB "
                    f"({fig['ratio_vs_stdlib_forkserver']:.2f}x)"
                )
        print()


if __name__ == "__main__":
    main()
