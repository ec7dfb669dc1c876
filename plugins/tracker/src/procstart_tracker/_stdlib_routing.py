"""Private CPython internals: route the stdlib's resource registrations to this tracker.

Why private: ``multiprocessing.shared_memory.SharedMemory`` and
``multiprocessing.synchronize.SemLock`` (behind ``Lock``, ``Semaphore``,
``Queue``...) report their names to ``multiprocessing.resource_tracker``
by calling the module-level functions ``register(name, rtype)`` and
``unregister(name, rtype)``; ``managers`` calls ``ensure_running()``. There
is no public hook to send those calls elsewhere, so in a process procstart
started whose parent runs no stdlib tracker (and only there: never in the
top-level program, never in a process procstart did not start) the three
module attributes are replaced: ``shared_memory`` and ``semaphore``
registrations go to the procstart tracker, and the stdlib's tracker process
is not started for them. Other resource types are passed through unchanged.

The tracker process unlinks with ``_posixshmem.shm_unlink`` and
``_multiprocessing.sem_unlink`` (private C modules; the stdlib's tracker
uses the same two functions), also kept here.

Checked against ``resource_tracker.py``, ``shared_memory.py`` and
``synchronize.py`` of CPython 3.10.13, 3.11.7, 3.12.1 and 3.13.0:

- ``shared_memory`` looks up ``resource_tracker.register`` /
  ``resource_tracker.unregister`` at call time (module attribute), and
  registers on create *and* on attach; 3.13 adds ``SharedMemory(track=False)``
  which skips both calls (respected: nothing reaches us);
- ``synchronize.SemLock`` does ``from .resource_tracker import register``
  inside ``__init__`` (at call time) and ``unregister`` in ``_cleanup``; a
  SemLock made with a ``fork`` context is unlinked at once and never
  registered;
- ``managers.SharedMemoryServer`` calls ``resource_tracker.ensure_running()``;
- ``_resource_tracker._fd`` is not None once the stdlib tracker runs.

``getfd()`` passes through too (the stdlib's own spawn/forkserver contexts
still start and use the stdlib tracker, as without procstart); it is replaced
only to decide this process's routing before a stdlib tracker of its own can
start (:func:`_decide`).

Where it acts. The replacements pass every call through to the stdlib's own
functions except in a process procstart started to report here:

- :func:`arm` (the plugin, in a launching parent, on its first launch)
  installs them lazily, and they route only in a process whose
  ``multiprocessing.process.current_process()`` carries :data:`ROUTE_ATTR` =
  True. The launching parent's tracker hook sets that attribute on the
  process object it launches, in the parent, when that parent runs no stdlib
  tracker; the stdlib's ``_bootstrap`` makes that object the child's
  ``current_process()``. A fork launch on the plugin's fast path sets no
  attribute: a child procstart started without one decides from what it
  inherited (:func:`_decide`). So a fork child inherits armed, deciding
  replacements and does nothing at start; the top-level program (a
  ``_MainProcess``), a child of the stdlib's own contexts and anything
  procstart did not start see no attribute and keep the stdlib's tracker.
- :func:`install` (the child-setup hook of a spawn or fork-server child)
  routes in the calling process, whatever its process object says, and not
  in its fork copies.

Patched lazily: importing ``resource_tracker`` costs ``multiprocessing.spawn``
and ``runpy``, which a child that never makes a ``SharedMemory`` or a
``SemLock`` should not pay for. :func:`install` patches at once if the module
is loaded, else right after its first import (``procstart.plugin.after_import``); both
``shared_memory`` and ``synchronize`` import it before their first
``register`` call, so no registration can slip past.
"""

from __future__ import annotations

import os
import sys
from multiprocessing import process as _mp_process

from procstart.plugin import after_import, after_import_pending, cancel_after_import

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs a child ~1.5 ms to import; annotations only
    from collections.abc import Callable
    from types import ModuleType
    from typing import Any

    _Sink = Callable[[str, str], None]

__all__ = ["ROUTE_ATTR", "arm", "install", "installed", "sem_unlink", "shm_unlink", "uninstall"]

#: set (True/False) by the launching parent on a process object procstart starts
ROUTE_ATTR = "_procstart_tracker_route"

_MODULE = "multiprocessing.resource_tracker"

#: the resource types this tracker takes over from the stdlib's
TAKEN_OVER = frozenset({"shared_memory", "semaphore"})

_originals: dict[str, Any] | None = None
_register_sink: _Sink | None = None
_unregister_sink: _Sink | None = None
#: the stdlib tracker was running when we took over: names registered with it
#: before must still be unregistered there
_stdlib_was_running = False
_seen: set[tuple[str, str]] = set()
#: the process the two above describe (a fork copy starts afresh)
_state_pid = 0
#: the process :func:`install` was called in (routes whatever its process object says)
_forced_pid = 0
#: the process :func:`_decide` last decided for, and its answer
_route_pid = 0
_route = False


