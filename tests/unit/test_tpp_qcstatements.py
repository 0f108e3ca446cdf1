import random

import pytest

from mock_aspsp.tpp.qcstatements import (
    PSD2_QC_STATEMENT_OID,
    QC_STATEMENTS_EXTENSION_OID,
    QC_TYPE_WEB,
    ROLE_OIDS,
    Psd2QcStatement,
    QcStatementError,
    decode_psd2_qc_type,
    decode_qc_statements,
    encode_psd2_qc_type,
    encode_qc_statements,
    psd2_qc_statement,
    qc_statements_extension,
)

import tpp_fixtures as fx

STATEMENT = Psd2QcStatement(roles=("PSP_AI", "PSP_IC"), nca_name="Autorité de Contrôle Prudentiel", nca_id="FR-ACPR")

# QCStatements holding only the PSD2 statement {PSP_IC, "ACPR", "FR-ACPR"}; structure checked with `openssl asn1parse`.
PSD2_ONLY = bytes.fromhex(
    "3030"  # QCStatements
    "302e"  # QCStatement
    "0606040081982702"  # statementId 0.4.0.19495.2
    "3024"  # PSD2QcType
    "3013"  # rolesOfPSP
    "3011"
    "060704008198270104"
    "0c06"
    "5053505f4943"  # (0.4.0.19495.1.4, "PSP_IC")
    "0c04"
    "41435052"  # NCAName "ACPR"
    "0c07"
    "46522d41435052"  # NCAId "FR-ACPR"
)


def _seq(content: bytes) -> bytes:
    assert len(content) < 0x80
    return bytes([0x30, len(content)]) + content


def test_role_oids_are_those_of_ts_119_495():
    assert ROLE_OIDS == {
        "PSP_AS": "0.4.0.19495.1.1",
        "PSP_PI": "0.4.0.19495.1.2",
        "PSP_AI": "0.4.0.19495.1.3",
        "PSP_IC": "0.4.0.19495.1.4",
    }
    assert PSD2_QC_STATEMENT_OID == "0.4.0.19495.2"
    assert QC_STATEMENTS_EXTENSION_OID.dotted_string == "1.3.6.1.5.5.7.1.3"


def test_round_trip():
    assert decode_qc_statements(encode_qc_statements(STATEMENT)) == STATEMENT
    assert decode_qc_statements(encode_qc_statements(STATEMENT, qc_type=QC_TYPE_WEB)) == STATEMENT
    assert decode_psd2_qc_type(encode_psd2_qc_type(STATEMENT)) == STATEMENT


def test_round_trip_with_long_values_uses_long_form_lengths():
    statement = Psd2QcStatement(roles=tuple(ROLE_OIDS), nca_name="N" * 256, nca_id="X" * 200)
    assert decode_qc_statements(encode_qc_statements(statement)) == statement


def test_decodes_a_fixed_test_vector():
    assert decode_qc_statements(PSD2_ONLY) == Psd2QcStatement(roles=("PSP_IC",), nca_name="ACPR", nca_id="FR-ACPR")


def test_extension_round_trips_through_a_certificate():
    extension = qc_statements_extension(STATEMENT)
    assert extension.oid == QC_STATEMENTS_EXTENSION_OID
    cert = fx.tpp().qsealc.certificate
    assert psd2_qc_statement(cert).roles == ("PSP_IC",)
    assert psd2_qc_statement(fx.ca().certificate) is None


def test_statements_without_psd2_give_none():
    qc_compliance = _seq(bytes.fromhex("060604008e460101"))
    assert decode_qc_statements(_seq(qc_compliance)) is None
    assert decode_qc_statements(_seq(b"")) is None


@pytest.mark.parametrize(
    "der, message",
    [
        (b"", "QCStatements: truncated DER"),
        (b"\x30", "QCStatements: truncated DER"),
        (b"\x04\x00", "QCStatements: expected SEQUENCE, found tag 0x04"),
        (b"\x30\x80\x00\x00", "indefinite length is not allowed"),
        (b"\x30\x05\x30\x00", "runs past the end"),
        (b"\x30\x00\x00", "1 trailing byte(s)"),
        (b"\x30\x85\x00\x00\x00\x00\x00", "invalid length field"),
        (b"\x1f\x01\x00", "unsupported high tag number"),
        (_seq(b"\x02\x01\x00"), "QCStatements[0]: expected SEQUENCE, found tag 0x02"),
        (_seq(_seq(b"\x02\x01\x00")), "QCStatements[0]: expected statementId"),
        (_seq(_seq(b"\x06\x00")), "statementId: malformed OBJECT IDENTIFIER"),
        (_seq(_seq(b"\x06\x01\x81")), "statementId: malformed OBJECT IDENTIFIER"),
        (_seq(_seq(b"\x06\x02\x80\x01")), "non-minimal arc"),
        (_seq(_seq(bytes.fromhex("0606040081982702"))), "the PSD2 QCStatement has no statementInfo"),
        (
            _seq(_seq(bytes.fromhex("0606040081982702") + b"\x0c\x01A")),
            "PSD2QcType: expected SEQUENCE, found tag 0x0c",
        ),
        (PSD2_ONLY[:-1], "runs past the end"),
        (_seq(PSD2_ONLY[2:] * 2), "QCStatements[1]: a second PSD2 QCStatement"),
    ],
)
def test_garbage_gives_a_clear_error(der, message):
    with pytest.raises(QcStatementError) as excinfo:
        decode_qc_statements(der)
    assert message in str(excinfo.value)


