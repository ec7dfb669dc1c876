"""procstart-limits, installed as a distribution: the ``limited`` method end to end."""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

import procstart
import procstart_limits
from procstart import config
from procstart_limits import Limits, parse_cpus, parse_size

WAIT = 60


def run_python(code: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("PROCSTART_")}
    clean.update(env)
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        cwd=cwd,
        env=clean,
        capture_output=True,
        text=True,
        timeout=WAIT,
        check=False,
    )


@pytest.fixture
def reset_limits() -> Iterator[None]:
    yield
    procstart_limits.set_limits(None)


def report(queue) -> None:  # type: ignore[no-untyped-def]
    import os
    import resource

    import procstart

    queue.put(
        {
            "method": procstart.get_start_method(),
            "nice": os.nice(0),
            "cpus": sorted(os.sched_getaffinity(0)),
            "nofile": list(resource.getrlimit(resource.RLIMIT_NOFILE)),
            "cpu": list(resource.getrlimit(resource.RLIMIT_CPU)),
            "env": os.environ.get("LIMITS_TEST"),
            "leaked": "PROCSTART_LIMITS" in os.environ,
        }
    )


def allocate(queue, size) -> None:  # type: ignore[no-untyped-def]
    try:
        block = bytearray(size)
    except MemoryError:
        queue.put("MemoryError")
    else:
        queue.put(len(block))


def test_registered_through_its_entry_point() -> None:
    method = procstart.get_context("limited").method
    assert method.distribution == "procstart-limits"
    assert method.version == "0.1.0"
    declared = config.declared_keys()
    for key in procstart_limits._limits.CONFIG_KEYS:
        assert declared[key].distribution == "procstart-limits"


@pytest.mark.procstart_skip("limited", reason="limited is the method under test, not a base")
@pytest.mark.usefixtures("reset_limits")
def test_limits_applied_before_the_target(start_method: str) -> None:
    parent_nice = os.nice(0)
    procstart_limits.set_limits(
        Limits(
            base=start_method,
            nice=2,
            cpus={0},
            open_files=64,
            cpu_seconds=300,
            env={"LIMITS_TEST": "yes"},
        )
    )
    ctx = procstart.get_context("limited")
    queue = ctx.SimpleQueue()
    proc = ctx.Process(target=report, args=(queue,))
    proc.start()
    proc.join(WAIT)
    assert proc.exitcode == 0
    assert queue.get() == {
        "method": "limited",
        "nice": parent_nice + 2,
        "cpus": [0],
        "nofile": [64, 64],
        "cpu": [300, 300],
        "env": "yes",
        "leaked": False,
    }
    # the parent is untouched
    assert os.nice(0) == parent_nice
    assert "LIMITS_TEST" not in os.environ


def _vm_size() -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmSize")


@pytest.mark.procstart_skip("limited", reason="limited is the method under test, not a base")
@pytest.mark.usefixtures("reset_limits")
def test_memory_cap(start_method: str) -> None:
    cap = _vm_size() + (512 << 20)
    procstart_limits.set_limits(Limits(base=start_method, memory=cap))
    ctx = procstart.get_context("limited")
    queue = ctx.SimpleQueue()
    proc = ctx.Process(target=allocate, args=(queue, 2 * cap))
    proc.start()
    proc.join(WAIT)
    assert (proc.exitcode, queue.get()) == (0, "MemoryError")


@pytest.mark.usefixtures("reset_limits")
def test_limited_pool_workers() -> None:
    procstart_limits.set_limits(Limits(open_files=128))
    with procstart.get_context("limited").Pool(2) as pool:
        got = pool.apply_async(resource.getrlimit, (resource.RLIMIT_NOFILE,)).get(timeout=WAIT)
    assert got == (128, 128)


