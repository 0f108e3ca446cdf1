"""The PSD2 QCStatement of ETSI TS 119 495 inside the qcStatements extension (RFC 3739).

``cryptography`` hands the extension over as raw DER (an
``UnrecognizedExtension``), so the few ASN.1 types it needs are read and
written by the small strict DER helper below. ASN.1 (TS 119 495 §5.1, RFC 3739)::

    QCStatements ::= SEQUENCE OF QCStatement
    QCStatement  ::= SEQUENCE { statementId OBJECT IDENTIFIER,
                                statementInfo ANY DEFINED BY statementId OPTIONAL }
    PSD2QcType   ::= SEQUENCE { rolesOfPSP RolesOfPSP, nCAName NCAName, nCAId NCAId }
    RolesOfPSP   ::= SEQUENCE OF RoleOfPSP
    RoleOfPSP    ::= SEQUENCE { roleOfPspOid OBJECT IDENTIFIER, roleOfPspName UTF8String (SIZE(1..256)) }
    NCAName      ::= UTF8String (SIZE (1..256))
    NCAId        ::= UTF8String (SIZE (1..256))
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Optional

from cryptography import x509

QC_STATEMENTS_EXTENSION_OID = x509.ObjectIdentifier("1.3.6.1.5.5.7.1.3")  # id-pe-qcStatements
PSD2_QC_STATEMENT_OID = "0.4.0.19495.2"  # id-etsi-psd2-qcStatement
QC_COMPLIANCE_OID = "0.4.0.1862.1.1"  # id-etsi-qcs-QcCompliance (EN 319 412-5)
QC_TYPE_OID = "0.4.0.1862.1.6"  # id-etsi-qcs-QcType
QC_TYPE_ESEAL = "0.4.0.1862.1.6.2"  # id-etsi-qct-eseal: a QSealC
QC_TYPE_WEB = "0.4.0.1862.1.6.3"  # id-etsi-qct-web: a QWAC

#: PSD2 roles (TS 119 495 §5.2.2): name -> role OID.
ROLE_OIDS = {
    "PSP_AS": "0.4.0.19495.1.1",  # account servicing
    "PSP_PI": "0.4.0.19495.1.2",  # payment initiation
    "PSP_AI": "0.4.0.19495.1.3",  # account information
    "PSP_IC": "0.4.0.19495.1.4",  # issuing of card-based payment instruments
}
_ROLE_NAMES = {oid: name for name, oid in ROLE_OIDS.items()}

_SEQUENCE, _OID, _UTF8STRING = 0x30, 0x06, 0x0C
_TAG_NAMES = {_SEQUENCE: "SEQUENCE", _OID: "OBJECT IDENTIFIER", _UTF8STRING: "UTF8String"}


class QcStatementError(ValueError):
    """The qcStatements extension or its PSD2 statement is not valid DER of the expected shape."""


@dataclass(frozen=True)
class Psd2QcStatement:
    """What a PSD2 certificate says about its holder: roles (in certificate order) and its NCA."""

    roles: tuple[str, ...]
    nca_name: str
    nca_id: str


# --- encoding -------------------------------------------------------------------


def _tlv(tag: int, content: bytes) -> bytes:
    n = len(content)
    if n < 0x80:
        length = bytes([n])
    else:
        octets = n.to_bytes((n.bit_length() + 7) // 8, "big")
        length = bytes([0x80 | len(octets)]) + octets
    return bytes([tag]) + length + content


def _oid(dotted: str) -> bytes:
    arcs = [int(a) for a in dotted.split(".")]
    body = bytearray()
    for arc in [40 * arcs[0] + arcs[1], *arcs[2:]]:
        chunk = [arc & 0x7F]
        arc >>= 7
        while arc:
            chunk.append(0x80 | (arc & 0x7F))
            arc >>= 7
        body.extend(reversed(chunk))
    return _tlv(_OID, bytes(body))


def _utf8(text: str, what: str) -> bytes:
    if not 1 <= len(text) <= 256:
        raise QcStatementError(f"{what} must be 1 to 256 characters, got {len(text)}")
    return _tlv(_UTF8STRING, text.encode("utf-8"))


def _statement(oid: str, info: Optional[bytes] = None) -> bytes:
    return _tlv(_SEQUENCE, _oid(oid) + (info or b""))


def encode_psd2_qc_type(statement: Psd2QcStatement) -> bytes:
    """DER of PSD2QcType, the statementInfo of the PSD2 QCStatement."""
    if not statement.roles:
        raise QcStatementError("a PSD2 QCStatement needs at least one role")
    unknown = [r for r in statement.roles if r not in ROLE_OIDS]
    if unknown:
        raise QcStatementError(f"unknown PSD2 role {unknown[0]!r}; expected one of {', '.join(ROLE_OIDS)}")
    roles = b"".join(_tlv(_SEQUENCE, _oid(ROLE_OIDS[r]) + _utf8(r, "roleOfPspName")) for r in statement.roles)
    return _tlv(
        _SEQUENCE,
        _tlv(_SEQUENCE, roles) + _utf8(statement.nca_name, "NCAName") + _utf8(statement.nca_id, "NCAId"),
    )


def encode_qc_statements(statement: Psd2QcStatement, *, qc_type: Optional[str] = None) -> bytes:
    """DER of a qcStatements extension value: QcCompliance, the QcType if given, then the PSD2 statement.

    QcCompliance and QcType are what a qualified certificate from a QTSP carries
    next to the PSD2 statement, so test certificates look like real ones.
    """
    statements = _statement(QC_COMPLIANCE_OID)
    if qc_type is not None:
        statements += _statement(QC_TYPE_OID, _tlv(_SEQUENCE, _oid(qc_type)))
    statements += _statement(PSD2_QC_STATEMENT_OID, encode_psd2_qc_type(statement))
    return _tlv(_SEQUENCE, statements)


def qc_statements_extension(statement: Psd2QcStatement, *, qc_type: Optional[str] = None) -> x509.UnrecognizedExtension:
    """The extension to add to a certificate builder (non-critical, as RFC 3739 advises)."""
    return x509.UnrecognizedExtension(QC_STATEMENTS_EXTENSION_OID, encode_qc_statements(statement, qc_type=qc_type))


# --- decoding -------------------------------------------------------------------


def _read(data: bytes, pos: int, what: str) -> tuple[int, bytes, int]:
    """One TLV at ``pos``: (tag, content, position after it). Definite lengths only, as DER requires."""
    if pos + 2 > len(data):
        raise QcStatementError(f"{what}: truncated DER (no tag and length at offset {pos})")
    tag, first = data[pos], data[pos + 1]
    if tag & 0x1F == 0x1F:
        raise QcStatementError(f"{what}: unsupported high tag number at offset {pos}")
    pos += 2
    if first < 0x80:
        length = first
    elif first == 0x80:
        raise QcStatementError(f"{what}: indefinite length is not allowed in DER (offset {pos - 2})")
    else:
        count = first & 0x7F
        if count > 4 or pos + count > len(data):
            raise QcStatementError(f"{what}: invalid length field at offset {pos - 2}")
        length = int.from_bytes(data[pos : pos + count], "big")
        pos += count
    if pos + length > len(data):
        raise QcStatementError(f"{what}: length {length} at offset {pos} runs past the end of the data")
    return tag, data[pos : pos + length], pos + length


def _expect(data: bytes, pos: int, tag: int, what: str) -> tuple[bytes, int]:
    found, content, end = _read(data, pos, what)
    if found != tag:
        raise QcStatementError(f"{what}: expected {_TAG_NAMES[tag]}, found tag 0x{found:02x}")
    return content, end


def _elements(content: bytes, what: str) -> list[tuple[int, bytes, bytes]]:
    """The (tag, content, whole encoding) of each element of a constructed value."""
    out, pos = [], 0
    while pos < len(content):
        tag, inner, end = _read(content, pos, what)
        out.append((tag, inner, content[pos:end]))
        pos = end
    return out


def _only(data: bytes, tag: int, what: str) -> bytes:
    content, end = _expect(data, 0, tag, what)
    if end != len(data):
        raise QcStatementError(f"{what}: {len(data) - end} trailing byte(s) after the value")
    return content


def _decode_oid(content: bytes, what: str) -> str:
    if not content or content[-1] & 0x80:
        raise QcStatementError(f"{what}: malformed OBJECT IDENTIFIER")
    arcs, value = [], 0
    for i, byte in enumerate(content):
        if value == 0 and byte == 0x80 and (i == 0 or not content[i - 1] & 0x80):
            raise QcStatementError(f"{what}: malformed OBJECT IDENTIFIER (non-minimal arc)")
        value = (value << 7) | (byte & 0x7F)
        if not byte & 0x80:
            arcs.append(value)
            value = 0
    first = min(arcs[0] // 40, 2)
    return ".".join(str(a) for a in [first, arcs[0] - 40 * first, *arcs[1:]])


def _decode_utf8(tag: int, content: bytes, what: str) -> str:
    if tag != _UTF8STRING:
        raise QcStatementError(f"{what}: expected UTF8String, found tag 0x{tag:02x}")
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError:
        raise QcStatementError(f"{what}: not valid UTF-8") from None
    if not 1 <= len(text) <= 256:
        raise QcStatementError(f"{what}: must be 1 to 256 characters, got {len(text)}")
    return text


def decode_psd2_qc_type(der: bytes) -> Psd2QcStatement:
    """Read a PSD2QcType; role OIDs must be the four of TS 119 495 and agree with their names."""
    parts = _elements(_only(der, _SEQUENCE, "PSD2QcType"), "PSD2QcType")
    if len(parts) != 3:
        raise QcStatementError(f"PSD2QcType: expected rolesOfPSP, NCAName and NCAId, found {len(parts)} element(s)")
    (roles_tag, roles_content, _), (name_tag, name_content, _), (id_tag, id_content, _) = parts
    if roles_tag != _SEQUENCE:
        raise QcStatementError(f"rolesOfPSP: expected SEQUENCE, found tag 0x{roles_tag:02x}")
    roles = []
    for index, (tag, content, _) in enumerate(_elements(roles_content, "rolesOfPSP")):
        what = f"rolesOfPSP[{index}]"
        if tag != _SEQUENCE:
            raise QcStatementError(f"{what}: expected SEQUENCE, found tag 0x{tag:02x}")
        fields = _elements(content, what)
        if len(fields) != 2 or fields[0][0] != _OID:
            raise QcStatementError(f"{what}: expected roleOfPspOid and roleOfPspName")
        oid = _decode_oid(fields[0][1], f"{what}.roleOfPspOid")
        name = _decode_utf8(fields[1][0], fields[1][1], f"{what}.roleOfPspName")
        if oid not in _ROLE_NAMES:
            raise QcStatementError(f"{what}: unknown PSD2 role OID {oid} (named {name!r})")
        if _ROLE_NAMES[oid] != name:
            raise QcStatementError(f"{what}: role OID {oid} is {_ROLE_NAMES[oid]}, but is named {name!r}")
        roles.append(name)
    if not roles:
        raise QcStatementError("rolesOfPSP: no role")
    return Psd2QcStatement(
        roles=tuple(roles),
        nca_name=_decode_utf8(name_tag, name_content, "NCAName"),
        nca_id=_decode_utf8(id_tag, id_content, "NCAId"),
    )


def decode_qc_statements(der: bytes) -> Optional[Psd2QcStatement]:
    """The PSD2 statement of a qcStatements extension value, or None if it has none.

    Any malformation (of the outer list or of the PSD2 statement) raises
    QcStatementError with the place it was found; other statements are only
    checked for shape, since their content is not the bank's business here.
    """
    found = None
    for index, (tag, content, _) in enumerate(_elements(_only(der, _SEQUENCE, "QCStatements"), "QCStatements")):
        what = f"QCStatements[{index}]"
        if tag != _SEQUENCE:
            raise QcStatementError(f"{what}: expected SEQUENCE, found tag 0x{tag:02x}")
        fields = _elements(content, what)
        if not 1 <= len(fields) <= 2 or fields[0][0] != _OID:
            raise QcStatementError(f"{what}: expected statementId and an optional statementInfo")
        if _decode_oid(fields[0][1], f"{what}.statementId") != PSD2_QC_STATEMENT_OID:
            continue
        if found is not None:
            raise QcStatementError(f"{what}: a second PSD2 QCStatement")
        if len(fields) != 2:
            raise QcStatementError(f"{what}: the PSD2 QCStatement has no statementInfo (PSD2QcType)")
        found = decode_psd2_qc_type(fields[1][2])
    return found


def psd2_qc_statement(certificate: x509.Certificate) -> Optional[Psd2QcStatement]:
    """The PSD2 statement of a certificate, or None if it has no qcStatements or no PSD2 statement."""
    try:
        extension = certificate.extensions.get_extension_for_oid(QC_STATEMENTS_EXTENSION_OID)
    except x509.ExtensionNotFound:
        return None
    value = extension.value
    if not isinstance(value, x509.UnrecognizedExtension):  # pragma: no cover - if cryptography learns the type
        raise QcStatementError("qcStatements extension was decoded by cryptography; raw DER expected")
    return decode_qc_statements(value.value)


@lru_cache(maxsize=512)  # a certificate never changes; signed API calls ask for each one again and again
def qc_types(certificate: x509.Certificate) -> frozenset[str]:
    """The QcType OIDs (EN 319 412-5) a certificate declares: QC_TYPE_WEB for a QWAC, QC_TYPE_ESEAL for a QSealC.

    Empty when the certificate has no qcStatements or no QcType statement;
    a malformed extension raises QcStatementError.
    """
    try:
        extension = certificate.extensions.get_extension_for_oid(QC_STATEMENTS_EXTENSION_OID)
    except x509.ExtensionNotFound:
        return frozenset()
    value = extension.value
    if not isinstance(value, x509.UnrecognizedExtension):  # pragma: no cover - if cryptography learns the type
        raise QcStatementError("qcStatements extension was decoded by cryptography; raw DER expected")
    found: set[str] = set()
    for index, (tag, content, _) in enumerate(_elements(_only(value.value, _SEQUENCE, "QCStatements"), "QCStatements")):
        what = f"QCStatements[{index}]"
        fields = _elements(content, what) if tag == _SEQUENCE else []
        if len(fields) != 2 or fields[0][0] != _OID or _decode_oid(fields[0][1], f"{what}.statementId") != QC_TYPE_OID:
            continue
        for type_index, (type_tag, type_content, _) in enumerate(
            _elements(_only(fields[1][2], _SEQUENCE, f"{what}.QcType"), f"{what}.QcType")
        ):
            if type_tag != _OID:
                raise QcStatementError(f"{what}.QcType[{type_index}]: expected OBJECT IDENTIFIER, found tag 0x{type_tag:02x}")
            found.add(_decode_oid(type_content, f"{what}.QcType[{type_index}]"))
    return frozenset(found)
