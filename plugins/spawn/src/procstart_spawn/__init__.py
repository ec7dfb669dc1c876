"""procstart-spawn (work in progress): registers nothing yet."""

from __future__ import annotations

__version__ = "0.1.0"
