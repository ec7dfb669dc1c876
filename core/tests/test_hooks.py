"""Hooks run through pluggy, in pluggy's order; what cannot run is reported.

Each test runs its own parent (``run_python``): plugins registered there do
not leak into other tests.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
from tests.conftest import run_python

METHODS = ["fork", "spawn", "forkserver"]

#: three child-setup plugins, each a module a child imports by name
SETUP_MODULES = {
    "order_first": "@procstart.hookimpl(tryfirst=True)",
    "order_plain": "@procstart.hookimpl",
    "order_last": "@procstart.hookimpl(trylast=True)",
}


def _write_setup_modules(folder: Path) -> None:
    for name, marker in SETUP_MODULES.items():
        (folder / f"{name}.py").write_text(
            textwrap.dedent(
                f"""
                import os
                import procstart

                {marker}
                def procstart_child_setup(info):
                    os.environ["ORDER"] = os.environ.get("ORDER", "") + "{name},"
                """
            )
        )


@pytest.mark.parametrize("method", METHODS)
def test_child_setup_runs_in_pluggys_order(tmp_path: Path, method: str) -> None:
    _write_setup_modules(tmp_path)
    result = run_python(
        f"""
        import os, sys
        sys.path.insert(0, {str(tmp_path)!r})
        import procstart
        from procstart import _manager
        import order_first, order_plain, order_last

        def report(queue):
            queue.put(os.environ.get("ORDER", ""))

        if __name__ == "__main__":
            # registered first, in the middle, last: pluggy's order is tryfirst,
            # plain, trylast whatever the registration order
            for module in (order_first, order_plain, order_last):
                procstart.register_plugin(module)
            pm = _manager.plugins().pm
            mine = (order_first, order_plain, order_last)
            others = [p for p in pm.get_plugins() if p not in mine]
            # the same hook in the parent, called by pluggy
            pm.subset_hook_caller("procstart_child_setup", others)(info=None)
            in_parent = os.environ.pop("ORDER")
            ctx = procstart.get_context({method!r})
            queue = ctx.Queue()
            p = ctx.Process(target=report, args=(queue,))
            p.start()
            print(in_parent)
            print(queue.get(timeout=60))
            p.join(60)
        """,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    in_parent, in_child = result.stdout.split()
    assert in_parent == "order_first,order_plain,order_last,"
    assert in_child == in_parent


def test_child_setup_wrapper_is_refused_naming_the_plugin() -> None:
    result = run_python(
        """
        import procstart
        class Wrapping:
            @procstart.hookimpl(wrapper=True)
            def procstart_child_setup(self, info):
                return (yield)
        try:
            procstart.register_plugin(Wrapping(), name="wrapping-setup")
        except ValueError as exc:
            print(exc)
        """
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("cannot register plugin 'wrapping-setup':")
    assert "plugin 'wrapping-setup': procstart_child_setup cannot be a hook wrapper" in (
        result.stdout
    )


def test_hook_marked_under_another_name_is_reported() -> None:
    result = run_python(
        """
        import procstart
        import types
        plugin = types.ModuleType("renamed")
        def setup(info):
            pass
        plugin.setup_child = procstart.hookimpl(setup)
        try:
            procstart.register_plugin(plugin, name="renamed")
        except ValueError as exc:
            print(exc)
        """
    )
    assert result.returncode == 0, result.stderr
    assert "unknown hook 'setup_child'" in result.stdout
    assert "'setup_child' is marked procstart.hookimpl" in result.stdout


ALIASED_SETUP = """
import os

def apply_setup(info):
    os.environ["ALIASED"] = info.method
"""

ALIASED_PLUGIN = """
import procstart
from aliased_impl import apply_setup

# the hook defined elsewhere under another name, registered under the hook's
procstart_child_setup = procstart.hookimpl(apply_setup)
"""

UNPICKLABLE_PLUGIN = """
import threading
import procstart

class Holder:
    def __init__(self):
        self.lock = threading.Lock()

    @procstart.hookimpl
    def procstart_child_setup(self, info):
        pass

