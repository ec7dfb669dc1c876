"""Issue 11's script prints the same with procstart as with ``multiprocessing`` alone.

The script creates its procstart context at module level (a spawn child
re-imports it, loading procstart's plugins) and uses the stdlib's own
contexts. The stdlib run is the same script without its two procstart lines,
in an interpreter where procstart is never imported. Both run under
``python -X dev``: procstart must add no warning either.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from .mixlib import METHODS, clean_env, run_python

pytestmark = pytest.mark.timeout(180)

PROCSTART_LINES = """import procstart
CTX = procstart.get_context()          # module level: a spawn child re-imports this
"""

SCRIPT = """import sys, multiprocessing
from multiprocessing import shared_memory
{procstart}
def attach_write(name, data):
    s = shared_memory.SharedMemory(name); s.buf[:len(data)] = data; s.close()

if __name__ == "__main__":
    ctx = multiprocessing.get_context(sys.argv[1])        # spawn or forkserver
    sms = shared_memory.SharedMemory(create=True, size=64)
    for data in (b"howdy", b"HELLO"):
        p = ctx.Process(target=attach_write, args=(sms.name, data)); p.start(); p.join()
        print(p.exitcode, bytes(sms.buf[:5]))
    sms.close(); sms.unlink()
    print("procstart" in sys.modules)
"""


@pytest.mark.parametrize("method", METHODS)
def test_issue_script_prints_what_multiprocessing_prints(tmp_path: Path, method: str) -> None:
    (tmp_path / "with_procstart.py").write_text(SCRIPT.format(procstart=PROCSTART_LINES))
    (tmp_path / "stdlib_only.py").write_text(SCRIPT.format(procstart=""))
    env = clean_env()
    ours = run_python(["-X", "dev", "with_procstart.py", method], env=env, cwd=tmp_path)
    theirs = run_python(["-X", "dev", "stdlib_only.py", method], env=env, cwd=tmp_path)
    assert theirs.stdout.splitlines() == ["0 b'howdy'", "0 b'HELLO'", "False"], theirs
    assert ours.stdout.splitlines()[:-1] == theirs.stdout.splitlines()[:-1]
    assert ours.stdout.splitlines()[-1] == "True"
    assert (ours.returncode, ours.stderr) == (theirs.returncode, theirs.stderr) == (0, "")
