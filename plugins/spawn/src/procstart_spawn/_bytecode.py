"""Hand the child procstart's own bootstrap modules as bytecode, through the pipe.

Every spawn child imports the same few procstart modules before it can read
its process object. Where no ``.pyc`` can be used (``PYTHONDONTWRITEBYTECODE``,
a read-only install) each child compiles them again, several milliseconds
each time. The parent instead gets their code objects once, exactly as the
import system would (``SourceFileLoader.get_code``: the ``.pyc`` if valid,
else a compile of the source), and sends them marshalled ahead of the
payload; the child's bootstrap installs a finder that serves these modules
with a ``SourceFileLoader`` whose ``get_code`` returns the shipped code, so
``__file__``, ``__spec__``, ``__path__`` and resource readers are as usual.
The finder is removed before the target runs. The modules of plugins with
child-side setup go along (:func:`plugin_modules`), and the main script,
which every child re-runs, is handed over compiled too (:func:`main_code`).

Only for a child running the parent's own interpreter (marshal and bytecode
are version-specific). Nothing is written to disk.
"""

from __future__ import annotations

import marshal
import os
import sys
import threading

__all__ = ["BOOTSTRAP_MODULES", "bootstrap_code", "bundle", "main_code", "plugin_modules"]

#: what a spawn child imports from procstart before its target runs
BOOTSTRAP_MODULES = (
    "procstart",
    "procstart.child",
    "procstart._settings",
    "procstart._pyproject",
    "procstart._resolution",
    "procstart._names",
    "procstart._process",
    "procstart._stdlib_tracker",
    "procstart._childinfo",  # when a plugin has child-side setup
)

#: without these the child's -c program cannot reach procstart.child
_REQUIRED = frozenset({"procstart", "procstart.child"})

#: procstart modules no child needs (the CLI, benchmarks, the pytest plugin)
_NEVER = ("procstart.cli", "procstart.bench", "procstart.pytest_plugin", "procstart.__main__")

_bundles: dict[tuple[str, ...], bytes | None] = {}
_lock = threading.Lock()


def plugin_modules(roots: tuple[str, ...]) -> tuple[str, ...]:
    """Modules a child may import to run the child setup of the plugins ``roots``.

    Those loaded here from the plugins' top-level packages and from procstart:
    shipping one the child does not import costs only its bytes in the pipe.
    """
    tops = {root.partition(":")[0].strip().partition(".")[0] for root in roots}
    tops.add("procstart")
    return tuple(
        sorted(
            name
            for name, module in list(sys.modules.items())
            if module is not None and name.partition(".")[0] in tops and not name.startswith(_NEVER)
        )
    )


def _collect(extra: tuple[str, ...] = ()) -> bytes | None:
    import importlib
    from importlib.machinery import SourceFileLoader

    modules = {}
    for name in dict.fromkeys((*BOOTSTRAP_MODULES, *extra)):
        try:
            module = sys.modules.get(name) or importlib.import_module(name)
            spec = getattr(module, "__spec__", None)
            loader = getattr(spec, "loader", None)
            # zipimport, a frozen app, ...: that module is imported the usual way
            usable = spec is not None and type(loader) is SourceFileLoader and spec.origin
            code = loader.get_code(name) if usable else None  # type: ignore[union-attr]
        except ImportError:  # an older procstart without this module
            code = None
        if code is None:
            if name in _REQUIRED:  # the child could not find procstart without it
                return None
            continue
        assert spec is not None
        locations = spec.submodule_search_locations
        # each module's code marshalled on its own: the child loads only what it imports
        modules[name] = (
            spec.origin,
            None if locations is None else list(locations),
            marshal.dumps(code),
        )
    return marshal.dumps(modules)


def bundle(child_setup: tuple[object, ...] = ()) -> bytes | None:
    """The marshalled bootstrap modules, or None if unavailable.

    With plugins' ``child_setup`` references (module names), their modules go
    too. Computed once per set of plugins.
    """
    roots = tuple(sorted({ref.partition(":")[0] for ref in child_setup if isinstance(ref, str)}))
    with _lock:
        if roots not in _bundles:
            try:
                _bundles[roots] = _collect(plugin_modules(roots) if roots else ())
            except OSError:
                return None  # out of fds, say: try again at the next launch
            except (ImportError, SyntaxError, ValueError):
                _bundles[roots] = None
        return _bundles[roots]


_main_cache: dict[str, tuple[tuple[int, int], bytes]] = {}


def main_code(path: str) -> bytes | None:
    """The marshalled code of the main script at ``path``, as the child would compile it.

    Compiled once and again only when the file changes (size or mtime), so a
    child runs the file as it is when it starts, like the stdlib's.
    """
    try:
        info = os.stat(path)
        key = (info.st_mtime_ns, info.st_size)
        with _lock:
            cached = _main_cache.get(path)
        if cached is not None and cached[0] == key:
            return cached[1]
        with open(path, "rb") as fh:
            source = fh.read()
        data = marshal.dumps(compile(source, path, "exec", dont_inherit=True))
    except (OSError, SyntaxError, ValueError):
        return None  # the child tries itself and reports what goes wrong
    with _lock:
        _main_cache[path] = (key, data)
    return data


#: the child's ``-c`` program when a bundle is sent: read it, serve it, go on.
#: Kept short: the child compiles this text every time.
_BOOTSTRAP = """\
def _procstart_boot(fd):
 import os,sys,marshal
 e=sys.modules['_frozen_importlib_external']
 def r(n):
  b=b''
  while len(b)<n:
   c=os.read(fd,n-len(b))
   if not c:raise EOFError('procstart spawn: the launch pipe closed early')
   b+=c
  return b
 m=marshal.loads(r(int.from_bytes(r(8),'big')))
 class ShippedLoader(e.SourceFileLoader):
  def get_code(s,n):return marshal.loads(m[n][2])
 class BootstrapFinder:
  _procstart_bootstrap=True
  @staticmethod
  def find_spec(n,p=None,t=None):
   x=m.get(n)
   if x:
    l=ShippedLoader(n,x[0])
    return e.spec_from_file_location(n,x[0],loader=l,submodule_search_locations=x[1])
 sys.meta_path.insert(0,BootstrapFinder)
 from procstart.child import spawn_main
 spawn_main(fd)
_procstart_boot({fd})
"""


def bootstrap_code(fd: int) -> str:
    """The ``-c`` program of a child that receives a bundle on ``fd``."""
    return _BOOTSTRAP.format(fd=fd)
