"""The import contract (``make lint-imports``): plugins use only procstart and procstart.plugin.

The contracts are computed from the layout (``tools/import_contract.py``);
these tests check that they hold here, and that they catch a plugin that
reaches into the core's privates and a core module added later.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from tests.conftest import REPO

TOOL = REPO / "tools" / "import_contract.py"


def _contracts(*args: str) -> str:
    done = subprocess.run(
        [sys.executable, str(TOOL), *args], capture_output=True, text=True, check=True
    )
    return done.stdout


def _check(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(TOOL), "--check", *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        cwd=REPO,
    )


def test_the_repository_keeps_the_contract() -> None:
    done = _check()
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Contracts: 2 kept, 0 broken." in done.stdout


def test_every_core_module_but_the_api_is_forbidden() -> None:
    text = _contracts()
    forbidden = text.split("forbidden_modules =\n", 1)[1].split("allow_indirect_imports")[0]
    names = set(forbidden.split())
    core = REPO / "core" / "src" / "procstart"
    expected = {
        f"procstart.{path.stem if path.suffix == '.py' else path.name}"
        for path in core.iterdir()
        if (path.suffix == ".py" and path.stem != "__init__")
        or (path.is_dir() and (path / "__init__.py").exists())
    } - {"procstart.plugin"}
    assert names == expected
    assert "procstart._settings" in names  # and a private one, to be sure
    for plugin in ("procstart_fork", "procstart_spawn", "procstart_forkserver"):
        assert f"    {plugin}\n" in text.split("[importlinter:contract:core-knows-no-plugin]")[1]


def test_a_plugin_importing_a_core_private_breaks_the_contract(tmp_path: Path) -> None:
    src = tmp_path / "src"
    package = src / "procstart_sneaky"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text(
        textwrap.dedent(
            """
            import procstart.plugin
            from procstart import _settings
            """
        )
    )
    done = _check("--extra-source-dir", str(src))
    assert done.returncode == 1, done.stdout + done.stderr
    assert "procstart_sneaky is not allowed to import procstart._settings" in done.stdout
    assert "Contracts: 1 kept, 1 broken." in done.stdout
