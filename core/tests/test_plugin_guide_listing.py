"""The plugin guide's one listing is a working start method.

Its files are written out exactly as the guide shows them, installed with pip
into a fresh virtual environment, and a child is started with the method
there, through the real entry point.
"""

from __future__ import annotations

import re
import site
import subprocess
import sys
import venv
from pathlib import Path

import pytest
from tests.conftest import REPO, run_python

GUIDE = REPO / "docs" / "plugin-guide.md"
BLOCK = re.compile(r"```[a-z]*\n# file: (?P<name>[\w./-]+)\n(?P<body>.*?)```", re.S)


def listing() -> dict[str, str]:
    """``{file name: text}`` of the guide's blocks that start with ``# file: NAME``."""
    text = GUIDE.read_text(encoding="utf-8")
    files = {m["name"]: m["body"] for m in BLOCK.finditer(text)}
    assert set(files) == {"pyproject.toml", "procstart_minimal.py"}, sorted(files)
    return files


@pytest.fixture
def guide_venv(tmp_path: Path) -> Path:
    """A fresh venv that sees this environment's packages (procstart, pluggy,
    hatchling) through a ``.pth``, so pip needs no index; returns its python."""
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=False).create(env_dir)
    python = env_dir / "bin" / "python"
    target = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    ours = [path for path in site.getsitepackages() if Path(path).is_dir()]
    lines = "".join(f"import site; site.addsitedir({path!r})\n" for path in ours)
    (Path(target) / "_dev_packages.pth").write_text(lines)
    return python


def test_listing_installs_and_starts_a_child(tmp_path: Path, guide_venv: Path) -> None:
    project = tmp_path / "procstart-minimal"
    project.mkdir()
    for name, body in listing().items():
        (project / name).write_text(body)
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    into = ["--python", str(guide_venv), "install", "--no-index", "--no-build-isolation"]
    installed = subprocess.run(
        [*pip, *into, str(project)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert installed.returncode == 0, installed.stdout + installed.stderr
    started = run_python(
        """
        import os
        import procstart

        def child(queue):
            queue.put((procstart.get_start_method(), os.getppid()))

        if __name__ == "__main__":
            ctx = procstart.get_context("minimal")
            queue = ctx.Queue()
            p = ctx.Process(target=child, args=(queue,))
            p.start()
            method, parent = queue.get(timeout=60)
            p.join(60)
            print(ctx.method.distribution, method, parent == os.getpid(), p.exitcode)
        """,
        python=str(guide_venv),
        cwd=tmp_path,
    )
    assert started.returncode == 0, started.stderr
    assert started.stdout.split() == ["procstart-minimal", "minimal", "True", "0"]
