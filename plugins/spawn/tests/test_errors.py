"""What goes wrong is said clearly, in the parent or on the child's stderr; nothing hangs."""

from __future__ import annotations

import os
import stat
import textwrap
import threading
from pathlib import Path
from typing import Any

import pytest
import spawn_targets as t
from spawn_testlib import WAIT, run_parent

import procstart


def test_unserialisable_argument_fails_in_the_parent(ctx: Any) -> None:
    before = set(ctx.active_children())
    proc = ctx.Process(target=t.call, args=(t.noop, threading.Lock()))
    with pytest.raises(procstart.SerializationError) as info:
        proc.start()
    message = str(info.value)
    assert "argument 1 of type '_thread.lock'" in message
    assert "'spawn'" in message
    assert set(ctx.active_children()) == before


def test_unserialisable_target_fails_in_the_parent(ctx: Any) -> None:
    generator = (x for x in range(3))
    proc = ctx.Process(target=generator)
    with pytest.raises(
        procstart.SerializationError, match=r"the target of type 'builtins\.generator'"
    ):
        proc.start()


def test_missing_executable(
    ctx: Any, tmp_path: Path, capfd: Any, reset_spawn_options: None
) -> None:
    missing = str(tmp_path / "no-such-python")
    ctx.set_executable(missing)
    proc = ctx.Process(target=t.noop)
    proc.start()
    proc.join(WAIT)
    assert proc.exitcode == 255
    err = capfd.readouterr().err
    assert f"procstart spawn: cannot execute {missing!r}: No such file or directory" in err


def test_executable_that_fails(
    ctx: Any, tmp_path: Path, capfd: Any, reset_spawn_options: None
) -> None:
    broken = tmp_path / "broken-python"
    broken.write_text("#!/bin/sh\necho 'broken interpreter here' >&2\nexit 3\n")
    broken.chmod(broken.stat().st_mode | stat.S_IXUSR)
    ctx.set_executable(str(broken))
    proc = ctx.Process(target=t.noop)
    proc.start()
    proc.join(WAIT)
    assert proc.exitcode == 3
    assert "broken interpreter here" in capfd.readouterr().err


def test_main_import_error_in_the_child(tmp_path: Path) -> None:
    script = tmp_path / "fragile.py"
    script.write_text(
        textwrap.dedent(
            """
            import spawn_targets
            if __name__ == "__mp_main__":
                raise ImportError("this module cannot be imported in the child")
            if __name__ == "__main__":
                import procstart
                ctx = procstart.get_context("spawn")
                p = ctx.Process(target=spawn_targets.noop)
                p.start()
                p.join(60)
                print("exitcode", p.exitcode, "alive", p.is_alive())
            """
        )
    )
    out = run_parent("", args=[str(script)], cwd=tmp_path)
    assert "exitcode 1 alive False" in out.stdout, out.stderr
    assert "ImportError: this module cannot be imported in the child" in out.stderr


def test_child_that_cannot_import_procstart(
    ctx: Any, tmp_path: Path, reset_spawn_options: None
) -> None:
    # an interpreter that exits at once, as one that misses a module would
    fake = tmp_path / "fake-python"
    fake.write_text(f"#!/bin/sh\nexec {os.sys.executable} -S -c 'import no_such_module_here'\n")
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    ctx.set_executable(str(fake))
    proc = ctx.Process(target=t.noop)
    proc.start()
    proc.join(WAIT)
    assert proc.exitcode == 1


def test_truncated_payload_is_an_error_not_a_hang() -> None:
    from procstart.child import PayloadError, read_payload

    read_end, write_end = os.pipe()
    os.write(write_end, b"PRCSTRT1" + (100).to_bytes(8, "big") + b"short")
    os.close(write_end)
    try:
        with pytest.raises(PayloadError, match="truncated: expected 100 bytes, got 5"):
            read_payload(read_end)
    finally:
        os.close(read_end)


def test_bad_magic_is_refused() -> None:
    from procstart.child import PayloadError, read_payload

    read_end, write_end = os.pipe()
    os.write(write_end, b"GARBAGE!" + bytes(16))
    os.close(write_end)
    try:
        with pytest.raises(PayloadError, match="not a procstart launch payload"):
            read_payload(read_end)
    finally:
        os.close(read_end)


def test_failure_after_the_child_started_leaves_no_fd_or_zombie(
    ctx: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import psutil

    from procstart import payload

    def broken_build(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("payload could not be built")

    import gc

    proc = ctx.Process(target=t.noop)
    gc.collect()  # earlier tests' Popen finalizers close their fds: not now, please
    fds_before = len(os.listdir("/proc/self/fd"))
    children_before = {child.pid for child in psutil.Process().children()}
    monkeypatch.setattr(payload, "build", broken_build)
    with pytest.raises(RuntimeError, match="payload could not be built"):
        proc.start()
    monkeypatch.undo()
    assert len(os.listdir("/proc/self/fd")) == fds_before
    new = [c for c in psutil.Process().children() if c.pid not in children_before]
    assert new == []
