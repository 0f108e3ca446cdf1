"""Every pattern rejects a trailing newline: the API body, the scenario, the admin API.

Python's ``$`` also matches just before a final ``\\n``, and the reference validator
(jsonschema) applies JSON Schema patterns with ``re.search``; a value with a newline
appended must therefore be refused by every field that has a format (a pattern, an
enumeration, a cross-reference), and kept exactly as sent by the free-text ones.
Hypothesis draws the field, the version and the value's variant (derandomized).
"""
from __future__ import annotations

import copy
import re

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mock_aspsp.bank.clock import parse_duration
from mock_aspsp.bank.iban import is_valid_iban
from mock_aspsp.bank.scenario import ScenarioError, parse_scenario
from mock_aspsp.formats.validation import schema_set
from mock_aspsp.resources import default_scenario
from mock_aspsp.testing import PORTAL_IBAN, TPP_CLIENT_ID as CLIENT_ID
from mock_aspsp.tpp.organization import InvalidOrganizationIdentifier, parse_organization_identifier
from support import SCOPE_OF, STET_OF, headless_tokens

PROPERTY = settings(max_examples=40, derandomize=True, database=None, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
BRUNO_IBAN = "FR7630007000020009876540145"
NEWLINES = st.sampled_from(["\n", "\n\n", " \n"])


def leaves(document, path=()):
    """(path, value) of every string in a JSON-like document."""
    if isinstance(document, dict):
        for key, value in document.items():
            yield from leaves(value, (*path, key))
    elif isinstance(document, list):
        for index, value in enumerate(document):
            yield from leaves(value, (*path, index))
    elif isinstance(document, str):
        yield path, document


def changed(document, path, value):
    copied = copy.deepcopy(document)
    target = copied
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
    return copied


def dotted(path) -> str:
    return "".join(f"[{step}]" if isinstance(step, int) else (f".{step}" if i else step) for i, step in enumerate(path))


# -- the API body ---------------------------------------------------------------------------
def full_body(version: str) -> dict:
    """A body with every string field a version knows, the optional ones included."""
    body = {"paymentCoverageRequestId": "req-1", "payee": "Boulangerie",
            "instructedAmount": {"currency": "EUR", "amount": "12.50"}, "accountId": {"iban": BRUNO_IBAN}}
    if version != "v1":
        body["accountId"]["currency"] = "EUR"
    if version == "v1.6.2":
        body["accountId"]["workspace"] = "main"
    return body


FORMATTED_API_FIELDS = {("instructedAmount", "currency"), ("instructedAmount", "amount"), ("accountId", "iban"),
                        ("accountId", "currency")}


def test_the_full_bodies_are_valid():
    for version, stet in STET_OF.items():
        assert schema_set(f"stet-{stet}.schema.json").problem("PaymentCoverageRequestResource", full_body(version)) is None


@PROPERTY
@given(version=st.sampled_from(sorted(STET_OF)), data=st.data(), newline=NEWLINES)
def test_api_body_string_fields_with_a_newline(client, tpp, version, data, newline):
    access = headless_tokens(tpp, "bruno", scope=SCOPE_OF[version])["access_token"]
    body = full_body(version)
    path, value = data.draw(st.sampled_from(sorted(leaves(body))))
    response = tpp.confirm(access, body=changed(body, path, value + newline), version=version)
    text = response.get_data(as_text=True)
    assert response.status_code < 500 and "Traceback" not in text, text
    if path in FORMATTED_API_FIELDS:
        assert response.status_code == 400, (path, text)
        assert response.get_json()["message"].startswith(dotted(path)), response.get_json()
    else:
        assert response.status_code == 200, (path, text)
        echoed = response.get_json()["request"]
        for step in path:
            echoed = echoed[step]
        assert echoed == value + newline


def test_api_examples_of_the_attack_run(client, tpp):
    """The three answers the attack run got: 500, accepted as 12, result false instead of 400."""
    access = headless_tokens(tpp, "bruno")["access_token"]
    for field, value in ((("accountId", "iban"), BRUNO_IBAN + "\n"), (("instructedAmount", "amount"), "12\n"),
                         (("instructedAmount", "currency"), "EUR\n")):
        response = tpp.confirm(access, body=changed(full_body("v1.4.2"), field, value))
        assert response.status_code == 400, response.get_data(as_text=True)
        assert response.get_json()["message"].startswith(dotted(field)), response.get_json()


# -- the scenario ---------------------------------------------------------------------------
# Free text: any string is a valid value, so the newline is part of it and kept.
FREE_TEXT = {"name", "description", "banks[].name", "psus[].login", "psus[].password", "psus[].name",
             "psus[].accounts[].name", "tpps[].name", "tpps[].denied", "generate.password", "rules[].action.message"}


def field(path) -> str:
    """The field a path names, whatever the positions: ``psus[].accounts[].name``."""
    return re.sub(r"\[[0-9]+\]", "[]", dotted(path))


def scenario_document() -> dict:
    document = yaml.safe_load(default_scenario().read_text(encoding="utf-8"))
    document["trusted_cas"] = []
    document["revoked_certificates"] = ["ab" * 32]
    document["psus"][0]["consent_iban"] = PORTAL_IBAN
    document["tpps"][0]["denied"] = "no reason"
    document["rules"] = [{"name": "r1", "match": {"endpoint": "token", "version": "v1.4.2", "bank": "30007",
                                                  "tpp": CLIENT_ID, "iban": PORTAL_IBAN, "amount": "12.00"},
                          "action": {"status": 503, "message": "down", "delay": "PT1S"}}]
    document["generate"] = {"psus": 1, "bank": "13807", "password": "pw", "otp": "1234", "sca": "approve"}
    return document


SCENARIO_LEAVES = sorted(leaves(scenario_document()), key=lambda leaf: dotted(leaf[0]))


@PROPERTY
@given(leaf=st.sampled_from(SCENARIO_LEAVES), newline=NEWLINES)
def test_scenario_string_fields_with_a_newline(leaf, newline):
    path, value = leaf
    text = yaml.safe_dump(changed(scenario_document(), path, value + newline), allow_unicode=True)
    try:
        parse_scenario(text, "newline.yaml")
    except ScenarioError as error:
        assert field(path) not in FREE_TEXT, (path, [str(p) for p in error.problems])
        assert any(p.path == dotted(path) for p in error.problems), (dotted(path), [str(p) for p in error.problems])
    else:
        assert field(path) in FREE_TEXT, f"{dotted(path)}: {value + newline!r} was accepted"


def test_the_scenario_sample_is_valid_and_covers_every_kind_of_field():
    parse_scenario(yaml.safe_dump(scenario_document(), allow_unicode=True), "sample.yaml")
    names = {next(step for step in reversed(path) if isinstance(step, str)) for path, _ in SCENARIO_LEAVES}
    assert {"iban", "currency", "otp", "code", "client_id", "redirect_uris", "access_token_lifetime", "tpp",
            "amount", "delay", "timeout_error", "sca", "segment", "consent_iban", "bank", "balance",
            "revoked_certificates"} <= names


def test_a_scenario_iban_with_a_newline_is_a_problem_over_http(client):
    document = scenario_document()
    document["psus"][1]["accounts"][0]["iban"] = BRUNO_IBAN + "\n"
    response = client.put("/__admin/scenario", data=yaml.safe_dump(document), content_type="application/yaml")
    assert response.status_code == 422, response.get_data(as_text=True)
    assert any("psus[1].accounts[0].iban" in p for p in response.get_json()["problems"]), response.get_json()


# -- the admin API --------------------------------------------------------------------------
ADMIN_CALLS = [  # (method, path, body, status expected once a newline is appended to the last value)
    ("POST", "/__admin/clock", {"advance": "PT1H"}, 400),
    ("POST", "/__admin/clock", {"set": "2026-02-01T12:00:00Z"}, 400),
    ("PATCH", f"/__admin/accounts/{PORTAL_IBAN}", {"balance": "10.00"}, 422),
    ("PATCH", f"/__admin/accounts/{PORTAL_IBAN}", {"overdraft": "10"}, 422),
    ("PATCH", f"/__admin/accounts/{PORTAL_IBAN}", {"status": "blocked"}, 400),
    ("PATCH", f"/__admin/tpps/{CLIENT_ID}", {"status": "revoked"}, 400),
    ("POST", "/__admin/certificates/revoke", {"sha256": "ab" * 32}, 400),
    ("POST", "/__admin/rules", {"name": "r", "action": {"status": 503}}, 422),
    ("POST", "/__admin/rules", {"match": {"iban": PORTAL_IBAN}, "action": {"status": 503}}, 422),
    ("POST", "/__admin/rules", {"match": {"amount": "12.00"}, "action": {"status": 503}}, 422),
    ("POST", "/__admin/rules", {"action": {"delay": "PT1S"}}, 422),
]


@pytest.mark.parametrize("method,path,body,status", ADMIN_CALLS, ids=[f"{c[0]} {c[1]} {c[2]}" for c in ADMIN_CALLS])
def test_admin_values_with_a_newline(client, method, path, body, status):
    assert client.open(path, method=method, json=body).status_code in (200, 201)
    client.post("/__admin/reset")
    leaf_path, value = next(iter(leaves(body)))
    response = client.open(path, method=method, json=changed(body, leaf_path, value + "\n"))
    assert response.status_code == status, response.get_data(as_text=True)


# -- the parsers themselves -----------------------------------------------------------------
def test_parsers_refuse_a_trailing_newline():
    assert not is_valid_iban(PORTAL_IBAN + "\n")
    with pytest.raises(ValueError):
        parse_duration("PT1H\n")
    with pytest.raises(InvalidOrganizationIdentifier):
        parse_organization_identifier(CLIENT_ID + "\n")
    for stet in STET_OF.values():
        assert schema_set(f"stet-{stet}.schema.json").problem("AmountType", {"currency": "EUR", "amount": "1\n"})
