"""procstart-launchlog: a launch *wrapper* plugin (not a start method).

It wraps the ``procstart_launch`` hook, so it sees every child of every
method, installed now or later. Each launch is timed and logged to the
``procstart.launches`` logger (INFO, silent unless you configure logging).
With ``[tool.procstart] launch-log = "launches.jsonl"`` (relative to that
``pyproject.toml``) or ``PROCSTART_LAUNCH_LOG=/path/file.jsonl`` it also
appends one JSON line per launch and sets ``PROCSTART_LAUNCH_ID`` in the
child, so the child's own logs can be matched with that line.
"""

from __future__ import annotations

import itertools
import json
import logging
import os
import threading
import time
from collections.abc import Generator, Iterator
from typing import Any

import procstart

__version__ = "0.1.0"
__all__ = ["ENV_ID", "ENV_LOG", "log_path", "procstart_config_keys", "procstart_launch"]

ENV_LOG = "PROCSTART_LAUNCH_LOG"
ENV_ID = "PROCSTART_LAUNCH_ID"
CONFIG_KEY = "launch-log"

logger = logging.getLogger("procstart.launches")
# a library logs, the application decides: without this, Python's last-resort
# handler would print failed launches on stderr of every program in the venv
logger.addHandler(logging.NullHandler())
_counter = itertools.count(1)
_write_lock = threading.Lock()


def log_path() -> str | None:
    """The JSON-lines file launches go to, or None (environment beats pyproject)."""
    env = os.environ.get(ENV_LOG, "").strip()
    if env:
        return env
    from procstart.plugin import config_file, config_value

    value = config_value(CONFIG_KEY)
    if not value:
        return None
    project = config_file()
    base = os.path.dirname(project) if project else os.getcwd()
    return os.path.join(base, str(value))


def _record(path: str, entry: dict[str, Any]) -> None:
    line = json.dumps(entry, sort_keys=True) + "\n"
    with _write_lock, open(path, "a", encoding="utf-8") as fh:
        fh.write(line)


@procstart.hookimpl(wrapper=True)
def procstart_launch(
    request: procstart.LaunchRequest,
) -> Generator[None, procstart.PopenLike, procstart.PopenLike]:
    """Time every launch; log it; tag the child when a log file is configured."""
    path = log_path()
    entry: dict[str, Any] = {
        "method": request.method.name,
        "distribution": request.method.distribution,
        "name": request.process.name,
        "parent_pid": os.getpid(),
    }
    if path is not None:
        entry["launch_id"] = f"{os.getpid()}-{next(_counter)}"
        request.env[ENV_ID] = entry["launch_id"]
    started = time.perf_counter()
    try:
        popen = yield
    except BaseException as exc:
        entry.update(ms=round((time.perf_counter() - started) * 1e3, 3), pid=None)
        entry["error"] = f"{type(exc).__name__}: {exc}"
        logger.warning("%s launch of %s failed: %s", entry["method"], entry["name"], entry["error"])
        if path is not None:
            _record(path, entry)
        raise
    # a remote child's pid waits until a worker has started it: never read here
    pid = None if request.method.remote else popen.pid
    entry.update(ms=round((time.perf_counter() - started) * 1e3, 3), pid=pid)
    logger.info(
        "%s child %s (pid %s) started in %.1f ms",
        entry["method"],
        entry["name"],
        "not yet known: remote" if pid is None else pid,
        entry["ms"],
    )
    if path is not None:
        _record(path, entry)
    return popen


@procstart.hookimpl
def procstart_config_keys() -> Iterator[procstart.ConfigKey]:
    """Declare ``launch-log``."""
    yield procstart.ConfigKey(
        name=CONFIG_KEY,
        type=str,
        env=ENV_LOG,
        description="JSON-lines file (relative to pyproject.toml) that gets one line per launch",
    )
