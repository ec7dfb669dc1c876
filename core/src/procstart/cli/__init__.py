"""``procstart`` subcommands, one module each; :func:`main` dispatches.

A subcommand module defines ``add_parser(subparsers)`` (registering its
arguments and ``func``) and keeps its logic to itself. Other distributions
add subcommands through the entry-point group ``procstart.cli``: each entry
point names such an ``add_parser`` function, e.g. in ``pyproject.toml``::

    [project.entry-points."procstart.cli"]
    bench = "procstart_bench.cli:add_parser"

``procstart --help`` lists them with the distribution they come from; one
that fails to load is listed with its error and the others keep working.
"""

from __future__ import annotations

import argparse
import importlib
from collections.abc import Sequence
from typing import Any

#: the core's own subcommand modules, in the order ``--help`` lists them
SUBCOMMANDS = ("methods", "demo", "run", "config")
#: entry-point group through which any distribution adds a subcommand
ENTRY_POINT_GROUP = "procstart.cli"


def installed_subcommands() -> list[tuple[str, str, Any]]:
    """``(name, "dist version", add_parser or the load error)`` per ``procstart.cli`` entry point.

    >>> [name for name, _, _ in installed_subcommands()]  # doctest: +SKIP
    ['bench']
    """
    from importlib import metadata

    found: list[tuple[str, str, Any]] = []
    seen: set[str] = set()
    for ep in metadata.entry_points(group=ENTRY_POINT_GROUP):
        if ep.name in seen or ep.name in SUBCOMMANDS:
            continue  # the same distribution twice on sys.path; a core name is never replaced
        seen.add(ep.name)
        dist = getattr(ep, "dist", None)
        origin = f"{dist.name} {dist.version}" if dist is not None else "unknown distribution"
        try:
            loaded: Any = ep.load()
        except Exception as exc:  # noqa: BLE001 - a broken extension must not break the CLI
            loaded = exc
        found.append((ep.name, origin, loaded))
    return sorted(found, key=lambda item: item[0])


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser with every subcommand registered (core, then installed)."""
    extensions = installed_subcommands()
    lines = [
        f"  {name:<10} from {origin}"
        + ("" if callable(loaded) else f" (failed to load: {type(loaded).__name__}: {loaded})")
        for name, origin, loaded in extensions
    ]
    parser = argparse.ArgumentParser(
        prog="procstart",
        description="multiprocessing start methods as plugins: inspect and try them",
        epilog="subcommands from installed distributions (entry-point group "
        f"{ENTRY_POINT_GROUP!r}):\n" + ("\n".join(lines) if lines else "  none"),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in SUBCOMMANDS:
        module = importlib.import_module(f"{__name__}.{name}")
        module.add_parser(sub)
    for _, _, loaded in extensions:
        if callable(loaded):
            loaded(sub)
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
