"""Who is measured: procstart, the stdlib and the peers, per start method.

A :class:`Contender` is one column of one row. Its process (see
:mod:`procstart_bench._worker`) imports only its own ``library``; extra
``params`` go to that process; ``disabled`` are the procstart plugin
distributions that process runs without (``PROCSTART_DISABLE_PLUGINS``: the
same autoload path as with all of them, minus those).
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from importlib import metadata

#: loky's own start method (fork+exec of a fresh interpreter): compared with spawn only
LOKY_METHOD = "loky"
LOKY_ROW = "spawn"
PEERS = ("multiprocess", "loky")
#: the stdlib's methods on POSIX (multiprocess mirrors them)
STDLIB_METHODS = ("fork", "forkserver", "spawn")


@dataclass(frozen=True)
class Contender:
    """One library's way of starting a child for one row."""

    #: the table's column
    column: str
    #: what the measured process imports: procstart, stdlib, multiprocess, loky, none
    library: str
    #: the library's own method name
    method: str
    #: ``key=value`` items for the measured process
    params: tuple[tuple[str, str], ...] = ()
    #: procstart plugin distributions left out of the measured process
    disabled: tuple[str, ...] = ()


def installed(name: str) -> bool:
    """True when the top-level module ``name`` can be imported (not importing it)."""
    return importlib.util.find_spec(name) is not None


def version_of(distribution: str) -> str | None:
    """The installed version of ``distribution``, or None."""
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None


def plugin_distributions() -> dict[str, str]:
    """Distribution -> version of every installed ``procstart`` entry point."""
    found: dict[str, str] = {}
    for ep in metadata.entry_points(group="procstart"):
        dist = getattr(ep, "dist", None)
        if dist is not None:
            found[dist.name] = dist.version
    return dict(sorted(found.items()))


def procstart_methods() -> list[str]:
    """Available procstart methods, sorted (loads the plugins in this process)."""
    import procstart

    return sorted(procstart.get_all_start_methods())


@dataclass(frozen=True)
class Lineup:
    """Which plugins procstart's processes run with, and whether peers are measured."""

    #: plugin distributions left out of every procstart process
    without: tuple[str, ...] = ()
    peers: bool = True
    #: the distribution whose share per child the ``tracker`` figure shows
    tracker: str = "procstart-tracker"

    def procstart(self, method: str, column: str = "procstart") -> Contender:
        """procstart's column: every plugin distribution but ``without``."""
        return Contender(column, "procstart", method, disabled=tuple(sorted(self.without)))

    def without_tracker(self, method: str) -> Contender | None:
        """procstart with the tracker's distribution left out too (None: it is not installed)."""
        if self.tracker not in plugin_distributions():
            return None
        gone = tuple(sorted({*self.without, self.tracker}))
        return Contender("no tracker", "procstart", method, disabled=gone)

    def columns(self, method: str, peers: bool | None = None) -> list[Contender]:
        """procstart, then the stdlib's namesake and the peers (when installed).

        A custom method without a stdlib namesake gets procstart only.
        """
        out = [self.procstart(method)]
        if method not in STDLIB_METHODS:
            return out
        out.append(Contender("stdlib", "stdlib", method))
        if self.peers if peers is None else peers:
            if installed("multiprocess"):
                out.append(Contender("multiprocess", "multiprocess", method))
            if installed("loky") and method == LOKY_ROW:
                out.append(Contender("loky", "loky", LOKY_METHOD))
        return out
