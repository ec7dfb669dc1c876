"""Forkserver tests: helpers live in ``fs_targets`` and ``fs_helpers`` next to this file.

pytest runs in importlib mode, so this folder is put on ``sys.path`` here;
the server gets the parent's ``sys.path`` and children import the targets
by name.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))


@pytest.fixture
def ctx() -> Any:
    """procstart's forkserver context."""
    import procstart

    return procstart.get_context("forkserver")


@pytest.fixture
def fresh_server() -> Iterator[Any]:
    """A function ``start(preload)`` that (re)starts this process's server.

    Whatever server ran before is stopped first and after the test, and the
    preload setting is restored.
    """
    import procstart_forkserver
    from procstart import _settings
    from procstart_forkserver import _client

    saved = _settings.settings.forkserver_preload

    def start(preload: list[str] | None) -> Any:
        procstart_forkserver.stop_server()
        _settings.settings.forkserver_preload = preload
        return _client.ensure_running()

    procstart_forkserver.stop_server()
    yield start
    procstart_forkserver.stop_server()
    _settings.settings.forkserver_preload = saved