def _routes() -> bool:
    """True if this process's stdlib registrations go to the procstart tracker."""
    global _state_pid, _stdlib_was_running, _route_pid, _route
    if _register_sink is None:
        return False
    pid = os.getpid()
    if _route_pid != pid:  # once per process (a fork copy decides afresh)
        _route_pid, _route = pid, _decide(pid)
    if not _route:
        return False
    if _state_pid != pid:  # first routed call in this process
        _state_pid = pid
        _seen.clear()
        module = sys.modules.get(_MODULE)
        tracker = getattr(module, "_resource_tracker", None)
        _stdlib_was_running = getattr(tracker, "_fd", None) is not None
    return True


def _decide(pid: int) -> bool:
    """Whether this process routes: :func:`install` was called here, or its mark says so.

    A fork launch from a parent whose tracker already runs leaves the mark
    out (the plugin's fast path): such a child decides as its parent would
    have, from what it inherited, that is, whether its parent ran a stdlib
    tracker. Decided before this process can start a stdlib tracker of its
    own: the stdlib starts one only through ``getfd()`` or
    ``ensure_running()``, and both ask :func:`_routes` first.
    """
    if _forced_pid == pid:
        return True
    me = _mp_process.current_process()
    mark = getattr(me, ROUTE_ATTR, None)
    if mark is not None:
        return mark is True
    # a fork copy of a launching parent: those modules are loaded already
    from procstart.plugin import started_with, stdlib_tracker_fd

    return started_with(me) is not None and stdlib_tracker_fd() is None


def _getfd() -> int | None:
    """The stdlib's ``getfd()`` (its spawn children's tracker), with routing decided first."""
    _routes()
    assert _originals is not None
    fd: int | None = _originals["getfd"]()
    return fd


def _register(name: str, rtype: str) -> None:
    if rtype in TAKEN_OVER and _routes():
        assert _register_sink is not None
        _seen.add((rtype, name))
        _register_sink(rtype, name)
        return
    assert _originals is not None
    _originals["register"](name, rtype)


def _unregister(name: str, rtype: str) -> None:
    if rtype in TAKEN_OVER and _routes():
        assert _unregister_sink is not None
        _unregister_sink(rtype, name)
        if _stdlib_was_running and (rtype, name) not in _seen:
            assert _originals is not None
            _originals["unregister"](name, rtype)
        _seen.discard((rtype, name))
        return
    assert _originals is not None
    _originals["unregister"](name, rtype)


def _ensure_running() -> None:
    """Where routed, the procstart tracker starts on first need: nothing to do here."""
    if _routes():
        return
    assert _originals is not None
    _originals["ensure_running"]()


def install(register: _Sink, unregister: _Sink) -> None:
    """Send this process's stdlib shared_memory/semaphore registrations to these sinks.

    ``register(kind, name)`` / ``unregister(kind, name)``. Idempotent. Takes
    effect now if ``multiprocessing.resource_tracker`` is imported, else when
    it is (without importing it here). Not in this process's fork copies
    (they route only if procstart started them: :func:`arm`).
    """
    global _forced_pid, _route_pid
    _forced_pid, _route_pid = os.getpid(), 0
    arm(register, unregister)


def arm(register: _Sink, unregister: _Sink) -> None:
    """Route where procstart started a process to report here (:data:`ROUTE_ATTR`).

    Inert in this process unless it is such a process: the replacements pass
    through to the stdlib's functions. Idempotent, lazy as :func:`install`.
    """
    global _register_sink, _unregister_sink
    _register_sink, _unregister_sink = register, unregister
    if _originals is not None or after_import_pending(_MODULE, _patch):
        return
    after_import(_MODULE, _patch)


def _patch(resource_tracker: ModuleType) -> None:
    global _originals
    if _originals is not None or _register_sink is None:
        return  # patched already, or uninstalled before the import
    _originals = {
        "register": resource_tracker.register,
        "unregister": resource_tracker.unregister,
        "ensure_running": resource_tracker.ensure_running,
        "getfd": resource_tracker.getfd,
    }
    module: Any = resource_tracker
    module.register = _register
    module.unregister = _unregister
    module.ensure_running = _ensure_running
    module.getfd = _getfd


def uninstall() -> None:
    """Give the stdlib its own functions back (tests)."""
    global _originals, _register_sink, _unregister_sink, _forced_pid, _state_pid, _route_pid
    cancel_after_import(_MODULE, _patch)
    _forced_pid = _state_pid = _route_pid = 0
    _register_sink = _unregister_sink = None
    if _originals is None:
        return
    from multiprocessing import resource_tracker

    for attr, value in _originals.items():
        setattr(resource_tracker, attr, value)
    _originals = _register_sink = _unregister_sink = None
    _seen.clear()


def installed() -> bool:
    """True while this process's stdlib registrations come here (or will, once imported)."""
    if not (_originals is not None or after_import_pending(_MODULE, _patch)):
        return False
    return _routes()


def shm_unlink(name: str) -> None:
    """Remove a POSIX shared memory segment by name (``/psm_...``)."""
    import _posixshmem  # type: ignore[import-not-found]

    _posixshmem.shm_unlink(name)


def sem_unlink(name: str) -> None:
    """Remove a POSIX named semaphore by name (``/mp-...``)."""
    import _multiprocessing  # type: ignore[import-not-found]

    _multiprocessing.sem_unlink(name)
