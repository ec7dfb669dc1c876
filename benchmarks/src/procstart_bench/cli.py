"""``procstart bench``: what each start method costs here, against the stdlib, fairly.

Registered in the core's command line through the ``procstart.cli``
entry-point group (see this distribution's ``pyproject.toml``). Importing
this module costs only ``argparse``: the measuring code is imported when the
subcommand runs.
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any


def _names(text: str) -> list[str]:
    return [item.strip() for item in text.split(",") if item.strip()]


def add_parser(sub: Any) -> None:
    """Register ``bench`` on the ``procstart`` command line's subparsers.

    >>> import argparse
    >>> parser = argparse.ArgumentParser(prog="procstart")
    >>> add_parser(parser.add_subparsers())
    >>> parser.parse_args(["bench", "--quick"]).quick
    True
    """
    parser = sub.add_parser(
        "bench",
        help="benchmark installed start methods against multiprocessing (and peers)",
        description="Measure every installed start method and its multiprocessing "
        "namesake, each in its own fresh interpreter, alternating, from a script and "
        "from -c; print medians and ratios. With --from-json, measure nothing and "
        "render stored runs (one per Python) as a page and a chart.",
    )
    parser.add_argument("--quick", action="store_true", help="smaller figures, 2 rounds")
    parser.add_argument("--methods", type=_names, help="comma-separated start methods")
    parser.add_argument("--rounds", type=int, help="rounds per row (default 6; quick 2)")
    parser.add_argument(
        "--figures",
        type=_names,
        help="comma-separated subset of: limits,start,untimed,tracker,cold,program,many,lambda,"
        "args,pool,uss,imports",
    )
    parser.add_argument("--no-peers", action="store_true", help="leave multiprocess and loky out")
    parser.add_argument(
        "--without",
        type=_names,
        default=[],
        metavar="DISTS",
        help="procstart plugin distributions left out of every procstart process "
        "(e.g. launch wrappers that would bill their cost to procstart)",
    )
    parser.add_argument(
        "--tracker",
        default="procstart-tracker",
        metavar="DIST",
        help="the distribution whose share per child the tracker figure shows",
    )
    parser.add_argument("--note", default="", help="free text stored with the run")
    parser.add_argument("--json", metavar="FILE", help="write all samples as JSON")
    parser.add_argument(
        "--from-json",
        metavar="FILE",
        nargs="+",
        help="measure nothing: show (and --chart, --markdown) these stored runs",
    )
    parser.add_argument("--chart", metavar="FILE", help="write a PNG of the start-up figures")
    parser.add_argument("--markdown", metavar="FILE", help="write the results page")
    parser.add_argument(
        "--notes", metavar="FILE", help="hand-written Markdown placed after the targets"
    )
    parser.add_argument("--quiet", action="store_true", help="no progress on stderr")
    parser.set_defaults(func=run)


class Progress:
    """One status line on stderr: redrawn in place on a terminal, else one per row."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.tty = sys.stderr.isatty()
        self.started = time.perf_counter()
        self.last_row = ""
        self.width = 0

    def __call__(self, text: str) -> None:
        """Show ``text`` (figure, row, column, sample)."""
        if not self.enabled:
            return
        stamp = f"{time.perf_counter() - self.started:6.1f}s {text}"
        if self.tty:
            line = stamp[:119]
            sys.stderr.write("\r" + line.ljust(self.width))
            self.width = len(line)
        else:
            row = text.rsplit("[", 1)[0]
            if row != self.last_row:
                self.last_row = row
                sys.stderr.write(stamp.rsplit("[", 1)[0].rstrip() + "\n")
        sys.stderr.flush()

    def done(self) -> None:
        """Clear the status line."""
        if self.enabled and self.tty:
            sys.stderr.write("\r" + " " * self.width + "\r")
            sys.stderr.flush()


def _relative(path: str, to: str) -> str:
    from pathlib import Path

    base = Path(to).resolve().parent
    target = Path(path).resolve()
    try:
        return str(target.relative_to(base))
    except ValueError:
        return str(target)


def run(args: argparse.Namespace) -> int:
    """Measure (or load ``--from-json``), print, and write what was asked for."""
    from . import chart, report
    from ._runner import Options
    from ._runner import run as run_bench

    progress = Progress(not args.quiet)
    sources: list[str] = list(args.from_json or [])
    try:
        if sources:
            runs = [report.load(path) for path in sources]
        else:
            options = Options(
                quick=args.quick,
                methods=args.methods,
                rounds=args.rounds,
                figures=args.figures,
                peers=not args.no_peers,
                without=args.without,
                tracker=args.tracker,
                note=args.note,
                progress=progress,
            )
            runs = [run_bench(options)]
    except (ValueError, OSError) as exc:
        progress.done()
        print(f"procstart bench: {exc}", file=sys.stderr)
        return 2
    progress.done()
    for results in runs:
        print(report.text(results))
    if args.json and not sources:
        report.write_json(runs[0], args.json)
        sources = [args.json]
        print(f"wrote {args.json}")
    chart_name = None
    if args.chart:
        if chart.available():
            if chart.write(runs, args.chart):
                print(f"wrote {args.chart}")
                chart_name = args.chart
        else:
            print("no chart: matplotlib is not installed (pip install 'procstart-bench[chart]')")
    if args.markdown:
        from pathlib import Path

        notes = Path(args.notes).read_text(encoding="utf-8") if args.notes else None
        shown = [_relative(s, str(Path.cwd() / "x")) for s in sources] or ["(not stored)"]
        page = report.markdown(
            runs,
            shown if len(shown) == len(runs) else ["(not stored)"] * len(runs),
            chart=_relative(chart_name, args.markdown) if chart_name else None,
            notes=notes,
        )
        Path(args.markdown).write_text(page, encoding="utf-8")
        print(f"wrote {args.markdown}")
    return 0
