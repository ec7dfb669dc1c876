"""Run, before a fork, the garbage collection that is about to be due.

The collector counts tracked objects allocated since its last collection of
the youngest generation, and collects when the count passes its threshold
(700 by default, 2000 on 3.13). A fork child inherits that count. If the
child's own start and exit allocate enough to pass it (about 10 to 30
objects for a ``Process(target=int)`` on 3.11 to 3.13, measured), the
collection runs in the child. It walks every object of the youngest
generation, the parent's included, and writes to each one's header; each
page it writes is a copy-on-write fault. Measured with ``perf`` on 3.11, such a child took 760
page faults instead of 340, and twice the time.

When the collection is due within :data:`MARGIN_FRACTION` of the
threshold, the parent pushes the count over the threshold with a few
short-lived allocations. The interpreter then runs its own automatic
collection, with its own choice of generation. The collection is not
called directly: ``gc.collect(0)`` in a program that launches children
often would keep the count low forever. The older generations would then
never be collected. This way collections come at most ``MARGIN_FRACTION``
of a threshold early, and otherwise as they always do.
"""

from __future__ import annotations

import gc

#: a collection due within this fraction of the youngest generation's
#: threshold runs before the fork (175 objects at 700, 500 at 2000)
MARGIN_FRACTION = 0.25


def run_due_collection() -> None:
    """Let the interpreter collect now if its next collection is near.

    Does nothing while the collector is off (``gc.disable()``, as in the
    ``gc.freeze()`` recipe for fork servers) or its threshold is 0.

    >>> import gc
    >>> keep = []
    >>> while gc.get_count()[0] < gc.get_threshold()[0] - 5:
    ...     keep.append(set())
    >>> run_due_collection()
    >>> gc.get_count()[0] < gc.get_threshold()[0] - 5
    True
    """
    if not gc.isenabled():
        return
    threshold = gc.get_threshold()[0]
    due_in = threshold - gc.get_count()[0]
    if threshold <= 0 or due_in > threshold * MARGIN_FRACTION:
        return
    # tracked objects kept alive together: the count passes the threshold
    # and the interpreter collects (at once on 3.11 and older, at the loop's
    # next check on 3.12+); two more than needed, so that a check follows.
    # Sets, not lists: an empty list may come from the list free list, which
    # the count does not see (sets have none on 3.10 to 3.13)
    spare: list[set[None]] = [set() for _ in range(max(due_in, 0) + 2)]
    del spare
