"""The fork Popen: ``os.fork()`` then ``_bootstrap`` in the child."""

from __future__ import annotations

import os
import sys
from multiprocessing.process import BaseProcess

import procstart.plugin as psp
from procstart.plugin import ChildPopen, ForkedChild, close_fds, fork_atexit

from . import _collect, _stdin


class ForkPopen(ChildPopen):
    """A child made by ``os.fork()``; exit status by ``waitpid``."""

    method = "fork"

    def duplicate_for_child(self, fd: int) -> int:
        """A forked child already holds every fd under its number."""
        return fd

    def _launch(self, process_obj: BaseProcess, request: psp.LaunchRequest) -> None:
        code = 1
        # decided here, in the parent: in the child every object touched costs
        # a copy-on-write page fault, so the child reads only these locals
        plan = ForkedChild.for_request(request)
        child_atexit = fork_atexit.RUNS_CHILD_ATEXIT
        stdin_ready = _stdin.prepare()
        _collect.run_due_collection()  # here, not in the child: see _collect
        parent_r, child_w = os.pipe()
        try:
            child_r, parent_w = os.pipe()
        except BaseException:
            close_fds(parent_r, child_w)
            raise
        try:
            self.pid = os.fork()
        except BaseException:
            close_fds(parent_r, child_w, child_r, parent_w)
            raise
        if self.pid == 0:
            try:
                if child_atexit:
                    fork_atexit.child_started()
                os.close(parent_r)
                os.close(parent_w)
                if plan is not None:
                    plan.enter()
                if stdin_ready:
                    _stdin.adopt()
                code = process_obj._bootstrap(parent_sentinel=child_r)  # type: ignore[attr-defined]
            except BaseException:  # noqa: BLE001 - a failed setup must be visible
                import traceback

                traceback.print_exc()
                sys.stderr.flush()
            finally:
                if child_atexit:
                    fork_atexit.child_exiting()
                os._exit(code)
        os.close(child_w)
        os.close(child_r)
        self.own_fds(parent_r, parent_w)
        self.sentinel = parent_r
