"""The bank's own QSealC: it signs the funds-confirmation answers (``settings.sign_responses``), and the
sandbox serves it at the URL its keyId names, so a TPP fetches and checks it as it would in production.

One seal for the whole sandbox (every establishment signs with it), shipped with the scenarios in
``scenarios/certs`` and issued by their test CA (README, "Signed responses").
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from flask import Blueprint, Response, request

from ..http.errors import ApiError
from ..resources import scenarios_dir
from ..tpp.certificates import fingerprint
from ..tpp.signatures import sign_response

blueprint = Blueprint("seal", __name__)

CERTIFICATES_PATH = "/stet/psd2/certificates"
PEM_TYPE = "application/pem-certificate-chain"  # RFC 8555 §9.1


def seal_files() -> tuple[Path, Path]:
    """The bank's QSealC and the test CA that issued it, as shipped."""
    folder = scenarios_dir() / "certs"
    return folder / "bank-qsealc.pem", folder / "ca.pem"


@lru_cache(maxsize=1)
def bank_seal() -> tuple[bytes, rsa.RSAPrivateKey, str]:
    """(certificate PEM, private key, the keyId's file name ``bank-qsealc_<SHA-256>``), read once per process."""
    certificate, _ = seal_files()
    pem = certificate.read_bytes()
    key = serialization.load_pem_private_key(certificate.with_suffix(".key").read_bytes(), password=None)
    return pem, key, f"bank-qsealc_{fingerprint(x509.load_pem_x509_certificate(pem))}"


def key_id() -> str:
    """The URL of the bank's QSealC on the host the TPP called: STET's keyId, ``_`` and the SHA-256."""
    return f"{request.host_url.rstrip('/')}{CERTIFICATES_PATH}/{bank_seal()[2]}"


def signature_headers(body: bytes, request_id: str, corrupt: bool) -> dict[str, str]:
    _, key, _ = bank_seal()
    return sign_response({"X-Request-ID": request_id}, body, key_id=key_id(), private_key=key, corrupt=corrupt)


@blueprint.get(f"{CERTIFICATES_PATH}/<name>")
def certificate(name: str) -> Response:
    pem, _, served = bank_seal()
    if name != served:
        raise ApiError(404, f"no certificate {name[:80]!r} here; the bank's QSealC is {CERTIFICATES_PATH}/{served}")
    return Response(pem, 200, content_type=PEM_TYPE)
