"""Host names as the admin API's safe default sees them (``admin``): which are this machine's own.

Without an admin token, the admin API answers only requests addressed to a loopback
name or address, or to a host the operator allows (``MOCK_ASPSP_ALLOWED_HOSTS``,
``serve --allowed-host``): a web page that rebinds its own DNS name to 127.0.0.1 still
sends its own name as ``Host``, and is refused.
"""
from __future__ import annotations

import ipaddress
from typing import Iterable


def host_name(host: str) -> str:
    """The name or address of a ``Host`` header: port, IPv6 brackets and a final dot removed, lowercased."""
    host = host.strip().lower()
    if host.startswith("["):
        host = host[1:].split("]", 1)[0]
    elif host.count(":") == 1:
        host = host.split(":", 1)[0]
    return host.rstrip(".")


def is_loopback(name: str) -> bool:
    """``localhost`` and its sub-domains (RFC 6761, as ``30007.localhost``), 127.0.0.0/8 and ::1."""
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def is_allowed(name: str, allowed: Iterable[str]) -> bool:
    """A loopback name, or one of ``allowed``: exact names or addresses, ``*.example.com`` for its sub-domains."""
    if is_loopback(name):
        return True
    for pattern in allowed:
        pattern = host_name(pattern)
        if pattern.startswith("*.") and name.endswith(pattern[1:]) and len(name) > len(pattern) - 1:
            return True
        if name == pattern:
            return True
    return False
