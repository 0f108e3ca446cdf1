"""Scripted TPP clients for the go-live readiness tests (issue 15), and the world they run in.

``GoodTpp`` does what the bank expects: a fresh 256-bit state and PKCE S256 on
every journey, the QWAC on /token and /revoke (the trusted proxy header), every
API call signed with the QSealC and its own X-Request-ID, a refresh on a 401
while the refresh token lives, a new journey after ``invalid_grant``, the
Retry-After delay waited, or a back-off without it (on the injected clock: no sleep). Each misbehaving
client breaks one rule and nothing else.
"""
from __future__ import annotations

import base64
import hashlib
import itertools
import json
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Optional
from urllib.parse import parse_qs, quote, urlsplit

import yaml
from cryptography.hazmat.primitives.asymmetric import rsa

from mock_aspsp.app import create_app
from mock_aspsp.bank.clock import Clock
from mock_aspsp.config import Config
from mock_aspsp.testing import TPP_CLIENT_ID as CLIENT_ID, TPP_REDIRECT_URI as REDIRECT_URI
from support import START, shipped_scenario
from mock_aspsp.tools.pki import issue_ca, issue_tpp_certificates
from mock_aspsp.tpp.signatures import make_key_id, sign_request

HEADER = "X-SSL-Client-Cert"
BRUNO_IBAN = "FR7630007000020009876540145"  # default.yaml: headless PSU, approves at once
PATH = "/stet/psd2/v1.4.2/funds-confirmations"


@lru_cache(maxsize=None)
def certificates():
    keys = [rsa.generate_private_key(public_exponent=65537, key_size=2048) for _ in range(3)]
    ca = issue_ca("Conformance test QTSP", key=keys[0], not_before=START - timedelta(days=365))
    tpp = issue_tpp_certificates(ca, CLIENT_ID, "Carte Exemple SAS", ["PSP_IC"],
                                 not_before=START - timedelta(days=30), not_after=START + timedelta(days=3650),
                                 qwac_key=keys[1], qsealc_key=keys[2])
    return ca, tpp


