"""Start-method names: one canonical spelling (kept tiny: children import it)."""

from __future__ import annotations

_LETTERS = "abcdefghijklmnopqrstuvwxyz"
#: what a name may hold after its first letter (no regular expression: compiling
#: one costs every program that imports procstart more than all its checks)
_NAME_CHARS = _LETTERS + "0123456789_-"


def _well_formed(name: str) -> bool:
    return 0 < len(name) <= 64 and name[0] in _LETTERS and not name.strip(_NAME_CHARS)


def normalize_method_name(name: object) -> str:
    """Return the canonical form of a start-method name or raise.

    Names are ASCII, lower-case, start with a letter and hold at most 64 of
    ``a-z 0-9 _ -``; surrounding blanks are dropped and case is folded.
    ``TypeError`` for a non-string, ``ValueError`` for a malformed name.

    >>> normalize_method_name(" Spawn ")
    'spawn'
    """
    if not isinstance(name, str):
        raise TypeError(f"start method name must be a str, not {type(name).__name__}")
    canonical = name.strip().lower()
    if not _well_formed(canonical):
        shown = name if len(name) <= 40 else name[:40] + f"... ({len(name)} chars)"
        raise ValueError(
            f"invalid start method name {shown!r}: expected 1-64 characters "
            "of a-z, 0-9, '_' or '-', starting with a letter"
        )
    return canonical


#: Distributions this project publishes, as ``procstart-<name>``. An error may
#: tell a user to ``pip install`` one of these and nothing else: a package
#: name made up from a typo is an open door for typosquatters.
PUBLISHED: tuple[str, ...] = ("spawn", "fork", "forkserver", "tracker", "dask")

#: the start methods every Python has: always worth a did-you-mean
BUILTIN_METHODS: tuple[str, ...] = ("spawn", "fork", "forkserver")


def _closest(name: str, choices: list[str]) -> str | None:
    import difflib

    found = difflib.get_close_matches(name, choices, n=1, cutoff=0.6)
    return found[0] if found else None


def unknown_method_message(name: str, installed: list[str]) -> str:
    """The error text for a start method that is not installed.

    Suggests the closest installed or built-in name, and ``pip install``
    only for a distribution this project publishes.

    >>> unknown_method_message("spwn", ["fork", "spawn"])
    "unknown start method 'spwn'; did you mean 'spawn'? installed: fork, spawn"
    >>> unknown_method_message("forkserver", ["fork"])
    "start method 'forkserver' is not installed (pip install procstart-forkserver); installed: fork"
    """
    shown = ", ".join(installed) if installed else "none"
    if name in PUBLISHED:
        return (
            f"start method {name!r} is not installed (pip install procstart-{name}); "
            f"installed: {shown}"
        )
    guess = _closest(name, sorted({*installed, *BUILTIN_METHODS}))
    if guess is None:
        return f"unknown start method {name!r}; installed: {shown}"
    hint = f"did you mean {guess!r}?"
    if guess not in installed:
        hint = f"did you mean {guess!r}? (not installed: pip install procstart-{guess})"
    return f"unknown start method {name!r}; {hint} installed: {shown}"


def install_hint() -> str:
    """What to install when no start method is installed at all.

    >>> install_hint()
    'install one: pip install procstart-spawn procstart-fork procstart-forkserver'
    """
    return (
        "install one: " + "pip install " + " ".join(f"procstart-{name}" for name in BUILTIN_METHODS)
    )
