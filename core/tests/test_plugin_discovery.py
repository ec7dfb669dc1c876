"""Entry-point discovery through real ``.dist-info`` folders on sys.path."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
from tests.conftest import run_python

GOOD = """
import procstart
from procstart_fork import ForkPopen

def _launch(request):
    request.env["LAUNCHED_BY"] = "good-plugin"
    return ForkPopen(request.process, request)

@procstart.hookimpl
def procstart_start_methods():
    yield procstart.StartMethod(name="good", launcher=_launch, description="fork, via a plugin")
"""

TWIN = """
import procstart
from procstart_fork import ForkPopen

@procstart.hookimpl
def procstart_start_methods():
    yield procstart.StartMethod(name="twin", launcher=lambda r: ForkPopen(r.process, r))
"""

PLUGINS = {
    # dist name: (module name, source, entry point name)
    "good-plugin": ("good_plugin", GOOD, "good"),
    "broken-plugin": ("broken_plugin", "import nonexistent_dependency_xyz\n", "broken"),
    "twin-a": ("twin_a", TWIN, "twin-a"),
    "twin-b": ("twin_b", TWIN, "twin-b"),
    "badsig-plugin": (
        "badsig_plugin",
        "import procstart\n@procstart.hookimpl\n"
        "def procstart_launch(request, surprise):\n    return None\n",
        "badsig",
    ),
    "notamethod-plugin": (
        "notamethod_plugin",
        "import procstart\n@procstart.hookimpl\n"
        "def procstart_start_methods():\n    return ['not a StartMethod']\n",
        "notamethod",
    ),
    "unknownhook-plugin": (
        "unknownhook_plugin",
        "import procstart\n@procstart.hookimpl\ndef procstart_bogus():\n    pass\n",
        "unknownhook",
    ),
}


def _install(site: Path, dist: str, module: str, source: str, ep_name: str) -> None:
    (site / f"{module}.py").write_text(textwrap.dedent(source))
    info = site / f"{dist.replace('-', '_')}-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(f"[procstart]\n{ep_name} = {module}\n")


@pytest.fixture
def site(tmp_path: Path) -> Path:
    for dist, (module, source, ep_name) in PLUGINS.items():
        _install(tmp_path, dist, module, source, ep_name)
    return tmp_path


def _methods_json(site: Path) -> dict:
    result = run_python(
        "import sys; from procstart.cli import main; sys.exit(main(['methods', '--json']))",
        env={"PYTHONPATH": str(site)},
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_good_plugin_is_listed_with_its_distribution(site: Path) -> None:
    data = _methods_json(site)
    good = {m["name"]: m for m in data["methods"]}["good"]
    assert (good["distribution"], good["version"]) == ("good-plugin", "1.0")
    assert good["available"] is True
    assert "fork" in {m["name"] for m in data["methods"]}


def test_broken_plugins_are_reported_and_skipped(site: Path) -> None:
    broken = {b["distribution"]: b["error"] for b in _methods_json(site)["broken"]}
    assert broken["broken-plugin"] == (
        "ModuleNotFoundError: No module named 'nonexistent_dependency_xyz'"
    )
    assert "surprise" in broken["badsig-plugin"]  # pluggy names the bad argument
    assert broken["notamethod-plugin"] == (
        "TypeError: procstart_start_methods must yield procstart.StartMethod objects, got str"
    )
    assert "unknown hook 'procstart_bogus'" in broken["unknownhook-plugin"]


def test_duplicate_name_is_an_error_naming_both(site: Path) -> None:
    data = _methods_json(site)
    (conflict,) = data["conflicts"]
    assert conflict["name"] == "twin"
    assert sorted(conflict["providers"]) == ["twin-a==1.0", "twin-b==1.0"]
    result = run_python(
        "import procstart; procstart.get_context('twin')", env={"PYTHONPATH": str(site)}
    )
    assert "PluginConflictError: start method 'twin' is provided by more than one distribution" in (
        result.stderr
    )
    assert "twin-a==1.0" in result.stderr and "twin-b==1.0" in result.stderr


def test_choosing_a_broken_plugins_method_says_why(site: Path) -> None:
    result = run_python(
        "import procstart; procstart.get_context('broken')", env={"PYTHONPATH": str(site)}
    )
    assert (
        "ValueError: start method 'broken' is unavailable: its plugin failed to load: "
        "broken-plugin==1.0 (plugin 'broken'): ModuleNotFoundError" in result.stderr
    )


def test_good_plugin_starts_children_and_others_still_work(site: Path) -> None:
    result = run_python(
        """
        import os, procstart
        def show(q):
            q.put((procstart.get_start_method(), os.environ.get("LAUNCHED_BY")))
        if __name__ == "__main__":
            for name in ("good", "fork"):
                ctx = procstart.get_context(name)
                q = ctx.Queue()
                p = ctx.Process(target=show, args=(q,)); p.start()
                print(*q.get(timeout=30)); p.join(30); print("exit", p.exitcode)
        """,
        env={"PYTHONPATH": str(site)},
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["good good-plugin", "exit 0", "fork None", "exit 0"]


def test_unknown_method_lists_installed_and_suggests_distribution(site: Path) -> None:
    result = run_python(
        "import procstart; procstart.get_context('forkservr')", env={"PYTHONPATH": str(site)}
    )
    assert (
        "ValueError: unknown start method 'forkservr'; did you mean 'forkserver'? installed: "
        in result.stderr
    )
    assert "pip install" not in result.stderr  # never a package made up from a typo
    installed = result.stderr.split("installed: ")[1].strip().split(", ")
    assert {"fork", "good"} <= set(installed)
    assert "twin" not in installed


def test_autoload_can_be_disabled_and_plugins_registered_at_run_time(site: Path) -> None:
    result = run_python(
        """
        import procstart, procstart_fork
        print(procstart.get_all_start_methods())
        procstart.register_plugin(procstart_fork)
        print(procstart.get_all_start_methods())
        p = procstart.get_context("fork").Process(target=int); p.start(); p.join(30)
        print(p.exitcode)
        """,
        env={"PYTHONPATH": str(site), "PROCSTART_DISABLE_PLUGIN_AUTOLOAD": "1"},
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["[]", "['fork']", "0"]


def test_register_plugin_rejects_a_bad_signature() -> None:
    result = run_python(
        """
        import procstart
        class Bad:
            @procstart.hookimpl
            def procstart_launch(self, request, nonsense):
                return None
        try:
            procstart.register_plugin(Bad(), name="bad")
        except ValueError as exc:
            print(exc)
        """
    )
    assert result.stdout.startswith("cannot register plugin 'bad': PluginValidationError")
    assert "nonsense" in result.stdout


def test_launch_wrapper_sees_every_launch() -> None:
    result = run_python(
        """
        import procstart
        seen = []
        class Observer:
            @procstart.hookimpl(wrapper=True)
            def procstart_launch(self, request):
                request.env["WRAPPED"] = "yes"
                popen = yield
                seen.append((request.method.name, popen.pid > 0))
                return popen
        def show():
            import os
            raise SystemExit(0 if os.environ.get("WRAPPED") == "yes" else 7)
        if __name__ == "__main__":
            procstart.register_plugin(Observer())
            p = procstart.get_context("fork").Process(target=show); p.start(); p.join(30)
            print(p.exitcode, seen)
        """
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "0 [('fork', True)]"
