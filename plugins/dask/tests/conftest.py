"""procstart-dask tests: one LocalCluster (over loopback) for the test module.

Targets live in ``dask_targets`` next to this file; this folder is put on
``sys.path`` before the cluster starts, so the workers (spawned with the
parent's ``sys.path``) and the children on them import it by name.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))


@pytest.fixture(scope="module")
def dask_cluster() -> Iterator[str]:
    """An embedded LocalCluster (2 workers) for the module; yields the scheduler address.

    Module-scoped: its worker processes and threads are gone before the next
    distribution's tests run (they fork, and count children).
    """
    for name in ("PROCSTART_DASK_SCHEDULER", "PROCSTART_START_METHOD"):
        os.environ.pop(name, None)
    import procstart_dask

    client = procstart_dask.client()
    client.wait_for_workers(2, timeout=120)
    yield str(client.scheduler.address)
    procstart_dask.shutdown()


@pytest.fixture
def ctx(dask_cluster: str) -> Any:
    """procstart's dask context, on the session cluster."""
    import procstart

    return procstart.get_context("dask")
