"""The child side shared by exec- and server-based start methods.

A launcher sends the child one payload (see :mod:`procstart.payload`):

    MAGIC (8 bytes) | len(prep) (8 bytes, big-endian) | prep | len(proc) | proc

``prep`` is a pickled :class:`Preparation` (sys.path, cwd, argv, authkey,
name, log level, the start method, the plugins whose child setup must run,
the project config); ``proc`` is the process
object, pickled with the stdlib reducers (and cloudpickle where needed).

This module imports only what the standard library's own child needs, and
no plugin manager: the child never scans entry points nor reads
``pyproject.toml``. (No ``typing`` either: see the ``TYPE_CHECKING`` guard.)

``prep`` is a :class:`Preparation`: typed fields, not string keys; launchers
set its optional fields with ``payload.build(extra=...)``. Exec'd children
enter through :func:`spawn_main`.
"""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs a child ~1.5 ms to import; annotations only
    from typing import Any

#: every procstart module a child of an exec- or server-based method may import
#: before its target runs: the modules behind this entry point, the process
#: classes and fd stand-ins it unpickles, what ``prepare`` imports when a
#: payload asks (child setup, the stdlib tracker), and the two that plugins'
#: light child-side packages use (``procstart.plugin.lazy_attach``). One list
#: for every launcher (spawn ships their bytecode, a fork server imports them
#: once); ``core/tests/test_child_modules.py`` checks it against real children.
CHILD_MODULES = (
    "procstart",
    "procstart.child",
    "procstart._settings",
    "procstart._pyproject",
    "procstart._resolution",
    "procstart._names",
    "procstart._process",
    "procstart._stdlib_tracker",
    "procstart._semlock_window",
    "procstart._childinfo",
    "procstart.importhook",
    "procstart._fds",
    "procstart.plugin",
    "procstart.lazy",
    "procstart._submodules",
    "procstart._byvalue",
)

MAGIC = b"PRCSTRT1"
_LEN_BYTES = 8
#: refuse absurd lengths before allocating anything (a 1 TiB payload is a bug)
MAX_SECTION = 1 << 40

__all__ = [
    "CHILD_MODULES",
    "MAGIC",
    "PayloadError",
    "Preparation",
    "fast_exit",
    "inherited_fd",
    "inherited_fds",
    "read_payload",
    "run",
    "site_state",
    "spawn_main",
]

_inherited: list[int] = []
_handles: dict[str, int] = {}
#: what a child started without ``site`` restored (spawn's fast startup)
_site: dict[str, Any] | None = None
#: set from the payload: leave with os._exit after the exit work that matters
_fast_exit = False


class PayloadError(EOFError):
    """The launch payload is truncated or not a procstart payload."""


class Preparation:
    """What a child must know before it unpickles its process object.

    The first section of the launch payload, built in the parent by
    :func:`procstart.payload.build`. Every field has a default (``None``:
    not sent); a launcher sets the optional ones through ``build(extra=...)``:

    - the parent's likeness: ``name``, ``authkey``, ``sys_path``,
      ``sys_argv``, ``dir``, ``orig_dir``, ``env``, ``log_level``,
      ``log_to_stderr``, ``main_name`` / ``main_path``;
    - procstart's state: ``method``, ``parent_pid``, ``handles`` (key -> fd,
      or index among the fds received when ``handles_by_index``),
      ``child_setup``, ``plugins``, ``config_path``, ``config``,
      ``forkserver_preload``, ``executable``;
    - launcher options: ``main_code`` (the main script compiled by the
      parent), ``fast_exit`` (leave through :func:`fast_exit`),
      ``noinherit_fds`` (fds to make close-on-exec again), ``site`` (what
      ``site`` would have done, for a child started with ``-S``).

    A plain slotted class (no dataclass, no typing): every child unpickles one.

    >>> Preparation(method="spawn", parent_pid=1).method
    'spawn'
    """

    __slots__ = (
        "authkey",
        "child_setup",
        "config",
        "config_path",
        "dir",
        "env",
        "executable",
        "fast_exit",
        "forkserver_preload",
        "handles",
        "handles_by_index",
        "log_level",
        "log_to_stderr",
        "main_code",
        "main_name",
        "main_path",
        "method",
        "name",
        "noinherit_fds",
        "orig_dir",
        "parent_pid",
        "plugins",
        "site",
        "sys_argv",
        "sys_path",
    )

    authkey: bytes | None
    child_setup: list[Any] | None
    config: dict[str, Any] | None
    config_path: str | None
    dir: str | None
    env: dict[str, str] | None
    executable: str | None
    fast_exit: bool | None
    forkserver_preload: list[str] | None
    handles: dict[str, int] | None
    handles_by_index: bool | None
    log_level: int | None
    log_to_stderr: bool | None
    main_code: tuple[str, bytes] | None
    main_name: str | None
    main_path: str | None
    method: str
    name: str | None
    noinherit_fds: list[int] | None
    orig_dir: str | None
    parent_pid: int
    plugins: list[tuple[str, str, str, str]] | None
    site: dict[str, Any] | None
    sys_argv: list[str] | None
    sys_path: list[str] | None

    def __init__(self, **values: Any) -> None:
        for field in self.__slots__:
            object.__setattr__(self, field, values.pop(field, None))
        if values:
            unknown = ", ".join(sorted(values))
            raise TypeError(f"Preparation has no field(s) {unknown}; fields: {self.__slots__}")

    def __reduce__(self) -> tuple[Any, ...]:
        # positional and in slot order: the smallest pickle, the fastest load
        return (_preparation, tuple(getattr(self, field) for field in self.__slots__))

    def __repr__(self) -> str:
        shown = ", ".join(
            f"{field}={getattr(self, field)!r}"
            for field in self.__slots__
            if getattr(self, field) is not None and field != "authkey"
        )
        return f"Preparation({shown})"


