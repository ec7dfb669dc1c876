"""A preload that takes (far) too long."""

import time

time.sleep(600)
