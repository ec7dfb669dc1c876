"""A preload that leaves a thread running in the fork server (as OpenBLAS would)."""

from __future__ import annotations

import threading
import time

threading.Thread(target=time.sleep, args=(3600,), daemon=True).start()