PLUGIN = Holder()
"""


def _dist(site: Path, dist: str, module: str, source: str, attr: str = "") -> None:
    (site / f"{module}.py").write_text(source)
    info = site / f"{dist}-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 1.0\n")
    value = f"{module}:{attr}" if attr else module
    (info / "entry_points.txt").write_text(f"[procstart]\n{module} = {value}\n")


@pytest.mark.parametrize("method", METHODS)
def test_hook_imported_under_another_name_runs_in_the_child(tmp_path: Path, method: str) -> None:
    (tmp_path / "aliased_impl.py").write_text(ALIASED_SETUP)
    _dist(tmp_path, "aliased", "aliased_plugin", ALIASED_PLUGIN)
    result = run_python(
        f"""
        import os
        import procstart

        def report(queue):
            queue.put(os.environ.get("ALIASED"))

        if __name__ == "__main__":
            ctx = procstart.get_context({method!r})
            queue = ctx.Queue()
            p = ctx.Process(target=report, args=(queue,))
            p.start()
            print(queue.get(timeout=60))
            p.join(60)
        """,
        env={"PYTHONPATH": str(tmp_path)},
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [method]


def test_child_setup_a_child_cannot_get_is_reported_by_procstart_methods(tmp_path: Path) -> None:
    _dist(tmp_path, "unpicklable", "unpicklable_plugin", UNPICKLABLE_PLUGIN, "PLUGIN")
    result = run_python(
        "import sys; from procstart.cli import main; sys.exit(main(['methods', '--json']))",
        env={"PYTHONPATH": str(tmp_path)},
    )
    assert result.returncode == 0, result.stderr
    broken = {b["distribution"]: b["error"] for b in json.loads(result.stdout)["broken"]}
    error = broken["unpicklable"]
    assert "plugin 'unpicklable_plugin': a child runs its procstart_child_setup" in error
    assert "cannot be pickled" in error


@pytest.mark.parametrize("method", ["spawn", "forkserver"])
def test_launch_wrapper_sees_the_serialization_error(method: str) -> None:
    result = run_python(
        f"""
        import threading
        import procstart

        seen = []

        class Observer:
            @procstart.hookimpl(wrapper=True)
            def procstart_launch(self, request):
                try:
                    return (yield)
                except BaseException as exc:
                    seen.append(type(exc).__name__)
                    raise

        if __name__ == "__main__":
            procstart.register_plugin(Observer())
            p = procstart.get_context({method!r}).Process(target=print, args=(threading.Lock(),))
            try:
                p.start()
            except procstart.SerializationError as exc:
                print("raised", type(exc).__name__)
            print("seen", *seen)
        """
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["raised SerializationError", "seen SerializationError"]


METHOD_SETUP = """
import os
import sys

def procstart_child_setup(info):
    os.environ["METHOD_SETUP"] = info.method
"""


def test_method_child_setup_is_imported_only_in_that_methods_children(tmp_path: Path) -> None:
    (tmp_path / "method_setup.py").write_text(METHOD_SETUP)
    result = run_python(
        f"""
        import os, sys
        sys.path.insert(0, {str(tmp_path)!r})
        import procstart

        class WithSetup:
            @procstart.hookimpl
            def procstart_start_methods(self):
                spawn = procstart.get_context("spawn").method
                yield procstart.StartMethod(
                    name="spawn-with-setup", launcher=spawn.launcher,
                    child_setup=("method_setup",))

        def report(queue):
            queue.put((os.environ.get("METHOD_SETUP"), "method_setup" in sys.modules))

        if __name__ == "__main__":
            procstart.register_plugin(WithSetup())
            for name in ("spawn-with-setup", "spawn", "fork", "forkserver"):
                ctx = procstart.get_context(name)
                queue = ctx.Queue()
                p = ctx.Process(target=report, args=(queue,))
                p.start()
                print(name, *queue.get(timeout=60))
                p.join(60)
        """,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "spawn-with-setup spawn-with-setup True",
        "spawn None False",
        "fork None False",
        "forkserver None False",
    ]


def test_child_setup_must_be_strings() -> None:
    import procstart

    with pytest.raises(TypeError, match="child_setup must be a tuple of 'module'"):
        procstart.StartMethod(name="x", launcher=print, child_setup="mod")  # type: ignore[arg-type]


def test_child_setup_a_child_cannot_import_is_refused() -> None:
    result = run_python(
        """
        import types
        import procstart
        ghost = types.ModuleType("ghost")  # in no file, not in sys.modules
        ghost.procstart_child_setup = procstart.hookimpl(lambda info: None)
        try:
            procstart.register_plugin(ghost, name="ghost")
        except ValueError as exc:
            print(exc)
        """
    )
    assert result.returncode == 0, result.stderr
    assert "plugin 'ghost': its procstart_child_setup (<lambda>) cannot be found again" in (
        result.stdout
    )


def test_method_state_comes_from_its_plugins_procstart_status() -> None:
    result = run_python(
        """
        import json
        import procstart
        from procstart.cli.methods import collect

        def launch(request):
            raise RuntimeError("never started here")

        class WithStatus:
            @procstart.hookimpl
            def procstart_start_methods(self):
                yield procstart.StartMethod(name="stated", launcher=launch)

            @procstart.hookimpl
            def procstart_status(self):
                return {"answer": 42}

        class OlderPlugin:  # the deprecated spelling still shows
            @procstart.hookimpl
            def procstart_start_methods(self):
                yield procstart.StartMethod(name="older", launcher=launch,
                                            info=lambda: {"legacy": True})

        procstart.register_plugin(WithStatus(), name="with-status")
        procstart.register_plugin(OlderPlugin(), name="older-plugin")
        shown = {m["name"]: m["info"] for m in collect()["methods"]}
        print(json.dumps([shown["stated"], shown["older"]]))
        """
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == [{"answer": 42}, {"legacy": True}]


def test_config_key_declared_twice_is_an_error_naming_both() -> None:
    result = run_python(
        """
        import procstart
        from procstart import config

        class First:
            @procstart.hookimpl
            def procstart_config_keys(self):
                yield procstart.ConfigKey(name="dup-key", type=int)

        class Second:
            @procstart.hookimpl
            def procstart_config_keys(self):
                yield procstart.ConfigKey(name="dup-key", type=str)

        procstart.register_plugin(First(), name="first")
        procstart.register_plugin(Second(), name="second")
        config.declared_keys()
        """
    )
    assert result.returncode == 1
    assert (
        result.stderr.strip()
        .splitlines()[-1]
        .startswith(
            "procstart.errors.PluginConflictError: [tool.procstart] key 'dup-key' is declared twice"
        )
    )


def test_unregistering_a_plugin_removes_its_methods_and_it_can_come_back() -> None:
    result = run_python(
        """
        import procstart
        from procstart import _manager

        class Mine:
            @procstart.hookimpl
            def procstart_start_methods(self):
                yield procstart.StartMethod(name="comeback", launcher=print)

        mine = Mine()
        registry = _manager.plugins()
        procstart.register_plugin(mine, name="mine")
        procstart.unregister_plugin(mine)
        print("comeback" in registry.methods)
        procstart.register_plugin(mine, name="mine")
        print("comeback" in registry.methods, sorted(registry.conflicts))
        """
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "True", "[]"]


DECLARING = """
import procstart

