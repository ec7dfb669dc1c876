"""The cached entry-point scan: used while true, rescanned whenever it may not be.

Real ``.dist-info`` folders on ``PYTHONPATH``, real interpreters, a real cache
folder (``PROCSTART_CACHE_DIR``). Folders and files are dated in the past
(``os.utime``) so that the cache is not "too fresh to trust".
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from tests.conftest import run_python, run_script

PLUGIN = """
import procstart
from procstart_fork import ForkPopen

@procstart.hookimpl
def procstart_start_methods():
    yield procstart.StartMethod(name={name!r}, launcher=lambda r: ForkPopen(r.process, r))
"""

REPORT = """
import json, sys, procstart
from procstart import _manager
registry = _manager.plugins()
print(json.dumps({
    "methods": sorted(registry.methods),
    "origins": {m.name: [m.distribution, m.version] for m in registry.methods.values()},
    "scanned": "importlib.metadata" in sys.modules,
}))
"""


#: one fixed date in the past (a path dated twice must keep the same mtime)
PAST = int(time.time()) - 3600


def _age(*paths: Path) -> None:
    past = PAST
    for path in paths:
        os.utime(path, (past, past))


def _install(site: Path, dist: str, ep_name: str) -> Path:
    module = dist.replace("-", "_")
    (site / f"{module}.py").write_text(PLUGIN.format(name=ep_name))
    info = site / f"{module}-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(f"[procstart]\n{ep_name} = {module}\n")
    # importing the plugin writes its bytecode there: the folder exists first
    (site / "__pycache__").mkdir(exist_ok=True)
    _age(info / "entry_points.txt", info, site)
    return info


def _report(tmp_path: Path, site: Path, **env: str) -> dict:
    cwd = tmp_path / "cwd"
    if not cwd.exists():
        cwd.mkdir()
        _age(cwd)
    result = run_python(
        REPORT,
        cwd=cwd,
        env={"PYTHONPATH": str(site), "PROCSTART_CACHE_DIR": str(tmp_path / "cache"), **env},
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def _site(tmp_path: Path) -> Path:
    site = tmp_path / "site"
    site.mkdir()
    return site


def test_second_run_uses_the_cache_and_finds_the_same(tmp_path: Path) -> None:
    site = _site(tmp_path)
    _install(site, "cached-plugin", "cachedm")
    first = _report(tmp_path, site)
    assert first["scanned"] is True
    assert list((tmp_path / "cache").glob("entry-points-*.txt"))
    second = _report(tmp_path, site)
    assert second["scanned"] is False  # importlib.metadata never imported
    assert second["methods"] == first["methods"]
    assert "cachedm" in second["methods"] and "fork" in second["methods"]
    assert second["origins"]["cachedm"] == ["cached-plugin", "1.0"]


def test_a_new_distribution_is_seen(tmp_path: Path) -> None:
    site = _site(tmp_path)
    _install(site, "first-plugin", "firstm")
    _report(tmp_path, site)
    assert _report(tmp_path, site)["scanned"] is False
    _install(site, "second-plugin", "secondm")
    os.utime(site)  # the folder changed now (as installing changes it)
    after = _report(tmp_path, site)
    assert after["scanned"] is True
    assert {"firstm", "secondm"} <= set(after["methods"])


def test_entry_points_edited_in_place_are_seen(tmp_path: Path) -> None:
    site = _site(tmp_path)
    info = _install(site, "edited-plugin", "beforem")
    _report(tmp_path, site)
    assert "beforem" in _report(tmp_path, site)["methods"]
    (info / "entry_points.txt").write_text("[procstart]\nafterm = edited_plugin\n")
    (site / "edited_plugin.py").write_text(PLUGIN.format(name="afterm"))
    after = _report(tmp_path, site)
    assert after["scanned"] is True
    assert "afterm" in after["methods"] and "beforem" not in after["methods"]


def test_a_corrupt_or_truncated_cache_is_rescanned_and_rewritten(tmp_path: Path) -> None:
    site = _site(tmp_path)
    _install(site, "sturdy-plugin", "sturdym")
    _report(tmp_path, site)
    (cache,) = (tmp_path / "cache").glob("entry-points-*.txt")
    whole = cache.read_text()
    for broken in (whole[: len(whole) // 2], "garbage\x00\n", "", whole.replace("\t", " ")):
        cache.write_text(broken)
        again = _report(tmp_path, site)
        assert again["scanned"] is True
        assert "sturdym" in again["methods"]
        assert cache.read_text() == whole


def test_a_fresh_installation_is_not_cached(tmp_path: Path) -> None:
    site = _site(tmp_path)
    _install(site, "fresh-plugin", "freshm")
    os.utime(site)  # changed just now: a change within the same clock tick could follow
    assert _report(tmp_path, site)["scanned"] is True
    assert not list((tmp_path / "cache").glob("entry-points-*.txt"))


def test_the_cache_can_be_turned_off(tmp_path: Path) -> None:
    site = _site(tmp_path)
    _install(site, "off-plugin", "offm")
    for _ in range(2):
        report = _report(tmp_path, site, PROCSTART_ENTRY_POINT_CACHE="0")
        assert report["scanned"] is True and "offm" in report["methods"]
    assert not (tmp_path / "cache").exists()


def test_an_unwritable_cache_folder_changes_nothing(tmp_path: Path) -> None:
    site = _site(tmp_path)
    _install(site, "ro-plugin", "rom")
    (tmp_path / "cache").write_text("a file, not a folder")
    report = _report(tmp_path, site)
    assert "rom" in report["methods"]


# -- the script's folder -------------------------------------------------------

WRITES_NEXT_TO_ITSELF = """
import json, os, sys, time
import procstart
from procstart import _manager
registry = _manager.plugins()
here = os.path.dirname(os.path.abspath(__file__))
with open(os.path.join(here, f"output-{time.time_ns()}.txt"), "w") as out:
    out.write("a program's output, next to it")
