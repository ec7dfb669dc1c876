"""Run the benchmark suite and refresh ``docs/benchmarks.md`` (what ``make bench`` does).

    .venv/bin/python benchmarks/run.py            # full run, writes the docs page
    .venv/bin/python benchmarks/run.py --quick    # < 1 minute, same outputs

Any further option goes to ``procstart bench`` (``--methods spawn,fork``,
``--repeat 5``, ``--figures start,cold``...). The measuring code is
``procstart.bench`` in the core; this script only picks the output paths.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUTPUTS = [
    "--json",
    str(ROOT / "benchmarks" / "results" / "latest.json"),
    "--chart",
    str(ROOT / "docs" / "benchmarks.png"),
    "--markdown",
    str(ROOT / "docs" / "benchmarks.md"),
    "--notes",
    str(ROOT / "benchmarks" / "NOTES.md"),
]


def main(argv: list[str]) -> int:
    """``procstart bench`` with the repository's output paths."""
    from procstart.cli import main as cli

    (ROOT / "benchmarks" / "results").mkdir(exist_ok=True)
    return cli(["bench", *OUTPUTS, *argv])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
