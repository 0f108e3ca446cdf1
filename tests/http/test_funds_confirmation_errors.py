"""POST .../funds-confirmations: every refusal is the version's STET ErrorModel, naming the field."""
from __future__ import annotations

import copy
import json

import pytest

from mock_aspsp.testing import PORTAL_IBAN
from support import ALICE_OTHER_IBAN, SCOPE_OF, STET_OF, assert_error_model, portal_body

VERSIONS = list(STET_OF)
URL = "/stet/psd2/{}/funds-confirmations"


@pytest.fixture
def access(tpp):
    """One cbpii and one piisp access token of Alice (portal IBAN), by scope."""
    cache = {}

    def get(scope):
        if scope not in cache:
            cache[scope] = tpp.tokens(scope=scope)["access_token"]
        return cache[scope]

    return get


def post(tpp, version, token, body=None, data=None, content_type="application/json", **headers):
    all_headers = {"Authorization": f"Bearer {token}", "X-Request-ID": "req-1", **headers}
    raw = json.dumps(portal_body() if body is None else body) if data is None else data
    return tpp.client.post(URL.format(version), data=raw, content_type=content_type,
                           headers={k: v for k, v in all_headers.items() if v is not None})


# -- authorization ----------------------------------------------------------------------------
@pytest.mark.parametrize("version,scope", [("v1.4.2", "piisp"), ("v1.6.2", "piisp"), ("v1", "cbpii")])
def test_wrong_scope_per_version_is_403(tpp, version, scope):
    token = tpp.tokens(scope=scope)["access_token"]
    response = tpp.confirm(token, version=version)
    body = assert_error_model(response, 403, version)
    assert SCOPE_OF[version] in body["message"]
    assert "insufficient_scope" in response.headers["WWW-Authenticate"]


@pytest.mark.parametrize("version", VERSIONS)
def test_right_scope_per_version_is_200(tpp, access, version):
    assert tpp.confirm(access(SCOPE_OF[version]), version=version).status_code == 200


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("authorization", [None, "", "Basic dXNlcjpwdw==", "Bearer", "Bearer unknown-token"])
def test_missing_or_bad_authorization_is_401(tpp, version, authorization):
    response = tpp.client.post(URL.format(version), json=portal_body(),
                               headers={"X-Request-ID": "r", **({"Authorization": authorization}
                                                                if authorization is not None else {})})
    assert_error_model(response, 401, version)
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


# -- headers --------------------------------------------------------------------------------
@pytest.mark.parametrize("version", VERSIONS)
def test_missing_request_id_is_400_naming_it(tpp, access, version):
    response = tpp.confirm(access(SCOPE_OF[version]), version=version, request_id=None)
    assert_error_model(response, 400, version, names="X-Request-ID")


def test_request_id_longer_than_70_is_400(tpp, access):
    assert tpp.confirm(access("cbpii"), request_id="r" * 70).status_code == 200
    assert_error_model(tpp.confirm(access("cbpii"), request_id="r" * 71), 400, names="X-Request-ID")


def test_request_id_is_echoed_on_errors_too(tpp, access):
    response = tpp.confirm(access("cbpii"), portal_body(amount="12,5"), request_id="echo-me")
    assert response.status_code == 400 and response.headers["X-Request-ID"] == "echo-me"


# -- bodies ---------------------------------------------------------------------------------
def changed(path, value):
    body = portal_body()
    target = body
    for step in path[:-1]:
        target = target[step]
    if value is KeyError:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return body


