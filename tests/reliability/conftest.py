"""Fixtures for the reliability group: methods, soak counts, subprocess parents.

Every test here runs once per start method among ``fork``, ``spawn`` and
``forkserver``; a method whose distribution is not installed is skipped with
that reason, never faked. The installed methods come from
``procstart.get_all_start_methods()`` asked in a fresh interpreter, so that
this pytest process keeps no resolved default of its own.

Counts are small by default (the whole group stays within a few minutes on
two cores); ``pytest --soak`` (the option lives in ``tests/conftest.py``; or ``RELIABILITY_SOAK=1``)
switches the tests marked ``soak`` to the counts of issue 8 (1,000 start/join
cycles per method, 8 threads x 50 processes, a 1 GiB argument) and fuzzes
ten times as many examples; ``-m soak`` selects just those tests.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
ALL_METHODS = ("fork", "spawn", "forkserver")
EXEC_METHODS = ("spawn", "forkserver")

#: every wait on a child in this folder is bounded by this (seconds)
WAIT = 60.0


def _installed() -> tuple[list[str], str]:
    code = "import json, procstart; print(json.dumps(procstart.get_all_start_methods()))"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROCSTART_")}
    try:
        out = subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
            env=env,
        )
        return list(json.loads(out.stdout.strip().splitlines()[-1])), ""
    except (subprocess.SubprocessError, ValueError, IndexError) as exc:
        return [], f"get_all_start_methods() failed: {exc}"


INSTALLED, _DISCOVERY_ERROR = _installed()


def _param(name: str, *, why_not: str | None = None) -> object:
    marks = []
    if name not in INSTALLED:
        reason = (
            f"procstart-{name} is not installed "
            f"(get_all_start_methods() = {INSTALLED}){_DISCOVERY_ERROR}"
        )
        marks.append(pytest.mark.skip(reason=reason))
    elif why_not is not None:
        marks.append(pytest.mark.skip(reason=why_not))
    return pytest.param(name, marks=marks, id=name)


def method_params(*, skip: dict[str, str] | None = None) -> list[object]:
    """``pytest.param`` per start method, skipped when absent (or listed in ``skip``)."""
    skip = skip or {}
    return [_param(name, why_not=skip.get(name)) for name in ALL_METHODS]


@pytest.fixture(params=method_params())
def method(request: pytest.FixtureRequest) -> str:
    """One of fork / spawn / forkserver (skipped when not installed)."""
    return str(request.param)


@pytest.fixture(params=method_params(skip={"fork": "fork runs no new interpreter"}))
def exec_method(request: pytest.FixtureRequest) -> str:
    """spawn or forkserver: methods that start the child from a payload."""
    return str(request.param)


# -- soak mode --------------------------------------------------------------

#: also switches soak mode on (for runners that cannot pass ``--soak``)
SOAK_ENV = "RELIABILITY_SOAK"


def soak_enabled(config: pytest.Config) -> bool:
    if os.environ.get(SOAK_ENV, "").strip().lower() in {"1", "true", "yes", "on"}:
        return True
    return bool(config.getoption("--soak"))


@dataclass(frozen=True)
class Counts:
    """Loop sizes for the soak-marked tests."""

    soak: bool
    cycles: int  # sequential start/join cycles per method
    threads: int  # concurrent starter threads
    per_thread: int  # processes each thread starts and joins


@pytest.fixture(scope="session")
def counts(pytestconfig: pytest.Config) -> Counts:
    if soak_enabled(pytestconfig):
        return Counts(soak=True, cycles=1000, threads=8, per_thread=50)
    return Counts(soak=False, cycles=200, threads=8, per_thread=10)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not soak_enabled(config):
        return
    for item in items:  # full counts take longer than the default 120 s
        if item.get_closest_marker("soak") is not None and "reliability" in item.nodeid:
            item.add_marker(pytest.mark.timeout(1800))


# -- figures for the report ----------------------------------------------------

#: (test id, text) lines shown at the end of the run (fds before/after, examples)
FIGURES: list[tuple[str, str]] = []


@pytest.fixture
def figure(request: pytest.FixtureRequest):  # type: ignore[no-untyped-def]
    """``figure("fds 12 -> 12")`` records a line for the terminal summary."""

    def record(text: str) -> None:
        FIGURES.append((request.node.nodeid.split("::")[-1], text))
        request.node.user_properties.append(("figure", text))

    return record


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if FIGURES:
        terminalreporter.section("procstart reliability figures")
        for test, text in FIGURES:
            terminalreporter.write_line(f"{test}: {text}")


# -- subprocess parents -------------------------------------------------------


def run_parent(
    code: str,
    *,
    env: dict[str, str] | None = None,
    timeout: float = 120,
    cwd: Path | None = None,
    script: Path | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run ``code`` as the parent program in a fresh interpreter.

    The repository root is importable (so children find
    ``tests.reliability._targets``); no ``PROCSTART_*`` variable leaks in
    from the caller. With ``script`` the code is written there and run as a
    file (an importable ``__main__``), otherwise with ``-c``.
    """
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("PROCSTART_")}
    full_env["PYTHONPATH"] = os.pathsep.join(
        [str(REPO), *filter(None, [full_env.get("PYTHONPATH")])]
    )
    full_env.update(env or {})
    source = textwrap.dedent(code)
    if script is not None:
        script.write_text(source)
        argv = [sys.executable, str(script)]
    else:
        argv = [sys.executable, "-c", source]
    return subprocess.run(
        argv,
        cwd=cwd or REPO,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def last_json(result: subprocess.CompletedProcess[str]) -> object:
    """The JSON object on the last line of a parent's stdout (with stderr on failure)."""
    assert result.returncode == 0, f"parent failed ({result.returncode}):\n{result.stderr}"
    lines = result.stdout.strip().splitlines()
    assert lines, f"parent printed nothing; stderr:\n{result.stderr}"
    return json.loads(lines[-1])


def read_until_closed(sock: socket.socket) -> bytes:
    """Everything a peer sends until it closes (a reset counts as closed)."""
    answer = b""
    try:
        while chunk := sock.recv(64):
            answer += chunk
    except ConnectionResetError:
        pass
    return answer
