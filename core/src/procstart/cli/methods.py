"""``procstart methods``: installed start methods, the default and broken plugins."""

from __future__ import annotations

import argparse
import json
from typing import Any

from .. import _context, _manager
from ._table import render


def add_parser(sub: Any) -> None:
    """Register ``methods``."""
    parser = sub.add_parser("methods", help="list installed start methods and the default")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.set_defaults(func=run)


def collect() -> dict[str, Any]:
    """Everything ``procstart methods`` shows, as plain data.

    >>> sorted(collect())  # doctest: +SKIP
    ['broken', 'conflicts', 'default', 'methods', 'status']
    """
    registry = _manager.plugins()
    default: dict[str, Any]
    try:
        resolution = _context.get_start_method_source()
        default = {**resolution.as_dict(), "description": resolution.describe()}
    except Exception as exc:  # noqa: BLE001 - shown, not raised
        default = {"method": None, "error": f"{type(exc).__name__}: {exc}"}
    methods = []
    status = registry.status()  # procstart_status of every plugin, errors included
    for method in _manager.iter_methods(registry):
        reason = method.unavailable_reason()
        info = dict(status.get(method.plugin, {}))
        methods.append(
            {
                "name": method.name,
                "distribution": method.distribution,
                "version": method.version,
                "available": reason is None,
                "unavailable_reason": reason,
                "default": method.name == default.get("method"),
                "description": method.description,
                "info": info,
                "plugin": method.plugin,
            }
        )
    return {
        "default": default,
        "methods": methods,
        "broken": [
            {
                "plugin": b.name,
                "distribution": b.distribution,
                "version": b.version,
                "error": b.error,
            }
            for b in registry.broken
        ],
        "conflicts": [
            {"name": c.name, "providers": list(c.providers), "error": c.message()}
            for c in registry.conflicts.values()
        ],
        "status": {name: dict(state) for name, state in status.items()},
    }


def _info_text(info: dict[str, Any]) -> str:
    return ", ".join(f"{key}={value}" for key, value in info.items())


def run(args: argparse.Namespace) -> int:
    """Print the table (or JSON)."""
    data = collect()
    if args.json:
        print(json.dumps(data, indent=2, default=str))
        return 0
    if not data["methods"]:
        print("no start method is installed: procstart is only the core.")
        print("install one, e.g.: pip install procstart-fork procstart-spawn procstart-forkserver")
    else:
        rows = []
        for m in data["methods"]:
            here = "yes" if m["available"] else f"no: {m['unavailable_reason']}"
            mark = "*" if m["default"] else ""
            rows.append(
                [
                    mark,
                    m["name"],
                    f"{m['distribution']}=={m['version']}",
                    here,
                    _info_text(m["info"]),
                ]
            )
        print(render(["", "method", "distribution", "available", "state"], rows))
    default = data["default"]
    print()
    if default.get("method"):
        print(f"default: {default['description']}")
    else:
        print(f"default: none ({default.get('error')})")
    for conflict in data["conflicts"]:
        print(f"conflict: {conflict['error']}")
    for broken in data["broken"]:
        print(
            f"broken plugin: {broken['distribution']}=={broken['version']} "
            f"(entry point {broken['plugin']!r}): {broken['error']}"
        )
    shown = {m["plugin"] for m in data["methods"]}  # in the table's "state" column
    for plugin, state in data["status"].items():
        if plugin not in shown:
            print(f"{plugin}: {_info_text(state)}")
    return 0
