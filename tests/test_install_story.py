"""The README's install story is true: wheels of the core and a plugin install into a fresh venv.

Builds the wheels as ``make dist`` does (``pip wheel --no-deps
--no-build-isolation``: no network, the dev venv's hatchling), installs
``procstart`` and ``procstart-forkserver`` into a new virtual environment
with ``--no-index --find-links`` (so the install itself cannot reach an
index: every dependency must be declared and found locally), and starts a
child there with the plugin's method.

The dependency wheels (pluggy, cloudpickle; tomli on 3.10) are fetched once
with ``pip download`` into ``.venv/install-story-wheelhouse`` using pip's own
configuration (a local mirror where there is one, else the index; the test
is skipped if neither answers), then reused offline by later runs.
"""

from __future__ import annotations

import importlib.metadata
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

PIP = [sys.executable, "-m", "pip", "--disable-pip-version-check"]
CHILD = """
import procstart

def hello(q):
    q.put(("hello from", procstart.get_start_method(), procstart.__file__))

if __name__ == "__main__":
    print(procstart.get_all_start_methods())
    ctx = procstart.get_context("forkserver")
    q = ctx.Queue()
    p = ctx.Process(target=hello, args=(q,))
    p.start()
    print(*q.get(timeout=60))
    p.join(60)
    print("exitcode", p.exitcode)
"""


def _run(command: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PROCSTART_", "PYTHONPATH"))}
    return subprocess.run(
        command, capture_output=True, text=True, timeout=300, check=False, env=env, **kwargs
    )  # type: ignore[call-overload]


def _wheelhouse() -> Path:
    """Wheels of the runtime dependencies, the versions installed here."""
    house = REPO / ".venv" / "install-story-wheelhouse"
    house.mkdir(parents=True, exist_ok=True)
    wanted = [f"pluggy=={importlib.metadata.version('pluggy')}"]
    wanted.append(f"cloudpickle=={importlib.metadata.version('cloudpickle')}")
    if sys.version_info < (3, 11):
        wanted.append(f"tomli=={importlib.metadata.version('tomli')}")
    have = {p.name.split("-")[0].lower() + "==" + p.name.split("-")[1] for p in house.glob("*.whl")}
    missing = [spec for spec in wanted if spec.lower() not in have]
    if missing:
        got = _run(
            [
                *PIP,
                "download",
                "--quiet",
                "--no-deps",
                "--only-binary=:all:",
                "--dest",
                str(house),
                *missing,
            ]
        )
        if got.returncode != 0:
            pytest.skip(f"dependency wheels unavailable offline and online: {got.stderr[-500:]}")
    return house


def test_core_and_a_plugin_install_from_wheels_into_a_fresh_venv(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    built = _run(
        [
            *PIP,
            "wheel",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--wheel-dir",
            str(dist),
            str(REPO / "core"),
            str(REPO / "plugins" / "forkserver"),
        ]
    )
    assert built.returncode == 0, built.stderr
    wheels = sorted(p.name for p in dist.glob("*.whl"))
    assert [w.split("-")[0] for w in wheels] == ["procstart", "procstart_forkserver"], wheels

    venv = tmp_path / "fresh"
    made = _run([sys.executable, "-m", "venv", "--without-pip", str(venv)])
    assert made.returncode == 0, made.stderr
    python = venv / "bin" / "python"
    installed = _run(
        [
            *PIP,
            "--python",
            str(python),
            "install",
            "--quiet",
            "--no-index",
            "--find-links",
            str(dist),
            "--find-links",
            str(_wheelhouse()),
            "procstart",
            "procstart-forkserver",
        ]
    )
    assert installed.returncode == 0, installed.stderr

    work = tmp_path / "work"  # no pyproject.toml above it that names a method
    work.mkdir()
    (work / ".git").mkdir()
    (work / "app.py").write_text(CHILD)
    ran = _run([str(python), "app.py"], cwd=work)
    assert ran.returncode == 0, ran.stderr
    lines = ran.stdout.splitlines()
    assert lines[0] == "['forkserver']"  # only what was installed
    said, method, where = lines[1].rsplit(" ", 2)
    assert (said, method) == ("hello from", "forkserver")
    assert where.startswith(str(venv)), where  # the wheel's copy, not the clone's
    assert lines[2] == "exitcode 0"


def test_readme_install_section_names_what_exists() -> None:
    readme = (REPO / "README.md").read_text()
    makefile = (REPO / "Makefile").read_text()
    assert "pip install ./core ./plugins/forkserver" in readme
    assert "pip install --find-links dist procstart-forkserver" in readme
    assert "\ndist: " in makefile and "make dist" in readme
    for path in ("core", "plugins/forkserver", "plugins/tracker"):
        assert (REPO / path / "pyproject.toml").is_file(), path
