"""How long a caller waits for a one-child program's stderr to close, and the tracker's CPU.

The tracker process inherits the program's stderr, so ``subprocess.run(...,
capture_output=True)`` or ``2>&1 | tee`` returns when the tracker exits, not
when the program does. For each interpreter given (A B ... in alternating
rounds, a fresh program per sample): the program's exit, its stderr's end of
file (ms after the start) and the CPU (user+sys) of the processes it left
behind, i.e. the tracker (this process is their subreaper and reaps them
with ``wait4``; Linux only).

    python plugins/tracker/bench/bench_eof.py /work/main/.venv/bin/python .venv/bin/python
"""

from __future__ import annotations

import ctypes
import os
import statistics
import subprocess
import sys
import time

PROGRAM = """
import procstart as mp
def f(): pass
if __name__ == '__main__':
    p = mp.get_context('fork').Process(target=f); p.start(); p.join()
"""
ENV = {
    "PROCSTART_DISABLE_PLUGINS": "procstart-launchlog,procstart-limits",
    "PATH": "/usr/bin:/bin",
}
PR_SET_CHILD_SUBREAPER = 36


def sample(python: str) -> tuple[float, float, float]:
    """(exit ms, stderr EOF ms, CPU ms of the orphans reaped afterwards)."""
    start = time.perf_counter()
    proc = subprocess.Popen([python, "-c", PROGRAM], stderr=subprocess.PIPE, env=ENV)
    proc.wait()
    exited = time.perf_counter()
    assert proc.stderr is not None
    err = proc.stderr.read()
    eof = time.perf_counter()
    assert proc.returncode == 0, err
    cpu = 0.0
    while True:
        try:
            _pid, _status, usage = os.wait4(-1, 0)
        except ChildProcessError:
            break
        cpu += usage.ru_utime + usage.ru_stime
    return (exited - start) * 1e3, (eof - start) * 1e3, cpu * 1e3


def main(pythons: list[str], rounds: int = 10) -> None:
    """Print the medians per interpreter."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_CHILD_SUBREAPER)")
    results: dict[str, list[tuple[float, float, float]]] = {py: [] for py in pythons}
    for i in range(rounds):
        order = pythons if i % 2 == 0 else pythons[::-1]
        for python in order:
            results[python].append(sample(python))
    for python, samples in results.items():
        ex, eof, cpu = (statistics.median(column) for column in zip(*samples, strict=True))
        print(
            f"{python}: exit {ex:.1f} ms, stderr EOF {eof:.1f} ms (+{eof - ex:.1f}), "
            f"tracker CPU {cpu:.1f} ms  (medians of {rounds})"
        )


if __name__ == "__main__":
    main(sys.argv[1:])