def _preparation(*values: Any) -> Preparation:
    prep = Preparation.__new__(Preparation)
    for field, value in zip(Preparation.__slots__, values, strict=True):
        object.__setattr__(prep, field, value)
    return prep


def inherited_fds() -> list[int]:
    """Fds this child received in order (used by ``IndexedFd``)."""
    return _inherited


def inherited_fd(key: str) -> int:
    """The fd number of the handle a plugin passed under ``key``.

    >>> inherited_fd("my-tracker")  # doctest: +SKIP
    5
    """
    try:
        return _handles[key]
    except KeyError:
        raise LookupError(f"no inherited handle {key!r} in this process") from None


def site_state() -> dict[str, Any] | None:
    """The ``site`` state this child restored when started with ``-S``, else None.

    A launcher passes it on so that grandchildren start the same way.
    """
    return _site


def _restore_site(state: dict[str, Any]) -> None:
    """Do what ``site`` would have done, for a child started with ``-S``.

    ``sys.path`` is already the parent's; restore the prefixes, the
    ``exit``/``help``/... builtins and run the ``.pth`` import lines the
    parent found harmless (in the order ``site`` would).
    """
    global _site
    _site = state
    sys.prefix = state["prefix"]
    sys.exec_prefix = state["exec_prefix"]
    import site  # frozen and cheap; under -S its main() does not run

    site.PREFIXES[:] = state.get("prefixes", [sys.prefix, sys.exec_prefix])
    site.ENABLE_USER_SITE = state.get("enable_user_site")
    site.setquit()
    site.setcopyright()
    site.sethelper()
    if not sys.flags.isolated:
        site.enablerlcompleter()
    for line in state.get("pth_imports", ()):
        code = compile(line, "<.pth line>", "exec", dont_inherit=True)
        exec(code, vars(site), {})  # noqa: S102 - what site runs for this .pth line


def _attach_stdlib_tracker(fd: int) -> None:
    """Report to the parent's stdlib resource tracker, importing it only when used.

    Importing ``multiprocessing.resource_tracker`` pulls in
    ``multiprocessing.spawn`` and ``runpy``; most children never touch the
    tracker, so attach when something imports it (or now, if already done).
    """
    from ._stdlib_tracker import attach
    from .importhook import after_import

    after_import("multiprocessing.resource_tracker", lambda _module: attach(fd))


def _read_exact(fd: int, size: int) -> bytes:
    chunks: list[bytes] = []
    remaining = size
    while remaining:
        chunk = os.read(fd, min(remaining, 1 << 20))
        if not chunk:
            got = size - remaining
            raise PayloadError(f"launch payload truncated: expected {size} bytes, got {got}")
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


def _read_section(fd: int) -> bytes:
    size = int.from_bytes(_read_exact(fd, _LEN_BYTES), "big")
    if size > MAX_SECTION:
        raise PayloadError(f"launch payload section of {size} bytes is out of range")
    return _read_exact(fd, size)


def read_payload(fd: int) -> tuple[bytes, bytes]:
    """Read one payload from ``fd``: (prep pickle, process pickle)."""
    magic = _read_exact(fd, len(MAGIC))
    if magic != MAGIC:
        raise PayloadError(f"not a procstart launch payload (header {magic!r})")
    return _read_section(fd), _read_section(fd)


