"""procstart._stdlib_contexts (the bridge's only use of multiprocessing internals)
against every CPython version its docstring names, where pyenv has it."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

MODULE = Path(__file__).resolve().parents[2] / "core" / "src" / "procstart" / "_stdlib_contexts.py"
VERSIONS = ("3.10.13", "3.11.7", "3.12.1", "3.13.0")

# stdlib only: the module is loaded from its file, without procstart installed
CHECK = f"""
import importlib.util, multiprocessing as mp
from multiprocessing import context as c
spec = importlib.util.spec_from_file_location("sc", {str(MODULE)!r})
sc = importlib.util.module_from_spec(spec)
spec.loader.exec_module(sc)

class Fake(c.BaseContext):
    _name = "fake"
    def get_start_method(self, allow_none=False):
        return "fake"

fake = Fake()
assert sc.add("fake", fake) is None
assert mp.get_context("fake") is fake
assert sc.default_context_name() is None
original = sc.platform_default()
sc.set_platform_default(fake)
assert mp.get_context() is fake and mp.get_start_method() == "fake"
sc.set_default(None)
sc.set_platform_default(original)
assert mp.get_context() is original
sc.set_default(None)
mp.set_start_method("fake")
assert sc.default_context_name() == "fake" and mp.get_start_method() == "fake"
sc.set_get_all_start_methods(lambda: ["fake"])
assert mp.get_all_start_methods() == ["fake"]
sc.set_get_all_start_methods(sc.original_get_all_start_methods)
assert "fake" not in mp.get_all_start_methods()
sc.set_default(None)
sc.remove("fake", None)
try:
    mp.get_context("fake")
except ValueError as exc:
    assert "cannot find context for 'fake'" in str(exc)
else:
    raise AssertionError("fake still resolves")
print("ok")
"""


def _python(version: str) -> str | None:
    if sys.version.split()[0] == version:
        return sys.executable
    pyenv = shutil.which("pyenv")
    if pyenv is None:
        return None
    found = subprocess.run([pyenv, "prefix", version], capture_output=True, text=True, check=False)
    exe = Path(found.stdout.strip()) / "bin" / "python"
    return str(exe) if found.returncode == 0 and exe.exists() else None


@pytest.mark.parametrize("version", VERSIONS)
def test_internals_match(version: str) -> None:
    python = _python(version)
    if python is None:
        pytest.skip(f"Python {version} is not installed here (pyenv prefix {version})")
    result = subprocess.run(
        [python, "-I", "-c", CHECK], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


def test_docstring_names_the_checked_versions() -> None:
    text = MODULE.read_text()
    for version in VERSIONS:
        assert version in text