BAD_BODIES = [
    ("missing paymentCoverageRequestId", changed(["paymentCoverageRequestId"], KeyError), "paymentCoverageRequestId"),
    ("36-char id", changed(["paymentCoverageRequestId"], "x" * 36), "paymentCoverageRequestId"),
    ("amount 12,5", changed(["instructedAmount", "amount"], "12,5"), "instructedAmount.amount"),
    ("currency eur", changed(["instructedAmount", "currency"], "eur"), "instructedAmount.currency"),
    ("missing currency", changed(["instructedAmount", "currency"], KeyError), "instructedAmount.currency"),
    ("missing amount", changed(["instructedAmount", "amount"], KeyError), "instructedAmount.amount"),
    ("missing instructedAmount", changed(["instructedAmount"], KeyError), "instructedAmount"),
    ("iban FR76 bad", changed(["accountId", "iban"], "FR76 bad"), "accountId.iban"),
    ("missing accountId", changed(["accountId"], KeyError), "accountId"),
    ("other identification", changed(["accountId"], {"other": {"identification": "4970101122334455",
                                                                "schemeName": "CPAN"}}), "accountId.iban"),
    ("empty accountId", changed(["accountId"], {}), "accountId.iban"),
    ("iban check digits", changed(["accountId", "iban"], "FR7730007000010001234560191"), "accountId.iban"),
    ("zero amount", changed(["instructedAmount", "amount"], "0"), "instructedAmount.amount"),
    ("negative amount", changed(["instructedAmount", "amount"], "-10"), "instructedAmount.amount"),
    ("JSON array", [portal_body()], "body"),
    ("JSON null", None, "body"),
    ("JSON string", "hello", "body"),
]


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("case,body,field", BAD_BODIES, ids=[c[0] for c in BAD_BODIES])
def test_bad_body_is_400_naming_the_field(tpp, access, version, case, body, field):
    response = post(tpp, version, access(SCOPE_OF[version]), data=json.dumps(body))
    message = assert_error_model(response, 400, version)["message"]
    assert message.startswith(field), message


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("data", ["{not json", "", "\xff", '{"a": 1', "NaN"])
def test_not_json_is_400(tpp, access, version, data):
    response = post(tpp, version, access(SCOPE_OF[version]), data=data)
    assert_error_model(response, 400, version, names="body")