@pytest.mark.parametrize(
    ("limits", "message"),
    [
        (Limits(cpus="999"), "CPUs 999 are not available to this process (available: "),
        (Limits(base="limited"), "limits-base cannot be 'limited' itself"),
        (Limits(base="nope"), "unknown start method 'nope'; installed: "),
        (Limits(open_files=1 << 40), "open_files=1099511627776 is above this process's hard limit"),
    ],
)
@pytest.mark.usefixtures("reset_limits")
def test_bad_limits_fail_in_the_parent(limits: Limits, message: str) -> None:
    procstart_limits.set_limits(limits)
    proc = procstart.get_context("limited").Process(target=print)
    with pytest.raises((ValueError, RuntimeError)) as info:
        proc.start()
    assert "start method 'limited' (set_limits()): " in str(info.value)
    assert message in str(info.value)
    assert proc.pid is None  # nothing was started


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"cpus": "1-0"}, "bad CPU list '1-0': range '1-0' runs backwards"),
        ({"cpus": "a"}, "bad CPU list 'a': expected numbers and ranges like '0-3,6'"),
        ({"memory": "lots"}, "bad size 'lots': expected e.g. '512M', '2G' or a number of bytes"),
        ({"memory": 0}, "bad size 0: must be positive"),
        ({"open_files": -1}, "open_files must be a positive integer, got -1"),
        ({"nice": "5"}, "nice must be an integer, got '5'"),
        ({"env": ["NOEQUALS"]}, "bad environment entry 'NOEQUALS': expected 'NAME=value'"),
    ],
)
def test_bad_values_are_named(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError) as info:
        Limits(**kwargs)  # type: ignore[arg-type]
    assert str(info.value) == message


def test_set_limits_type() -> None:
    with pytest.raises(TypeError, match="set_limits\\(\\) takes a Limits or None, not dict"):
        procstart_limits.set_limits({"nice": 1})  # type: ignore[arg-type]


def test_parsers() -> None:
    assert parse_size("512M") == 512 << 20
    assert parse_size("1GiB") == 1 << 30
    assert parse_size(4096) == 4096
    assert parse_cpus("0-2, 5") == {0, 1, 2, 5}
    assert parse_cpus([3, 1]) == {1, 3}
    assert Limits.from_json(Limits(nice=1, cpus="0", memory="1G").to_json()) == Limits(
        nice=1, cpus={0}, memory=1 << 30
    )


APP = """
import json, os, resource
import procstart

def child(queue):
    queue.put({
        "method": procstart.get_start_method(),
        "source": procstart.get_start_method_source().source,
        "nofile": resource.getrlimit(resource.RLIMIT_NOFILE)[0],
        "omp": os.environ.get("OMP_NUM_THREADS"),
    })

if __name__ == "__main__":
    queue = procstart.SimpleQueue()
    p = procstart.Process(target=child, args=(queue,))
    p.start()
    p.join(60)
    print(json.dumps({"exit": p.exitcode, "default": procstart.get_start_method_source().source,
                      **queue.get()}))
"""


def test_selected_in_pyproject(tmp_path: Path) -> None:
    """The plugin-author guide's promise: pip install, one table, done."""
    (tmp_path / "pyproject.toml").write_text(
        '[tool.procstart]\nstart-method = "limited"\nlimits-open-files = 99\n'
        'limits-env = ["OMP_NUM_THREADS=1"]\n'
    )
    (tmp_path / "app.py").write_text(APP)
    result = run_python("import runpy; runpy.run_path('app.py', run_name='__main__')", tmp_path)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {
        "exit": 0,
        "default": "pyproject",
        "method": "limited",
        "source": "parent",
        "nofile": 99,
        "omp": "1",
    }


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ('limits-cpus = "x-y"', "'tool.procstart.limits-cpus': bad CPU list 'x-y'"),
        ('limits-nice = "high"', "'tool.procstart.limits-nice' must be an integer, got 'high'"),
        ('limits-env = "A=1"', "'tool.procstart.limits-env' must be an array of strings"),
    ],
)
def test_bad_pyproject_names_file_and_key(tmp_path: Path, table: str, message: str) -> None:
    (tmp_path / "pyproject.toml").write_text(
        f'[tool.procstart]\nstart-method = "limited"\n{table}\n'
    )
    (tmp_path / "app.py").write_text(APP)
    result = run_python("import runpy; runpy.run_path('app.py', run_name='__main__')", tmp_path)
    assert result.returncode == 1
    assert f"{tmp_path / 'pyproject.toml'}: {message}" in result.stderr


def test_methods_cli_shows_the_base_and_limits(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[tool.procstart]\nlimits-base = "fork"\nlimits-nice = 5\n'
    )
    result = subprocess.run(
        [str(Path(sys.executable).with_name("procstart")), "methods", "--json"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=WAIT,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    limited = next(m for m in json.loads(result.stdout)["methods"] if m["name"] == "limited")
    assert limited["info"] == {"base": "fork", "limits": "nice=+5"}
