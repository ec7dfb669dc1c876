"""``procstart_inherited_handles`` called without pluggy: the same handles, in pluggy's order.

Each launch calls the hook; with no wrapper the core calls the implementations
itself. These tests compare that with pluggy's own hook call, and check that a
wrapper still gets pluggy's call (and sees the result).
"""

from __future__ import annotations

import json

from tests.conftest import run_python

CODE = """
import json, os, procstart
from procstart import _manager
from procstart._request import LaunchRequest

r, w = os.pipe()

class Plain:
    @procstart.hookimpl
    def procstart_inherited_handles(self, request):
        yield procstart.InheritedHandle(key="plain", fd=r)

class First:
    @procstart.hookimpl(tryfirst=True)
    def procstart_inherited_handles(self, request):
        yield procstart.InheritedHandle(key="first", fd=w)

class Last:
    @procstart.hookimpl(trylast=True)
    def procstart_inherited_handles(self):  # takes no argument: allowed
        return [procstart.InheritedHandle(key="last", fd=r)]

class Nothing:
    @procstart.hookimpl
    def procstart_inherited_handles(self, request):
        return None

seen = []

class Wrapper:
    @procstart.hookimpl(wrapper=True)
    def procstart_inherited_handles(self, request):
        result = yield
        seen.append(len(result))
        return result

import procstart_fork
procstart.register_plugin(procstart_fork, name="fork")
for plugin in (Plain(), First(), Last(), Nothing()):
    procstart.register_plugin(plugin)
if WRAP:
    procstart.register_plugin(Wrapper())
registry = _manager.plugins()
ctx = procstart.get_context("fork")
request = LaunchRequest(process=ctx.Process(), method=ctx.method, context=ctx)
ours = [(h.key, h.fd) for h in registry.inherited_handles(request)]
pluggys = [
    (h.key, h.fd)
    for batch in registry.pm.hook.procstart_inherited_handles(request=request)
    for h in batch or ()
]
direct = registry.launch_plan().handle_calls is not None
print(json.dumps({"ours": [k for k, _ in ours], "same": ours == pluggys,
                  "direct": direct, "seen": seen}))
"""


def _run(wrap: bool) -> dict:
    result = run_python(f"WRAP = {wrap!r}\n" + CODE, env={"PROCSTART_DISABLE_PLUGIN_AUTOLOAD": "1"})
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_without_a_wrapper_the_core_calls_them_in_pluggys_order() -> None:
    out = _run(wrap=False)
    assert out["direct"] is True
    assert out["same"] is True
    assert out["ours"][0] == "first" and out["ours"][-1] == "last"
    assert sorted(out["ours"]) == ["first", "last", "plain"]


def test_a_wrapper_gets_pluggys_call() -> None:
    out = _run(wrap=True)
    assert out["direct"] is False
    assert out["same"] is True
    assert out["seen"] == [3, 3]  # once for the core's call, once for the comparison
    assert out["ours"][0] == "first" and out["ours"][-1] == "last"


def test_a_wrong_type_is_still_refused() -> None:
    result = run_python(
        """
        import procstart
        from procstart import _manager
        from procstart._request import LaunchRequest

        class Bad:
            @procstart.hookimpl
            def procstart_inherited_handles(self, request):
                yield 3

        import procstart_fork
        procstart.register_plugin(procstart_fork, name="fork")
        procstart.register_plugin(Bad())
        ctx = procstart.get_context("fork")
        request = LaunchRequest(process=ctx.Process(), method=ctx.method, context=ctx)
        _manager.plugins().inherited_handles(request)
        """,
        env={"PROCSTART_DISABLE_PLUGIN_AUTOLOAD": "1"},
    )
    assert result.returncode == 1
    assert "procstart_inherited_handles must yield InheritedHandle, got int" in result.stderr


def test_a_launch_with_one_handle_plugin_refuses_a_wrong_type() -> None:
    # one procstart_inherited_handles function is called directly by the
    # launch, not through the loop over several: its answer is checked the same
    result = run_python(
        """
        import procstart

        class Bad:
            @procstart.hookimpl
            def procstart_inherited_handles(self, request):
                return [procstart.InheritedHandle(key="fine", fd=0), "three"]

        import procstart_fork
        procstart.register_plugin(procstart_fork, name="fork")
        procstart.register_plugin(Bad())
        ctx = procstart.get_context("fork")
        ctx.Process(target=int).start()
        """,
        env={"PROCSTART_DISABLE_PLUGIN_AUTOLOAD": "1"},
    )
    assert result.returncode == 1
    assert "procstart_inherited_handles must yield InheritedHandle, got str" in result.stderr
