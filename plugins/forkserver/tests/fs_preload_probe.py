"""A module whose import leaves a trace: where it was imported, and a side effect."""

from __future__ import annotations

import os

IMPORTED_IN = os.getpid()
os.environ["FS_PRELOAD_PROBE"] = f"imported in {IMPORTED_IN}"
