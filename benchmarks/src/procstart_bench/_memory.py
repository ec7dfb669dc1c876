"""The parent's peak memory around one launch, and a child's USS.

On Linux the kernel's high-water mark (``VmHWM``) is reset through
``/proc/self/clear_refs`` before each sample, so the peak is that of the
sample alone. Elsewhere ``ru_maxrss`` is used: it never goes down, so a
sample only shows a peak above every earlier one. Free heap memory is
handed back to the OS first (``malloc_trim``), or a buffer freed by an earlier
sample would be reused unseen.
"""

from __future__ import annotations

import sys
from typing import Any

_STATUS = "/proc/self/status"


def _status_kib(field: str) -> int | None:
    try:
        with open(_STATUS, encoding="ascii") as fh:
            for line in fh:
                if line.startswith(field):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return None


def _can_reset() -> bool:
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as fh:
            fh.write("5")
    except OSError:
        return False
    return _status_kib("VmHWM:") is not None


def _trim() -> None:
    """Give free heap memory back to the OS (glibc), so it shows up again as new RSS."""
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        libc = ctypes.CDLL(None)
        libc.malloc_trim(0)
    except (OSError, AttributeError):
        pass


class PeakTracker:
    """``start()`` before a launch, ``peak()`` after: extra bytes at the peak."""

    def __init__(self) -> None:
        self.resettable = _can_reset()
        self._base = 0

    def _maxrss(self) -> int:
        import resource

        value = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return int(value) if sys.platform == "darwin" else int(value) * 1024

    def start(self) -> None:
        """Remember the current memory (and reset the peak when possible)."""
        _trim()
        if self.resettable:
            with open("/proc/self/clear_refs", "w", encoding="ascii") as fh:
                fh.write("5")
            self._base = (_status_kib("VmRSS:") or 0) * 1024
        else:
            self._base = self._maxrss()

    def peak(self) -> int:
        """Bytes by which the peak since :meth:`start` exceeds the start."""
        high = (_status_kib("VmHWM:") or 0) * 1024 if self.resettable else self._maxrss()
        return max(0, high - self._base)


def uss(pid: int) -> int:
    """Unique set size of process ``pid`` (needs psutil)."""
    import psutil

    info: Any = psutil.Process(pid).memory_full_info()
    return int(info.uss)
