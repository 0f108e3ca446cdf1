"""Is the local server up? A probe for container health checks: ``mock-aspsp health``.

It finds the server from the same variables as ``serve`` (``MOCK_ASPSP_HOST``,
``MOCK_ASPSP_PORT``, and ``MOCK_ASPSP_TLS_CERT`` for HTTPS), so one health check
works in plain and TLS mode. It asks ``/__admin/health`` (open without the admin
token) and imports only the standard library: it runs every few seconds.
"""
from __future__ import annotations

import json
import os
import ssl
import urllib.error
import urllib.request
from typing import Mapping, Optional

from ..config import DEFAULT_HOST, serve_environment

DEFAULT_TIMEOUT_S = 2.0
_ANY_ADDRESS = {"": DEFAULT_HOST, "0.0.0.0": DEFAULT_HOST, "::": "::1"}  # listening on all: ask loopback


def local_url(env: Mapping[str, str] = os.environ) -> str:
    """The address ``serve`` listens on with these variables, as a client on the same machine reaches it."""
    serving = serve_environment(env)
    host = _ANY_ADDRESS.get(serving.host, serving.host)
    if ":" in host:
        host = f"[{host}]"
    return f"{'https' if serving.tls_cert else 'http'}://{host}:{serving.port}"


def problem(url: str, timeout: float = DEFAULT_TIMEOUT_S) -> Optional[str]:
    """None when the server at ``url`` answers its health check, else why not."""
    # The server's own certificate, reached on loopback: whether it is up is the question, not who signed it.
    unverified = None
    if url.startswith("https:"):
        unverified = ssl.create_default_context()
        unverified.check_hostname, unverified.verify_mode = False, ssl.CERT_NONE
    try:
        with urllib.request.urlopen(f"{url}/__admin/health", timeout=timeout, context=unverified) as answer:
            body = json.loads(answer.read())
    except urllib.error.HTTPError as error:
        return f"{url}/__admin/health answered {error.code}"
    except (OSError, ValueError) as error:  # refused, timed out, TLS spoken to plain HTTP, not JSON...
        return f"{url}/__admin/health: {getattr(error, 'reason', None) or error}"
    if not isinstance(body, dict) or body.get("status") != "ok":
        return f"{url}/__admin/health answered {body!r}"
    return None
