"""``procstart methods``: installed start methods, the default and broken plugins.

Output fits 100 columns. A broken configuration (a bad ``[tool.procstart]``
or ``PROCSTART_*`` value, a key declared twice) exits with status 1 and says
why on stderr; a core with no method installed is not an error.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from .. import _context, _manager, config
from .._names import install_hint
from ..errors import ConfigError, PluginConflictError
from ._table import WIDTH, render, wrap


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
        config.checked_project()  # a bad table is broken even when code picks the method
        resolution = _context.get_start_method_source()
        default = {**resolution.as_dict(), "description": resolution.describe()}
    except Exception as exc:  # noqa: BLE001 - shown, not raised
        default = {"method": None, "error": f"{type(exc).__name__}: {exc}"}
        if isinstance(exc, (ConfigError, PluginConflictError)):
            default["config_error"] = str(exc)
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
    broken_config = data["default"].get("config_error")
    if args.json:
        print(json.dumps(data, indent=2, default=str))
        return _exit(broken_config)
    if not data["methods"]:
        print("no start method is installed: procstart is only the core.")
        print(f"{install_hint()} (from a clone: pip install ./plugins/spawn ...)")
    else:
        rows = []
        for m in data["methods"]:
            state = _info_text(m["info"])
            if not m["available"]:
                state = f"{m['unavailable_reason']}; {state}" if state else m["unavailable_reason"]
            rows.append(
                [
                    "*" if m["default"] else "",
                    m["name"],
                    f"{m['distribution']}=={m['version']}",
                    "yes" if m["available"] else "no",
                    state,
                ]
            )
        print(render(["", "method", "distribution", "available", "state"], rows, WIDTH))
    default = data["default"]
    print()
    if default.get("method"):
        print(wrap(f"default: {default['description']}"))
    else:
        print(wrap(f"default: none ({default.get('error')})"))
    for conflict in data["conflicts"]:
        print(wrap(f"conflict: {conflict['error']}"))
    for broken in data["broken"]:
        print(
            wrap(
                f"broken plugin: {broken['distribution']}=={broken['version']} "
                f"(entry point {broken['plugin']!r}): {broken['error']}"
            )
        )
    shown = {m["plugin"] for m in data["methods"]}  # in the table's "state" column
    for plugin, state in data["status"].items():
        if plugin not in shown:
            print(wrap(f"{plugin}: {_info_text(state)}"))
    return _exit(broken_config)


def _exit(broken_config: str | None) -> int:
    """1 with the reason on stderr when the configuration is broken, else 0."""
    if broken_config:
        print(f"procstart methods: broken configuration: {broken_config}", file=sys.stderr)
        return 1
    return 0
