"""Plugins' keys in one place: a wrong value is one ConfigError, never a warning first.

Issue 15: ``children-die-with-parent = "yes"`` drew the tracker's warning
"... using true" and then an error. With the key declared (as a boolean) by
the plugin that reads it, the core rejects the value when the table is first
read, naming the file, the dotted key and the value.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from procstart import config
from tests.conftest import run_python

START = """
import procstart
if __name__ == "__main__":
    p = procstart.Process(target=print, args=("child ran",))
    p.start(); p.join(60)
"""


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("children-die-with-parent", '"yes"', "must be true or false, got 'yes'"),
        ("forkserver-preload", '"numpy"', "must be an array of strings, got 'numpy'"),
        ("spawn-fast-exit", "1", "must be true or false, got 1"),
    ],
)
def test_wrong_value_of_a_plugin_key_is_one_config_error(
    tmp_path: Path, key: str, value: str, expected: str
) -> None:
    if key not in config.declared_keys():
        pytest.skip(f"no installed plugin declares {key!r}")
    (tmp_path / ".git").mkdir()
    (tmp_path / "pyproject.toml").write_text(f"[tool.procstart]\n{key} = {value}\n")
    result = run_python(START, cwd=tmp_path)
    assert result.returncode == 1
    assert "child ran" not in result.stdout
    assert result.stderr.strip().splitlines()[-1] == (
        f"procstart.errors.ConfigError: {tmp_path / 'pyproject.toml'}: "
        f"'tool.procstart.{key}' {expected}"
    )
    assert "Warning" not in result.stderr  # no "using true" (or any warning) before it


FORK_START = """
import procstart
if __name__ == "__main__":
    p = procstart.get_context("fork").Process(target=print, args=("child ran",))
    p.start(); p.join(60)
"""


def test_a_wrong_tracker_key_stops_a_program_that_only_names_its_method(tmp_path: Path) -> None:
    # the first launch reads the tracker's key; a program with no table skips
    # the declarations, one with a table still has it checked
    if "children-die-with-parent" not in config.declared_keys():
        pytest.skip("procstart-tracker is not installed")
    (tmp_path / ".git").mkdir()
    (tmp_path / "pyproject.toml").write_text('[tool.procstart]\nchildren-die-with-parent = "yes"\n')
    result = run_python(FORK_START, cwd=tmp_path)
    assert result.returncode == 1
    assert "child ran" not in result.stdout
    assert result.stderr.strip().splitlines()[-1] == (
        f"procstart.errors.ConfigError: {tmp_path / 'pyproject.toml'}: "
        "'tool.procstart.children-die-with-parent' must be true or false, got 'yes'"
    )
