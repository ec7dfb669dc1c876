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
from .._types import ConfigKey
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
            print(reference_markdown(), end="")
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


def _cell(text: object) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _default_text(key: ConfigKey) -> str:
    if key.default is None:
        return "not set"
    if isinstance(key.default, bool):
        return "`true`" if key.default else "`false`"
    if isinstance(key.default, list):
        return "`[" + ", ".join(f'"{item}"' for item in key.default) + "]`"
    if isinstance(key.default, str):
        return f'`"{key.default}"`'
    return f"`{key.default}`"


def reference_markdown() -> str:
    """The configuration reference, as ``docs/user-guide.md`` holds it.

    One table of keys per declaring distribution (the core first), then the
    ``PROCSTART_*`` variables. ``procstart config --markdown`` prints it.

    >>> reference_markdown().startswith("### Keys of the core")
    True
    """
    groups: dict[str, list[ConfigKey]] = {}
    for declared in _view.declared_keys().values():
        groups.setdefault(declared.distribution, []).append(declared.key)
    order = [_view.CORE, *sorted(name for name in groups if name != _view.CORE)]
    lines: list[str] = []
    for dist in order:
        title = "the core (`procstart`)" if dist == _view.CORE else f"`{dist}`"
        lines += [
            f"### Keys of {title}",
            "",
            "| key | type | default | variable | meaning |",
            "|---|---|---|---|---|",
        ]
        for key in groups.get(dist, []):
            env = f"`{key.env}`" if key.env else ""
            lines.append(
                f"| `{key.name}` | {_view.type_text(key.type)} | {_default_text(key)} | {env} "
                f"| {_cell(key.description)} |"
            )
        lines.append("")
    lines += [
        "## Environment variables",
        "",
        "Read by procstart and its plugins (a variable beats its key in `pyproject.toml`):",
        "",
        "| variable | declared by | meaning |",
        "|---|---|---|",
    ]
    for declared in _view.declared_keys().values():
        if declared.key.env:
            lines.append(
                f"| `{declared.key.env}` | `{declared.distribution}` "
                f"| as `{declared.key.name}`: {_cell(declared.key.description)} |"
            )
    for name, doc in _view.ENV_VARS.items():
        lines.append(f"| `{name}` | `{_view.CORE}` | {_cell(doc)} |")
    return "\n".join(lines) + "\n"
