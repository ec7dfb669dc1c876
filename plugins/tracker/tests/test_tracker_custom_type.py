"""A resource kind added by another plugin is cleaned with that plugin's function."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.conftest import run_python
from tracker_testlib import DEADLINE, METHODS, method_or_skip, record_timing, run_parent, wait_until

pytestmark = pytest.mark.timeout(90)

PLUGIN = '''
"""A test plugin: "marker" resources are files its own function removes."""
import os

import procstart


@procstart.hookimpl(optionalhook=True)  # procstart-tracker's own hook
def procstart_resource_types():
    yield procstart.ResourceType(kind="marker", cleanup="markerplugin:remove_marker")


def remove_marker(name):
    os.unlink(name)
    # written whole, then renamed: the test never sees an empty file
    with open(name + ".partial", "w") as fh:
        fh.write(str(os.getpid()))
    os.rename(name + ".partial", name + ".cleaned-by-plugin")
'''

PARENT = """
def child(path, queue):
    open(path, "w").close()
    procstart.register_resource("marker", path)
    queue.put(os.getpid())
    time.sleep(60)


if __name__ == "__main__":
    import markerplugin  # next to this script
    import procstart_tracker

    procstart.register_plugin(markerplugin)  # at run time, no entry point
    ctx = procstart.get_context(METHOD)
    here = os.path.dirname(os.path.abspath(__file__))
    mine, theirs = os.path.join(here, "parent.marker"), os.path.join(here, "child.marker")
    open(mine, "w").close()
    assert procstart.register_resource("marker", mine) is True
    queue = ctx.Queue()
    proc = ctx.Process(target=child, args=(theirs, queue))
    proc.start()
    queue.get(timeout=30)
    report({"markers": [mine, theirs], "tracker_pid": procstart_tracker.status()["pid"]})
    die()
"""


@pytest.mark.parametrize("method", METHODS)
def test_plugin_resource_type_is_cleaned_with_its_function(tmp_path: Path, method: str) -> None:
    method_or_skip(method)
    (tmp_path / "markerplugin.py").write_text(PLUGIN)
    parent = run_parent(tmp_path, PARENT, method, "custom", expect_kill=True)
    markers = [Path(m) for m in parent.info["markers"]]
    done = [Path(f"{m}.cleaned-by-plugin") for m in markers]
    took = wait_until(
        # written after it is created: wait for the content, not only the file
        lambda: (
            all(d.exists() and d.read_text() for d in done) and not any(m.exists() for m in markers)
        ),
        DEADLINE,
    )
    assert took is not None, parent.stderr()
    record_timing(f"{method}: parent SIGKILL -> plugin-defined resources cleaned", took)
    assert {d.read_text() for d in done} == {str(parent.tracker_pid())}
    warnings = parent.warnings()
    assert len(warnings) == 1 and "marker" in warnings[0], parent.stderr()


def test_the_tracker_declares_procstart_resource_types_itself() -> None:
    """The core has no procstart_resource_types hook; procstart-tracker adds it."""
    result = run_python(
        """
        import procstart.plugin
        from procstart import _hookspecs
        print(hasattr(_hookspecs.ProcstartSpecs, "procstart_resource_types"),
              procstart.plugin.hook().procstart_resource_types.spec.namespace.__name__)
        """
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "TrackerSpecs"]
