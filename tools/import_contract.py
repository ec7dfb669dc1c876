"""Write the import-linter contracts for this repository, computed from its layout.

Two contracts, checked by ``make lint-imports`` (part of ``make lint``):

1. every plugin and example package (``plugins/*/src/*``, ``examples/*/src/*``,
   and ``benchmarks/src/*``, the benchmark distribution)
   imports from the core only ``procstart`` and ``procstart.plugin``: every
   other module of ``core/src/procstart`` is forbidden, whatever its name, so
   a module added to the core later is forbidden too;
2. the core imports no plugin or example package.

The lists are computed here from the folders, so neither a new plugin nor a
new core module can slip past the check. Usage::

    python tools/import_contract.py --check        # what `make lint-imports` runs
    python tools/import_contract.py > contracts.ini   # just the contracts
    python tools/import_contract.py --check --extra-source-dir DIR   # and DIR's packages
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

#: what plugins may import from the core (and, implicitly, nothing else)
ALLOWED = ("procstart", "procstart.plugin")

#: imports that other branches are removing: ``module -> imported``. Each is a
#: known debt, not a permission; unmatched entries only warn so that removing
#: the import does not break the check.
TRANSITIONAL: tuple[str, ...] = ()


def packages(src_dirs: list[Path]) -> list[str]:
    """Top-level import packages found in the given ``src`` folders."""
    found = set()
    for src in src_dirs:
        for child in src.iterdir():
            if child.is_dir() and (child / "__init__.py").exists():
                found.add(child.name)
    return sorted(found)


def core_modules(core_package: Path) -> list[str]:
    """``procstart``'s direct submodules and subpackages, except :data:`ALLOWED`.

    A forbidden module's descendants are forbidden with it.
    """
    names = set()
    for child in core_package.iterdir():
        if child.name.startswith(".") or child.name == "__pycache__":
            continue
        if child.suffix == ".py" and child.stem != "__init__":
            names.add(f"procstart.{child.stem}")
        elif child.is_dir() and (child / "__init__.py").exists():
            names.add(f"procstart.{child.name}")
    return sorted(names - set(ALLOWED))


def render(root: Path, extra_source_dirs: list[Path]) -> str:
    """The INI text of the contracts for the repository at ``root``."""
    src_dirs = [
        *sorted(root.glob("plugins/*/src")),
        *sorted(root.glob("examples/*/src")),
        root / "benchmarks" / "src",  # procstart-bench: a distribution like any plugin
    ]
    plugin_packages = packages([*src_dirs, *extra_source_dirs])
    forbidden = core_modules(root / "core" / "src" / "procstart")
    lines = [
        "[importlinter]",
        "root_packages =",
        *(f"    {name}" for name in ["procstart", *plugin_packages]),
        "",
        "[importlinter:contract:plugins-use-the-plugin-api]",
        "name = plugins and examples import only procstart and procstart.plugin from the core",
        "type = forbidden",
        "source_modules =",
        *(f"    {name}" for name in plugin_packages),
        "forbidden_modules =",
        *(f"    {name}" for name in forbidden),
        # procstart.plugin resolves names from private modules: that is its job
        "allow_indirect_imports = True",
    ]
    if TRANSITIONAL:
        lines += [
            "ignore_imports =",
            *(f"    {entry}" for entry in TRANSITIONAL),
            "unmatched_ignore_imports_alerting = warn",
        ]
    lines += [
        "",
        "[importlinter:contract:core-knows-no-plugin]",
        "name = the core imports no plugin",
        "type = forbidden",
        "source_modules =",
        "    procstart",
        "forbidden_modules =",
        *(f"    {name}" for name in plugin_packages),
        "",
    ]
    return "\n".join(lines)


def lint_imports_command(config: Path) -> list[str]:
    """The ``lint-imports`` command line checking ``config``, for the installed version.

    import-linter 2.16 takes the file as an argument and deprecates
    ``--config``; older versions (the newest for Python 3.10) take only ``--config``.
    """
    from importlib.metadata import version

    program = str(Path(sys.executable).parent / "lint-imports")
    major, minor = (int(part) for part in version("import-linter").split(".")[:2])
    given = [str(config)] if (major, minor) >= (2, 16) else ["--config", str(config)]
    return [program, "--no-cache", "--no-logo", *given]


def check(root: Path, extra_source_dirs: list[Path]) -> int:
    """Run import-linter on the computed contracts; its exit status."""
    with tempfile.TemporaryDirectory() as folder:
        config = Path(folder) / "contracts.ini"
        config.write_text(render(root, extra_source_dirs))
        env = dict(os.environ)
        if extra_source_dirs:  # their packages must be importable to be checked
            paths = [str(path) for path in extra_source_dirs]
            env["PYTHONPATH"] = os.pathsep.join([*paths, env.get("PYTHONPATH", "")])
        return subprocess.run(lint_imports_command(config), env=env, check=False).returncode


def main(argv: list[str] | None = None) -> int:
    """Print the contracts (INI) to stdout, or check them (``--check``)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=Path(__file__).resolve().parent.parent)
    parser.add_argument(
        "--extra-source-dir",
        type=Path,
        action="append",
        default=[],
        help="another src folder whose packages are held to the plugin contract",
    )
    parser.add_argument("--check", action="store_true", help="run import-linter on them")
    args = parser.parse_args(argv)
    if args.check:
        return check(args.root, args.extra_source_dir)
    sys.stdout.write(render(args.root, args.extra_source_dir))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
