"""pluggy's plugin manager is made only when something needs it.

On a warm entry-point cache the launch plan and each provider's
``procstart_start_methods`` come from the cache (as pluggy computed them at
a full load), so a program that starts one fork child imports neither
pluggy nor ``inspect`` nor ``dataclasses``. Real interpreters, real entry
points, a real cache folder; files are dated in the past (``os.utime``) so
that the cache is not "too fresh to trust".
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from tests.conftest import last_json_line, run_script
from tests.fake_dists import PAST, age, install

import procstart
from procstart._hookspecs import IMPL_ATTRIBUTE, SPEC_ATTRIBUTE

#: the examples wrap every launch (a wrapper runs through pluggy)
NO_LAUNCH_WRAPPERS = "procstart-launchlog,procstart-limits"
HEAVY = ("pluggy", "inspect", "dataclasses", "typing")

ONE_CHILD = """
import json, sys
import procstart as mp

HEAVY = HEAVY_NAMES

def f():
    pass

if __name__ == "__main__":
    p = mp.get_context(sys.argv[1]).Process(target=f)
    p.start(); p.join()
    report = {"exitcode": p.exitcode, "scanned": "importlib.metadata" in sys.modules,
              "heavy": sorted(m for m in HEAVY if m in sys.modules)}
    if len(sys.argv) > 2:
        report["all"] = mp.get_all_start_methods()
        report["heavy_after"] = sorted(m for m in HEAVY if m in sys.modules)
    print(json.dumps(report))
""".replace("HEAVY_NAMES", repr(HEAVY))


def _run(tmp_path: Path, site: Path, code: str, *args: str, **env: str) -> dict:
    app = tmp_path / "app"
    if not app.exists():
        app.mkdir()
        age(app)
    (app / "main.py").write_text(code)
    # run as `python main.py` (runpy would import pkgutil, and with it typing)
    result = run_script(
        "main.py",
        *args,
        cwd=app,
        env={
            "PYTHONPATH": str(site),
            "PROCSTART_CACHE_DIR": str(tmp_path / "cache"),
            "PROCSTART_DISABLE_PLUGINS": NO_LAUNCH_WRAPPERS,
            **env,
        },
    )
    return last_json_line(result)


@pytest.fixture
def site(tmp_path: Path) -> Path:
    folder = tmp_path / "site"
    folder.mkdir()
    age(folder)
    return folder


def test_one_fork_child_on_a_warm_cache_imports_no_pluggy_inspect_or_dataclasses(
    tmp_path: Path, site: Path
) -> None:
    cold = _run(tmp_path, site, ONE_CHILD, "fork")  # a full load: the cache learns the plan
    assert cold["exitcode"] == 0
    assert "pluggy" in cold["heavy"]
    warm = _run(tmp_path, site, ONE_CHILD, "fork", "all")
    assert warm["exitcode"] == 0
    assert warm["scanned"] is False
    assert warm["heavy"] == []
    # a call that needs every plugin still works, and loads pluggy
    assert "fork" in warm["all"] and "spawn" in warm["all"]
    assert "pluggy" in warm["heavy_after"]


def test_without_the_cache_everything_loads_through_pluggy_as_before(
    tmp_path: Path, site: Path
) -> None:
    for _ in range(2):
        run = _run(tmp_path, site, ONE_CHILD, "fork", PROCSTART_ENTRY_POINT_CACHE="0")
        assert run["exitcode"] == 0
        assert run["scanned"] is True
        assert "pluggy" in run["heavy"]


def test_a_launch_wrapper_runs_through_pluggy_on_a_warm_cache(tmp_path: Path, site: Path) -> None:
    """The examples' wrappers wrap every launch: a fork launch then needs pluggy."""
    everything = {"PROCSTART_DISABLE_PLUGINS": ""}
    _run(tmp_path, site, ONE_CHILD, "fork", **everything)
    warm = _run(tmp_path, site, ONE_CHILD, "fork", **everything)
    assert warm["exitcode"] == 0
    assert warm["scanned"] is False
    assert "pluggy" in warm["heavy"]


PLUGGY_MARKED = """
import pluggy
import procstart
from procstart_fork import ForkPopen

hookimpl = pluggy.HookimplMarker("procstart")

@hookimpl
def procstart_start_methods():
    yield procstart.StartMethod(name="delta", launcher=lambda r: ForkPopen(r.process, r))

@hookimpl(tryfirst=True)
def procstart_child_setup(info):
    import os
    os.environ["DELTA_SETUP"] = "ran"
"""

CHILD_SEES_SETUP = """
import json, os, sys
import procstart

def f(queue):
    queue.put(os.environ.get("DELTA_SETUP"))

if __name__ == "__main__":
    ctx = procstart.get_context(sys.argv[1])
    queue = ctx.SimpleQueue()
    p = ctx.Process(target=f, args=(queue,))
    p.start(); seen = queue.get(); p.join()
    print(json.dumps({"exitcode": p.exitcode, "seen": seen,
                      "method": ctx.method.distribution,
                      "scanned": "importlib.metadata" in sys.modules}))
"""


