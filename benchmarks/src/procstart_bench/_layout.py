"""Move where a measured process's objects fall on pages: a seeded padding.

Which of the library's objects share a memory page is decided by the order
the interpreter allocates them, so it is the same in every process of one
version, and any change to the code moves it. A fork parent pays a
copy-on-write fault for each page it writes per launch; one version can
read a few pages (hundredths of a millisecond) above another by where its
objects fell, not by what it does. Before the library is imported, a
process calls :func:`pad` with a seed: objects of seeded random sizes stay
alive, and everything allocated after them lands at other offsets. A
figure that gives every column of a round the same seed and each round
another one reads a median over many arrangements instead of one.

This module imports nothing: the measured process's ``__main__`` imports
only its own library (``random`` would add modules).
"""

from __future__ import annotations

#: the padding's parameters: pymalloc's size classes (16 bytes apart, up to
#: 512), and an object above them for the C heap
_CLASS_STEP, _CLASSES, _PAGE = 16, 32, 4096
#: ``bytes(n)`` takes n plus this many bytes (its header and the trailing NUL)
_BYTES_OVERHEAD = 33


def pad(seed: int) -> list[bytes]:
    """Allocate the padding of ``seed`` (0: none) and return it: keep it alive.

    For each small-object size class, between none and a page's worth of
    objects, and one larger object of up to a page; a linear congruential
    generator picks the counts, so a seed gives the same padding in every
    process.

    >>> len(pad(0)), len(pad(7)) == len(pad(7)), pad(7) != pad(8)
    (0, True, True)
    """
    kept: list[bytes] = []
    state = seed
    if not state:
        return kept

    def draw() -> int:
        nonlocal state
        state = (state * 1103515245 + 12345) % 2147483648
        return state >> 8

    for size_class in range(3, _CLASSES + 1):
        size = _CLASS_STEP * size_class
        kept += [bytes(size - _BYTES_OVERHEAD) for _ in range(draw() % (_PAGE // size))]
    kept.append(bytes(_CLASSES * _CLASS_STEP + 1 + draw() % _PAGE))
    return kept
