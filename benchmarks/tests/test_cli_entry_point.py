"""The core's command line takes subcommands from the ``procstart.cli`` entry-point group."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

HELLO = """
def add_parser(sub):
    parser = sub.add_parser("hello", help="say hello")
    parser.set_defaults(func=lambda args: print("hello from an extension") or 0)
"""


def _dist(root: Path, name: str, entry: str) -> None:
    info = root / f"{name}-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(f"[procstart.cli]\n{entry}\n")


def _run(path: Path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROCSTART_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(path), env.get("PYTHONPATH")]))
    return subprocess.run(
        [sys.executable, "-m", "procstart", *args],
        capture_output=True, text=True, timeout=60, env=env, check=False,
    )  # fmt: skip


def test_installed_subcommands_are_listed_and_run(tmp_path):
    (tmp_path / "hello_cli.py").write_text(HELLO)
    _dist(tmp_path, "hello-cli", "hello = hello_cli:add_parser")
    done = _run(tmp_path, "--help")
    assert done.returncode == 0, done.stderr
    assert "subcommands from installed distributions (entry-point group 'procstart.cli')" in (
        done.stdout
    )
    assert "hello      from hello-cli 1.0" in done.stdout
    assert "bench      from procstart-bench 0.1.0" in done.stdout
    done = _run(tmp_path, "hello")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "hello from an extension"


def test_a_broken_subcommand_is_listed_and_the_rest_works(tmp_path):
    _dist(tmp_path, "broken-cli", "broken = no_such_module_xyz:add_parser")
    done = _run(tmp_path, "--help")
    assert done.returncode == 0, done.stderr
    assert (
        "broken     from broken-cli 1.0 (failed to load: ModuleNotFoundError: "
        "No module named 'no_such_module_xyz')"
    ) in done.stdout
    done = _run(tmp_path, "methods", "--json")
    assert done.returncode == 0, done.stderr


def test_building_the_parser_loads_no_measuring_code():
    code = (
        "import sys, procstart.cli; procstart.cli.build_parser(); "
        "print(sorted(m for m in sys.modules if m.startswith('procstart_bench')))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.strip() == "['procstart_bench', 'procstart_bench.cli']"