class Specs:
    @procstart.hookspec
    def procstart_colour(self):
        "Yield colour names (a hook only this plugin calls)."

procstart_hookspecs = Specs

def colours():
    import procstart.plugin
    return sorted(c for batch in procstart.plugin.hook().procstart_colour() for c in batch)
"""

IMPLEMENTING = """
import procstart

@procstart.hookimpl
def procstart_colour():
    yield "teal"
"""


def test_a_plugin_declares_its_own_hook_and_others_implement_it(tmp_path: Path) -> None:
    (tmp_path / "colour_specs.py").write_text(DECLARING)
    # the implementing plugin's name sorts first: it may load before the hook exists
    _dist(tmp_path, "aaa-teal", "aaa_teal", IMPLEMENTING)
    _dist(tmp_path, "colour-specs", "colour_specs", DECLARING)
    result = run_python(
        """
        import colour_specs
        from procstart import _manager
        registry = _manager.plugins()
        print(colour_specs.colours(), [b.name for b in registry.broken])
        """,
        env={"PYTHONPATH": str(tmp_path)},
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "['teal'] []"


def test_an_undeclared_hook_still_names_the_declared_ones(tmp_path: Path) -> None:
    _dist(tmp_path, "aaa-teal", "aaa_teal", IMPLEMENTING)
    result = run_python(
        "from procstart import _manager; print(_manager.plugins().broken[0].error)",
        env={"PYTHONPATH": str(tmp_path)},
    )
    assert result.returncode == 0, result.stderr
    assert "unknown hook 'procstart_colour'" in result.stdout
    assert "procstart_start_methods" in result.stdout


OPTIONAL = """
import procstart

@procstart.hookimpl(optionalhook=True)
def procstart_colour():
    yield "teal"
"""


def test_an_optionalhook_implementation_loads_where_nobody_declares_the_hook(
    tmp_path: Path,
) -> None:
    """pluggy's optionalhook: a plugin implementing another plugin's hook (the
    tracker's procstart_resource_types) loads where that plugin is not installed."""
    _dist(tmp_path, "aaa-teal", "aaa_teal", OPTIONAL)
    result = run_python(
        """
        from procstart import _manager
        registry = _manager.plugins()
        print("aaa_teal" in registry.refs, [b.error for b in registry.broken])
        """,
        env={"PYTHONPATH": str(tmp_path)},
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "True []"
