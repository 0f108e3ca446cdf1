"""Which bank (establishment) a request is addressed to.

The real platform serves each bank of the group at its own host name,
``www.<cdetab>.oba-bad-me-live.api.89c3.com``; locally ``30007.localhost``
does the same. A host without a 5-digit label goes to the scenario's default bank.
"""
import re
from functools import lru_cache
from typing import Optional

_BANK_LABEL = re.compile(r"[0-9]{5}")


@lru_cache(maxsize=256)  # asked several times per request, for a handful of distinct hosts
def bank_code_from_host(host: str) -> Optional[str]:
    """The first 5-digit label of the host name, port ignored; None if there is none."""
    name = host.rsplit(":", 1)[0] if host.count(":") == 1 else host
    return next((label for label in name.lower().split(".") if _BANK_LABEL.fullmatch(label)), None)
