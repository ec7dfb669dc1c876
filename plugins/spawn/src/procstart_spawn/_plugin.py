"""Registers the ``spawn`` method with procstart."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator, Mapping

import procstart

from . import _startup
from ._popen import SpawnPopen, executable


def _unavailable() -> str | None:
    if os.name != "posix":
        return f"procstart-spawn supports POSIX systems only, not {sys.platform}"
    return None


def _launch(request: procstart.LaunchRequest) -> SpawnPopen:
    return SpawnPopen(request.process, request)


@procstart.hookimpl
def procstart_status() -> Mapping[str, object]:
    """How children start here, for ``procstart methods``.

    >>> sorted(procstart_status())
    ['executable', 'fast exit', 'site', 'why']
    """
    plan = _startup.plan(executable())
    return {
        "executable": executable(),
        "site": "skipped (-S)" if plan.skip_site else "runs",
        "why": plan.reason,
        "fast exit": _startup.fast_exit_enabled(),
    }


@procstart.hookimpl
def procstart_start_methods() -> Iterator[procstart.StartMethod]:
    """Provide ``spawn``.

    >>> [m.name for m in procstart_start_methods()]
    ['spawn']
    """
    yield procstart.StartMethod(
        name="spawn",
        launcher=_launch,
        description="a fresh interpreter; only the fds asked for; lambdas via cloudpickle",
        unavailable_reason=_unavailable,
    )


@procstart.hookimpl
def procstart_config_keys() -> Iterator[procstart.ConfigKey]:
    """Declare ``[tool.procstart] spawn-fast-startup`` and ``spawn-fast-exit``."""
    yield procstart.ConfigKey(
        name=_startup.CONFIG_KEY,
        type=bool,
        default=False,
        env=_startup.FAST_STARTUP_ENV,
        description="start spawn children with `python -S` (no `site`) when that changes "
        "nothing: same interpreter, no `sitecustomize`/`usercustomize`, only known `.pth` "
        "import lines (`sys.flags.no_site` is then 1 in children); off because it measured "
        "no faster here",
    )
    yield procstart.ConfigKey(
        name=_startup.FAST_EXIT_KEY,
        type=bool,
        default=True,
        env=_startup.FAST_EXIT_ENV,
        description="a spawn child ends with atexit handlers run, streams and module-level "
        "files flushed, then `os._exit`, skipping the interpreter's full teardown; `false` "
        "if your program relies on `__del__` of objects still alive at exit",
    )
