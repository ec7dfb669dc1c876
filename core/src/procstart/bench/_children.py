"""What the measured children run: importable by name, importing nothing.

Every library pickles these by reference, so a spawned child imports this
module (and the ``procstart`` package's lazy ``__init__``) and nothing else.
"""

from __future__ import annotations

from typing import Any


def noop() -> None:
    """The trivial child: return at once."""


def receive(data: Any) -> None:
    """Receive an argument (it is unpickled before this runs) and return."""
    del data


def square(x: int) -> int:
    """The trivial function of the Pool / Executor figure."""
    return x * x


def hold(conn: Any, module: str) -> None:
    """Import ``module``, say so on ``conn``, then wait until told to exit.

    The parent reads this child's memory while it waits.
    """
    if module:
        __import__(module)
    conn.send("ready")
    conn.recv()
