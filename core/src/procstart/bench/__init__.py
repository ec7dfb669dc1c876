"""``procstart bench``: what each start method costs on this machine.

Every figure is measured for each installed procstart method and its
``multiprocessing`` namesake (plus ``multiprocess`` and ``loky`` when they
are installed), interleaved A/B/A/B after a warm-up, and summarised as
median, min and max with the ratio procstart/stdlib.

Nothing here is imported by ``import procstart``; the CLI loads it on demand::

    from procstart.bench import Options, run
    results = run(Options(quick=True, methods=["fork"]))

One module per figure (``start``, ``cold``, ``many``, ``args``, ``pool``,
``uss``, ``imports``); ``_model`` holds the result types, ``_runner`` the
interleaving, ``report`` and ``chart`` the output.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .. import lazy

if TYPE_CHECKING:
    from ._model import Figure, Results
    from ._runner import Options, run

__all__ = ["Figure", "Options", "Results", "run"]

_LAZY = {
    "Figure": "._model",
    "Results": "._model",
    "Options": "._runner",
    "run": "._runner",
}


__getattr__, __dir__ = lazy.attach(__name__, _LAZY)
