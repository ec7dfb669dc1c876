"""The tracker process ignores the signals a terminal or a process group sends.

Why a private module: ``signal`` (the public one) imports ``enum`` to wrap
its constants, ~5 ms of the tracker's start-up, spent while the program it
watches runs and before it lets go of the program's stderr. ``_signal`` is
the C module behind ``signal``, whose ``signal`` and ``pthread_sigmask``
only wrap ``_signal``'s to turn ints into enums (we use neither result);
checked on CPython 3.10, 3.11, 3.12 and 3.13. Anywhere it is missing, the
public module is used.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:  # _signal has no stubs; it is what signal re-exports
    import signal as sig
else:
    try:
        import _signal as sig  # see the module's docstring
    except ImportError:  # pragma: no cover - every CPython has it
        import signal as sig

__all__ = ["quiet_signals"]


def quiet_signals() -> None:
    """Ignore SIGINT, SIGTERM and SIGHUP (and unblock the first two).

    >>> quiet_signals()  # doctest: +SKIP
    """
    for number in (sig.SIGINT, sig.SIGTERM, sig.SIGHUP):
        try:  # noqa: SIM105 - contextlib is one import more for the tracker
            sig.signal(number, sig.SIG_IGN)
        except (OSError, ValueError):
            pass
    if hasattr(sig, "pthread_sigmask"):
        sig.pthread_sigmask(sig.SIG_UNBLOCK, {sig.SIGINT, sig.SIGTERM})