def _import_main_from_path(path: str, shipped: bytes | None = None) -> None:
    current = sys.modules["__main__"]
    if os.path.splitext(os.path.basename(path))[0] == "ipython":
        return
    if getattr(current, "__file__", None) == path:
        return  # already there (a fork server preloaded it)
    import types

    module = types.ModuleType("__mp_main__")
    module.__file__ = path
    module.__cached__ = None  # type: ignore[attr-defined] # as runpy.run_path sets them
    module.__package__ = ""
    module.__dict__["__builtins__"] = __builtins__
    if shipped is not None:
        # the parent compiled this very file (same interpreter): see procstart_spawn
        import marshal

        code = marshal.loads(shipped)  # noqa: S302 - from our parent, like the pickle
    else:
        with open(path, "rb") as fh:
            source = fh.read()
        # dont_inherit: this module's own __future__ imports must not leak into it
        code = compile(source, path, "exec", dont_inherit=True)
    sys.modules["__main__"] = sys.modules["__mp_main__"] = module
    exec(code, module.__dict__)  # noqa: S102 - the stdlib re-runs __main__ too


def _import_main_from_name(name: str) -> None:
    if name == "__main__" or name.endswith(".__main__"):
        return  # a package's __main__ cannot be re-run safely
    current = sys.modules["__main__"]
    if getattr(getattr(current, "__spec__", None), "name", None) == name:
        return
    # what runpy.run_module(name, run_name="__mp_main__") does, without
    # importing runpy: run the module's code in a module named __mp_main__
    import importlib.util

    spec = importlib.util.find_spec(name)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot re-import the main module {name!r}: not found", name=name)
    get_code = getattr(spec.loader, "get_code", None)
    code = get_code(name) if get_code is not None else None
    if code is None:  # a loader without code objects: let runpy deal with it
        import runpy
        import types

        namespace = runpy.run_module(name, run_name="__mp_main__", alter_sys=True)
        module = types.ModuleType("__mp_main__")
        module.__dict__.update(namespace)
        sys.modules["__main__"] = sys.modules["__mp_main__"] = module
        return
    module = importlib.util.module_from_spec(spec)
    module.__name__ = "__mp_main__"
    previous = sys.modules["__main__"]
    sys.modules["__main__"] = sys.modules["__mp_main__"] = module
    try:
        exec(code, module.__dict__)  # noqa: S102 - what runpy.run_module does
    except BaseException:
        sys.modules["__main__"] = previous
        del sys.modules["__mp_main__"]
        raise


def import_main(
    main_name: str | None = None,
    main_path: str | None = None,
    main_code: tuple[str, bytes] | None = None,
) -> None:
    """Re-import the parent's ``__main__`` as ``__mp_main__``, as spawn does.

    ``main_name`` / ``main_path`` as :func:`procstart.payload.main_reference`
    gives them; ``main_code`` is ``(path, marshalled code)`` compiled by the
    parent.
    """
    if main_name:
        _import_main_from_name(main_name)
    elif main_path:
        shipped = main_code[1] if main_code and main_code[0] == main_path else None
        _import_main_from_path(main_path, shipped)
    # a fork server preloading the main module arms itself here (its children
    # inherit that); a child armed in prepare()
    from . import _semlock_window

    _semlock_window.arm()


def _apply_environment(prep: Preparation) -> None:
    from multiprocessing import process

    if prep.sys_path is not None:
        sys.path[:] = prep.sys_path
    if prep.sys_argv is not None:
        sys.argv[:] = prep.sys_argv
    if prep.dir is not None:
        os.chdir(prep.dir)
    if prep.orig_dir is not None:
        process.ORIGINAL_DIR = prep.orig_dir  # type: ignore[attr-defined]
    for key, value in (prep.env or {}).items():
        os.environ[key] = value
    me = process.current_process()
    if prep.name is not None:
        me.name = prep.name
    if prep.authkey is not None:
        me.authkey = prep.authkey
    if prep.log_to_stderr or prep.log_level is not None:
        from multiprocessing import util

        if prep.log_to_stderr:
            util.log_to_stderr()
        if prep.log_level is not None:
            util.get_logger().setLevel(prep.log_level)


def _apply_procstart_state(prep: Preparation) -> None:
    from ._pyproject import ProjectConfig
    from ._resolution import Resolution
    from ._settings import settings

    method = prep.method
    settings.inherited = Resolution(
        method, "parent", f"started with {method!r} by pid {prep.parent_pid}"
    )
    settings.project = ProjectConfig(prep.config_path, prep.config or {})
    settings.forkserver_preload = prep.forkserver_preload
    settings.executable = prep.executable
    settings.plugin_snapshot = prep.plugins


