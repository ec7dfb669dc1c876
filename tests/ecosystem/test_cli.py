"""``procstart run`` and ``procstart config``, through the installed console script."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import run_command

PROCSTART = str(Path(sys.executable).with_name("procstart"))

SHOW = """
import sys, procstart
src = procstart.get_start_method_source()
print(src.method, src.source, *sys.argv[1:])
sys.exit(int(sys.argv[-1]) if sys.argv[-1].isdigit() else 0)
"""


def procstart_cli(
    *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return run_command([PROCSTART, *args], cwd=cwd, env=env, timeout=60)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "show.py").write_text(SHOW)
    return tmp_path


def test_run_script_with_method(project: Path, start_method: str) -> None:
    result = procstart_cli("run", "-m", start_method, "show.py", "a", "-m", "3", cwd=project)
    # the script's own arguments (even -m) are its own; its exit status is ours
    assert result.returncode == 3, result.stderr
    assert result.stdout.split() == [start_method, "environment", "a", "-m", "3"]


def test_run_command_after_double_dash(project: Path, start_method: str) -> None:
    pkg = project / "mypkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "__main__.py").write_text(SHOW)
    result = procstart_cli(
        "run", "-m", start_method, "--", sys.executable, "-m", "mypkg", "x", cwd=project
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [start_method, "environment", "x"]


def test_run_without_method_uses_the_project_default(project: Path) -> None:
    (project / "pyproject.toml").write_text('[tool.procstart]\nstart-method = "fork"\n')
    result = procstart_cli("run", "-v", "show.py", cwd=project)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["fork", "pyproject"]
    assert (
        "procstart run: start method fork (fork (from [tool.procstart] start-method in"
        in result.stderr
    )


def test_run_unknown_method(project: Path) -> None:
    result = procstart_cli("run", "-m", "forkservr", "show.py", cwd=project)
    assert result.returncode == 2
    assert (
        "procstart run: -m forkservr: unknown start method 'forkservr'; "
        "did you mean 'forkserver'? installed: " in result.stderr
    )
    assert result.stdout == ""


def test_run_missing_script(project: Path) -> None:
    result = procstart_cli("run", "-m", "fork", "nope.py", cwd=project)
    assert result.returncode == 2
    assert (
        "procstart run: no such script: nope.py (to run a command, put it after --)"
        in result.stderr
    )


def test_run_nothing(project: Path) -> None:
    for args in (("run",), ("run", "-m", "fork", "--")):
        result = procstart_cli(*args, cwd=project)
        assert result.returncode == 2
        assert "procstart run: nothing to run" in result.stderr


def test_run_command_not_found(project: Path) -> None:
    result = procstart_cli("run", "-m", "fork", "--", "no-such-command-xyz", cwd=project)
    assert result.returncode == 127
    assert "procstart run: command not found: no-such-command-xyz" in result.stderr


PYPROJECT = """
[tool.procstart]
start-method = "limited"
limits-nice = 4
launch-log = "l.jsonl"
mystery-key = 1
"""


def test_config_shows_values_and_sources(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(PYPROJECT)
    result = procstart_cli("config", "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    pyproject = str(tmp_path / "pyproject.toml")
    assert data["pyproject"] == pyproject
    keys = {entry["key"]: entry for entry in data["keys"]}
    assert keys["start-method"]["value"] == "limited"
    assert keys["start-method"]["source"] == "pyproject"
    assert keys["start-method"]["detail"] == pyproject
    assert keys["limits-nice"] == {
        **keys["limits-nice"],
        "value": 4,
        "source": "pyproject",
        "declared_by": "procstart-limits",
    }
    assert keys["limits-memory"]["source"] == "default"
    assert keys["forkserver-preload"] == {
        **keys["forkserver-preload"],
        "value": ["__main__"],
        "source": "default",
        "declared_by": "procstart-forkserver",
    }
    assert keys["mystery-key"]["source"] == "unknown"
    assert "no installed plugin declares this key" in keys["mystery-key"]["detail"]
    assert data["environment"]["PROCSTART_START_METHOD"]["value"] is None
    # the unknown key draws a warning located at its line of the file
    assert f"{pyproject}:6: ConfigWarning: unknown key 'tool.procstart.mystery-key'" in (
        result.stderr
    )


def test_config_environment_beats_pyproject(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.procstart]\nstart-method = "limited"\n')
    result = procstart_cli("config", cwd=tmp_path, env={"PROCSTART_START_METHOD": "fork"})
    assert result.returncode == 0, result.stderr
    line = next(x for x in result.stdout.splitlines() if x.startswith("start-method"))
    assert line.split()[:3] == ["start-method", "fork", "environment:"]
    assert "PROCSTART_START_METHOD=fork" in line
    env_line = next(x for x in result.stdout.splitlines() if x.startswith("PROCSTART_START_METHOD"))
    assert env_line.split()[1] == "fork"


def test_config_bad_value_names_file_and_key(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.procstart]\nlimits-nice = "high"\n')
    result = procstart_cli("config", cwd=tmp_path)
    assert result.returncode == 1
    assert (
        f"procstart config: {tmp_path / 'pyproject.toml'}: 'tool.procstart.limits-nice' "
        "must be an integer, got 'high'" in result.stderr
    )
    assert result.stdout == ""


LEGACY = """
import multiprocessing as mp, sys

def who(_):
    import procstart
    return procstart.get_start_method(), procstart.get_start_method_source().source

if __name__ == "__main__":
    with mp.Pool(2) as pool:
        found = sorted(set(pool.map_async(who, range(4)).get(timeout=60)))
    print(mp.get_start_method(), *found[0], len(found), *sys.argv[1:])
"""


def test_run_bridge_makes_plain_multiprocessing_use_the_method(
    project: Path, start_method: str
) -> None:
    """A program that only knows multiprocessing, unchanged, started by procstart."""
    (project / "legacy.py").write_text(LEGACY)
    result = procstart_cli("run", "-m", start_method, "--bridge", "legacy.py", "a", cwd=project)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [start_method, start_method, "parent", "1", "a"]


def test_run_bridge_refuses_a_command(project: Path) -> None:
    result = procstart_cli("run", "--bridge", "-m", "fork", "--", sys.executable, cwd=project)
    assert result.returncode == 2
    assert "procstart run: --bridge runs a Python script, not a command after --" in result.stderr
