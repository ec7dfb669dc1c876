"""Plugins load by need: a start method asked for by name loads its providers only.

Real ``.dist-info`` folders on ``PYTHONPATH``, real interpreters and a real
cache folder. The first run loads every plugin and stores what each one
implements and provides; later runs load the providers of the method asked
for, the plugins with per-launch hooks, and everything else only when a
call needs every plugin. Files are dated in the past (``os.utime``) so that
the cache is not "too fresh to trust".
"""

from __future__ import annotations

from pathlib import Path

from tests.conftest import last_json_line, run_python
from tests.fake_dists import age, install

PROVIDES = """
import procstart
from procstart_fork import ForkPopen

@procstart.hookimpl
def procstart_start_methods():
    yield procstart.StartMethod(name={name!r}, launcher=lambda r: ForkPopen(r.process, r))
"""

PER_LAUNCH = """
import procstart

@procstart.hookimpl
def procstart_inherited_handles(request):
    return ()
"""

#: starts one child with the method named in argv, then says what was imported
ONE_CHILD = """
import json, sys
import procstart

def work():
    pass

if __name__ == "__main__":
    p = procstart.get_context(sys.argv[1]).Process(target=work)
    p.start(); p.join()
    modules = sorted(m for m in sys.modules if m.endswith("_plugin") or m.startswith("procstart_"))
    report = {"exitcode": p.exitcode, "modules": modules,
              "scanned": "importlib.metadata" in sys.modules}
    if len(sys.argv) > 2:
        report["all"] = procstart.get_all_start_methods()
        report["modules_after"] = sorted(m for m in sys.modules if m.endswith("_plugin"))
    print(json.dumps(report))
"""


def _site(tmp_path: Path) -> Path:
    site = tmp_path / "site"
    site.mkdir()
    install(site, "alpha-plugin", PROVIDES.format(name="alpha"), "alpha")
    install(site, "beta-plugin", PROVIDES.format(name="beta"), "beta")
    install(site, "gamma-plugin", PER_LAUNCH, "gamma")
    return site


def _run(tmp_path: Path, site: Path, code: str, *args: str, **env: str) -> dict:
    app = tmp_path / "app"
    if not app.exists():
        app.mkdir()
        age(app)
    script = app / "main.py"
    script.write_text(code)
    result = run_python(
        f"import runpy, sys; sys.argv = ['main.py', *{list(args)!r}]; "
        "runpy.run_path('main.py', run_name='__main__')",
        cwd=app,
        env={"PYTHONPATH": str(site), "PROCSTART_CACHE_DIR": str(tmp_path / "cache"), **env},
    )
    return last_json_line(result)


def test_a_method_asked_for_by_name_loads_only_its_provider_and_per_launch_plugins(
    tmp_path: Path,
) -> None:
    site = _site(tmp_path)
    first = _run(tmp_path, site, ONE_CHILD, "alpha")  # a full load: learns what each provides
    assert first["exitcode"] == 0
    assert {"alpha_plugin", "beta_plugin", "gamma_plugin"} <= set(first["modules"])
    warm = _run(tmp_path, site, ONE_CHILD, "alpha", "all")
    assert warm["exitcode"] == 0
    assert warm["scanned"] is False
    assert "alpha_plugin" in warm["modules"]
    assert "gamma_plugin" in warm["modules"]  # procstart_inherited_handles: every launch
    assert "beta_plugin" not in warm["modules"]
    # asking for every method loads the rest
    assert {"alpha", "beta"} <= set(warm["all"])
    assert "beta_plugin" in warm["modules_after"]


def test_the_installed_fork_method_loads_no_other_start_method(tmp_path: Path) -> None:
    site = tmp_path / "empty-site"
    site.mkdir()
    age(site)
    _run(tmp_path, site, ONE_CHILD, "fork")
    warm = _run(tmp_path, site, ONE_CHILD, "fork")
    assert warm["exitcode"] == 0
    assert warm["scanned"] is False
    assert "procstart_fork" in warm["modules"]
    # spawn and dask implement no per-launch hook (forkserver wraps every launch)
    for other in ("procstart_spawn", "procstart_dask"):
        assert not any(m == other or m.startswith(other + ".") for m in warm["modules"])


def test_a_plugin_edited_to_implement_a_per_launch_hook_is_loaded(tmp_path: Path) -> None:
    site = _site(tmp_path)
    _run(tmp_path, site, ONE_CHILD, "alpha")
    assert "beta_plugin" not in _run(tmp_path, site, ONE_CHILD, "alpha")["modules"]
    # edited in place (an editable install): its module's time changes, not the metadata's
    (site / "beta_plugin.py").write_text(PROVIDES.format(name="beta") + PER_LAUNCH)
    after = _run(tmp_path, site, ONE_CHILD, "alpha")
    assert "beta_plugin" in after["modules"]


