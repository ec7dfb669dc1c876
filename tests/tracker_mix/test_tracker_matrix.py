"""The tracker matrix (issue 11): contexts x start methods x ways to share x endings.

{procstart context, stdlib context, stdlib context with
``procstart.bridge.install()``} x {fork, spawn, forkserver} x {attach by name,
by pickled object, created in the child and attached by the parent after the
child ended, named semaphore} x {child exits, child SIGKILLed}, with procstart
used at module level (``mix_program.py``). Nothing is unlinked while in use,
and nothing this test made is left in ``/dev/shm`` once the program exited.

With the stdlib's own context, procstart must change nothing: the record is
compared with the same program run where procstart is never imported.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from .mixlib import (
    HERE,
    METHODS,
    PROCSTART_WARNING,
    clean_env,
    last_json,
    leftovers,
    run_python,
    unique_prefix,
    wait_until,
)

pytestmark = pytest.mark.timeout(300)

KINDS = ("procstart", "stdlib", "bridge")
SCENARIOS = ("child-creates", "by-name", "pickled", "semaphore")


def expected(what: str, end: str) -> list[str]:
    """Every step succeeds: the data written by each child is there for the next."""
    ran = "exit 0" if end == "exit" else "killed"
    if what == "semaphore":
        return [ran, "present", "acquired"] * 2
    if what == "child-creates":
        return [ran, "made1", ran, "agin2"]
    return [ran, "first", ran, "again"]


def run_mix(tmp_path: Path, kind: str, method: str) -> tuple[dict[str, Any], str]:
    prefix = unique_prefix(f"mx{kind[:2]}{method[:2]}")
    env = clean_env(MIX_KIND=kind, MIX_METHOD=method, MIX_PREFIX=prefix)
    result = run_python([str(HERE / "mix_program.py")], env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    record = last_json(result.stdout)
    sems = record.get("semaphores", [])
    gone = wait_until(lambda: not leftovers(prefix, sems), 10)
    assert gone, f"left in /dev/shm after the program exited: {leftovers(prefix, sems)}"
    return record, result.stderr


def steps(record: dict[str, Any]) -> dict[str, list[str]]:
    return {key: value for key, value in record.items() if "/" in key}


@pytest.fixture(scope="module")
def plain_records(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    """The yardstick: the same program where procstart is never imported."""
    records: dict[str, dict[str, Any]] = {}
    for method in METHODS:
        record, _ = run_mix(tmp_path_factory.mktemp(f"plain-{method}"), "plain", method)
        assert record["procstart imported"] is False
        records[method] = record
    return records


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("kind", ("procstart", "bridge"))
def test_nothing_in_use_is_unlinked(tmp_path: Path, kind: str, method: str) -> None:
    record, _ = run_mix(tmp_path, kind, method)
    assert record["procstart imported"] is True
    want = {f"{what}/{end}": expected(what, end) for what in SCENARIOS for end in ("exit", "kill")}
    assert steps(record) == want


#: cells where the stdlib itself races (a fork child starts its own tracker,
#: which unlinks what the child made when it exits): not comparable run to run
STDLIB_RACES = {("fork", "child-creates/exit"), ("fork", "child-creates/kill")}


@pytest.mark.parametrize("method", METHODS)
def test_stdlib_contexts_behave_as_without_procstart(
    tmp_path: Path, method: str, plain_records: dict[str, dict[str, Any]]
) -> None:
    record, stderr = run_mix(tmp_path, "stdlib", method)
    assert record["procstart imported"] is True
    ours, plain = steps(record), steps(plain_records[method])
    for cell in ours:
        if (method, cell) not in STDLIB_RACES:
            assert ours[cell] == plain[cell], cell
    assert PROCSTART_WARNING not in stderr, stderr