def _psd2_type(roles: bytes, name: bytes = b"\x0c\x04ACPR", nca_id: bytes = b"\x0c\x07FR-ACPR") -> bytes:
    return _seq(roles + name + nca_id)


@pytest.mark.parametrize(
    "der, message",
    [
        (_psd2_type(_seq(b"")), "rolesOfPSP: no role"),
        (_psd2_type(b"\x0c\x01A"), "rolesOfPSP: expected SEQUENCE"),
        (_psd2_type(_seq(b"\x02\x01\x00")), "rolesOfPSP[0]: expected SEQUENCE"),
        (_psd2_type(_seq(_seq(b"\x0c\x06PSP_IC"))), "rolesOfPSP[0]: expected roleOfPspOid and roleOfPspName"),
        (
            _psd2_type(_seq(_seq(bytes.fromhex("060704008198270109") + b"\x0c\x06PSP_ZZ"))),
            "unknown PSD2 role OID 0.4.0.19495.1.9 (named 'PSP_ZZ')",
        ),
        (
            _psd2_type(_seq(_seq(bytes.fromhex("060704008198270104") + b"\x0c\x06PSP_AI"))),
            "role OID 0.4.0.19495.1.4 is PSP_IC, but is named 'PSP_AI'",
        ),
        (
            _psd2_type(_seq(_seq(bytes.fromhex("060704008198270104") + b"\x13\x06PSP_IC"))),
            "roleOfPspName: expected UTF8String, found tag 0x13",
        ),
        (
            _psd2_type(_seq(_seq(bytes.fromhex("060704008198270104") + b"\x0c\x06PSP_IC")), name=b"\x0c\x02\xff\xfe"),
            "NCAName: not valid UTF-8",
        ),
        (
            _psd2_type(_seq(_seq(bytes.fromhex("060704008198270104") + b"\x0c\x06PSP_IC")), nca_id=b"\x0c\x00"),
            "NCAId: must be 1 to 256 characters",
        ),
        (_seq(b"\x30\x00"), "expected rolesOfPSP, NCAName and NCAId, found 1"),
    ],
)
def test_malformed_psd2_qc_type_gives_a_clear_error(der, message):
    with pytest.raises(QcStatementError) as excinfo:
        decode_psd2_qc_type(der)
    assert message in str(excinfo.value)


def test_random_and_mutated_input_never_crashes():
    rng = random.Random(1234)
    valid = encode_qc_statements(STATEMENT, qc_type=QC_TYPE_WEB)
    samples = [bytes(rng.randrange(256) for _ in range(rng.randrange(64))) for _ in range(500)]
    for _ in range(1500):
        mutated = bytearray(valid)
        for _ in range(rng.randrange(1, 4)):
            mutated[rng.randrange(len(mutated))] = rng.randrange(256)
        samples.append(bytes(mutated[: rng.randrange(len(mutated) + 1)]))
    for sample in samples:
        try:
            result = decode_qc_statements(sample)
        except QcStatementError:
            continue
        assert result is None or isinstance(result, Psd2QcStatement)


@pytest.mark.parametrize(
    "statement, message",
    [
        (Psd2QcStatement(roles=(), nca_name="ACPR", nca_id="FR-ACPR"), "at least one role"),
        (Psd2QcStatement(roles=("PSP_XX",), nca_name="ACPR", nca_id="FR-ACPR"), "unknown PSD2 role 'PSP_XX'"),
        (Psd2QcStatement(roles=("PSP_IC",), nca_name="", nca_id="FR-ACPR"), "NCAName must be 1 to 256 characters"),
    ],
)
def test_encoding_refuses_what_decoding_would_refuse(statement, message):
    with pytest.raises(QcStatementError, match=message):
        encode_qc_statements(statement)
