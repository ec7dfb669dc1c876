"""``procstart.plugin.launch_wrapper_for``: launches of other methods skip pluggy's hook call.

A launch wrapper marked for some methods promises to pass every other launch
through untouched; when all installed wrappers are marked, a launch of an
unlisted method calls its launcher directly. An unmarked wrapper still wraps
every launch. Real fork children.
"""

from __future__ import annotations

import json
import sys

import pytest
from tests.conftest import run_python

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="fork")

CODE = """
import json, procstart
import procstart_fork
from procstart import _manager, plugin

procstart.register_plugin(procstart_fork, name="fork")
calls = []


class Marked:
    @procstart.hookimpl(wrapper=True)
    @plugin.launch_wrapper_for("elsewhere")
    def procstart_launch(self, request):
        calls.append(("marked", request.method.name))
        return (yield)


class Unmarked:
    @procstart.hookimpl(wrapper=True)
    def procstart_launch(self, request):
        calls.append(("unmarked", request.method.name))
        return (yield)


procstart.register_plugin(Marked())
ctx = procstart.get_context("fork")
kid = ctx.Process(target=int)
kid.start()
kid.join()
out = {"marked only": (calls[:], sorted(_manager.plugins().launch_plan().wrapped_methods))}
calls.clear()
procstart.register_plugin(Unmarked())
kid = ctx.Process(target=int)
kid.start()
kid.join()
out["with an unmarked one"] = (sorted(calls), _manager.plugins().launch_plan().wrapped_methods)
out["exitcode"] = kid.exitcode
print(json.dumps(out))
"""


def test_marked_wrappers_are_skipped_for_other_methods() -> None:
    result = run_python(CODE, env={"PROCSTART_DISABLE_PLUGIN_AUTOLOAD": "1"})
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.splitlines()[-1]) == {
        "marked only": [[], ["elsewhere"]],
        # pluggy's call again: the unmarked wrapper and the marked one both run
        "with an unmarked one": [[["marked", "fork"], ["unmarked", "fork"]], None],
        "exitcode": 0,
    }


PLUGINS_CHANGE = """
import json, procstart
import procstart_fork

procstart.register_plugin(procstart_fork, name="fork")
seen = []


class Wrapper:
    @procstart.hookimpl(wrapper=True)
    def procstart_launch(self, request):
        seen.append(("launch", request.method.name))
        return (yield)

    @procstart.hookimpl
    def procstart_inherited_handles(self, request):
        seen.append(("handles", request.method.name))
        return ()


def run():
    kid = ctx.Process(target=int)
    kid.start()
    kid.join()
    out = seen[:]
    seen.clear()
    return out


ctx = procstart.get_context("fork")
steps = [run()]
wrapper = Wrapper()
procstart.register_plugin(wrapper)
steps.append(run())
procstart.unregister_plugin(wrapper)
steps.append(run())
print(json.dumps(steps))
"""


def test_a_plugin_registered_or_removed_between_launches_applies_to_the_next() -> None:
    # a launch reuses what it learnt of the plugins only while they stay the same
    result = run_python(PLUGINS_CHANGE, env={"PROCSTART_DISABLE_PLUGIN_AUTOLOAD": "1"})
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.splitlines()[-1]) == [
        [],
        [["handles", "fork"], ["launch", "fork"]],
        [],
    ]
