"""Security: what a child, another connection or another user can reach.

- no fd of the parent reaches a spawn or forkserver child unless it was asked
  for (checked for a socket, a file and a pipe, all marked inheritable); under
  fork they all arrive, which shows the check can see them;
- (the fork server's own socket, key and session checks are the plugin's:
  ``plugins/forkserver/tests/test_security.py``);
- the tracker: no endpoint anyone could open (only an inherited pipe), and
  registration names that climb out with ``..`` are refused.
"""

from __future__ import annotations

import os
import socket

import pytest

import procstart
from tests.reliability import _targets
from tests.reliability.conftest import (
    WAIT,
    last_json,
    run_parent,
)


def _identity(fd: int) -> tuple[int, int]:
    st = os.fstat(fd)
    return (st.st_dev, st.st_ino)


def test_inheritable_parent_fds_do_not_reach_the_child(method: str, tmp_path) -> None:
    ctx = procstart.get_context(method)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    secret = open(tmp_path / "secret", "w")  # noqa: SIM115 - closed below
    pipe_r, pipe_w = os.pipe()
    theirs = {"socket": sock.fileno(), "file": secret.fileno(), "pipe": pipe_r, "pipe-w": pipe_w}
    try:
        for fd in theirs.values():
            os.set_inheritable(fd, True)
        wanted = {name: _identity(fd) for name, fd in theirs.items()}
        reader, writer = ctx.Pipe(duplex=False)  # asked for: passed as an argument
        proc = ctx.Process(target=_targets.fd_identities, args=(writer,))
        proc.start()
        writer_identity = _identity(writer.fileno())
        writer.close()
        assert reader.poll(WAIT), "the child never answered"
        held = {(dev, ino) for _fd, dev, ino in reader.recv()}
        proc.join(WAIT)
        assert proc.exitcode == 0
    finally:
        sock.close()
        secret.close()
        os.close(pipe_r)
        os.close(pipe_w)
    leaked = sorted(name for name, ident in wanted.items() if ident in held)
    assert writer_identity in held  # the handle that was asked for does arrive
    if method == "fork":
        # a forked child holds every fd of its parent: the check sees them
        assert leaked == sorted(theirs)
    else:
        assert leaked == [], f"parent fds reached the {method} child: {leaked}"


# -- the tracker ----------------------------------------------------------------------------------

TRACKER = """
import json, os
import procstart
try:
    import procstart_tracker
except ImportError:
    print(json.dumps({"installed": False})); raise SystemExit
out = {"installed": True, "refused": {}}
procstart.register_resource("folder", "/tmp/procstart-reliability-probe")  # start it
status = procstart_tracker.status()
pid = status["pid"]
out["pid"] = pid
def fds():
    found = []
    for n in os.listdir(f"/proc/{pid}/fd"):
        try:
            found.append(os.readlink(f"/proc/{pid}/fd/{n}"))
        except FileNotFoundError:  # closed between listdir and readlink
            pass
    return sorted(found)
# the tracker starts with nobody waiting for it: read its fds once they stop
# changing (its interpreter's start-up opens and closes files), at most 10 s
import time
seen, deadline = fds(), time.monotonic() + 10
while time.monotonic() < deadline:
    time.sleep(0.2)
    now = fds()
    if now == seen:
        break
    seen = now
out["fds"] = seen
procstart.unregister_resource("folder", "/tmp/procstart-reliability-probe")
for name in ("/tmp/x/../../etc", "/tmp/../etc", "/../../..", "/", "/tmp", "/./tmp/.."):
    try:
        accepted = procstart.register_resource("folder", name)
        out["refused"][name] = f"accepted ({accepted})"
        procstart.unregister_resource("folder", name)
    except Exception as exc:
        out["refused"][name] = f"{type(exc).__name__}: {exc}"
print(json.dumps(out))
"""


def test_tracker_has_no_open_endpoint_and_refuses_path_tricks() -> None:
    out = last_json(run_parent(TRACKER))
    if not out["installed"]:
        pytest.skip("procstart-tracker is not installed")
    sockets = [target for target in out["fds"] if target.startswith("socket:")]
    assert sockets == [], f"the tracker holds sockets someone could reach: {out['fds']}"
    assert any(target.startswith("pipe:") for target in out["fds"])
    for name, outcome in out["refused"].items():
        assert "accepted" not in outcome, (name, outcome)
        assert outcome.startswith("ProtocolError: "), (name, outcome)
        assert "top-level path" in outcome or "must be normalised" in outcome, (name, outcome)
