"""What the measured children run besides builtins.

The trivial targets are builtins (``int``, ``len``, ``abs``): they pickle as
``builtins.int`` and so on, so a child imports nothing for them. Only
:func:`hold` lives here; this module imports nothing from procstart, so the
stdlib's children are not charged for it.
"""

from __future__ import annotations

import sys
from typing import Any


def hold(conn: Any, module: str) -> None:
    """Import ``module``, send ``[had it before, has it now]``, then wait until told to exit.

    The parent reads this child's memory while it waits; "had it before"
    tells whether ``module`` really came preloaded (fork, a fork server).
    """
    before = bool(module) and module in sys.modules
    if module:
        __import__(module)
    conn.send([before, bool(module) and module in sys.modules])
    conn.recv()
