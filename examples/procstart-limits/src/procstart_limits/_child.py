"""The child half: apply the limits the parent sent, before the target runs.

Named by the ``limited`` method's ``child_setup`` (see
:mod:`procstart_limits.plugin`), so children of other methods never import
it. It imports only ``os`` until there is something to apply: no pluggy, no
dataclasses, nothing a spawned child would pay for.
"""

from __future__ import annotations

import os

from ._keys import ENV

TYPE_CHECKING = False
if TYPE_CHECKING:
    from procstart import ChildInfo


def procstart_child_setup(info: ChildInfo) -> None:
    """Apply the limits in ``PROCSTART_LIMITS`` (if any), then drop the variable."""
    spec = os.environ.pop(ENV, None)
    if spec is None:
        return
    from ._limits import Limits

    Limits.from_json(spec).apply()
