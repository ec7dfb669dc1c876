"""``procstart methods`` shows the server's state."""

from __future__ import annotations

from fs_helpers import run_parent


def test_methods_shows_forkserver_state() -> None:
    done = run_parent("import sys; from procstart.cli import main; sys.exit(main(['methods']))")
    assert done.returncode == 0, done.stderr
    line = next(line for line in done.stdout.splitlines() if " forkserver " in f" {line} ")
    assert "server=not started" in line
    assert "preload=__main__" in line


def test_info_of_a_running_server() -> None:
    code = """
        import procstart, fs_targets as t
        from procstart.cli.methods import collect
        p = procstart.get_context("forkserver").Process(target=t.noop); p.start(); p.join(60)
        import procstart_forkserver
        info = next(m["info"] for m in collect()["methods"] if m["name"] == "forkserver")
        same = info["pid"] == procstart_forkserver.server_info()["pid"]
        print(info["server"], same, info["preloaded"])
    """
    done = run_parent(code)
    assert done.returncode == 0, done.stderr
    # python -c: there is no main module to preload
    assert done.stdout.split() == ["running", "True", "-"]


def test_hooks_are_registered_and_the_server_imports_no_pluggy() -> None:
    code = """
        import sys
        from procstart import _manager
        pm = _manager.plugins().pm
        names = {
            hook: [impl.plugin_name for impl in getattr(pm.hook, hook).get_hookimpls()]
            for hook in ("procstart_start_methods", "procstart_status")
        }
        print(all("forkserver" in found for found in names.values()))
    """
    done = run_parent(code)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["True"]
    lean = run_parent(
        "import sys; import procstart_forkserver._server; "
        "print(sorted(m for m in ('pluggy', 'dataclasses', 'typing') if m in sys.modules))"
    )
    assert lean.stdout.split() == ["[]"], lean.stderr
