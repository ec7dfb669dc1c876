"""The fresh interpreter behind an isolated sample (cold start, USS, imports).

Run as ``python .../procstart/bench/_script.py worker SPEC`` where SPEC is
JSON ``{"module", "contender", "params"}``; prints one JSON line: the sample
(metric -> value) or ``{"error": ...}``.
"""

from __future__ import annotations

import importlib
import json
import sys

from ._contenders import Contender


def main() -> None:
    """Take the sample SPEC describes and print it as JSON."""
    spec = json.loads(sys.argv[-1])
    try:
        from . import _plugins

        _plugins.configure(bool(spec.get("all_plugins")), spec.get("without"))
        module = importlib.import_module(f"procstart.bench.{spec['module']}")
        contender = Contender.from_list(spec["contender"])
        result = module.isolated_sample(contender, spec["params"])
    except Exception as exc:  # noqa: BLE001 - reported to the parent, which records it
        text = str(exc).strip().replace("\n", " ")
        result = {"error": f"{type(exc).__name__}: {text}" if text else type(exc).__name__}
    sys.stdout.write(json.dumps(result) + "\n")
    sys.stdout.flush()
