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
    """Import ``module``, say whether it is loaded on ``conn``, then wait until told to exit.

    The parent reads this child's memory while it waits.
    """
    if module:
        __import__(module)
    conn.send(bool(module) and module in sys.modules)
    conn.recv()
