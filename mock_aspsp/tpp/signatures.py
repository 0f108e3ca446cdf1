"""QSealC HTTP signatures as STET uses them: draft-cavage-http-signatures (-10/-12) plus ``Digest`` (RFC 3230).

A signed request carries ``Signature: keyId="...",algorithm="...",headers="...",signature="..."``.
The keyId is a URL ending in ``_`` + the SHA-256 fingerprint (hex) of the
QSealC; the mock is offline, so the caller resolves that fingerprint to a
registered certificate instead of fetching the URL. Every way a signature can
be wrong gets its own message, so a TPP learns here what production would
refuse.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from email.utils import parsedate_to_datetime
from typing import Optional

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from .certificates import TppCertificate

#: ``rsa-sha256`` is RSASSA-PKCS1-v1_5 with SHA-256 (what STET examples use);
#: ``hs2019`` means "as the key says": RSASSA-PSS/SHA-512 (draft -12), also
#: RSASSA-PKCS1-v1_5/SHA-256 for RSA keys, and ECDSA with SHA-512 or SHA-256 for EC keys.
SUPPORTED_ALGORITHMS = ("rsa-sha256", "hs2019")
#: What STET requires to be signed on every call; ``digest`` is added when there is a body.
DEFAULT_REQUIRED_HEADERS = ("(request-target)", "x-request-id")
_SIGNED_IF_PRESENT = ("digest", "x-request-id", "date")

#: How far a signed instant ((created), (expires), Date) may be from the bank's clock, the mock's
#: (README, "Certificates and signatures"): the clocks of two honest machines differ a little.
CLOCK_SKEW = timedelta(minutes=5)

_PARAM = re.compile(r'\s*([A-Za-z][A-Za-z0-9_-]*)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s",]+))\s*(?:,|\Z)')
_HEX64 = re.compile(r"[0-9a-fA-F]{64}")
_HEX40 = re.compile(r"[0-9a-fA-F]{40}")
_DIGESTS = {"sha-256": hashlib.sha256, "sha-512": hashlib.sha512}

Resolver = Callable[[str], Optional[TppCertificate]]


class SignatureRejected(ValueError):
    """A request's signature or digest is missing or wrong; ``reason`` says exactly how."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class SignatureParams:
    """The parameters of a ``Signature`` header; ``headers`` are lowercase, in signing order."""

    key_id: str
    algorithm: Optional[str]
    headers: tuple[str, ...]
    signature: bytes
    created: Optional[int] = None
    expires: Optional[int] = None


def parse_signature_header(value: str) -> SignatureParams:
    """Parse the parameter list of a ``Signature`` header (or of ``Authorization: Signature``)."""
    params: dict[str, str] = {}
    pos = 0
    text = value.strip()
    while pos < len(text):
        match = _PARAM.match(text, pos)
        if not match:
            raise SignatureRejected(
                f"malformed Signature header near {text[pos : pos + 20]!r}: "
                'expected name="value" parameters separated by commas'
            )
        name = match.group(1).lower()  # auth-param names are case-insensitive (RFC 7235)
        if name in params:
            raise SignatureRejected(f"malformed Signature header: parameter {name!r} appears twice")
        quoted = match.group(2)
        if quoted is None:
            params[name] = match.group(3)
        else:  # quoted-string: a backslash escapes the next character (rare; skip the regex otherwise)
            params[name] = re.sub(r"\\(.)", r"\1", quoted) if "\\" in quoted else quoted
        pos = match.end()
    for required in ("keyId", "signature"):
        if not params.get(required.lower()):
            raise SignatureRejected(f"malformed Signature header: the {required!r} parameter is missing")
    try:
        signature = base64.b64decode(params["signature"], validate=True)
    except (binascii.Error, ValueError):
        raise SignatureRejected("malformed Signature header: the 'signature' parameter is not base64") from None
    # draft-cavage-10: without a headers parameter only the Date header is signed.
    headers = tuple(params.get("headers", "date").lower().split())
    if not headers:
        raise SignatureRejected("malformed Signature header: the 'headers' parameter is empty")
    times = {}
    for name in ("created", "expires"):
        if name in params:
            if not (params[name].isascii() and params[name].isdigit()):
                raise SignatureRejected(f"malformed Signature header: the {name!r} parameter is not a Unix time")
            times[name] = int(params[name])
    return SignatureParams(
        key_id=params["keyid"], algorithm=params.get("algorithm"), headers=headers, signature=signature, **times
    )


def make_key_id(url_prefix: str, fingerprint: str) -> str:
    """A STET keyId: the URL where the QSealC would be published, ``_`` and its SHA-256 hex fingerprint."""
    return f"{url_prefix}_{fingerprint}"


