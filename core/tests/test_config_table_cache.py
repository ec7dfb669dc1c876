"""A project file that did not change is not parsed again (``procstart._table_cache``).

Real programs in real project folders, each with its own cache folder: the
first program parses ``pyproject.toml``; the next one reads the cached
answer and never imports ``tomllib``, with the same result, and any change
to the file is seen by the very next program.
"""

from __future__ import annotations

import datetime
import os
import time
from pathlib import Path

import pytest
from tests.conftest import last_json_line, run_python

from procstart import _table_cache

#: starts a fork child (the tracker reads its key then), reports what it read
PROBE = """
import json, sys
import procstart
from procstart._pyproject import project_config

p = procstart.get_context("fork").Process(target=int)
p.start(); p.join()
config = project_config()
print(json.dumps({
    "exitcode": p.exitcode,
    "file": config.path,
    "values": dict(config.values),
    "parsed": any(name in sys.modules for name in ("tomllib", "tomli")),
}))
"""

NO_TABLE = """\
[project]
name = "myapp"
version = "0.1"
dependencies = ["procstart", "numpy>=1.24"]

[tool.ruff]
line-length = 100
"""

WITH_TABLE = NO_TABLE + "\n[tool.procstart]\nchildren-die-with-parent = false\n"


@pytest.fixture(scope="module")
def projects(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Project folders whose files are old enough to be cached (written once, then waited on)."""
    made = {}
    for name, text in (("plain", NO_TABLE), ("table", WITH_TABLE), ("edited", WITH_TABLE)):
        root = tmp_path_factory.mktemp(name)
        (root / ".git").mkdir()
        (root / "pyproject.toml").write_text(text)
        made[name] = root
    time.sleep(_table_cache._epcache.RACY_SECONDS + 0.2)  # one wait for the whole module
    return made


def _run(project: Path, cache: Path, **env: str) -> dict[str, object]:
    got = last_json_line(
        run_python(PROBE, cwd=project, env={"PROCSTART_CACHE_DIR": str(cache), **env})
    )
    assert got["exitcode"] == 0
    return got


def test_an_unchanged_file_without_the_table_is_parsed_once(
    projects: dict[str, Path], tmp_path: Path
) -> None:
    first = _run(projects["plain"], tmp_path)
    second = _run(projects["plain"], tmp_path)
    assert first == {"exitcode": 0, "file": None, "values": {}, "parsed": True}
    assert second == {**first, "parsed": False}


def test_the_cached_table_is_the_files_table(projects: dict[str, Path], tmp_path: Path) -> None:
    first = _run(projects["table"], tmp_path)
    second = _run(projects["table"], tmp_path)
    path = str(projects["table"] / "pyproject.toml")
    assert first == {
        "exitcode": 0,
        "file": path,
        "values": {"children-die-with-parent": False},
        "parsed": True,
    }
    assert second == {**first, "parsed": False}


def test_an_edit_is_seen_by_the_next_program(projects: dict[str, Path], tmp_path: Path) -> None:
    project = projects["edited"]
    _run(project, tmp_path)
    assert _run(project, tmp_path)["parsed"] is False  # cached now
    # same size, new content: the change time tells, whatever the modification time says
    pyproject = project / "pyproject.toml"
    old = pyproject.stat()
    pyproject.write_text(WITH_TABLE.replace("= false", "= true "))
    assert pyproject.stat().st_size == old.st_size
    os.utime(pyproject, ns=(old.st_atime_ns, old.st_mtime_ns))
    got = _run(project, tmp_path)
    assert (got["values"], got["parsed"]) == ({"children-die-with-parent": True}, True)


def test_a_broken_cache_file_is_ignored(projects: dict[str, Path], tmp_path: Path) -> None:
    _run(projects["table"], tmp_path)
    (cached,) = tmp_path.glob("table-*")
    for junk in (b"", b"\x00garbage", cached.read_bytes()[:-3]):
        cached.write_bytes(junk)
        got = _run(projects["table"], tmp_path)
        assert got["values"] == {"children-die-with-parent": False}
        assert got["parsed"] is True


def test_the_cache_switch_turns_it_off(projects: dict[str, Path], tmp_path: Path) -> None:
    for _ in range(2):
        got = _run(projects["plain"], tmp_path, PROCSTART_ENTRY_POINT_CACHE="0")
        assert got["parsed"] is True
    assert list(tmp_path.glob("table-*")) == []


def test_what_marshal_cannot_write_is_not_kept(
    projects: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PROCSTART_CACHE_DIR", str(tmp_path))
    monkeypatch.delenv("PROCSTART_ENTRY_POINT_CACHE", raising=False)
    path = str(projects["plain"] / "pyproject.toml")
    key = _table_cache.file_key(path)
    when = datetime.datetime(1979, 5, 27, 7, 32, tzinfo=datetime.timezone.utc)
    _table_cache.keep_table(path, key, {"since": when})
    assert _table_cache.cached_table(path) == (False, None, key)
    _table_cache.keep_table(path, key, {"n": 1})
    assert _table_cache.cached_table(path) == (True, {"n": 1}, key)


def test_a_fresh_file_is_not_kept(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PROCSTART_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("PROCSTART_ENTRY_POINT_CACHE", raising=False)
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text(NO_TABLE)
    key = _table_cache.file_key(str(pyproject))
    _table_cache.keep_table(str(pyproject), key, None)
    assert _table_cache.cached_table(str(pyproject)) == (False, None, key)
