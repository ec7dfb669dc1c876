"""The CPython-suite runner itself: a few of CPython's tests, both sides, compared."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

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
    # TestResourceTracker's test SIGKILLs the tracker with semaphores alive:
    # procstart's side leaves nothing of its own behind
    assert not [owner for owner in summary["left_in_dev_shm"] if owner.endswith("procstart")]


def _run_suite_module() -> Any:
    sys.path.insert(0, str(HERE))
    try:
        import run_suite
    finally:
        sys.path.remove(str(HERE))
    return run_suite


def _tagged(run_suite: Any, run: Any) -> Path:
    """A file named as ``run``'s semaphores are (``sem.mp-3.99-spawn-procstart-...``)."""
    return Path("/dev/shm") / f"sem{run_suite.semprefix(run).replace('/', '.')}-t{os.getpid()}"


@pytest.mark.skipif(not Path("/dev/shm").is_dir(), reason="needs /dev/shm")
def test_a_file_left_in_dev_shm_is_put_down_to_the_run_that_named_it() -> None:
    run_suite = _run_suite_module()
    runs = [run_suite.Run("python", "3.99", "spawn", side) for side in run_suite.SIDES]
    before = run_suite.shm_entries()
    made = [_tagged(run_suite, runs[1]), Path("/dev/shm") / f"psm_runsuite{os.getpid()}"]
    try:
        for path in made:
            path.write_bytes(b"")
        found = run_suite.leftovers(runs, before)
    finally:
        for path in made:
            path.unlink(missing_ok=True)
    assert found[runs[1]] == [made[0].name]
    assert made[1].name in found[None]
    assert runs[0] not in found


@pytest.mark.skipif(not Path("/dev/shm").is_dir(), reason="needs /dev/shm")
def test_a_file_procstarts_side_leaves_fails_the_run_and_the_stdlibs_is_removed(
    capsys: pytest.CaptureFixture[str],
) -> None:
    run_suite = _run_suite_module()
    stdlib, mine = (run_suite.Run("python", "3.99", "fork", side) for side in run_suite.SIDES)
    before = run_suite.shm_entries()
    theirs, ours = _tagged(run_suite, stdlib), _tagged(run_suite, mine)
    now = time.time()
    mine.spans = {"A.test_earlier": (now - 60, now - 30), "A.test_now": (now - 5, now + 30)}
    try:
        theirs.write_bytes(b"")
        ours.write_bytes(b"")
        status, by_owner = run_suite.report_leftovers([stdlib, mine], before, settle=0.5)
        assert not theirs.exists()  # the stdlib side's: removed
        assert ours.exists()  # procstart's: kept, for whoever looks into it
    finally:
        theirs.unlink(missing_ok=True)
        ours.unlink(missing_ok=True)
    printed = capsys.readouterr().out
    assert status == 1
    assert (
        f"left in /dev/shm by 3.99 fork procstart: 1 (procstart's side: a leak, fails the run): "
        f"{ours.name} (made during A.test_now)" in printed
    )
    assert (
        f"left in /dev/shm by 3.99 fork stdlib: 1 (the stdlib side's; removed): {theirs.name}"
        in printed
    )
    assert by_owner == {"3.99 fork stdlib": [theirs.name], "3.99 fork procstart": [ours.name]}


@pytest.mark.skipif(not Path("/dev/shm").is_dir(), reason="needs /dev/shm")
def test_only_the_stdlib_sides_files_leave_the_run_passing(
    capsys: pytest.CaptureFixture[str],
) -> None:
    run_suite = _run_suite_module()
    stdlib, mine = (run_suite.Run("python", "3.99", "fork", side) for side in run_suite.SIDES)
    before = run_suite.shm_entries()
    theirs = _tagged(run_suite, stdlib)
    try:
        theirs.write_bytes(b"")
        status, by_owner = run_suite.report_leftovers([stdlib, mine], before, settle=0.5)
    finally:
        theirs.unlink(missing_ok=True)
    assert status == 0
    assert by_owner == {"3.99 fork stdlib": [theirs.name]}
    assert "procstart" not in capsys.readouterr().out


_LOAD_GENERATED = r"""
import collections, importlib.util, sys, unittest
sys.path.insert(0, sys.argv[1])
import run_suite

run = run_suite.Run(sys.executable, "%d.%d" % sys.version_info[:2], "spawn", "procstart")
skips = run_suite.load_expected(run.version, run.method)
assert skips, "no listed test: the loop this checks would not run"
path = sys.argv[2]
with open(path, "w") as fh:
    fh.write(run_suite._MODULE.format(
        side=run.side, method=run.method, skips=skips, semprefix=run_suite.semprefix(run)))
spec = importlib.util.spec_from_file_location("generated_suite", path)
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)

def ids(suite):
    for item in suite:
        if isinstance(item, unittest.TestSuite):
            yield from ids(item)
        else:
            yield item.id()

counts = collections.Counter(ids(unittest.defaultTestLoader.loadTestsFromModule(module)))
print(len(counts), sorted(name for name, n in counts.items() if n > 1))
"""


@pytest.mark.timeout(120)
def test_the_generated_module_loads_each_of_cpythons_tests_once(tmp_path: Path) -> None:
    # as the runner's child does: the whole module, through unittest's loader
    result = subprocess.run(
        [sys.executable, "-c", _LOAD_GENERATED, str(HERE), str(tmp_path / "generated.py")],
        capture_output=True,
        text=True,
        timeout=100,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    loaded, twice = result.stdout.split(" ", 1)
    assert int(loaded) > 300
    assert twice.strip() == "[]"
