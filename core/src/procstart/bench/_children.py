"""What the measured children run.

The trivial targets are builtins: they pickle as ``builtins.int`` and so on,
so a spawned child imports nothing for them and the stdlib's children are
not charged for importing ``procstart``. Only :func:`hold` lives here.
"""

from __future__ import annotations

from typing import Any

#: the trivial child: ``int()`` returns at once
noop = int
#: a child that receives one argument (unpickled before it runs) and returns
receive = len
#: the trivial function of the Pool / Executor figure
square = abs


def hold(conn: Any, module: str) -> None:
    """Import ``module``, say so on ``conn``, then wait until told to exit.

    The parent reads this child's memory while it waits.
    """
    if module:
        __import__(module)
    conn.send("ready")
    conn.recv()
