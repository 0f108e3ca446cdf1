"""Who is calling ``/token`` and ``/revoke``: the TPP named by ``client_id``.

The ``client_id`` is the organization identifier from the TPP's eIDAS
certificate (ETSI TS 119 495). The registry check here is the one every
strictness level applies: a known TPP whose profile is not revoked.
"""
from __future__ import annotations

from typing import Mapping

from ..errors import OAuthError
from ..scenario import Scenario, Tpp


def authenticate_client(scenario: Scenario, form: Mapping[str, str]) -> Tpp:
    client_id = form.get("client_id")
    if not client_id:
        raise OAuthError("invalid_client", "the 'client_id' parameter is missing", 401)
    tpp = scenario.tpp(client_id)
    if tpp is None:
        raise OAuthError("invalid_client", f"no TPP is registered with client_id {client_id}", 401)
    if tpp.status != "active":
        raise OAuthError("invalid_client", "the TPP's profile is revoked at this bank", 401)
    return tpp
