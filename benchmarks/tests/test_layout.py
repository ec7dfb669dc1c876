"""The seeded padding moves where a process's later objects fall on their pages."""

from __future__ import annotations

import os
import subprocess
import sys

from procstart_bench._layout import pad

#: a fresh interpreter: pad, import procstart, print where a few of its
#: objects sit within their 4 KiB pages
OFFSETS = """
import sys
from procstart_bench._layout import pad
kept = pad(int(sys.argv[1]))
import procstart
from procstart import _launch
objects = (procstart.get_context, _launch.launch, _launch._Recipe, _launch.launch.__code__)
print(" ".join(str(id(obj) % 4096) for obj in objects))
"""


def _offsets(seed: int) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROCSTART_")}
    env["PYTHONHASHSEED"] = "0"  # the same allocations in every process of a seed
    done = subprocess.run(
        [sys.executable, "-c", OFFSETS, str(seed)],
        capture_output=True, text=True, env=env, timeout=60, check=True,
    )  # fmt: skip
    return done.stdout.strip()


def test_a_seed_gives_the_same_padding_and_zero_gives_none():
    assert pad(0) == []
    assert [len(b) for b in pad(5)] == [len(b) for b in pad(5)]
    assert [len(b) for b in pad(5)] != [len(b) for b in pad(6)]
    # every small-object size class gets its own count, and one larger object ends it
    sizes = {len(b) for b in pad(5)[:-1]}
    assert sizes <= {16 * k - 33 for k in range(3, 33)}
    assert len(pad(5)[-1]) > 512


def test_seeds_move_the_library_objects_within_their_pages():
    by_seed = {seed: _offsets(seed) for seed in (1, 2, 3, 4)}
    # one seed: one arrangement, process after process
    assert _offsets(3) == by_seed[3]
    # other seeds: the library's objects start at other offsets
    assert len(set(by_seed.values())) > 1, by_seed