def test_a_conflict_is_reported_as_a_full_load_reports_it(tmp_path: Path) -> None:
    site = _site(tmp_path)
    install(site, "twin-one", PROVIDES.format(name="twin"), "twin-one")
    install(site, "twin-two", PROVIDES.format(name="twin"), "twin-two")
    _run(tmp_path, site, ONE_CHILD, "alpha")  # the cache learns who provides what
    code = "import procstart\ntry:\n    procstart.get_context('twin')\nexcept Exception as e:\n"
    code += "    import json, sys\n    print(json.dumps({'error': str(e), "
    code += "'scanned': 'importlib.metadata' in sys.modules}))\n"
    cached = _run(tmp_path, site, code)
    uncached = _run(tmp_path, site, code, PROCSTART_ENTRY_POINT_CACHE="0")
    assert cached["scanned"] is False and uncached["scanned"] is True
    assert cached["error"] == uncached["error"]
    assert "twin-one==1.0 and twin-two==1.0" in cached["error"]


def test_a_spawn_child_of_a_partly_loaded_parent_knows_every_method(tmp_path: Path) -> None:
    site = _site(tmp_path)
    _run(tmp_path, site, ONE_CHILD, "alpha")
    code = """
import json, sys
import procstart
from procstart import _manager

def report(queue):
    queue.put(sorted(_manager.plugins().methods))

if __name__ == "__main__":
    ctx = procstart.get_context("spawn")
    loaded_before = "beta_plugin" in sys.modules
    queue = ctx.SimpleQueue()
    p = ctx.Process(target=report, args=(queue,))
    p.start()
    methods = queue.get()
    p.join()
    print(json.dumps({"loaded_before": loaded_before, "child": methods, "exitcode": p.exitcode}))
"""
    result = _run(tmp_path, site, code)
    assert result["exitcode"] == 0
    assert result["loaded_before"] is False
    assert {"alpha", "beta", "fork", "spawn"} <= set(result["child"])


def test_plugins_left_out_by_name_are_never_loaded_and_the_cache_still_serves(
    tmp_path: Path,
) -> None:
    site = _site(tmp_path)
    left_out = {"PROCSTART_DISABLE_PLUGINS": "gamma-plugin, beta"}  # a distribution, an entry point
    first = _run(tmp_path, site, ONE_CHILD, "alpha", "all", **left_out)
    assert "gamma_plugin" not in first["modules_after"]
    assert "beta_plugin" not in first["modules_after"]
    assert "beta" not in first["all"] and "alpha" in first["all"]
    again = _run(tmp_path, site, ONE_CHILD, "alpha", **left_out)
    assert again["scanned"] is False
    assert not {"gamma_plugin", "beta_plugin"} & set(again["modules"])
    # the run that left them out learnt less: a run with every plugin still loads by need
    _run(tmp_path, site, ONE_CHILD, "alpha")
    every = _run(tmp_path, site, ONE_CHILD, "alpha")
    assert every["scanned"] is False
    assert "gamma_plugin" in every["modules"] and "beta_plugin" not in every["modules"]


RUNTIME_AND_ORDER = """
import json
import procstart
from procstart import _manager
from procstart_fork import ForkPopen

class Late:
    @procstart.hookimpl
    def procstart_start_methods(self):
        yield procstart.StartMethod(name="late", launcher=lambda r: ForkPopen(r.process, r))

procstart.get_context("alpha")
registry = _manager.plugins()
partial = [str(ref) for ref in registry.child_setup_refs()]
procstart.register_plugin(Late(), name="late")
everything = procstart.get_all_start_methods()  # every plugin loads: the registry is rebuilt
print(json.dumps({
    "partial_refs": partial,
    "refs": [str(ref) for ref in registry.child_setup_refs()],
    "plugins": [name for name, _ in registry.pm.list_name_plugin()],
    "all": everything,
}))
"""


def test_a_rebuilt_registry_is_what_a_full_load_builds(tmp_path: Path) -> None:
    site = _site(tmp_path)
    _run(tmp_path, site, ONE_CHILD, "alpha")
    cached = _run(tmp_path, site, RUNTIME_AND_ORDER)
    uncached = _run(tmp_path, site, RUNTIME_AND_ORDER, PROCSTART_ENTRY_POINT_CACHE="0")
    assert cached == uncached
    assert cached["partial_refs"] == cached["refs"]  # per-launch hooks: the same order
    assert {"alpha", "beta", "late"} <= set(cached["all"])
    assert cached["plugins"][-1] == "late"  # registered at run time: after every entry point
