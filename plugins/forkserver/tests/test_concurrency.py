"""Many threads starting at once; children starting their own children."""

from __future__ import annotations

import concurrent.futures
from typing import Any

import fs_targets as t
from fs_helpers import WAIT, start_join


def test_threads_start_and_join_at_once(ctx: Any) -> None:
    def work(n: int) -> list[int | None]:
        return [start_join(ctx, t.exit_with, (n + i) % 5).exitcode for i in range(8)]

    with concurrent.futures.ThreadPoolExecutor(6) as pool:
        results = list(pool.map(work, range(6), timeout=WAIT * 2))
    for n, codes in enumerate(results):
        assert codes == [(n + i) % 5 for i in range(8)]


def test_nested_three_deep(ctx: Any) -> None:
    queue = ctx.Queue()
    proc = start_join(ctx, t.nested, queue, 2)
    assert proc.exitcode == 0
    leaf = queue.get(timeout=WAIT)
    assert leaf not in (proc.pid, None)
