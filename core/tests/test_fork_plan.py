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