@pytest.mark.parametrize("amount", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_are_not_json(tpp, access, amount):
    data = json.dumps(portal_body()).replace('"12345"', amount)
    assert_error_model(post(tpp, "v1.4.2", access("cbpii"), data=data), 400, "v1.4.2", names="body")


@pytest.mark.parametrize("amount", ["1e400", "-1e400", "1e14", "-1e-400"])
def test_out_of_range_number_amounts_are_400_not_500(tpp, access, amount):
    data = json.dumps(portal_body()).replace('"12345"', amount)
    response = post(tpp, "v1.4.2", access("cbpii"), data=data)
    assert_error_model(response, 400, "v1.4.2", names="instructedAmount.amount")


def test_a_tiny_number_amount_is_exact_not_rounded_to_zero(tpp, access):
    """Read as a Decimal, 1e-400 is above zero (a binary float made it 0, refused as not positive)."""
    data = json.dumps(portal_body()).replace('"12345"', "1e-400")
    response = post(tpp, "v1.4.2", access("cbpii"), data=data)
    assert response.status_code == 200 and response.get_json()["result"] is True


def test_number_amount_is_refused_in_v1_and_accepted_later(tpp, access):
    body = changed(["instructedAmount", "amount"], 12.5)
    assert_error_model(post(tpp, "v1", access("piisp"), body), 400, "v1", names="instructedAmount.amount")
    for version in ("v1.4.2", "v1.6.2"):
        response = post(tpp, version, access("cbpii"), body)
        assert response.status_code == 200 and response.get_json()["result"] is True


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", "application/xml"])
def test_wrong_content_type_is_415(tpp, access, content_type):
    response = post(tpp, "v1.4.2", access("cbpii"), data=json.dumps(portal_body()), content_type=content_type)
    assert_error_model(response, 415)


@pytest.mark.parametrize("accept", ["text/html", "application/xml", "text/plain"])
def test_unacceptable_accept_is_406(tpp, access, accept):
    assert_error_model(tpp.confirm(access("cbpii"), Accept=accept), 406)


@pytest.mark.parametrize("accept", ["*/*", "application/json", "application/hal+json", "text/html, application/json;q=0.5"])
def test_acceptable_accept(tpp, access, accept):
    assert tpp.confirm(access("cbpii"), Accept=accept).status_code == 200


# -- routing --------------------------------------------------------------------------------
@pytest.mark.parametrize("method", ["get", "put", "delete", "patch"])
@pytest.mark.parametrize("prefix", ["/stet/psd2", ""])
def test_other_methods_are_405_with_an_error_model(client, method, prefix):
    response = getattr(client, method)(f"{prefix}/v1.4.2/funds-confirmations")
    body = assert_error_model(response, 405)
    assert "POST" in response.headers["Allow"]
    assert method.upper() in body["message"]


@pytest.mark.parametrize("path", ["/stet/psd2/v1.4.2/accounts", "/nothing/here", "/stet/psd2/v1.4.2/funds-confirmations/x",
                                  "/stet/psd2/"])
def test_unknown_path_is_404_error_model(client, path):
    assert_error_model(client.post(path, json={}), 404)
    assert_error_model(client.get(path), 404)


@pytest.mark.parametrize("path", ["/stet/psd2/v9/funds-confirmations", "/v9/funds-confirmations",
                                  "/stet/psd2/v1.4.1/funds-confirmations"])
def test_unknown_version_is_404(tpp, access, path):
    response = tpp.client.post(path, json=portal_body(),
                               headers={"Authorization": f"Bearer {access('cbpii')}", "X-Request-ID": "r"})
    body = assert_error_model(response, 404)
    assert "version" in body["message"]


# -- decision ---------------------------------------------------------------------------------
def test_unconsented_iban_is_403(tpp, access):
    response = tpp.confirm(access("cbpii"), portal_body(iban=ALICE_OTHER_IBAN))
    assert_error_model(response, 403, names="accountId.iban")


def test_someone_elses_iban_is_403(tpp, access):
    response = tpp.confirm(access("cbpii"), portal_body(iban="FR7630007000020009876540145"))  # bruno's
    assert_error_model(response, 403, names="accountId.iban")


@pytest.mark.parametrize("currency", ["USD", "GBP", "CHF"])
def test_currency_mismatch_answers_false(tpp, access, currency):
    response = tpp.confirm(access("cbpii"), changed(["instructedAmount", "currency"], currency))
    assert response.status_code == 200 and response.get_json()["result"] is False


def test_unknown_members_are_accepted_and_echoed(tpp, access):
    body = {**portal_body(), "payee": "Marchand", "extension": {"x": 1}}
    response = tpp.confirm(access("cbpii"), body)
    assert response.status_code == 200 and response.get_json()["request"] == body


def test_runtime_account_change_is_seen_at_once(tpp, access, store):
    token = access("cbpii")
    store.patch_account("30007", PORTAL_IBAN, {"balance": "100"})
    assert tpp.confirm(token, portal_body(amount="100")).get_json()["result"] is True
    assert tpp.confirm(token, portal_body(amount="100.01")).get_json()["result"] is False
    store.patch_account("30007", PORTAL_IBAN, {"status": "blocked"})
    assert_error_model(tpp.confirm(token, portal_body(amount="1")), 403, names="blocked")


def test_error_bodies_have_the_stet_shape(tpp, access):
    body = assert_error_model(tpp.confirm(access("cbpii"), portal_body(amount="12,5")), 400)
    assert set(body) == {"timestamp", "status", "error", "message", "path"}
    assert body["error"] == "Bad Request" and body["path"] == "/stet/psd2/v1.4.2/funds-confirmations"
    assert body["timestamp"] == "2026-01-15T10:00:00Z"  # the mock's clock


def test_long_messages_stay_within_the_schema(tpp, access):
    long_path = "/stet/psd2/" + "x" * 300
    assert_error_model(tpp.client.get(long_path), 404)
