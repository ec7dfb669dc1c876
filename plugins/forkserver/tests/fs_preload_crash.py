"""A preload that kills the server outright (a crashing C extension, say)."""

import os

os._exit(3)
