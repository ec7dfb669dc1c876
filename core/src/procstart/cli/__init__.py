"""``procstart`` subcommands, one module each; :func:`main` dispatches.

A subcommand module defines ``add_parser(subparsers)`` (registering its
arguments and ``func``) and keeps its logic to itself.
"""

from __future__ import annotations

import argparse
import importlib
from collections.abc import Sequence

#: subcommand modules, in the order ``--help`` lists them
SUBCOMMANDS = ("methods", "demo", "run", "config", "bench")


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser with every subcommand registered."""
    parser = argparse.ArgumentParser(
        prog="procstart",
        description="multiprocessing start methods as plugins: inspect and try them",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in SUBCOMMANDS:
        module = importlib.import_module(f"{__name__}.{name}")
        module.add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit status.

    >>> main(["methods", "--json"])  # doctest: +SKIP
    0
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    func = getattr(args, "func", None)
    if func is None:
        parser.print_help()
        return 2
    result = func(args)
    return int(result or 0)
