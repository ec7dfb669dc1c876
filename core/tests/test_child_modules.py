"""``procstart.child.CHILD_MODULES`` is what children really import from procstart.

Spawn ships these modules' bytecode and a fork server imports them once
(``procstart.plugin.child_modules()``), so the list must hold every procstart
module a child imports before its target runs, and nothing it never needs.
"""

from __future__ import annotations

import json

import pytest
from tests.conftest import run_python

PARENT = """
import json, sys
import procstart

def report(conn):
    conn.send(sorted(name for name in sys.modules if name.split(".")[0] == "procstart"))

if __name__ == "__main__":
    {register}
    ctx = procstart.get_context({method!r})
    a, b = ctx.Pipe()             # the child unpickles an fd stand-in for b
    p = ctx.Process(target=report, args=(b,))
    p.start()
    print(json.dumps(a.recv()))
    p.join(60)
"""

#: with every installed plugin (a tracker: its child setup runs), and with
#: autoload off and only spawn registered (children attach to the stdlib's
#: tracker through procstart.importhook)
SCENARIOS = {
    "plugins": ("", {}),
    "bare": (
        "import procstart_spawn; procstart.register_plugin(procstart_spawn)",
        {"PROCSTART_DISABLE_PLUGIN_AUTOLOAD": "1"},
    ),
}


def _child_imports(method: str, scenario: str) -> set[str]:
    register, env = SCENARIOS[scenario]
    done = run_python(PARENT.format(register=register, method=method), env=env)
    assert done.returncode == 0, done.stderr
    return set(json.loads(done.stdout))


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_spawn_children_import_nothing_outside_the_list(scenario: str) -> None:
    from procstart.plugin import child_modules

    imported = _child_imports("spawn", scenario)
    assert imported <= set(child_modules()), sorted(imported - set(child_modules()))


#: imported by plugins' child-side packages, not by the core's child entry
FOR_PLUGINS = {"procstart.plugin", "procstart.lazy"}


def test_the_list_holds_nothing_children_never_import() -> None:
    from procstart.plugin import child_modules

    seen = _child_imports("spawn", "plugins") | _child_imports("spawn", "bare")
    core_side = set(child_modules()) - FOR_PLUGINS
    assert core_side <= seen, sorted(core_side - seen)