def world(directory: Path) -> Path:
    """default.yaml, lenient (an unsigned call is still answered), trusting the test QTSP."""
    ca, tpp = certificates()
    document = yaml.safe_load(shipped_scenario("default").read_text(encoding="utf-8"))
    document["settings"]["strictness"] = "lenient"
    document["trusted_cas"] = [ca.cert_pem.decode()]
    document["tpps"][0]["certificates"] = [tpp.qwac.cert_pem.decode(), tpp.qsealc.cert_pem.decode()]
    path = directory / "conformance-world.yaml"
    path.write_text(yaml.safe_dump(document, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


class RealClock:
    """The sandbox's real-time source, moved by the tests (Retry-After is about real seconds)."""

    def __init__(self, start: datetime = START):
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def _query(response) -> dict:
    assert response.status_code in (302, 303), response.get_data(as_text=True)
    return {k: v[0] for k, v in parse_qs(urlsplit(response.headers["Location"]).query).items()}


@dataclass
class GoodTpp:
    client: object
    clock: RealClock
    access: Optional[str] = None
    refresh_token: Optional[str] = None
    ids: itertools.count = field(default_factory=lambda: itertools.count(1))

    # -- what each misbehaving client overrides ------------------------------------------------
    def state(self) -> str:
        return secrets.token_urlsafe(32)

    def token_extra(self) -> dict:
        return {}

    def request_id(self) -> str:
        return f"good-{next(self.ids)}-{secrets.token_hex(4)}"

    def wait(self, seconds: int) -> None:
        self.clock.advance(seconds)

    def redeems_on_wrong_state(self) -> bool:
        return False

    def refreshes_after_invalid_grant(self) -> int:
        return 0

    def signs(self) -> bool:
        return True

    # -- the integration ------------------------------------------------------------------------
    authorize_path = "/authorize"  # or the portal's /stet/psd2/oauth/authorize

    def qwac(self) -> dict:
        return {HEADER: quote(certificates()[1].qwac.cert_pem.decode(), safe="")}

    def link(self) -> bool:
        """One headless journey; False when the bank gave no usable code."""
        state, verifier = self.state(), secrets.token_urlsafe(48)
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        answer = _query(self.client.get(self.authorize_path, query_string={
            "response_type": "code", "client_id": CLIENT_ID, "redirect_uri": REDIRECT_URI, "scope": "cbpii",
            "state": state, "login_hint": "bruno", "code_challenge": challenge, "code_challenge_method": "S256"}))
        if "code" not in answer or (answer.get("state") != state and not self.redeems_on_wrong_state()):
            return False
        response = self.client.post("/token", headers=self.qwac(), data={
            "grant_type": "authorization_code", "client_id": CLIENT_ID, "code": answer["code"],
            "redirect_uri": REDIRECT_URI, "code_verifier": verifier, **self.token_extra()})
        if response.status_code != 200:
            return False
        self.access, self.refresh_token = response.get_json()["access_token"], response.get_json()["refresh_token"]
        return True

    def refresh(self) -> bool:
        response = self.client.post("/token", headers=self.qwac(), data={
            "grant_type": "refresh_token", "client_id": CLIENT_ID, "refresh_token": self.refresh_token})
        for _ in range(self.refreshes_after_invalid_grant()):
            if response.status_code == 200:
                break
            response = self.client.post("/token", headers=self.qwac(), data={
                "grant_type": "refresh_token", "client_id": CLIENT_ID, "refresh_token": self.refresh_token})
        if response.status_code != 200:
            self.access = self.refresh_token = None
            return False
        self.access = response.get_json()["access_token"]
        return True

    def call(self, amount: str, access: Optional[str] = None, request_id: Optional[str] = None,
             coverage_id: Optional[str] = None):
        body = json.dumps({"paymentCoverageRequestId": coverage_id or secrets.token_hex(8),
                           "instructedAmount": {"currency": "EUR", "amount": amount},
                           "accountId": {"iban": BRUNO_IBAN}}).encode()
        headers = {"Authorization": f"Bearer {access or self.access}", "X-Request-ID": request_id or self.request_id(),
                   "Content-Type": "application/json"}
        if self.signs():
            seal = certificates()[1].qsealc
            headers.update(sign_request("POST", PATH, headers, body, private_key=seal.private_key,
                                        key_id=make_key_id("https://tpp.example.com/certs/qsealc", seal.sha256)))
        return self.client.post(PATH, data=body, headers=headers)

    def check_funds(self, amount: str = "100") -> Optional[bool]:
        """One funds check as a careful TPP makes it: None when it gave up on this payment."""
        if self.access is None and not self.link():
            return None
        response = self.call(amount)
        for attempt in range(3):  # 429 / 503: the Retry-After delay, or a back-off of 1, 2, 4 s; three retries
            if response.status_code not in (429, 503):
                break
            delay = response.headers.get("Retry-After", "")
            self.wait(int(delay) if delay.isdigit() else 2 ** attempt)
            response = self.call(amount)
        for _ in range(2):  # a 401: refresh (a new journey if that is refused), then retry, twice at most
            if response.status_code != 401:
                break
            if not (self.refresh() or self.link()):
                return None
            response = self.call(amount)
        return response.get_json().get("result") if response.status_code == 200 else None

    def revoke(self) -> None:
        self.client.post("/revoke", headers=self.qwac(),
                         data={"client_id": CLIENT_ID, "token": self.refresh_token, "token_type_hint": "refresh_token"})
        self.access = self.refresh_token = None


def make_app(tmp_path, scenario_path, store_url, clock, **config):
    settings = Config(scenario=Path(scenario_path), db=tmp_path / "state.sqlite3", store=store_url,
                      client_cert_header=HEADER, **config)
    return create_app(settings, Clock(real=clock))


def report(client, fmt=None, client_id=CLIENT_ID):
    query = {"client_id": client_id, **({"format": fmt} if fmt else {})}
    response = client.get("/__admin/conformance", query_string=query)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response


class RetriesAtOnce(GoodTpp):
    def wait(self, seconds):
        self.clock.advance(0.2)  # "retry" a fifth of a second later
