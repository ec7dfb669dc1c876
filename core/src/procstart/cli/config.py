"""``procstart config``: every key and ``PROCSTART_*`` variable in effect, and its source.

``--markdown`` prints the configuration reference that ``docs/user-guide.md``
holds (generated from the declared keys, so the docs match the code). A
broken configuration exits with status 1 and says why on stderr.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from .. import config as _view
from ._table import render


def add_parser(sub: Any) -> None:
    """Register ``config``."""
    parser = sub.add_parser(
        "config",
        help="show every key and PROCSTART_* variable in effect, and where each came from",
    )
    output = parser.add_mutually_exclusive_group()
    output.add_argument("--json", action="store_true", help="machine-readable output")
    output.add_argument(
        "--markdown",
        action="store_true",
        help="print the configuration reference of the installed keys (docs/user-guide.md)",
    )
    parser.set_defaults(func=run)


def collect() -> dict[str, Any]:
    """Everything ``procstart config`` shows, as plain data.

    >>> sorted(collect())  # doctest: +SKIP
    ['environment', 'keys', 'pyproject']
    """
    return {
        "pyproject": _view.project_file(),
        "keys": [entry.as_dict() for entry in _view.entries()],
        "environment": _view.environment(),
    }


def _show(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + ", ".join(str(item) for item in value) + "]"
    return str(value)


_SOURCES = {
    "code": "set_start_method() in code",
    "environment": "environment",
    "pyproject": "pyproject.toml",
    "platform": "platform preference",
    "parent": "parent process",
    "default": "default",
    "unknown": "UNKNOWN KEY",
}


def run(args: argparse.Namespace) -> int:
    """Print the configuration table (or JSON)."""
    try:
        if args.markdown:
            print(_view.reference_markdown(), end="")
            return 0
        data = collect()
    except (TypeError, ValueError, RuntimeError) as exc:
        print(f"procstart config: {exc}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(data, indent=2, default=str))
        return 0
    print(f"pyproject.toml: {data['pyproject'] or 'none found (no [tool.procstart] table)'}")
    print()
    rows = []
    for entry in data["keys"]:
        source = _SOURCES.get(entry["source"], entry["source"])
        detail = entry["detail"]
        where = f"{source}: {detail}" if detail and detail != "not set" else source
        rows.append([entry["key"], _show(entry["value"]), where, entry["declared_by"]])
    print(render(["key", "value", "from", "declared by"], rows))
    print()
    env_rows = [
        [name, _show(item["value"]), item["declared_by"] or "-"]
        for name, item in data["environment"].items()
    ]
    print(render(["environment variable", "value", "declared by"], env_rows))
    return 0
