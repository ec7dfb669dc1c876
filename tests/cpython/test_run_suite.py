"""The CPython-suite runner itself: a few of CPython's tests, both sides, compared."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent


@pytest.mark.timeout(300)
def test_runner_compares_procstart_with_the_stdlib(tmp_path: Path) -> None:
    # Pool.map and apply_async through the bridge (procstart's spawn, the
    # Pool's task queue from ProcstartContext.SimpleQueue), and one listed test
    result = subprocess.run(
        [
            sys.executable,
            str(HERE / "run_suite.py"),
            "--python",
            sys.executable,
            "--method",
            "spawn",
            "--timeout",
            "240",
            "--results",
            str(tmp_path),
            "WithProcessesTestPool.test_map",
            "WithProcessesTestPool.test_async",
            "TestResourceTracker.test_resource_tracker_sigkill",
        ],
        capture_output=True,
        text=True,
        timeout=280,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    summary = json.loads((tmp_path / "summary.json").read_text())
    [comparison] = summary["comparisons"]
    assert comparison["regressions"] == []
    assert comparison["stdlib_pass"] == 3
    assert comparison["procstart_pass"] == 2
    assert comparison["listed"] == ["TestResourceTracker.test_resource_tracker_sigkill"]
    procstart_log = (
        tmp_path / f"py{sys.version_info[0]}.{sys.version_info[1]}-spawn-procstart" / "log.txt"
    ).read_text()
    assert "procstart expected failure (tests/cpython/expected_failures.toml)" in procstart_log
