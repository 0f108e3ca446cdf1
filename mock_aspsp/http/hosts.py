"""Host names as the admin API's safe default sees them (``admin``, ``console``): which are this machine's own,
and which requests come from another web site.

Without an admin token, the admin API answers only requests addressed to a loopback
name or address, or to a host the operator allows (``MOCK_ASPSP_ALLOWED_HOSTS``,
``serve --allowed-host``): a web page that rebinds its own DNS name to 127.0.0.1 still
sends its own name as ``Host``, and is refused.
"""
from __future__ import annotations

import ipaddress
from typing import Iterable, Mapping, Optional
from urllib.parse import urlsplit

from ..formats.quoting import quoted


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


_DEFAULT_PORTS = {"http": 80, "https": 443}


def same_origin(origin: str, host: str) -> bool:
    """Whether an Origin header names the site of the request's ``Host``. Origins leave their scheme's
    default port out; a Host may name it: werkzeug drops the request's own scheme's, but behind a proxy
    that ends TLS a browser's ``Host: sandbox:443`` reaches a plain-HTTP request."""
    parts = urlsplit(origin)
    try:
        port = parts.port
    except ValueError:
        return False
    if not parts.hostname:  # ``null``, junk
        return False
    name = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    default = _DEFAULT_PORTS.get(parts.scheme)
    host = host.lower().removesuffix(f":{default}") if default else host.lower()
    return host == (name if port in (None, default) else f"{name}:{port}")


def foreign_request(host: str, headers: Mapping[str, str], allowed: Iterable[str], what: str) -> Optional[str]:
    """Why a request without the admin token could come from a web page in the PSU's or QA's browser, or
    None: addressed to a host name rebound to this machine (DNS rebinding), or sent from another origin."""
    name = host_name(host)
    if not is_allowed(name, allowed):
        return (f"{what}: host {quoted(name, 60)} refused without an admin token (set "
                "MOCK_ASPSP_ADMIN_TOKEN, or list it in MOCK_ASPSP_ALLOWED_HOSTS)")
    origin = headers.get("Origin")
    if headers.get("Sec-Fetch-Site") == "cross-site" or (origin is not None and not same_origin(origin, host)):
        return f"{what}: cross-site request refused (Origin or Sec-Fetch-Site of another site)"
    return None
