"""Plugin distributions for tests: a module plus a real ``.dist-info`` on a folder.

Files are dated an hour back (``os.utime``) so that the entry-point cache
does not find them "too fresh to trust" and the tests see its warm path.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

#: an hour ago: older than the entry-point cache's racy window
PAST = int(time.time()) - 3600


def age(*paths: Path) -> None:
    """Date ``paths`` an hour back."""
    for path in paths:
        os.utime(path, (PAST, PAST))


def install(site: Path, dist: str, source: str, ep_name: str) -> None:
    """Install ``dist`` into ``site``: module ``dist`` (dashes as underscores) holding
    ``source``, and a ``.dist-info`` whose ``procstart`` entry point ``ep_name`` names it.
    """
    module = dist.replace("-", "_")
    (site / f"{module}.py").write_text(source)
    info = site / f"{module}-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(f"[procstart]\n{ep_name} = {module}\n")
    (site / "__pycache__").mkdir(exist_ok=True)
    age(site / f"{module}.py", info / "entry_points.txt", info, site)
