"""``import procstart as mp`` is the whole module: every submodule is multiprocessing's own."""

from __future__ import annotations

import json
import multiprocessing
import pkgutil
import sys

import pytest
from tests.conftest import run_python

from procstart._submodules import SUBMODULES, import_module

#: what this Python's multiprocessing has (must match the alias list exactly)
STDLIB_SUBMODULES = sorted(m.name for m in pkgutil.iter_modules(multiprocessing.__path__))
IMPORTABLE = [name for name in STDLIB_SUBMODULES if name != "popen_spawn_win32"]


def test_the_alias_list_is_this_pythons_submodule_list() -> None:
    assert sorted(SUBMODULES) == STDLIB_SUBMODULES


def test_import_procstart_imports_no_submodule() -> None:
    result = run_python(
        """
        import sys
        before = set(sys.modules)
        import procstart
        new = sorted(m for m in set(sys.modules) - before if m.startswith("multiprocessing."))
        aliases = sorted(m for m in sys.modules if m.startswith("procstart."))
        print(new)
        print(aliases)
        """
    )
    assert result.returncode == 0, result.stderr
    new, aliases = result.stdout.splitlines()
    # multiprocessing's own __init__ imports context, process and reduction;
    # procstart adds none of the others and no procstart.<alias> module
    assert set(eval(new)) <= {
        "multiprocessing.context",
        "multiprocessing.process",
        "multiprocessing.reduction",
    }
    assert eval(aliases) == ["procstart._submodules"]


@pytest.mark.parametrize("name", IMPORTABLE)
def test_every_submodule_is_the_stdlib_module(name: str) -> None:
    # a fresh interpreter per submodule: nothing imported before by anyone else
    result = run_python(
        f"""
        import importlib, json, sys
        import procstart
        attr = getattr(procstart, {name!r})               # procstart.{name}
        imported = importlib.import_module("procstart.{name}")
        stdlib = importlib.import_module("multiprocessing.{name}")
        exec("from procstart import {name} as from_import")
        print(json.dumps({{
            "attr": attr is stdlib,
            "import": imported is stdlib,
            "from": from_import is stdlib,
            "sys_modules": sys.modules["procstart.{name}"] is stdlib,
            "spec": stdlib.__spec__.name,
            "name": stdlib.__name__,
        }}))
        """
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {
        "attr": True,
        "import": True,
        "from": True,
        "sys_modules": True,
        "spec": f"multiprocessing.{name}",
        "name": f"multiprocessing.{name}",
    }


def test_windows_only_submodule_fails_as_it_does_under_multiprocessing() -> None:
    if sys.platform == "win32":
        pytest.skip("imports on Windows")
    result = run_python(
        """
        for mod in ("multiprocessing", "procstart"):
            try:
                __import__(mod + ".popen_spawn_win32")
            except ImportError as exc:
                print(type(exc).__name__, exc.name)
        """
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 2 and lines[0] == lines[1], lines


def test_package_submodules_are_not_loaded_twice() -> None:
    import multiprocessing.dummy.connection

    import procstart.dummy.connection

    assert procstart.dummy.connection is multiprocessing.dummy.connection
    assert procstart.dummy is multiprocessing.dummy


def test_issue_imports_and_objects_are_the_stdlibs() -> None:
    import multiprocessing.managers
    import multiprocessing.shared_memory
    import pickle

    from procstart.managers import SharedMemoryManager

    import procstart as mp
    from procstart import shared_memory

    assert SharedMemoryManager is multiprocessing.managers.SharedMemoryManager
    assert shared_memory.SharedMemory is multiprocessing.shared_memory.SharedMemory
    assert mp.reducer is multiprocessing.reducer
    assert (mp.SUBDEBUG, mp.SUBWARNING) == (multiprocessing.SUBDEBUG, multiprocessing.SUBWARNING)
    for name in multiprocessing.__all__:
        assert hasattr(mp, name), name
    # pickled by reference under the stdlib's name, whichever module was used
    data = pickle.dumps(mp.shared_memory.ShareableList)
    assert b"multiprocessing.shared_memory" in data
    assert pickle.loads(data) is multiprocessing.shared_memory.ShareableList


def test_shared_memory_through_procstart_in_a_child(
    tmp_path: object,
) -> None:
    # code written for multiprocessing, with only the import line changed
    result = run_python(
        """
        import procstart as mp
        from procstart import shared_memory
        from procstart.managers import SharedMemoryManager

        def fill(name):
            shm = shared_memory.SharedMemory(name=name)
            shm.buf[:3] = b"abc"
            shm.close()

        if __name__ == "__main__":
            for method in ("spawn", "forkserver", "fork"):
                with SharedMemoryManager(ctx=mp.get_context(method)) as smm:
                    shm = smm.SharedMemory(8)
                    p = mp.get_context(method).Process(target=fill, args=(shm.name,))
                    p.start(); p.join(60)
                    print(method, p.exitcode, bytes(shm.buf[:3]).decode())
        """,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["spawn 0 abc", "forkserver 0 abc", "fork 0 abc"]


def test_import_module_resolves_relative_names_and_names_a_missing_package() -> None:
    # the core's lazy imports go through it instead of importlib.import_module
    import procstart.plugin

    assert import_module(".plugin", "procstart") is procstart.plugin
    assert import_module("..plugin", "procstart._submodules") is procstart.plugin
    with pytest.raises(TypeError, match=r"the relative module name '\.plugin' needs a package"):
        import_module(".plugin")
