"""A fork child's plan leaves out what a copy of the parent already has.

``procstart.plugin.fork_inherited`` marks a child-setup hook that has nothing
to do in an ``os.fork()`` copy: procstart's fork neither calls it nor passes
the handles it names. An environment entry the parent's ``os.environ``
already holds is not set again. ``procstart.plugin.after_launch`` callbacks
run in the parent with every new child. Real fork children.
"""

from __future__ import annotations

import json
import sys

import pytest
from tests.conftest import run_python

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="fork")

CODE = """
import json, os, procstart
import procstart_fork
from procstart import plugin
from procstart._request import LaunchRequest
from procstart.forked import ForkedChild

procstart.register_plugin(procstart_fork, name="fork")
r, w = os.pipe()
os.environ["PST_SAME"] = "same"


class Copied:
    @procstart.hookimpl
    def procstart_inherited_handles(self, request):
        request.env["PST_SAME"] = "same"
        request.env["PST_NEW"] = "new"
        yield procstart.InheritedHandle(key="copy.pipe", fd=r)
        yield procstart.InheritedHandle(key="kept", fd=w)

    @procstart.hookimpl
    @plugin.fork_inherited("copy.pipe")
    def procstart_child_setup(self, info):
        os.environ["PST_COPY_SETUP"] = "ran"


class Plain:
    @procstart.hookimpl
    def procstart_child_setup(self, info):
        os.environ["PST_HANDLES"] = ",".join(sorted(info.handles))


def look(queue):
    keys = ("PST_COPY_SETUP", "PST_HANDLES", "PST_NEW", "PST_SAME")
    queue.put({key: os.environ.get(key) for key in keys})


if __name__ == "__main__":
    procstart.register_plugin(Copied())
    procstart.register_plugin(Plain())
    launched = []
    callback = lambda request, popen: launched.append((request.method.name, popen.pid))
    plugin.after_launch(callback)
    plugin.after_launch(callback)  # registered once
    ctx = procstart.get_context("fork")
    queue = ctx.SimpleQueue()
    kid = ctx.Process(target=look, args=(queue,))
    kid.start()
    seen = queue.get()
    kid.join(30)
    from procstart import _manager
    registry = _manager.plugins()
    request = LaunchRequest(process=ctx.Process(), method=ctx.method, context=ctx)
    request.handles = registry.inherited_handles(request)
    request.child_setup = list(registry.launch_plan().child_setup)
    plan = ForkedChild.for_request(request)
    print(json.dumps({
        "child": seen,
        "launched": launched == [("fork", kid.pid)],
        "plan env": plan.env,
        "plan handles": sorted(plan.handles),
        "plan setups": len(plan.child_setup),
    }))
"""


def test_a_fork_copy_skips_what_it_inherits() -> None:
    result = run_python(CODE, env={"PROCSTART_DISABLE_PLUGIN_AUTOLOAD": "1"})
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.splitlines()[-1]) == {
        "child": {
            "PST_COPY_SETUP": None,  # marked: not called in a fork copy
            "PST_HANDLES": "kept",  # the handle only the marked hook reads is left out
            "PST_NEW": "new",
            "PST_SAME": "same",  # inherited, not set again
        },
        "launched": True,
        "plan env": {"PST_NEW": "new"},
        "plan handles": ["kept"],
        "plan setups": 1,
    }


def test_fork_inherited_marks_the_function() -> None:
    from procstart.plugin import fork_inherited

    @fork_inherited("a", "b")
    def setup(info: object) -> None:
        pass

    assert setup.procstart_fork_inherited == frozenset({"a", "b"})  # type: ignore[attr-defined]


SHARED_SETUP = """
import json, os, sys
import procstart
import procstart_fork
from procstart import plugin

procstart.register_plugin(procstart_fork, name="fork")
r, w = os.pipe()


class Inherited:
    # one setup hook a fork copy skips: fork launches share the method's tuple
    @procstart.hookimpl
    @plugin.fork_inherited()
    def procstart_child_setup(self, info):
        os.write(w, b"inherited hook ran\\n")


class Extra:
    # a plugin object as a setup reference (how the core refers to one)
    def procstart_child_setup(self, info):
        os.write(w, b"extra %d\\n" % os.getpid())


class AddsOnce:
    # edits one launch's child_setup: the next launch must not see the edit
    added = False

    @procstart.hookimpl(wrapper=True)
    def procstart_launch(self, request):
        if not AddsOnce.added:
            AddsOnce.added = True
            request.child_setup.append(Extra())
        seen.append(len(request.child_setup))
        return (yield)


seen = []
procstart.register_plugin(Inherited(), name="inherited")
procstart.register_plugin(AddsOnce(), name="adds-once")
ctx = procstart.get_context("fork")
pids = []
for _ in range(3):
    kid = ctx.Process(target=int)
    kid.start()
    kid.join()
    pids.append(kid.pid)
os.close(w)
lines = os.read(r, 4096).decode().split()
print(json.dumps({"seen": seen, "ran": lines, "pids": pids}))
"""


def test_editing_one_launchs_child_setup_leaves_the_next_launchs_alone() -> None:
    # a launch shares its method's setup tuple until something reads
    # request.child_setup; the read makes a list of the request's own
    result = run_python(SHARED_SETUP, env={"PROCSTART_DISABLE_PLUGIN_AUTOLOAD": "1"})
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.splitlines()[-1])
    assert report["seen"] == [2, 1, 1]
    # the first child ran the added hook (by value: not fork_inherited); the
    # fork_inherited one ran in no child; the later children ran nothing
    assert report["ran"] == ["extra", str(report["pids"][0])]


AFTER_A_CHANGE = """
import json, os, sys
import procstart
import procstart_fork
from procstart import plugin

procstart.register_plugin(procstart_fork, name="fork")


class Inherited:
    @procstart.hookimpl
    @plugin.fork_inherited()
    def procstart_child_setup(self, info):
        pass


class Later:
    # no child setup: the recipe is made again with an equal setup tuple
    @procstart.hookimpl
    def procstart_status(self):
        return {}


procstart.register_plugin(Inherited(), name="inherited")
ctx = procstart.get_context("fork")


def launch():
    kid = ctx.Process(target=int)
    kid.start()
    kid.join()
    return kid.exitcode


launch()
procstart.register_plugin(Later(), name="later")
launch()
calls = []
sys.setprofile(lambda frame, event, arg: event == "call" and calls.append(frame.f_code.co_name))
code = launch()
sys.setprofile(None)
print(json.dumps({"exitcode": code, "calls": calls}))
"""


def test_a_fork_launch_after_the_plugins_changed_still_needs_no_plan() -> None:
    # the recipe made again holds an equal setup tuple, not the same one: the
    # launches after it must still see that a fork copy calls nothing
    result = run_python(AFTER_A_CHANGE, env={"PROCSTART_DISABLE_PLUGIN_AUTOLOAD": "1"})
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.splitlines()[-1])
    assert report["exitcode"] == 0
    assert "for_request" in report["calls"]  # the profile saw the launch's plan step
    assert "_skipped_in_copy" not in report["calls"], report["calls"]
