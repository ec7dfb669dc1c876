"""Lazy package attributes (PEP 562) for procstart's distributions.

A package lists ``{name: ".submodule"}``; a name is imported from its
submodule on first access and then cached in the package. Plugins use it so
that a child importing one of their modules does not pay for the rest.

    __getattr__, __dir__ = procstart.lazy.attach(__name__, {"Thing": "._impl"})
"""

from __future__ import annotations

import sys

from ._submodules import import_module

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: children import this module
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from typing import Any

__all__ = ["attach"]


def attach(
    package: str, names: Mapping[str, str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``(__getattr__, __dir__)`` for ``package`` resolving ``names`` lazily."""

    def __getattr__(name: str) -> Any:  # noqa: N807 - the module hook's name
        module = names.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(import_module(module, package), name)
        vars(sys.modules[package])[name] = value
        return value

    def __dir__() -> list[str]:  # noqa: N807
        return sorted({*vars(sys.modules[package]), *names})

    return __getattr__, __dir__