def fingerprint_from_key_id(key_id: str) -> str:
    """The lowercase SHA-256 fingerprint that ends a STET keyId."""
    _, sep, tail = key_id.rpartition("_")
    if not sep:
        raise SignatureRejected(
            f"keyId {key_id!r} must end in '_' followed by the QSealC's SHA-256 fingerprint (64 hex digits)"
        )
    if _HEX40.fullmatch(tail):
        raise SignatureRejected(
            f"keyId ends in 40 hex digits ({tail}), a SHA-1 fingerprint; "
            "the QSealC's SHA-256 fingerprint (64 hex digits) is required"
        )
    if not _HEX64.fullmatch(tail):
        raise SignatureRejected(
            f"keyId ends in {tail[:80]!r}, which is not a SHA-256 fingerprint (64 hex digits after the last '_')"
        )
    return tail.lower()


def digest_header(body: bytes) -> str:
    """The ``Digest`` value STET expects for a body."""
    return "SHA-256=" + base64.b64encode(hashlib.sha256(body).digest()).decode("ascii")


def check_digest(value: Optional[str], body: bytes) -> None:
    """Check a ``Digest`` header against the body; SHA-256 (and SHA-512) entries are checked."""
    if value is None:
        raise SignatureRejected("missing Digest header: a request with a body must carry Digest: SHA-256=<base64>")
    checked = 0
    for entry in value.split(","):
        algorithm, sep, encoded = entry.strip().partition("=")
        if not sep or not algorithm or not encoded:
            raise SignatureRejected(
                f"malformed Digest header {value!r}: expected SHA-256=<base64 of the body's SHA-256>"
            )
        hash_function = _DIGESTS.get(algorithm.lower())
        if hash_function is None:
            continue
        try:
            received = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            raise SignatureRejected(f"malformed Digest header: the {algorithm} value is not base64") from None
        expected = hash_function(body).digest()
        if len(received) != len(expected):
            raise SignatureRejected(f"malformed Digest header: the {algorithm} value is not a {algorithm} hash")
        if not hmac.compare_digest(received, expected):
            raise SignatureRejected(
                f"Digest mismatch: the body's {algorithm.upper()} is "
                f"{base64.b64encode(expected).decode('ascii')}, the Digest header says {encoded}"
            )
        checked += 1
    if not checked:
        raise SignatureRejected(f"malformed Digest header {value!r}: no SHA-256 entry")


def _lowercase(headers: Mapping[str, str]) -> dict[str, str]:
    """Header names lowercased; repeated headers joined with ', ' as the draft specifies."""
    out: dict[str, str] = {}
    for name, value in headers.items():
        key = name.lower()
        out[key] = f"{out[key]}, {value.strip()}" if key in out else value.strip()
    return out


def signing_string(method: str, path_with_query: str, headers: Mapping[str, str], params: SignatureParams) -> str:
    """The text that was signed: one ``name: value`` line per signed header, joined by newlines."""
    return _signing_string(method, path_with_query, _lowercase(headers), params)


def _signing_string(method: str, path_with_query: str, present: Mapping[str, str], params: SignatureParams) -> str:
    """``signing_string`` of headers already lowercased (``_lowercase``): not walked a second time."""
    lines = []
    for name in params.headers:
        if name == "(request-target)":
            value: object = f"{method.lower()} {path_with_query}"
        elif name in ("(created)", "(expires)"):
            value = params.created if name == "(created)" else params.expires
            if value is None:
                raise SignatureRejected(f"Signature headers list {name} but the header has no {name[1:-1]!r} parameter")
        elif name in present:
            value = present[name]
        else:
            raise SignatureRejected(f"header {name!r} is listed in the Signature headers but absent from the request")
        lines.append(f"{name}: {value}")
    return "\n".join(lines)


def _signature_value(present: Mapping[str, str]) -> Optional[str]:
    if "signature" in present:
        return present["signature"]
    scheme, _, rest = present.get("authorization", "").partition(" ")
    return rest if scheme.lower() == "signature" else None


def _to_bytes(text: str) -> bytes:
    # WSGI hands header bytes over decoded as ISO-8859-1: encoding back gives what was signed.
    try:
        return text.encode("latin-1")
    except UnicodeEncodeError:
        return text.encode("utf-8")


def _clock(instant: datetime) -> str:
    try:
        return instant.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    except OverflowError:  # a signed Date near year 1 or 9999 whose offset takes it past the calendar in UTC
        return instant.isoformat()


