"""Bad input: unserialisable targets, BaseException targets, a launch hook
that raises, and start-method names core/tests does not try yet.

Each: a clear error that names the problem, nothing started, nothing lost.
"""

from __future__ import annotations

import functools
import gc
import threading

import psutil
import pytest

import procstart
from tests.reliability import _targets
from tests.reliability.conftest import WAIT, last_json, run_parent

# -- targets that cannot travel -------------------------------------------------------


def _generator():  # type: ignore[no-untyped-def]
    yield 1


def _descendants(me: psutil.Process) -> set[int]:
    """``me``'s descendants but the tracker's (its standby is forked after its first read)."""
    found = set()
    for child in me.children(recursive=True):
        try:
            if "procstart_tracker" not in " ".join(child.cmdline()):
                found.add(child.pid)
        except psutil.NoSuchProcess:
            continue
    return found


@pytest.mark.parametrize(
    ("make", "culprit"),
    [
        (
            lambda: {"target": _targets.exit_with, "args": (threading.Lock(),)},
            "argument 0 of type '_thread.lock'",
        ),
        (
            lambda: {"target": functools.partial(_targets.exit_with, threading.Lock())},
            "the target of type 'functools.partial'",
        ),
        (
            lambda: {"target": _targets.exit_with, "kwargs": {"code": _generator()}},
            "keyword argument 'code' of type 'builtins.generator'",
        ),
    ],
    ids=["arg", "target", "kwarg"],
)
def test_unserialisable_target_fails_at_start_naming_the_type(
    exec_method: str, make, culprit: str
) -> None:
    ctx = procstart.get_context(exec_method)
    warm = ctx.Process(target=_targets.noop)  # lazily started helpers exist from here on
    warm.start()
    warm.join(WAIT)
    assert warm.exitcode == 0
    me = psutil.Process()
    queue = ctx.Queue()  # handles asked for while pickling must not leak either
    proc = ctx.Process(**make())
    children = _descendants(me)
    gc.collect()  # earlier tests' popens must not close their fds during ours
    fds = me.num_fds()
    with pytest.raises(procstart.SerializationError) as info:
        proc.start()
    assert isinstance(info.value, TypeError)  # `except TypeError` code keeps working
    assert culprit in str(info.value)
    assert repr(exec_method) in str(info.value)
    assert proc.pid is None
    assert _descendants(me) - children == set()  # none new
    assert me.num_fds() <= fds
    queue.close()
    queue.join_thread()


BASE_EXCEPTIONS = """
import json, multiprocessing, sys
import procstart
from tests.reliability import _targets

codes = {{}}
for label, ctx in (("procstart", procstart.get_context({method!r})),
                   ("stdlib", multiprocessing.get_context({method!r}))):
    for target in (_targets.raise_keyboard_interrupt, _targets.raise_system_exit_text):
        sys.stderr.write(f"=== {{label}} {{target.__name__}}\\n"); sys.stderr.flush()
        proc = ctx.Process(target=target)
        proc.start()
        proc.join(60)
        codes[f"{{label}} {{target.__name__}}"] = proc.exitcode
print(json.dumps(codes))
"""