def _run_child_setup(prep: Preparation) -> None:
    if not prep.child_setup:
        return  # most children: no plugin needs a setup
    from ._childinfo import ChildInfo, run_child_setup

    info = ChildInfo(method=prep.method, parent_pid=prep.parent_pid, handles=dict(_handles))
    run_child_setup(prep.child_setup, info)


def prepare(prep: Preparation, inherited: list[int]) -> None:
    """Make this process look like the parent, then run plugins' child setup."""
    _inherited[:] = inherited
    _handles.clear()
    for key, index in (prep.handles or {}).items():
        _handles[key] = inherited[index] if prep.handles_by_index else index
    global _fast_exit
    _fast_exit = bool(prep.fast_exit)
    # fds passed to this child were made inheritable for the exec; its own
    # children get none of them unless they ask (PEP 446's default again)
    for fd in prep.noinherit_fds or ():
        try:  # noqa: SIM105 - contextlib is one import more for every child
            os.set_inheritable(fd, False)
        except OSError:
            pass  # closed already by a setup hook: nothing to protect
    _apply_environment(prep)
    if prep.site is not None:
        _restore_site(prep.site)
    _apply_procstart_state(prep)
    from ._stdlib_tracker import HANDLE_KEY

    if HANDLE_KEY in _handles:
        _attach_stdlib_tracker(_handles[HANDLE_KEY])
    from . import _semlock_window

    _semlock_window.arm()  # named semaphores registered before a signal can end us
    _run_child_setup(prep)


def run(fd: int, *, inherited: list[int] | None = None, parent_sentinel: int | None = None) -> int:
    """Read the payload from ``fd``, become the child, run it; return the exit code.

    ``inherited`` lists the fds received in order (for server-based methods);
    ``parent_sentinel`` is readable when the parent has gone (for
    ``parent_process().is_alive()``), by default ``fd`` itself.
    """
    import pickle
    from multiprocessing import process

    prep_bytes, proc_bytes = read_payload(fd)
    prep = pickle.loads(prep_bytes)
    if not isinstance(prep, Preparation):
        raise PayloadError(f"launch payload: expected a Preparation, got {type(prep).__name__}")
    me: Any = process.current_process()
    me._inheriting = True
    try:
        prepare(prep, inherited or [])
        import_main(prep.main_name, prep.main_path, prep.main_code)
        process_obj = pickle.loads(proc_bytes)
    finally:
        del me._inheriting
    del prep_bytes, proc_bytes
    # a launcher's bootstrap finder (spawn's bytecode handoff) has done its job
    sys.meta_path[:] = [f for f in sys.meta_path if not getattr(f, "_procstart_bootstrap", False)]
    code: int = process_obj._bootstrap(
        parent_sentinel=fd if parent_sentinel is None else parent_sentinel
    )
    return code


def _flush_module_files() -> None:
    """Flush buffered files that modules still hold (teardown would, on close)."""
    import io

    buffered = (io.TextIOWrapper, io.BufferedWriter, io.BufferedRandom, io.BufferedRWPair)
    for module in list(sys.modules.values()):
        namespace = getattr(module, "__dict__", None)
        if not namespace:
            continue
        for value in list(namespace.values()):
            if type(value) in buffered:
                try:
                    if not value.closed:
                        value.flush()
                except (OSError, ValueError):
                    pass


def fast_exit(code: int) -> None:
    """Exit now, doing what a normal exit does that a program can rely on.

    Runs the ``atexit`` handlers (``logging.shutdown``, ``weakref.finalize``,
    ...) and flushes the standard streams and the buffered files module
    globals hold, then ``os._exit``: the interpreter's teardown (freeing every
    object, calling ``__del__`` of objects still alive, which Python does not
    promise) is skipped, as in ``multiprocessing``'s fork and forkserver
    children. ``BaseProcess._bootstrap`` has already joined non-daemon threads
    and run the ``multiprocessing`` finalizers.
    """
    import atexit

    try:
        atexit._run_exitfuncs()  # type: ignore[attr-defined]
        _flush_module_files()
    finally:
        for stream in (sys.stdout, sys.stderr):
            try:  # noqa: SIM105 - contextlib is one import more for every child
                stream.flush()
            except (AttributeError, OSError, ValueError):
                pass
        os._exit(code)


def spawn_main(fd: int) -> None:
    """Entry point of an exec'd child: ``from procstart.child import spawn_main; spawn_main(FD)``.

    Exits with the process's exit code; the launcher decides (``fast_exit``
    in the payload) whether through :func:`fast_exit` or a normal exit.
    """
    from . import _process

    # a fresh interpreter: the finalizers it has are its own (see Process._after_fork)
    _process.exec_child_pid = os.getpid()
    code = run(fd)
    if _fast_exit:
        fast_exit(code)
    sys.exit(code)
