"""procstart's pytest plugin, loaded through its real ``pytest11`` entry point.

Each case runs pytest in a fresh process on a generated test file, in a
folder outside the repository (so only the installed plugin is in play).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import procstart

TESTS = """
import multiprocessing.context
import pytest
import procstart

def test_method(start_method):
    # the fixture's method is procstart's default while the test runs
    assert procstart.get_start_method() == start_method

def test_context(procstart_context, start_method):
    assert isinstance(procstart_context, multiprocessing.context.BaseContext)
    assert procstart_context.get_start_method() == start_method
    q = procstart_context.SimpleQueue()
    p = procstart_context.Process(target=q.put, args=(start_method,))
    p.start(); p.join(60)
    assert (p.exitcode, q.get()) == (0, start_method)

@pytest.mark.procstart_skip("fork", reason="fork is not wanted here")
def test_skipped_under_fork(start_method):
    assert start_method != "fork"

def test_no_fixture():
    pass
"""


def run_pytest(tmp_path: Path, *args: str, ini: str = "") -> subprocess.CompletedProcess[str]:
    (tmp_path / "test_generated.py").write_text(TESTS)
    (tmp_path / "pytest.ini").write_text("[pytest]\naddopts = -p no:cacheprovider\n" + ini)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PROCSTART_", "PYTEST_"))}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-v", "-rs", "--strict-markers", *args],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _outcomes(stdout: str) -> dict[str, str]:
    out = {}
    for line in stdout.splitlines():
        if "::" in line and (" PASSED" in line or " SKIPPED" in line or " FAILED" in line):
            test = line.split("::", 1)[1].split()[0]
            out[test] = line.split()[1]
    return out


def installed() -> list[str]:
    from procstart._manager import plugins

    return sorted(plugins().methods)


def test_default_runs_every_installed_method(tmp_path: Path) -> None:
    result = run_pytest(tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    outcomes = _outcomes(result.stdout)
    from procstart._manager import plugins

    for name in installed():
        if plugins().methods[name].remote:  # a cluster: only when named
            assert f"test_method[{name}]" not in outcomes
            continue
        assert outcomes[f"test_method[{name}]"] == "PASSED"
        assert outcomes[f"test_context[{name}]"] == "PASSED"
    assert outcomes["test_no_fixture"] == "PASSED"
    assert outcomes["test_skipped_under_fork[fork]"] == "SKIPPED"
    assert "fork: fork is not wanted here" in result.stdout


def test_option_selects_methods(tmp_path: Path) -> None:
    others = [name for name in installed() if name != "fork"]
    chosen = ["fork", *others[:1]]
    result = run_pytest(tmp_path, f"--procstart-methods={','.join(chosen)}")
    assert result.returncode == 0, result.stdout + result.stderr
    ran = {t.split("[")[1].rstrip("]") for t in _outcomes(result.stdout) if "[" in t}
    assert ran == set(chosen)


def test_ini_option(tmp_path: Path) -> None:
    result = run_pytest(tmp_path, ini="procstart_methods = fork\n")
    assert result.returncode == 0, result.stdout + result.stderr
    assert {t for t in _outcomes(result.stdout) if "[" in t} == {
        "test_method[fork]",
        "test_context[fork]",
        "test_skipped_under_fork[fork]",
    }


def test_unknown_method_is_a_usage_error(tmp_path: Path) -> None:
    result = run_pytest(tmp_path, "--procstart-methods=fork,forkservr")
    assert result.returncode == 4  # pytest's usage error
    assert (
        "--procstart-methods: unknown start method 'forkservr'; installed: "
        + ", ".join(installed())
    ) in result.stderr


def test_malformed_method_name(tmp_path: Path) -> None:
    result = run_pytest(tmp_path, "--procstart-methods=Fork!")
    assert result.returncode == 4
    assert "--procstart-methods: invalid start method name 'Fork!'" in result.stderr


def test_marker_needs_a_method(tmp_path: Path) -> None:
    (tmp_path / "test_bad_marker.py").write_text(
        "import pytest\n\n@pytest.mark.procstart_skip(reason='x')\n"
        "def test_x(start_method):\n    pass\n"
    )
    result = run_pytest(tmp_path, "test_bad_marker.py")
    assert result.returncode != 0
    assert "@pytest.mark.procstart_skip needs at least one start method name" in (
        result.stdout + result.stderr
    )


def test_fixture_restores_the_default(start_method: str) -> None:
    # in this very session: the fixture set the default; teardown puts it back
    assert procstart.get_start_method_source().source == "code"
    assert procstart.get_start_method() == start_method


def test_plugin_is_registered_under_pytest11() -> None:
    from importlib.metadata import entry_points

    eps = {ep.name: ep.value for ep in entry_points(group="pytest11")}
    assert eps["procstart"] == "procstart.pytest_plugin"


def test_fixture_works_under_a_bad_environment_default(tmp_path: Path) -> None:
    (tmp_path / "test_env.py").write_text(
        "import procstart\n\n"
        "def test_x(start_method):\n"
        "    assert procstart.get_start_method() == start_method\n"
    )
    (tmp_path / "pytest.ini").write_text("[pytest]\naddopts = -p no:cacheprovider\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PROCSTART_", "PYTEST_"))}
    env["PROCSTART_START_METHOD"] = "forkservr"
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "--procstart-methods=fork", "test_env.py"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed" in result.stdout