def _sections(stderr: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for chunk in stderr.split("=== ")[1:]:
        head, _, body = chunk.partition("\n")
        out[head] = body
    return out


def test_base_exception_targets_exit_as_in_the_stdlib(method: str) -> None:
    result = run_parent(BASE_EXCEPTIONS.format(method=method))
    codes = last_json(result)
    for target in ("raise_keyboard_interrupt", "raise_system_exit_text"):
        assert codes[f"procstart {target}"] == codes[f"stdlib {target}"], codes
        assert codes[f"procstart {target}"] == 1  # what 3.10-3.13 give for both
    stderr = _sections(result.stderr)
    assert "stopped with a text reason" in stderr["procstart raise_system_exit_text"]
    assert "KeyboardInterrupt" in stderr["procstart raise_keyboard_interrupt"]


# -- a plugin whose launch hook raises ------------------------------------------------

RAISING_HOOK = """
import json, psutil
import procstart
from tests.reliability import _targets

class RefuseWrapper:
    @procstart.hookimpl(wrapper=True)
    def procstart_launch(self, request):
        raise RuntimeError("launch refused by the reliability test plugin")
        yield

class RefuseFirst:
    @procstart.hookimpl(tryfirst=True)
    def procstart_launch(self, request):
        raise RuntimeError("launch refused by the reliability test plugin")

ctx = procstart.get_context({method!r})
warm = ctx.Process(target=_targets.noop)  # lazily started helpers exist from here on
warm.start(); warm.join(60); assert warm.exitcode == 0

me = psutil.Process()
# not the tracker's processes (its standby is forked after its first read)
children = sorted(c.pid for c in me.children(recursive=True)
                  if "procstart_tracker" not in " ".join(c.cmdline()))
fds = me.num_fds()
plugin = {kind}()
procstart.register_plugin(plugin, name="refuse")
proc = ctx.Process(target=_targets.exit_with, args=(4,))
try:
    proc.start()
except Exception as exc:
    error = f"{{type(exc).__name__}}: {{exc}}"
else:
    error = None
report = {{
    "error": error,
    "pid": proc.pid,
    "children_before": children,
    "children_after": sorted(c.pid for c in me.children(recursive=True)
                             if "procstart_tracker" not in " ".join(c.cmdline())),
    "fds": [fds, me.num_fds()],
}}
procstart.unregister_plugin(plugin)
proc.start()  # nothing lost: the same process object starts once the plugin is gone
proc.join(60)
report["later"] = proc.exitcode
print(json.dumps(report))
"""


@pytest.mark.parametrize("kind", ["RefuseWrapper", "RefuseFirst"])
def test_launch_hook_that_raises(method: str, kind: str) -> None:
    report = last_json(run_parent(RAISING_HOOK.format(method=method, kind=kind)))
    assert report["error"] == "RuntimeError: launch refused by the reliability test plugin"
    assert report["pid"] is None
    assert set(report["children_after"]) - set(report["children_before"]) == set()  # none new
    assert report["fds"][0] == report["fds"][1]
    assert report["later"] == 4


# -- start-method names (core/tests covers int, bytes, '' and 'nope' in get_context,
#    and garbage / unicode / 10 KB in PROCSTART_START_METHOD) --------------------------

NAMES = """
import json, os, sys
import procstart

LONG = "x" * 10240
VALUES = {{
    "None": None, "blank": "   ", "unicode": "sp\\u00e4wn", "10KB": LONG,
    "tuple": ("fork",), "float": 1.5, "nul": "fork\\x00", "path": "../fork",
    "unknown": "forkservr", "empty": "", "int": 3, "bytes": b"fork", "padded": " FORK ",
}}
out = {{}}
for api in ("set_start_method", "get_context"):
    for label, value in VALUES.items():
        try:
            result = getattr(procstart, api)(value)
            if api == "get_context":
                result = result.get_start_method()
            else:
                result = procstart.get_start_method()
                procstart.set_start_method(None, force=True)  # forget, for the next value
            out[f"{{api}} {{label}}"] = ["ok", result]
        except Exception as exc:
            out[f"{{api}} {{label}}"] = [type(exc).__name__, str(exc)]
    if api == "set_start_method":
        # nothing lost: after every failure no default was fixed behind our back
        out["still settable"] = procstart.get_start_method(allow_none=True)
procstart.set_start_method("fork", force=True)
out["after"] = procstart.get_start_method_source().as_dict()
print(json.dumps(out))
"""


def test_bad_start_method_names_in_code() -> None:
    out = last_json(run_parent(NAMES.format()))
    invalid = "ValueError", "invalid start method name"
    expectations = {
        "unicode": invalid,
        "10KB": invalid,
        "blank": invalid,
        "empty": invalid,
        "nul": invalid,
        "path": invalid,
        "tuple": ("TypeError", "start method name must be a str, not tuple"),
        "float": ("TypeError", "start method name must be a str, not float"),
        "int": ("TypeError", "start method name must be a str, not int"),
        "bytes": ("TypeError", "start method name must be a str, not bytes"),
        "unknown": ("ValueError", "unknown start method 'forkservr'; did you mean"),
    }
    for api in ("get_context", "set_start_method"):
        for label, (kind, text) in expectations.items():
            got_kind, got_text = out[f"{api} {label}"]
            assert (got_kind, text in got_text) == (kind, True), (api, label, got_text)
            assert len(got_text) < 400, f"{api} {label}: error echoes the whole input"
        assert out[f"{api} padded"] == ["ok", "fork"]  # blanks and case are folded
    assert "10240 chars" in out["get_context 10KB"][1]
    # None: get_context(None) is the default context, set_start_method(None)
    # fixes the default now, exactly as multiprocessing's
    assert out["get_context None"][0] == "ok"
    assert out["set_start_method None"][0] == "ok"
    assert out["still settable"] is None
    assert out["after"]["method"] == "fork" and out["after"]["source"] == "code"


UNHASHABLE = """
import json, procstart
out = []
for api in (procstart.get_context, procstart.set_start_method):
    try:
        api(["fork"])
    except Exception as exc:
        out.append(f"{type(exc).__name__}: {exc}")
print(json.dumps(out))
"""


def test_unhashable_start_method_name_is_named() -> None:
    out = last_json(run_parent(UNHASHABLE))
    assert out == ["TypeError: start method name must be a str, not list"] * 2


ENV_SHOW = """
import json, procstart
try:
    r = procstart.get_start_method_source()
    print(json.dumps(["ok", r.method, r.source]))
except Exception as exc:
    print(json.dumps([type(exc).__name__, str(exc)]))
"""


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("", ["ok", None, "platform"]),  # unset in effect: an empty variable is ignored
        ("   ", ["ok", None, "platform"]),
        ("FORK", ["ok", "fork", "environment"]),
        # a bad variable is a ConfigError (a ValueError) naming it
        ("fork,spawn", ["ConfigError", "invalid start method name 'fork,spawn'"]),
        ("../fork", ["ConfigError", "invalid start method name '../fork'"]),
        ("\U0001f680", ["ConfigError", "invalid start method name"]),
        ("forkservr", ["ConfigError", "unknown start method 'forkservr'; did you mean"]),
    ],
    ids=["empty", "blank", "upper", "list", "path", "emoji", "typo"],
)
def test_start_method_env_values(value: str, expected: list) -> None:
    got = last_json(run_parent(ENV_SHOW, env={"PROCSTART_START_METHOD": value}))
    assert got[0] == expected[0], got
    if expected[0] == "ok":
        assert got[2] == expected[2]
        if expected[1] is not None:
            assert got[1] == expected[1]
    else:
        assert "environment variable PROCSTART_START_METHOD=" in got[1]
        assert expected[1] in got[1]