def check_signed_instants(params: SignatureParams, present: Mapping[str, str], now: datetime) -> None:
    """A signature is only as fresh as what it signed: a signed ``(created)``, ``(expires)`` or ``Date`` must
    be within CLOCK_SKEW of ``now`` (the mock's clock: move it, and the TPP's instants must follow)."""
    skew = CLOCK_SKEW

    def bank() -> str:  # worded only for a refusal: formatting the clock costs more than the checks
        return f"the bank's clock is {_clock(now)} (mock time)"

    minutes = int(skew.total_seconds() // 60)
    # Compared as Unix times: any digits parse as one, and most (10**20, the year 10000) hold no date.
    seconds, margin = now.timestamp(), skew.total_seconds()
    if "(created)" in params.headers and params.created is not None:
        if params.created > seconds + margin:
            raise SignatureRejected(f"signature created in the future: {bank()}, {minutes} min of skew at most")
    if "(expires)" in params.headers and params.expires is not None:
        if params.expires < seconds - margin:  # so before now: a date it can hold
            raise SignatureRejected(f"signature expired at {_clock(datetime.fromtimestamp(params.expires, timezone.utc))}: "
                                    f"{bank()}")
    if "date" in params.headers:
        try:
            date = parsedate_to_datetime(present.get("date", ""))
        except (TypeError, ValueError, IndexError):
            raise SignatureRejected("signed Date header is not an HTTP date (RFC 9110: Sun, 06 Nov 1994 08:49:37 GMT)") from None
        date = date if date.tzinfo else date.replace(tzinfo=timezone.utc)
        if abs(date - now) > skew:
            raise SignatureRejected(f"signed Date is {_clock(date)}: {bank()}, {minutes} min of skew at most")


def _verify(public_key: object, algorithm: str, signature: bytes, data: bytes) -> bool:
    """Try each scheme the algorithm may stand for with this key type."""
    if isinstance(public_key, rsa.RSAPublicKey):
        schemes: list[tuple] = [(padding.PKCS1v15(), hashes.SHA256())]
        if algorithm == "hs2019":
            pss = padding.PSS(mgf=padding.MGF1(hashes.SHA512()), salt_length=padding.PSS.AUTO)
            schemes.insert(0, (pss, hashes.SHA512()))
    elif isinstance(public_key, ec.EllipticCurvePublicKey):
        if algorithm == "rsa-sha256":
            raise SignatureRejected("algorithm rsa-sha256 needs an RSA key, but the QSealC has an EC key (use hs2019)")
        size = (public_key.curve.key_size + 7) // 8
        if len(signature) == 2 * size:  # raw r||s, as JOSE writes it, instead of DER
            r, s = int.from_bytes(signature[:size], "big"), int.from_bytes(signature[size:], "big")
            signature = encode_dss_signature(r, s)
        schemes = [(ec.ECDSA(hashes.SHA512()),), (ec.ECDSA(hashes.SHA256()),)]
    else:
        raise SignatureRejected(f"the QSealC's {type(public_key).__name__} key cannot verify {algorithm} signatures")
    for scheme in schemes:
        try:
            public_key.verify(signature, data, *scheme)
            return True
        except InvalidSignature:
            continue
    return False


def verify_request(
    method: str,
    path_with_query: str,
    headers: Mapping[str, str],
    body: bytes,
    resolve: Resolver,
    required_headers: Sequence[str] = DEFAULT_REQUIRED_HEADERS,
    now: Optional[datetime] = None,
) -> TppCertificate:
    """Check a request's QSealC signature and digest; return the certificate that signed it.

    ``resolve`` maps a SHA-256 fingerprint to a registered certificate (or
    None); checking that certificate (trust, dates, revocation, role, owner)
    is the caller's job, with ``check_certificate``. With ``now``, the signed
    instants are checked against it (``check_signed_instants``).
    """
    present = _lowercase(headers)
    value = _signature_value(present)
    if value is None:
        raise SignatureRejected("missing Signature header: API calls must be signed with the TPP's QSealC")
    params = parse_signature_header(value)
    algorithm = (params.algorithm or "hs2019").lower()
    if algorithm not in SUPPORTED_ALGORITHMS:
        raise SignatureRejected(
            f"unsupported signature algorithm {params.algorithm!r}: use {' or '.join(SUPPORTED_ALGORITHMS)}"
        )
    fingerprint = fingerprint_from_key_id(params.key_id)
    cert = resolve(fingerprint)
    if cert is None:
        raise SignatureRejected(f"unknown keyId: no registered certificate has SHA-256 fingerprint {fingerprint}")
    if cert.sha256 != fingerprint:
        raise SignatureRejected(
            f"keyId fingerprint {fingerprint} does not match the certificate found for it ({cert.sha256})"
        )
    required = [*required_headers, *(["digest"] if body else [])]
    missing = [name for name in required if name not in params.headers]
    if missing:
        raise SignatureRejected(
            f"the signature must cover {', '.join(repr(m) for m in missing)} "
            f"(signed headers: {' '.join(params.headers)})"
        )
    text = _signing_string(method, path_with_query, present, params)
    if body or "digest" in present:
        check_digest(present.get("digest"), body)
    if not _verify(cert.public_key, algorithm, params.signature, _to_bytes(text)):
        raise SignatureRejected(
            f"bad signature: it does not verify with the QSealC's public key over the signed headers "
            f"({' '.join(params.headers)}); a header value or the request target differs from what was signed"
        )
    if now is not None:
        check_signed_instants(params, present, now)
    return cert


def sign_request(
    method: str,
    path_with_query: str,
    headers: Mapping[str, str],
    body: bytes,
    *,
    key_id: str,
    private_key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey,
    algorithm: str = "rsa-sha256",
    signed_headers: Optional[Sequence[str]] = None,
    created: Optional[int] = None,
    expires: Optional[int] = None,
) -> dict[str, str]:
    """The ``Digest`` (when there is a body) and ``Signature`` headers to add to a request.

    By default it signs ``(request-target)`` and, when present, ``digest``,
    ``x-request-id``, ``date`` and every ``psu-*`` header, as STET asks.
    ``created`` / ``expires`` (Unix times) are sent as parameters, to sign as ``(created)`` / ``(expires)``.
    """
    if algorithm not in SUPPORTED_ALGORITHMS:
        raise ValueError(f"unsupported algorithm {algorithm!r}")
    if '"' in key_id:
        raise ValueError("a keyId cannot contain '\"'")
    added = {"Digest": digest_header(body)} if body else {}
    present = _lowercase({**headers, **added})
    if signed_headers is None:
        signed_headers = ["(request-target)", *(n for n in present if n in _SIGNED_IF_PRESENT or n.startswith("psu-"))]
    names = tuple(n.lower() for n in signed_headers)
    params = SignatureParams(key_id, algorithm, names, b"", created, expires)
    data = _to_bytes(_signing_string(method, path_with_query, present, params))
    if isinstance(private_key, rsa.RSAPrivateKey):
        if algorithm == "hs2019":
            pss = padding.PSS(mgf=padding.MGF1(hashes.SHA512()), salt_length=padding.PSS.DIGEST_LENGTH)
            signature = private_key.sign(data, pss, hashes.SHA512())
        else:
            signature = private_key.sign(data, padding.PKCS1v15(), hashes.SHA256())
    elif isinstance(private_key, ec.EllipticCurvePrivateKey) and algorithm == "hs2019":
        signature = private_key.sign(data, ec.ECDSA(hashes.SHA512()))
    else:
        raise ValueError("sign with an RSA key, or with an EC key and hs2019")
    times = "".join(f"{name}={value}," for name, value in (("created", created), ("expires", expires))
                    if value is not None)
    added["Signature"] = (
        f'keyId="{key_id}",algorithm="{algorithm}",{times}headers="{" ".join(names)}",'
        f'signature="{base64.b64encode(signature).decode("ascii")}"'
    )
    return added


#: What the bank signs on its answers (README, "Signed responses"): the two headers STET declares on the
#: funds-confirmation 200 besides Signature itself. A response has no request target.
RESPONSE_SIGNED_HEADERS = ("digest", "x-request-id")


def sign_response(
    headers: Mapping[str, str], body: bytes, *, key_id: str, private_key: rsa.RSAPrivateKey, corrupt: bool = False
) -> dict[str, str]:
    """The ``Digest`` and ``Signature`` (rsa-sha256) headers of an answer whose ``headers`` hold its
    X-Request-ID. ``corrupt``: a signature of the right form that does not verify (a fault rule's
    ``bad_signature``), the Digest still right, so only a TPP that checks the signature notices."""
    digest = {"Digest": digest_header(body)}
    params = SignatureParams(key_id, "rsa-sha256", RESPONSE_SIGNED_HEADERS, b"")
    data = _to_bytes(signing_string("", "", {**headers, **digest}, params))
    signature = bytearray(private_key.sign(data, padding.PKCS1v15(), hashes.SHA256()))
    if corrupt:
        signature[-1] ^= 0x01
    return {**digest, "Signature": f'keyId="{key_id}",algorithm="rsa-sha256",headers="{" ".join(RESPONSE_SIGNED_HEADERS)}",'
                                   f'signature="{base64.b64encode(bytes(signature)).decode("ascii")}"'}
