"""Rewrite the generated configuration reference in docs/user-guide.md.

Run with every distribution of the repository installed (``make venv``)::

    .venv/bin/python docs/update_config_reference.py     # or: make docs

The block between the markers is ``procstart config --markdown``: the keys
and ``PROCSTART_*`` variables the core and the installed plugins declare.
``core/tests/test_config_reference.py`` fails when the two differ.
"""

from __future__ import annotations

import sys
from pathlib import Path

from procstart.cli.config import reference_markdown

GUIDE = Path(__file__).resolve().parent / "user-guide.md"
BEGIN = "<!-- generated: `procstart config --markdown`"
END = "<!-- end of generated reference -->"


def rewrite(text: str, reference: str) -> str:
    """``text`` with the generated block replaced by ``reference``.

    >>> out = rewrite("a\\n" + BEGIN + " x -->\\n\\nold\\n" + END + "\\nb", "new\\n")
    >>> out.split("-->", 1)[1]
    '\\n\\nnew\\n\\n<!-- end of generated reference -->\\nb'
    """
    head, rest = text.split(BEGIN, 1)
    comment, rest = rest.split("-->\n\n", 1)
    _old, tail = rest.split(END, 1)
    return f"{head}{BEGIN}{comment}-->\n\n{reference}\n{END}{tail}"


def main() -> int:
    """Rewrite the guide; print whether it changed."""
    text = GUIDE.read_text(encoding="utf-8")
    new = rewrite(text, reference_markdown())
    if new == text:
        print(f"{GUIDE}: configuration reference up to date")
        return 0
    GUIDE.write_text(new, encoding="utf-8")
    print(f"{GUIDE}: configuration reference rewritten")
    return 0


if __name__ == "__main__":
    sys.exit(main())
