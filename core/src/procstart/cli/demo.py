"""``procstart demo``: start a child under every installed method and show it.

Each child receives a ``Queue`` and a lambda, applies the lambda and sends
back its result, its start method and its parent's pid. Each method starts
two children: the first start pays for servers, trackers and lazy imports.
"""

from __future__ import annotations

import argparse
import os
import time
from multiprocessing.queues import Queue
from typing import Any

from .. import _context, _manager
from .._names import install_hint
from ._table import render


def add_parser(sub: Any) -> None:
    """Register ``demo``."""
    parser = sub.add_parser("demo", help="start a child under every installed method")
    parser.set_defaults(func=run)


def _child(queue: Queue[Any], func: Any) -> None:
    from multiprocessing import parent_process

    import procstart

    parent = parent_process()
    queue.put((func(21), procstart.get_start_method(), parent.pid if parent else None))


def _try(method: str) -> tuple[str, str]:
    """One child under ``method``: (elapsed text, result text)."""
    ctx = _context.get_context(method)
    queue = ctx.Queue()
    started = time.perf_counter()
    proc = ctx.Process(target=_child, args=(queue, lambda x: x * 2))
    proc.start()
    try:
        result, seen_method, parent_pid = queue.get(timeout=60)
    finally:
        proc.join(60)
    elapsed = (time.perf_counter() - started) * 1e3
    ok = result == 42 and seen_method == method and parent_pid == os.getpid()
    text = f"lambda(21)={result}, child says method={seen_method}, exit={proc.exitcode}"
    return f"{elapsed:8.1f} ms", ("ok: " if ok and proc.exitcode == 0 else "WRONG: ") + text


def run(args: argparse.Namespace) -> int:
    """Print one row per installed method, then the default and why."""
    registry = _manager.plugins()
    rows = []
    failures = 0
    for method in _manager.iter_methods(registry):
        dist = f"{method.distribution}=={method.version}"
        if not method.is_available:
            reason = f"unavailable: {method.unavailable_reason()}"
            rows.append([method.name, dist, "-", "-", reason])
            continue
        try:
            # the first start pays for servers, trackers and lazy imports
            first, _ = _try(method.name)
            elapsed, result = _try(method.name)
        except Exception as exc:  # noqa: BLE001 - the demo reports every failure
            first, elapsed, result = "-", "-", f"FAILED: {type(exc).__name__}: {exc}"
        failures += not result.startswith("ok")
        rows.append([method.name, dist, first, elapsed, result])
    if rows:
        headers = ["method", "distribution", "first start+join", "next start+join", "result"]
        print(render(headers, rows))
    else:
        print(f"no start method is installed: {install_hint()}")
    print()
    try:
        print(f"default start method: {_context.get_start_method_source().describe()}")
    except Exception as exc:  # noqa: BLE001
        print(f"default start method: none ({exc})")
    for broken in registry.broken:
        print(f"broken plugin: {broken.describe()}")
    return 1 if failures else 0
