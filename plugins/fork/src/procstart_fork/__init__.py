"""procstart-fork: the ``fork`` start method, as ``multiprocessing`` has it.

The child is an ``os.fork()`` copy of the parent: fastest to start, shares
memory copy-on-write, inherits every fd and every thread's locks (but not the
threads), so it is unsafe in multi-threaded parents; Python 3.12+ warns then.
"""

from __future__ import annotations

from ._plugin import procstart_start_methods
from ._popen import ForkPopen

__version__ = "0.1.0"
__all__ = ["ForkPopen", "procstart_start_methods"]
