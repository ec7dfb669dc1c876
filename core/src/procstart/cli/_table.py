"""Plain-text tables for the CLI (no dependency, stable column widths)."""

from __future__ import annotations

from collections.abc import Sequence

#: the widest line a subcommand prints (a terminal of 100 columns shows it whole)
WIDTH = 100


def render(headers: Sequence[str], rows: Sequence[Sequence[object]], width: int = 0) -> str:
    """Left-aligned columns separated by two spaces, with a rule under the header.

    With ``width``, the last column wraps so that no line is longer: at
    blanks, and inside a word (a long path) only when it does not fit.

    >>> print(render(["a", "bb"], [[1, 2]]))
    a  bb
    -  --
    1  2
    >>> print(render(["a", "b"], [["x", "one two three"]], width=10))
    a  b
    -  -------
    x  one two
       three
    """
    cells = [[str(c) for c in headers], *[[str(c) for c in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    indent = sum(widths[:-1]) + 2 * (len(widths) - 1)
    room = width - indent if width else 0
    if room > 0:
        widths[-1] = min(widths[-1], room)
    lines = []
    for row in cells:
        first = "  ".join(c.ljust(w) for c, w in zip(row[:-1], widths, strict=False))
        pieces = _wrap(row[-1], room) if room > 0 else [row[-1]]
        lead = first + "  " if len(row) > 1 else ""
        lines.append((lead + pieces[0]).rstrip())
        lines.extend(" " * indent + piece for piece in pieces[1:])
    lines.insert(1, "  ".join("-" * w for w in widths).rstrip())
    return "\n".join(lines)


def _wrap(text: str, room: int) -> list[str]:
    import textwrap

    pieces = textwrap.wrap(text, room, break_long_words=True, break_on_hyphens=False)
    return pieces or [""]


def wrap(text: str, width: int = WIDTH, indent: str = "  ") -> str:
    """``text`` wrapped at ``width``, continuation lines indented (never wider).

    >>> print(wrap("default: spawn (from the platform)", 20))
    default: spawn (from
      the platform)
    """
    import textwrap

    return textwrap.fill(
        text,
        width,
        subsequent_indent=indent,
        break_long_words=True,
        break_on_hyphens=False,
    )
