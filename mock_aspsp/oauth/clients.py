"""Who is calling ``/token`` and ``/revoke``: the TPP named by ``client_id``, proven by its QWAC.

The ``client_id`` is the organization identifier from the TPP's eIDAS
certificate (ETSI TS 119 495). The client certificate of the TLS connection
(or of the trusted proxy header) must carry that identifier, chain to a CA
the scenario trusts, be valid on the mock's clock, not be revoked and be a
QWAC; strict scenarios require it, lenient ones check it only when sent. The
registry check (profile revoked, access denied by the bank, by the scenario
or the admin API) applies at every strictness level.
"""
from __future__ import annotations

from datetime import datetime
from typing import Mapping

from flask import request

from ..bank.scenario import Scenario, Tpp
from ..http.errors import OAuthError
from ..store.interface import Store
from ..tpp.registry import IdentityRefused, admission, check_client_certificate
from ..tpp.transport import client_certificate


def authenticate_client(scenario: Scenario, form: Mapping[str, str], store: Store, now: datetime,
                        endpoint: str) -> Tpp:
    """The TPP calling ``endpoint`` (``token``, ``revoke``): registered, proven by its QWAC, then let in by
    the registry (a denial's reason is told only to a TPP that proved who it is)."""
    client_id = form.get("client_id")
    if not client_id:
        raise OAuthError("invalid_client", "the 'client_id' parameter is missing", 401)
    admitted = admission(scenario, store, client_id, endpoint)
    if admitted.tpp is None:
        raise OAuthError("invalid_client", admitted.refusal, 401)
    cert, unreadable = client_certificate(request)
    try:
        check_client_certificate(cert, client_id=client_id, scenario=scenario, store=store, now=now, unreadable=unreadable)
    except IdentityRefused as refused:
        raise OAuthError("invalid_client", refused.reason, 401) from None
    if admitted.refusal:
        raise OAuthError("invalid_client", admitted.refusal, 401)
    return admitted.tpp
