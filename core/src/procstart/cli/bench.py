"""``procstart bench``: what each start method costs here, against the stdlib.

The measuring code is :mod:`procstart.bench`, imported only when this
subcommand runs.
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any


def add_parser(sub: Any) -> None:
    """Register ``bench``."""
    parser = sub.add_parser(
        "bench",
        help="benchmark installed start methods against multiprocessing (and peers)",
        description="Measure every installed start method and its multiprocessing "
        "namesake, interleaved, and print medians and ratios.",
    )
    parser.add_argument("--quick", action="store_true", help="smaller figures, 2 repeats (< 1 min)")
    parser.add_argument(
        "--methods",
        type=lambda text: [m.strip() for m in text.split(",") if m.strip()],
        help="comma-separated start methods (default: all installed)",
    )
    parser.add_argument(
        "--repeat", type=int, help="samples per column and row (default 7; quick 2)"
    )
    parser.add_argument("--warmup", type=int, default=1, help="discarded samples first (default 1)")
    parser.add_argument(
        "--figures",
        type=lambda text: [f.strip() for f in text.split(",") if f.strip()],
        help="comma-separated subset of: start,cold,many,args,pool,uss,imports",
    )
    parser.add_argument("--no-peers", action="store_true", help="leave multiprocess and loky out")
    parser.add_argument(
        "--all-plugins",
        action="store_true",
        help="keep plugins that provide none of the measured methods (launch wrappers...)",
    )
    parser.add_argument(
        "--without",
        type=lambda text: [d.strip() for d in text.split(",") if d.strip()],
        default=[],
        metavar="DISTS",
        help="leave these plugin distributions out (e.g. procstart-tracker) to see their cost",
    )
    parser.add_argument("--json", metavar="FILE", help="write all samples and ratios as JSON")
    parser.add_argument("--chart", metavar="FILE", help="write a PNG of the latency figures")
    parser.add_argument(
        "--markdown", metavar="FILE", help="write the results page (docs/benchmarks.md)"
    )
    parser.add_argument(
        "--notes", metavar="FILE", help="Markdown placed after the targets in --markdown's page"
    )
    parser.add_argument(
        "--from-json",
        metavar="FILE",
        help="measure nothing: show (and chart, --markdown) the results saved in FILE",
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


def _argv(args: argparse.Namespace) -> list[str]:
    """The command line that gives ``args`` again."""
    out: list[str] = ["--quick"] if args.quick else []
    for flag, values in (("--methods", args.methods), ("--figures", args.figures)):
        if values:
            out += [flag, ",".join(values)]
    if args.without:
        out += ["--without", ",".join(args.without)]
    if args.repeat is not None:
        out += ["--repeat", str(args.repeat)]
    out += ["--warmup", str(args.warmup)]
    for flag, on in (("--no-peers", args.no_peers), ("--all-plugins", args.all_plugins)):
        if on:
            out.append(flag)
    for name in ("json", "chart", "markdown", "notes"):
        value = getattr(args, name)
        if value:
            out += [f"--{name}", value]
    if args.quiet:
        out.append("--quiet")
    return out


def run(args: argparse.Namespace) -> int:
    """Run the benchmarks, print the table, write the files asked for.

    Measuring happens in a fresh interpreter whose ``__main__`` is a minimal
    script (see ``procstart/bench/_script.py``), as in a user's program.
    """
    from ..bench._runner import SCRIPT, under_script

    if not args.from_json and not under_script():
        import subprocess

        return subprocess.call([sys.executable, SCRIPT, "bench", *_argv(args)])
    from ..bench import chart, report
    from ..bench._runner import Options
    from ..bench._runner import run as run_bench

    progress = Progress(not args.quiet)
    options = Options(
        quick=args.quick,
        methods=args.methods,
        repeat=args.repeat,
        warmup=args.warmup,
        figures=args.figures,
        peers=not args.no_peers,
        all_plugins=args.all_plugins,
        without=args.without,
        progress=progress,
    )
    try:
        results = report.load(args.from_json) if args.from_json else run_bench(options)
    except (ValueError, OSError) as exc:
        progress.done()
        print(f"procstart bench: {exc}", file=sys.stderr)
        return 2
    progress.done()
    print(report.text(results))
    if args.json:
        report.write_json(results, args.json)
        print(f"wrote {args.json}")
    chart_name = None
    if args.chart:
        if chart.available():
            if chart.write(results, args.chart):
                print(f"wrote {args.chart}")
                chart_name = args.chart
        else:
            print("no chart: matplotlib is not installed (pip install 'procstart[bench]')")
    if args.markdown:
        from pathlib import Path

        if chart_name:
            markdown_dir = Path(args.markdown).resolve().parent
            chart_path = Path(chart_name).resolve()
            try:
                chart_name = str(chart_path.relative_to(markdown_dir))
            except ValueError:
                chart_name = str(chart_path)
        notes = Path(args.notes).read_text(encoding="utf-8") if args.notes else None
        page = report.markdown(results, chart_name, notes=notes)
        Path(args.markdown).write_text(page, encoding="utf-8")
        print(f"wrote {args.markdown}")
    return 0
