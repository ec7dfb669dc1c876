"""The docs describe every hook, every configuration key and every PROCSTART_* variable.

Fails when code adds one that docs/ does not mention, saying what to add where.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from procstart import _hookspecs, config

REPO = Path(__file__).resolve().parents[2]
DOCS = REPO / "docs"
SOURCES = [
    REPO / "core" / "src",
    *sorted((REPO / "plugins").glob("*/src")),
    *sorted((REPO / "examples").glob("*/src")),
]
ENV_RE = re.compile(r"\bPROCSTART_[A-Z0-9_]*[A-Z0-9]\b")


def _read(name: str) -> str:
    return (DOCS / name).read_text(encoding="utf-8")


def _hooks() -> list[str]:
    return sorted(name for name in vars(_hookspecs.ProcstartSpecs) if name.startswith("procstart_"))


def test_there_are_hooks_to_check() -> None:
    assert "procstart_launch" in _hooks()


@pytest.mark.parametrize("hook", _hooks())
def test_hook_in_reference_and_guide(hook: str) -> None:
    reference = _read("hooks.md")
    assert f"## `{hook}`" in reference, f"docs/hooks.md: add a section '## `{hook}`'"
    section = reference.split(f"## `{hook}`", 1)[1].split("\n## ", 1)[0]
    assert "```python" in section and f"def {hook}(" in section, (
        f"docs/hooks.md: the {hook} section needs its signature and an example"
    )
    assert f"`{hook}`" in _read("plugin-guide.md"), (
        f"docs/plugin-guide.md: describe {hook} with an example"
    )


def _config_keys() -> list[str]:
    keys = set(config.declared_keys())
    return sorted(keys)


def test_config_keys_documented() -> None:
    guide = _read("user-guide.md")
    reference = guide.split("## Configuration reference", 1)[1].split("\n## ", 1)[0]
    missing = [key for key in _config_keys() if f"| `{key}` |" not in reference]
    assert not missing, (
        "docs/user-guide.md, 'Configuration reference': add a table row for " + ", ".join(missing)
    )


def _env_vars() -> list[str]:
    found: set[str] = set(config.ENV_VARS)
    for root in SOURCES:
        for path in root.rglob("*.py"):
            found.update(ENV_RE.findall(path.read_text(encoding="utf-8")))
    return sorted(found)


def test_env_vars_documented() -> None:
    guide = _read("user-guide.md")
    section = guide.split("## Environment variables", 1)[1].split("\n## ", 1)[0]
    missing = [name for name in _env_vars() if f"| `{name}` |" not in section]
    assert not missing, (
        "docs/user-guide.md, 'Environment variables': add a table row for " + ", ".join(missing)
    )


def test_docs_link_to_each_other() -> None:
    index = _read("README.md")
    for page in ("user-guide.md", "plugin-guide.md", "hooks.md"):
        assert f"]({page})" in index
        assert (DOCS / page).is_file()


def test_user_guide_covers_the_issue_topics() -> None:
    guide = _read("user-guide.md")
    for heading in (
        "## Choosing a start method",
        "## Migrating from multiprocessing",
        "## Migrating from loky",
        "## The stdlib bridge",
        "## Command line",
    ):
        assert heading in guide
    assert "## A start method in one listing" in _read("plugin-guide.md")
