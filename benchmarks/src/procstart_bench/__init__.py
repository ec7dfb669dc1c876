"""``procstart bench``: procstart's start methods against ``multiprocessing``, fairly.

Every sample is taken in a fresh interpreter that imports only the library
it measures (:mod:`procstart_bench._worker`), started from a script file and
from ``python -c``; contenders alternate A B B A. The coordinator
(:mod:`procstart_bench._runner`) stores every sample as JSON, and
:mod:`procstart_bench.report` renders ``docs/benchmarks.md`` from the JSON
files alone. ``procstart bench`` arrives in the core's command line through
the ``procstart.cli`` entry-point group (:mod:`procstart_bench.cli`).

This module imports nothing: the measured processes import this package,
and the standard library's side must not load procstart.

>>> import procstart_bench
>>> procstart_bench.__version__
'0.1.0'
"""

__version__ = "0.1.0"
__all__ = ["__version__"]
