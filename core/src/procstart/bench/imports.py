"""Figure: the child bootstrap's import time (``-X importtime``).

Each sample is a fresh interpreter run with ``PYTHONPROFILEIMPORTTIME=1``
(which its exec'd children and fork server inherit). It starts one child
to warm everything up, waits half a second for servers and trackers to
settle (they write to the same stderr), then writes a marker to stderr,
starts and joins a trivial child, and writes another: the import lines
between the markers are the child's, whose ``self`` times are summed.
"""

from __future__ import annotations

import os
import time
from typing import Any

from ._children import noop
from ._contenders import Contender
from ._model import IMPORT_COUNT, IMPORT_TIME, Figure
from ._runner import Plan, Sample, isolated, join_or_kill

ID = "imports"
TITLE = "child bootstrap imports"
BEGIN = "@@procstart-bench-child-begin@@"
END = "@@procstart-bench-child-end@@"
#: seconds between the first child and the marked one
SETTLE = 0.5


def isolated_sample(contender: Contender, params: dict[str, Any]) -> Sample:
    """In the worker: warm up, then start the marked child."""
    ctx: Any = contender.context()
    for marker in (None, BEGIN):
        if marker:
            # let servers and trackers finish what the first child set off
            # (idle imports, lazy imports): their lines share this stderr
            time.sleep(params.get("settle", SETTLE))
            os.write(2, f"{marker}\n".encode())
        proc = ctx.Process(target=noop)
        proc.start()
        join_or_kill(proc)
    os.write(2, f"{END}\n".encode())
    return {}


def parse(stderr: str) -> Sample:
    """Sum the ``self [us]`` column of the import lines between the markers.

    >>> parse(f"{BEGIN}\\nimport time:  120 |  300 | json\\n{END}\\n")
    {'import_time': 0.00012, 'modules': 1.0}
    """
    total_us = 0
    count = 0
    inside = False
    for line in stderr.splitlines():
        if line.startswith(BEGIN):
            inside = True
        elif line.startswith(END):
            break
        elif inside and line.startswith("import time:"):
            fields = line[len("import time:") :].split("|")
            try:
                total_us += int(fields[0])
            except (ValueError, IndexError):
                continue  # the header line
            count += 1
    return {"import_time": total_us / 1e6, "modules": float(count)}


def sample(contender: Contender) -> Sample:
    """One isolated sample, parsed."""
    _, stderr = isolated("imports", contender, {}, env={"PYTHONPROFILEIMPORTTIME": "1"})
    if END not in stderr:
        raise RuntimeError("the worker's stderr has no end marker")
    return parse(stderr)


def measure(plan: Plan) -> Figure:
    """One row per method."""
    figure = Figure(
        ID,
        TITLE,
        [IMPORT_TIME, IMPORT_COUNT],
        how="PYTHONPROFILEIMPORTTIME=1: the self times of every module the second "
        "child imports before it exits (its parent and server already warm).",
    )
    for method in plan.methods:
        row = figure.row(method)
        plan.interleave(figure, row, plan.contenders(method), sample, isolated=True)
    return figure
