"""procstart's ``pluggy.PluginManager``: reads procstart's light hook markers too.

``procstart.hookimpl`` / ``procstart.hookspec`` do not import pluggy (see
:class:`procstart._hookspecs._Marker`); this manager reads the options they
record through pluggy's documented extension points
(``parse_hookimpl_opts`` / ``parse_hookspec_opts``), and pluggy's own marks
(``pluggy.HookimplMarker("procstart")``) as pluggy does. Imported only when
a plugin manager is really needed (see :mod:`procstart._manager`).
"""

from __future__ import annotations

import inspect
import types

import pluggy

from ._hookspecs import IMPL_ATTRIBUTE, PROJECT_NAME, SPEC_ATTRIBUTE

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["ProcstartPluginManager"]


def _marked(holder: object, name: str, attribute: str) -> dict[str, Any] | None:
    """The options procstart's marker left on ``holder.name`` (not evaluating descriptors)."""
    found = inspect.getattr_static(holder, name, None)
    # what pluggy can bind: functions, bound methods, static and class methods
    if not isinstance(found, (types.FunctionType, types.MethodType, staticmethod, classmethod)):
        return None
    for candidate in (found, getattr(found, "__func__", None)):
        opts = getattr(candidate, attribute, None)
        if isinstance(opts, dict):
            return dict(opts)
    return None


class ProcstartPluginManager(pluggy.PluginManager):
    """``pluggy.PluginManager("procstart")`` that also knows ``procstart.hookimpl`` marks."""

    def __init__(self) -> None:
        super().__init__(PROJECT_NAME)

    def parse_hookimpl_opts(self, plugin: Any, name: str) -> pluggy.HookimplOpts | None:
        """pluggy's own marks first, then procstart's."""
        opts = super().parse_hookimpl_opts(plugin, name)
        if opts is None:
            opts = _marked(plugin, name, IMPL_ATTRIBUTE)  # type: ignore[assignment]
        return opts

    def parse_hookspec_opts(self, module_or_class: Any, name: str) -> pluggy.HookspecOpts | None:
        """pluggy's own marks first, then procstart's."""
        opts = super().parse_hookspec_opts(module_or_class, name)
        if opts is None:
            opts = _marked(module_or_class, name, SPEC_ATTRIBUTE)  # type: ignore[assignment]
        return opts
