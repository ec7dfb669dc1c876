"""The tracker's tests import their helpers from ``tracker_testlib`` next to this file."""

from __future__ import annotations

import sys
from pathlib import Path

_HERE = str(Path(__file__).resolve().parent)
if _HERE not in sys.path:  # pytest runs in importlib mode: test folders are not on sys.path
    sys.path.insert(0, _HERE)
