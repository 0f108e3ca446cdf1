"""Where a request's client certificate (QWAC) comes from, and the request as it was signed.

Two sources, in this order:

* TLS terminated by the server itself (``mock-aspsp serve --tls-cert --tls-key
  --client-ca``): served by gunicorn (see ``tools.serving``), which hands the
  connection's socket over in the WSGI environ; the peer certificate is read
  from it. Client certificates are
  optional at the TLS level (the PSU's browser has none), so each endpoint
  decides whether it needs one.
* Behind a TLS-terminating proxy: the trusted header named by
  ``Config.client_cert_header`` (``--client-cert-header`` /
  ``MOCK_ASPSP_CLIENT_CERT_HEADER``), holding the URL-escaped PEM as nginx's
  ``$ssl_client_escaped_cert`` writes it. Unless that option is set, such a
  header is ignored: anyone could send it.
"""
from __future__ import annotations

import ssl
from functools import lru_cache
from typing import Optional
from urllib.parse import quote, urlsplit

from flask import Request, current_app

from .certificates import CertificateRejected, TppCertificate, load_certificate

def _peer_certificate(request: Request) -> Optional[bytes]:
    sock = request.environ.get("gunicorn.socket")
    if not isinstance(sock, ssl.SSLSocket):
        return None
    try:
        return sock.getpeercert(binary_form=True)
    except (ValueError, OSError):  # not connected any more, or no handshake
        return None


def client_certificate(request: Request) -> tuple[Optional[TppCertificate], Optional[str]]:
    """(certificate, None), (None, None) when none was presented, or (None, why it cannot be read)."""
    data: object = _peer_certificate(request)
    if not data:
        header = current_app.config["MOCK_ASPSP"].client_cert_header
        data = request.headers.get(header, "").strip() if header else ""
    if not data:
        return None, None
    try:
        return load_certificate(data), None  # type: ignore[arg-type]
    except CertificateRejected as error:
        return None, error.reason


def request_target(request: Request) -> str:
    """The path and query exactly as the client sent them (what ``(request-target)`` signs)."""
    raw = request.environ.get("RAW_URI") or request.environ.get("REQUEST_URI")
    if raw:
        if not raw.startswith("/"):  # absolute-form request line (through a forward proxy)
            parts = urlsplit(raw)
            return (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        return raw
    query = request.query_string.decode("latin-1")
    return _quoted_path(request.path) + (f"?{query}" if query else "")


@lru_cache(maxsize=256)  # the API's few paths, asked on every call; bounded, as a client chooses its paths
def _quoted_path(path: str) -> str:
    return quote(path)
