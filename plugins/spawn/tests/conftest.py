"""Spawn tests: helpers live in ``spawn_targets`` next to this file.

pytest runs in importlib mode, so this folder is put on ``sys.path`` here;
spawn children get the parent's ``sys.path`` and import the targets by name
(a light module: no pytest import in every child).
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
    """procstart's spawn context."""
    import procstart

    return procstart.get_context("spawn")


@pytest.fixture
def reset_spawn_options() -> Iterator[None]:
    """Forget forced options and the cached startup plan around a test."""
    import procstart_spawn
    from procstart import _settings

    procstart_spawn.set_fast_startup(None)
    procstart_spawn.set_fast_exit(None)
    yield
    procstart_spawn.set_fast_startup(None)
    procstart_spawn.set_fast_exit(None)
    _settings.settings.executable = None
