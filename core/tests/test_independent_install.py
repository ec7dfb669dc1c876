"""Each distribution installs on its own: fresh venvs with only some of them.

Wheels are built from this checkout once per session (pip's cache makes the
build backend and pluggy cheap to fetch again); venvs are created without pip
and filled by the dev venv's pip (``pip --python``).
"""

from __future__ import annotations

import json
import subprocess
import sys
import venv
from pathlib import Path

import pytest
from tests.conftest import REPO, run_python

pytestmark = pytest.mark.slow


def _pip(*args: str) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q", *args],
        check=True,
        timeout=600,
    )


@pytest.fixture(scope="module")
def wheelhouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    house = tmp_path_factory.mktemp("wheels")
    _pip("wheel", "--no-deps", "-w", str(house), str(REPO / "core"), str(REPO / "plugins" / "fork"))
    _pip("download", "-d", str(house), "pluggy", *(["tomli"] if sys.version_info < (3, 11) else []))
    return house


def _venv_with(tmp_path: Path, wheelhouse: Path, *dists: str) -> Path:
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=False).create(env_dir)
    python = env_dir / "bin" / "python"
    _pip("--python", str(python), "install", "--no-index", "--find-links", str(wheelhouse), *dists)
    return python


def test_only_core_installed(tmp_path: Path, wheelhouse: Path) -> None:
    python = _venv_with(tmp_path, wheelhouse, "procstart")
    listing = subprocess.run(
        [str(python.parent / "procstart"), "methods"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert listing.returncode == 0, listing.stderr
    assert "no start method is installed: procstart is only the core." in listing.stdout
    assert "pip install procstart-spawn procstart-fork procstart-forkserver" in listing.stdout
    started = run_python(
        "import procstart; p = procstart.Process(target=print); p.start()",
        python=str(python),
        cwd=tmp_path,
    )
    assert started.returncode == 1
    assert started.stderr.strip().splitlines()[-1] == (
        "procstart.errors.NoStartMethodError: no start method is installed: procstart is "
        "only the core; install one: "
        "pip install procstart-spawn procstart-fork procstart-forkserver"
    )


def test_core_and_fork_installed(tmp_path: Path, wheelhouse: Path) -> None:
    python = _venv_with(tmp_path, wheelhouse, "procstart", "procstart-fork")
    listing = subprocess.run(
        [str(python), "-m", "procstart", "methods", "--json"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=tmp_path,
    )
    assert listing.returncode == 0, listing.stderr
    data = json.loads(listing.stdout)
    assert [(m["name"], m["distribution"]) for m in data["methods"]] == [("fork", "procstart-fork")]
    assert data["default"]["method"] == "fork"
    assert data["default"]["source"] == "platform"
    started = run_python(
        """
        import procstart
        q = procstart.Queue()
        p = procstart.Process(target=q.put, args=(procstart.get_start_method(),)); p.start()
        print(q.get(timeout=30)); p.join(30); print(p.exitcode)
        """,
        python=str(python),
        cwd=tmp_path,
    )
    assert started.stdout.split() == ["fork", "0"], started.stderr
