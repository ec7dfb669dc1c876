"""The ``procstart`` command line: ``procstart methods``, ``procstart demo``, ...

Each subcommand lives in :mod:`procstart.cli`; this module only dispatches.
"""

from __future__ import annotations

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
