"""The configuration reference in docs/user-guide.md is what the declared keys say.

The reference is generated (``procstart config --markdown``) from every key
the core and the installed distributions declare, so the docs cannot
contradict the code (a default, a type, a variable).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from procstart.cli.config import reference_markdown

REPO = Path(__file__).resolve().parents[2]
GUIDE = REPO / "docs" / "user-guide.md"
BEGIN = "<!-- generated: `procstart config --markdown`"
END = "<!-- end of generated reference -->"


def _documented() -> str:
    text = GUIDE.read_text(encoding="utf-8")
    block = text.split(BEGIN, 1)[1].split(END, 1)[0]
    return block.split("-->\n\n", 1)[1].rstrip("\n") + "\n"


def test_user_guide_reference_is_the_generated_one() -> None:
    generated = reference_markdown()
    assert _documented() == generated, (
        "docs/user-guide.md: the configuration reference differs from the declared keys; "
        "regenerate it with `make docs` (docs/update_config_reference.py)"
    )


def test_cli_markdown_prints_the_same_reference() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "procstart", "config", "--markdown"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == reference_markdown()


def test_reference_states_the_declared_defaults() -> None:
    """The spawn-fast-startup contradiction of issue 15: the docs now say what the code does."""
    generated = reference_markdown()
    row = next(line for line in generated.splitlines() if line.startswith("| `spawn-fast-startup`"))
    assert "| boolean | `false` | `PROCSTART_SPAWN_FAST_STARTUP` |" in row
    row = next(line for line in generated.splitlines() if line.startswith("| `forkserver-preload`"))
    assert '| array of strings | `["__main__"]` |' in row
