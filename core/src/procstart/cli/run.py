"""``procstart run``: run a program with a chosen default start method.

    procstart run [-m METHOD] [--bridge] script.py [args...]
    procstart run -m METHOD -- python -m pkg [args...]

The method is checked here (an unknown name fails before anything runs),
then ``PROCSTART_START_METHOD`` is set and this process is replaced by the
program (``exec``): its exit status, signals and stdio are the program's. A
script runs under the interpreter running procstart; after ``--`` the
command runs as given (looked up on ``PATH``). ``--bridge`` runs a script
with :mod:`procstart.bridge` installed (``set_default=True``), so a program
that only uses ``multiprocessing`` starts its processes with procstart.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from .. import _context, _lookup, _resolution


def add_parser(sub: Any) -> None:
    """Register ``run``."""
    parser = sub.add_parser(
        "run",
        help="run a script or command with a default start method",
        description="Run a Python script (or, after --, any command) with "
        "PROCSTART_START_METHOD set to METHOD.",
    )
    parser.add_argument(
        "-m",
        "--method",
        help="default start method for the program (default: resolve as usual)",
    )
    parser.add_argument(
        "--bridge",
        action="store_true",
        help="install procstart.bridge first: plain multiprocessing code uses METHOD too",
    )
    parser.add_argument(
        "-v", "--verbose", action="store_true", help="say which method and program, on stderr"
    )
    parser.add_argument(
        "program",
        nargs=argparse.REMAINDER,
        help="script.py [args...], or -- COMMAND [args...]",
    )
    parser.set_defaults(func=run)


#: what ``--bridge`` runs: install the bridge, then the script as ``__main__``
_BRIDGE_BOOT = (
    "import os, runpy, sys, procstart.bridge; "
    "procstart.bridge.install(set_default=True); "
    "sys.argv[:] = sys.argv[1:]; "
    "sys.path[0] = os.path.dirname(os.path.abspath(sys.argv[0])); "
    "runpy.run_path(sys.argv[0], run_name='__main__')"
)


def _fail(message: str, code: int = 2) -> int:
    print(f"procstart run: {message}", file=sys.stderr)
    return code


def command_line(program: list[str]) -> tuple[list[str], bool] | None:
    """The argv to exec and whether it is a command (after ``--``) or a script.

    >>> command_line(["--", "python", "-m", "pkg"])
    (['python', '-m', 'pkg'], True)
    >>> command_line(["app.py", "1"])[1]
    False
    """
    if program and program[0] == "--":
        rest = program[1:]
        return (rest, True) if rest else None
    if not program:
        return None
    return ([sys.executable, *program], False)


def run(args: argparse.Namespace) -> int:
    """Check the method, set the environment and exec the program."""
    parsed = command_line(list(args.program))
    if parsed is None:
        return _fail("nothing to run: give a script (script.py [args]) or -- COMMAND [args]")
    argv, is_command = parsed
    env = dict(os.environ)
    if args.method is not None:
        try:
            name = _lookup.start_method(args.method).name
        except (TypeError, ValueError, RuntimeError) as exc:
            return _fail(f"-m {args.method}: {exc}")
        env[_resolution.START_METHOD_ENV] = name
        source = f"-m {name}"
    else:
        try:
            resolution = _context.get_start_method_source()
        except (TypeError, ValueError, RuntimeError) as exc:
            return _fail(str(exc))
        name, source = resolution.method, resolution.describe()
    if not is_command and not os.path.exists(argv[1]):
        return _fail(f"no such script: {argv[1]} (to run a command, put it after --)")
    if args.bridge:
        if is_command:
            return _fail("--bridge runs a Python script, not a command after --")
        argv = [argv[0], "-c", _BRIDGE_BOOT, *argv[1:]]
    if args.verbose:
        print(f"procstart run: start method {name} ({source}): {' '.join(argv)}", file=sys.stderr)
    sys.stdout.flush()
    sys.stderr.flush()
    try:
        os.execvpe(argv[0], argv, env)  # noqa: S606 - replacing ourselves is the point
    except FileNotFoundError:
        return _fail(f"command not found: {argv[0]}", 127)
    except PermissionError:
        return _fail(f"permission denied: {argv[0]}", 126)
    return 0  # pragma: no cover - exec does not return
