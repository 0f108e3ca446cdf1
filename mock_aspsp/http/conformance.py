"""Where an active conformance module makes the bank misbehave: the hook its endpoints call.

``misbehave`` asks the TPP's plan (in the store) whether a module fires on this
request, unless the request's snapshot says no plan is stored at all (the
usual case: then a call costs no look-up beyond the one every request makes);
the endpoint then answers as the module says, and the journal entry
names the module (``observed.module``), which is what its verdict is judged from.
"""
from __future__ import annotations

from typing import Optional

from flask import g

from ..conformance import plans
from .web import sandbox, snapshot


def misbehave(client_id: str, trigger: str) -> Optional[str]:
    """The id of the module that fires on this request of the TPP, or None; the journal entry names it."""
    if not snapshot().conformance_plans:
        return None
    marker = plans.fire(sandbox().store, client_id, trigger)
    if marker is None:
        return None
    g.conformance_module = marker
    return marker["module"]