def test_a_plugin_marked_with_pluggys_own_marker_keeps_working(tmp_path: Path, site: Path) -> None:
    install(site, "delta-plugin", PLUGGY_MARKED, "delta")
    for method in ("delta", "fork"):
        cold = _run(tmp_path, site, CHILD_SEES_SETUP, method, PROCSTART_ENTRY_POINT_CACHE="0")
        warm_once = _run(tmp_path, site, CHILD_SEES_SETUP, method)
        warm = _run(tmp_path, site, CHILD_SEES_SETUP, method)
        assert warm["scanned"] is False
        for run in (cold, warm_once, warm):
            assert run["exitcode"] == 0
            assert run["seen"] == "ran"  # its child setup ran in the child
        if method == "delta":
            assert warm["method"] == "delta-plugin"


RUNTIME_WRAPPER = """
import json
import procstart

calls = []

class Counting:
    @procstart.hookimpl(wrapper=True)
    def procstart_launch(self, request):
        calls.append(request.method.name)
        return (yield)

def f():
    pass

if __name__ == "__main__":
    ctx = procstart.get_context("fork")
    first = ctx.Process(target=f); first.start(); first.join()
    procstart.register_plugin(Counting(), name="counting")
    second = ctx.Process(target=f); second.start(); second.join()
    print(json.dumps({"codes": [first.exitcode, second.exitcode], "calls": calls}))
"""


def test_a_plugin_registered_at_run_time_wraps_the_next_launch(tmp_path: Path, site: Path) -> None:
    _run(tmp_path, site, ONE_CHILD, "fork")
    warm = _run(tmp_path, site, RUNTIME_WRAPPER)
    assert warm == {"codes": [0, 0], "calls": ["fork"]}


def test_an_unknown_method_on_a_warm_cache_names_the_installed_ones(
    tmp_path: Path, site: Path
) -> None:
    code = "import json, procstart\ntry:\n    procstart.get_context('forrk')\n"
    code += "except ValueError as e:\n    print(json.dumps({'error': str(e)}))\n"
    _run(tmp_path, site, ONE_CHILD, "fork")
    cached = _run(tmp_path, site, code)
    uncached = _run(tmp_path, site, code, PROCSTART_ENTRY_POINT_CACHE="0")
    assert cached["error"] == uncached["error"]
    assert "did you mean 'fork'" in cached["error"]


def test_the_light_markers_record_pluggys_options_on_the_function() -> None:
    @procstart.hookimpl
    def bare() -> None: ...

    @procstart.hookimpl(tryfirst=True, specname="procstart_child_setup")
    def ordered() -> None: ...

    @procstart.hookspec(firstresult=True)
    def spec() -> None: ...

    assert getattr(bare, IMPL_ATTRIBUTE)["tryfirst"] is False
    assert getattr(ordered, IMPL_ATTRIBUTE)["tryfirst"] is True
    assert getattr(ordered, IMPL_ATTRIBUTE)["specname"] == "procstart_child_setup"
    assert getattr(spec, SPEC_ATTRIBUTE)["firstresult"] is True


def test_a_light_marker_refuses_an_unknown_option() -> None:
    with pytest.raises(TypeError, match=r"procstart.hookimpl\(\) got an unexpected keyword "):
        procstart.hookimpl(try_first=True)


HANDLES = """
import procstart

calls = []

@procstart.hookimpl
def procstart_inherited_handles(request):
    calls.append(request.method.name)
    return ()
"""

HANDLES_WRAPPED = (
    HANDLES
    + """

@procstart.hookimpl(wrapper=True, specname="procstart_inherited_handles")
def around(request):
    calls.append("wrapper")
    return (yield)
"""
)

REPORT_HANDLE_CALLS = ONE_CHILD.replace(
    "    print(json.dumps(report))",
    "    import handles_plugin\n"
    "    report['calls'] = handles_plugin.calls\n"
    "    print(json.dumps(report))",
)


def test_a_per_launch_hook_is_called_without_pluggy_until_a_wrapper_is_added(
    tmp_path: Path, site: Path
) -> None:
    install(site, "handles-plugin", HANDLES, "handles")
    _run(tmp_path, site, REPORT_HANDLE_CALLS, "fork")
    warm = _run(tmp_path, site, REPORT_HANDLE_CALLS, "fork")
    assert warm["exitcode"] == 0
    assert warm["heavy"] == []
    assert warm["calls"] == ["fork"]  # called directly, as pluggy would have
    # edited in place to wrap its own hook: the cache is stale, the wrapper runs through pluggy
    (site / "handles_plugin.py").write_text(HANDLES_WRAPPED)
    os.utime(site / "handles_plugin.py", (PAST + 60, PAST + 60))  # another time, old enough
    for _ in range(2):  # a full load, then what it cached: pluggy calls the wrapped hook
        edited = _run(tmp_path, site, REPORT_HANDLE_CALLS, "fork")
        assert edited["exitcode"] == 0
        assert edited["calls"] == ["wrapper", "fork"]
        assert "pluggy" in edited["heavy"]