print(json.dumps({
    "methods": sorted(registry.methods),
    "scanned": "importlib.metadata" in sys.modules,
}))
"""


def _run_script(script: Path, site: Path, tmp_path: Path) -> dict:
    """``python main.py``: its folder is ``sys.path[0]``."""
    result = run_script(
        script,
        cwd=tmp_path,
        env={"PYTHONPATH": str(site), "PROCSTART_CACHE_DIR": str(tmp_path / "cache")},
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def _script(folder: Path, code: str) -> Path:
    folder.mkdir(exist_ok=True)
    script = folder / "main.py"
    script.write_text(code)
    _age(script, folder)
    return script


def test_a_program_that_writes_next_to_its_script_still_uses_the_cache(tmp_path: Path) -> None:
    site = _site(tmp_path)
    _install(site, "quiet-plugin", "quietm")
    script = _script(tmp_path / "app", WRITES_NEXT_TO_ITSELF)
    first = _run_script(script, site, tmp_path)
    assert first["scanned"] is True
    # every run wrote a file into the script's folder (its mtime is now): not a reason to rescan
    for _ in range(2):
        again = _run_script(script, site, tmp_path)
        assert again["scanned"] is False
        assert again["methods"] == first["methods"]
    # another script's folder (as another program, or -c in another folder) reads the same file
    other = _script(tmp_path / "other", WRITES_NEXT_TO_ITSELF)
    assert _run_script(other, site, tmp_path)["scanned"] is False


def test_a_distribution_in_the_script_folder_is_seen(tmp_path: Path) -> None:
    site = _site(tmp_path)
    _install(site, "site-plugin", "sitem")
    script = _script(tmp_path / "app", WRITES_NEXT_TO_ITSELF)
    assert _run_script(script, site, tmp_path)["scanned"] is True  # the cache is written
    _install(script.parent, "local-plugin", "localm")  # dropped next to the script, dated
    report = _run_script(script, site, tmp_path)
    assert report["scanned"] is True
    assert {"sitem", "localm"} <= set(report["methods"])
    # a folder without one still uses the cache, which never learnt of localm
    other = _script(tmp_path / "other", WRITES_NEXT_TO_ITSELF)
    elsewhere = _run_script(other, site, tmp_path)
    assert elsewhere["scanned"] is False
    assert "sitem" in elsewhere["methods"] and "localm" not in elsewhere["methods"]
