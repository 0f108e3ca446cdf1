"""Junk at every endpoint Schemathesis does not fuzz, through Flask's test client.

The product rule: every bad input gets a clear error in its audience's shape (STET
ErrorModel for the API and the admin API, RFC 6749 JSON for /token and /revoke, an
HTML page for the bank's pages, file + path + reason for a scenario), never a 5xx,
never a stack trace, and nothing already stored is lost. Hypothesis runs
derandomized with few examples, so the file stays well under a minute.
"""
from __future__ import annotations

import json
import re
import time

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from werkzeug.datastructures import MultiDict

from mock_aspsp.resources import default_scenario
from mock_aspsp.testing import PORTAL_IBAN, TPP_CLIENT_ID as CLIENT_ID, TPP_REDIRECT_URI as REDIRECT_URI
from support import assert_error_media_type, headless_tokens, portal_body

FUZZ = settings(max_examples=25, derandomize=True, database=None, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                       HealthCheck.data_too_large])
FEW = settings(FUZZ, max_examples=12)

OAUTH_PATHS = ("/token", "/revoke")
BROWSER_PATHS = ("/authorize", "/sca/")
AUTHORIZE = ("/authorize?response_type=code&client_id=" + CLIENT_ID + "&redirect_uri=" + REDIRECT_URI
             + "&scope=cbpii&state=s1")
FUNDS = "/stet/psd2/v1.4.2/funds-confirmations"
BRUNO_IBAN = "FR7630007000020009876540145"  # the headless PSU's account


def check(response, path: str) -> None:
    """No 5xx, no trace, and an error in the shape the path's audience expects."""
    text = response.get_data(as_text=True)
    assert response.status_code < 500, (path, response.status_code, text[:500])
    assert "Traceback" not in text and 'File "' not in text, text[:500]
    if response.status_code < 400:
        return
    if path.startswith(OAUTH_PATHS):
        assert response.mimetype == "application/json", response.content_type
        body = response.get_json()
        assert isinstance(body.get("error"), str) and isinstance(body.get("error_description"), str), body
    elif path.startswith(BROWSER_PATHS):
        assert response.mimetype == "text/html", response.content_type
        assert "<html" in text.lower()
    else:
        assert_error_media_type(response)  # the path's STET version's, or JSON
        body = response.get_json()
        assert body["status"] == response.status_code, body
        assert isinstance(body["message"], str) and body["message"], body
        assert isinstance(body["path"], str), body
        assert isinstance(body["timestamp"], str) and isinstance(body["error"], str), body


def still_serving(client) -> None:
    """The sandbox still answers after the junk: the state it keeps is intact enough to serve."""
    for path in ("/__admin/health", "/__admin/clock", "/__admin/tokens", "/__admin/rules", "/__admin/scenario"):
        response = client.get(path)
        assert response.status_code == 200, (path, response.get_data(as_text=True)[:300])


# -- junk values ---------------------------------------------------------------------------
HUGE = [10 ** 400, -(10 ** 400), 1e308, float("inf"), float("-inf"), float("nan")]
scalars = (
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=40) | st.sampled_from(HUGE)
    | st.sampled_from(["", "\x00", "\u202e\ufeff", "x" * 10_000, "PT1H", "P99999999999D", "P999999999D",
                       "9999-12-31T23:59:59Z", "0001-01-01T00:00:00+14:00", "NaN", "-Infinity", "1e999999",
                       "12.50", "-0", "active", "revoked", "blocked", "alice", CLIENT_ID, "30007", "a" * 64])
)
junk = st.recursive(scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner,
                                                                                         max_size=3), max_leaves=8)


def dumps(value) -> str:
    return json.dumps(value, allow_nan=True)


RAW_BODIES = [
    b"", b"not json", b"[]", b"[1, 2]", b"null", b"true", b'"x"', b"NaN", b"1e999999", b"9" * 5000,
    b"\xff\xfe\x00", b'{"a": "\xff"}', b"{" * 3 + b"}", b"[" * 100_000 + b"]" * 100_000,
    b'{"a":' * 100_000 + b"1" + b"}" * 100_000, b"{\"balance\": 1" + b"0" * 5000 + b"}",
]
CONTENT_TYPES = ["application/json", "text/plain", "application/x-www-form-urlencoded", "application/json; charset=latin-1"]

ADMIN_ROUTES = {  # path -> allowed methods
    "/__admin/health": {"GET"},
    "/__admin/reset": {"POST"},
    "/__admin/scenario": {"GET", "PUT"},
    "/__admin/clock": {"GET", "POST"},
    "/__admin/requests": {"GET", "DELETE"},
    f"/__admin/accounts/{PORTAL_IBAN}": {"PATCH"},
    "/__admin/tokens": {"GET"},
    f"/__admin/tpps/{CLIENT_ID}": {"PATCH"},
    "/__admin/certificates/revoke": {"POST"},
    "/__admin/tokens/revoke": {"POST"},
    "/__admin/rules": {"GET", "POST", "DELETE"},
}
JSON_ENDPOINTS = [  # (method, path, the fields it reads)
    ("POST", "/__admin/clock", ("advance", "set", "reset")),
    ("PATCH", f"/__admin/accounts/{PORTAL_IBAN}", ("balance", "overdraft", "status")),
    ("POST", "/__admin/tokens/revoke", ("psu", "client_id", "bank", "by", "reason")),
    ("PATCH", f"/__admin/tpps/{CLIENT_ID}", ("status", "denied")),
    ("POST", "/__admin/certificates/revoke", ("sha256",)),
    ("POST", "/__admin/rules", ("name", "match", "action", "times")),
]


# -- admin API -----------------------------------------------------------------------------
def test_admin_wrong_methods(client):
    for path, allowed in ADMIN_ROUTES.items():
        for method in {"GET", "POST", "PUT", "PATCH", "DELETE"} - allowed:
            response = client.open(path, method=method, data=b"\xff", content_type="application/json")
            check(response, path)
            assert response.status_code == 405, (method, path)
            assert set(response.headers["Allow"].split(", ")) >= allowed
    check(client.get("/__admin/nope"), "/__admin/nope")


def test_admin_bodies_that_are_not_json_objects(client):
    for method, path, _ in JSON_ENDPOINTS:
        for body in RAW_BODIES:
            for content_type in CONTENT_TYPES:
                response = client.open(path, method=method, data=body, content_type=content_type)
                check(response, path)
                # 415: without an admin token, a body only a cross-site form could send is refused unread.
                json_type = content_type.startswith("application/json")
                assert response.status_code in ((400, 422) if json_type or not body else (415,)), (
                    path, body[:20], content_type, response.get_json())
    still_serving(client)


@FUZZ
@given(endpoint=st.sampled_from(JSON_ENDPOINTS), data=st.data())
def test_admin_fields_with_junk_values(client, endpoint, data):
    method, path, fields = endpoint
    body = data.draw(st.dictionaries(st.sampled_from(fields) | st.text(max_size=5), junk, max_size=3)
                     | st.fixed_dictionaries({data.draw(st.sampled_from(fields)): junk}))
    response = client.open(path, method=method, data=dumps(body), content_type="application/json")
    check(response, path)
    still_serving(client)
    client.delete("/__admin/rules")


@pytest.mark.parametrize("body", [
    {"advance": "P999999999D"}, {"advance": "P99999999999D"}, {"advance": "PT" + "9" * 400 + "S"},
    {"set": "9999-12-31T23:59:59Z"}, {"set": "0001-01-01T00:00:00+14:00"}, {"set": "1969-12-31T23:59:59Z"},
    {"advance": 3600}, {"set": None}, {"reset": "yes"}, {"advance": ["PT1H"]},
])
def test_clock_junk_is_refused_and_time_stays_usable(client, tpp, body):
    before = client.get("/__admin/clock").get_json()
    response = client.post("/__admin/clock", json=body)
    check(response, "/__admin/clock")
    assert response.status_code == 400, response.get_json()
    assert client.get("/__admin/clock").get_json() == before
    headless_tokens(tpp, "bruno")  # expiries are still computable
    assert client.post("/__admin/reset").status_code == 200


def test_account_patch_unknown_iban_or_bank(client):
    for path in ("/__admin/accounts/FR0000000000000000000000000", "/__admin/accounts/%00%FF",
                 f"/__admin/accounts/{'X' * 5000}", f"/__admin/accounts/{PORTAL_IBAN}?bank=junk",
                 f"/__admin/accounts/{PORTAL_IBAN}?bank=99999", f"/__admin/accounts/{PORTAL_IBAN}?bank=%FF%00",
                 f"/__admin/accounts/{PORTAL_IBAN}?bank=13807&bank=30007"):
        response = client.patch(path, json={"balance": "1.00"})
        check(response, path)
        assert response.status_code in (200, 404), path
    response = client.patch(f"/__admin/accounts/{PORTAL_IBAN}?bank=junk", json={"balance": "1.00"})
    assert response.status_code == 404 and "junk" in response.get_json()["message"]
    check(client.patch("/__admin/tpps/PSDXX-NOPE-1", json={"status": "revoked"}), "/__admin/tpps/x")


JUNK_RULES = [
    {}, {"action": {}}, {"action": {"status": 999}}, {"action": {"status": "503"}}, {"action": {"delay": "P99999999999D"}},
    {"action": {"delay": "PT31S"}}, {"action": {"retry_after": -1, "status": 429}}, {"name": [], "action": {"status": 503}},
    {"name": {"a": 1}, "action": {"status": 503}}, {"name": None, "action": {"status": 503}},
    {"match": {"probability": float("nan")}, "action": {"status": 503}}, {"match": {"nth": 10 ** 400}, "action": {"status": 503}},
    {"match": {"amount": "NaN"}, "action": {"status": 503}}, {"match": {"amount": "1e999999"}, "action": {"status": 503}},
    {"match": {"endpoint": "nope"}, "action": {"status": 503}}, {"match": [], "action": {"status": 503}},
    {"match": {"iban": {"x": 1}}, "action": {"status": 503}}, {"times": -1, "action": {"status": 503}},
    {"times": 1e308, "action": {"status": 503}}, {"action": {"status": 503, "message": "x" * 100_000}},
]


def test_rules_with_junk_are_refused_with_problems(client):
    for rule in JUNK_RULES:
        response = client.post("/__admin/rules", data=dumps(rule), content_type="application/json")
        check(response, "/__admin/rules")
        assert response.status_code in (201, 400, 422), (rule, response.get_json())
        if response.status_code == 422:
            assert response.get_json()["problems"], rule
    assert client.post("/__admin/rules", json={"name": "r", "action": {"status": 503}}).status_code == 201
    duplicate = client.post("/__admin/rules", json={"name": "r", "action": {"status": 503}})
    assert duplicate.status_code == 422 and "already exists" in " ".join(duplicate.get_json()["problems"])
    still_serving(client)


# -- scenario PUT --------------------------------------------------------------------------
def billion_laughs(levels: int = 9, width: int = 10) -> str:
    text = 'lol: &l0 ["lol"]\n'
    for i in range(1, levels + 1):
        text += f"l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * width) + "]\n"
    return text


JUNK_SCENARIOS = [
    ("binary", bytes(range(256))),
    ("invalid UTF-8", b"name: \xff\xfe\nbanks: []"),
    ("UTF-16", "name: x".encode("utf-16")),
    ("empty", b""),
    ("null", b"null"),
    ("a list", b"[1, 2]"),
    ("a JSON array", b"[]"),
    ("NUL", b"name: a\x00b"),
    ("python tag", b"!!python/object/apply:os.system ['true']"),
    ("integer of 5000 digits", b"banks: 1" + b"0" * 5000),
    ("month 13", b"banks: 2026-13-45"),
    ("a list as key", b"? [1]\n: 2"),
    ("self-referencing alias", b"a: &a [*a]"),
    ("undefined alias", b"a: *x"),
    ("nested 100 000 deep", b"[" * 100_000 + b"]" * 100_000),
    ("billion laughs", billion_laughs().encode()),
    ("long text laughs", (b"a: &a " + b"x" * 10_000 + b"\nb: &b [" + b", ".join([b"*a"] * 100) + b"]\n"
                          b"c: [" + b", ".join([b"*b"] * 100) + b"]\n")),
    ("300 000 nodes", b"x: [" + b"1," * 300_000 + b"1]"),
    ("17 MB", b"name: " + b"x" * (17 * 1024 * 1024)),
    ("huge lifetime", yaml.safe_dump({**yaml.safe_load(default_scenario().read_text(encoding="utf-8")),
                                      "settings": {"tokens": {"refresh_token_lifetime": "P999999999D"}}}).encode()),
    ("lifetime past timedelta", default_scenario().read_bytes() + b"\nsettings: {sca: {consent_timeout: P99999999999D}}"),
]


@pytest.mark.parametrize("label,body", JUNK_SCENARIOS, ids=[label for label, _ in JUNK_SCENARIOS])
def test_scenario_put_junk_is_refused_and_nothing_is_lost(client, tpp, label, body):
    tokens = headless_tokens(tpp, "bruno")
    before = client.get("/__admin/scenario").get_json()
    started = time.monotonic()
    response = client.put("/__admin/scenario", data=body, content_type="application/yaml")
    assert time.monotonic() - started < 5, f"{label}: took {time.monotonic() - started:.1f}s"
    check(response, "/__admin/scenario")
    assert response.status_code in (400, 413, 422), (label, response.get_json())
    if response.status_code == 422:
        problems = response.get_json()["problems"]
        assert problems and all(p.startswith("PUT /__admin/scenario") for p in problems), problems
    after = client.get("/__admin/scenario").get_json()
    assert (after["version"], after["yaml"]) == (before["version"], before["yaml"])
    assert client.get("/__admin/tokens").get_json()["count"] == 1
    assert tpp.refresh(tokens["refresh_token"]).status_code == 200


def test_scenario_lifetimes_are_bounded(client):
    doc = yaml.safe_load(default_scenario().read_text(encoding="utf-8"))
    doc["settings"] = {"tokens": {"refresh_token_lifetime": "P999999999D"}}
    response = client.put("/__admin/scenario", data=yaml.safe_dump(doc), content_type="application/yaml")
    assert response.status_code == 422
    assert any("settings.tokens.refresh_token_lifetime" in p and "longer than" in p
               for p in response.get_json()["problems"]), response.get_json()


# -- /authorize and the bank's pages -------------------------------------------------------
AUTHORIZE_QUERIES = [
    "", "client_id=", "client_id=" + CLIENT_ID, AUTHORIZE[len("/authorize?"):] * 2,
    "client_id=nope&client_id=" + CLIENT_ID + "&redirect_uri=" + REDIRECT_URI,
    AUTHORIZE[len("/authorize?"):] + "&state=" + "x" * 100_000,
    "client_id=" + "A" * 100_000, "redirect_uri=" + "h" * 100_000,
    AUTHORIZE[len("/authorize?"):].replace("state=s1", "state=%F0%9F%98%80%E2%80%AE%00%0D%0ASet-Cookie:%20a=b"),
    AUTHORIZE[len("/authorize?"):].replace("scope=cbpii", "scope=%00%FF"),
    "client_id=%zz%ff%c3&redirect_uri=%",
    AUTHORIZE[len("/authorize?"):] + "&login_hint=%00%ff" + "b" * 10_000,
    AUTHORIZE[len("/authorize?"):] + "&login_hint=bruno&login_hint=alice",
    "&&&==&=&;;",
]


def check_authorize(response) -> None:
    check(response, "/authorize")
    if response.status_code in (302, 303):
        location = response.headers["Location"]
        assert location.startswith((REDIRECT_URI + "?", "/sca/")), location
    else:
        assert response.mimetype == "text/html"


def test_authorize_junk_queries(client):
    for query in AUTHORIZE_QUERIES:
        check_authorize(client.get("/authorize?" + query))
    # Raw bytes that are not UTF-8, as a client may send them on the wire.
    for raw in ("client_id=\xff\xfe&state=\x00", AUTHORIZE[len("/authorize?"):] + "&state=\xe9\x80", "\x80"):
        check_authorize(client.get("/authorize", environ_overrides={"QUERY_STRING": raw}))
    for method in ("POST", "PUT", "DELETE", "PATCH"):
        response = client.open(AUTHORIZE, method=method)
        check(response, "/authorize")
        assert response.status_code == 405


@FUZZ
@given(params=st.lists(st.tuples(st.sampled_from(["response_type", "client_id", "redirect_uri", "scope", "state",
                                                   "login_hint"]) | st.text(max_size=5),
                                  st.text(max_size=60) | st.sampled_from([CLIENT_ID, REDIRECT_URI, "code", "cbpii",
                                                                          "bruno", "alice"])), max_size=8))
def test_authorize_fuzzed_parameters(client, params):
    check_authorize(client.get("/authorize", query_string=params))


def start_journey(client) -> str:
    response = client.get(AUTHORIZE)
    assert response.status_code == 303
    return response.headers["Location"]


def csrf_of(client, location) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', client.get(location).get_data(as_text=True)).group(1)


def test_sca_pages_junk(client, app):
    location = start_journey(client)
    stranger = app.test_client()  # no cookie
    for path in ("/sca/nope", "/sca/" + "x" * 10_000, "/sca/%F0%9F%98%80%00", "/sca/%FF", location):
        for method in ("GET", "POST", "PUT", "DELETE"):
            for who in (client, stranger):
                response = who.open(path, method=method, data={"step": "identify", "csrf_token": "x"})
                check(response, "/sca/")
                assert response.mimetype == "text/html"
    forms = [
        (b"\xff\xfe\x00=\x80", "application/x-www-form-urlencoded"),
        (b'{"step": "identify"}', "application/json"),
        (b"--zz\r\n\r\n", "multipart/form-data; boundary=zz"),
        (b"x", "multipart/form-data"),
        (b"step=identify&step=authenticate&csrf_token=a&csrf_token=b", "application/x-www-form-urlencoded"),
        (b"login=" + b"x" * (5 * 1024 * 1024), "application/x-www-form-urlencoded"),
        (b"login=" + b"x" * (17 * 1024 * 1024), "application/x-www-form-urlencoded"),
        (b"&".join(b"k%d=v" % i for i in range(20_000)), "application/x-www-form-urlencoded"),
    ]
    for body, content_type in forms:
        check(client.post(location, data=body, content_type=content_type), "/sca/")
    assert client.get(location).status_code == 200  # the journey is still there, at its first step


@FUZZ
@given(fields=st.lists(st.tuples(st.sampled_from(["step", "csrf_token", "login", "password", "otp", "iban",
                                                  "action"]) | st.text(max_size=5),
                                 st.text(max_size=50) | st.sampled_from(["identify", "authenticate", "consent",
                                                                         "approve", "refuse", "cancel", "alice",
                                                                         "alice-password", "123456", PORTAL_IBAN])),
                       max_size=8),
       with_csrf=st.booleans())
def test_sca_fuzzed_forms(client, fields, with_csrf):
    location = start_journey(client)
    if with_csrf:
        fields = [("csrf_token", csrf_of(client, location)), *fields]
    response = client.post(location, data=MultiDict(fields), content_type="application/x-www-form-urlencoded")
    check(response, "/sca/")
    if response.status_code in (302, 303):
        assert response.headers["Location"].startswith((REDIRECT_URI + "?", "/sca/"))


# -- /token and /revoke --------------------------------------------------------------------
OAUTH_BODIES = [
    (b"", None), (b'{"grant_type": "refresh_token"}', "application/json"),
    (b"\xff\xfe=\x00\x80", "application/x-www-form-urlencoded"), (b"\xff\xfe", "application/octet-stream"),
    (b"a=b", "\x00/\xff"), (b"grant_type=x", "application/x-www-form-urlencoded; charset=ebcdic"),
    ("grant_type=refresh_token".encode("utf-16"), "application/x-www-form-urlencoded; charset=utf-16"),
    (b"grant_type=refresh_token&grant_type=refresh_token&token=a&token=b", "application/x-www-form-urlencoded"),
    (b"client_id=a&client_id=b&token=x", "application/x-www-form-urlencoded"),
    (b'--zz\r\nContent-Disposition: form-data; name="grant_type"\r\n\r\nrefresh_token\r\n--zz--\r\n',
     "multipart/form-data; boundary=zz"),
    (b"token=" + b"x" * (5 * 1024 * 1024), "application/x-www-form-urlencoded"),
    (b"token=" + b"x" * (17 * 1024 * 1024), "application/x-www-form-urlencoded"),
    (b"token=%zz%ff&client_id=%c3%28", "application/x-www-form-urlencoded"),
    (b"&".join(b"k%d=v" % i for i in range(20_000)), "application/x-www-form-urlencoded"),
    (b"client_id=" + b"A" * 100_000 + b"&grant_type=refresh_token&refresh_token=x&token=x",
     "application/x-www-form-urlencoded"),
    (b"client_id=%00&grant_type=refresh_token&refresh_token=%00&token=%00", "application/x-www-form-urlencoded"),
    (("client_id=" + CLIENT_ID + "&token=x&token_type_hint=%00&grant_type=authorization_code&code=%FF"
      "&redirect_uri=%00").encode(), "application/x-www-form-urlencoded"),
]


def test_token_and_revoke_junk_bodies(client):
    for path in OAUTH_PATHS:
        for body, content_type in OAUTH_BODIES:
            response = client.post(path, data=body, **({"content_type": content_type} if content_type else {}))
            check(response, path)
            assert response.status_code >= 400, (path, body[:40])
        for method in ("GET", "PUT", "DELETE", "PATCH"):
            response = client.open(path, method=method)
            check(response, path)
            assert response.status_code == 405


@FUZZ
@given(path=st.sampled_from(OAUTH_PATHS), body=st.binary(max_size=200),
       content_type=st.sampled_from(["application/x-www-form-urlencoded", "application/json", "text/plain",
                                     "multipart/form-data; boundary=x", ""]))
def test_token_and_revoke_fuzzed_bytes(client, path, body, content_type):
    check(client.post(path, data=body, content_type=content_type), path)


# -- Host, X-Request-ID, encodings, unknown paths ------------------------------------------
HOSTS = ["", " ", "a" * 10_000, "[::1]", "[::1]:8080", "[::1", "::1", "été.localhost", "xn--t-bga.localhost",
         "99999.localhost", "99999.localhost:8080", "30007.localhost:99999", "localhost:abc", "\x00", "\xff\xfe",
         "a..b", ":", "30007.13807.localhost", "12345", "localhost:8080:9090"]
EVERY_AUDIENCE = [("GET", AUTHORIZE), ("POST", "/token"), ("POST", "/revoke"), ("GET", "/__admin/health"),
                  ("POST", FUNDS), ("GET", "/sca/xyz"), ("GET", "/nope"), ("GET", "/.well-known/oauth-authorization-server"),
                  ("GET", "/stet/psd2/v1/openapi.json")]


def test_junk_host_headers(client):
    for host in HOSTS:
        for method, path in EVERY_AUDIENCE:
            response = client.open(path, method=method, headers={"Host": host},
                                   data="client_id=" + CLIENT_ID if path in OAUTH_PATHS else None,
                                   content_type="application/x-www-form-urlencoded" if path in OAUTH_PATHS else None)
            check(response, path)
    for method, path in EVERY_AUDIENCE[:3] + [("POST", FUNDS)]:  # a bank code the scenario does not have
        response = client.open(path, method=method, headers={"Host": "99999.localhost"},
                               data="client_id=" + CLIENT_ID if path in OAUTH_PATHS else None,
                               content_type="application/x-www-form-urlencoded" if path in OAUTH_PATHS else None)
        assert response.status_code == 404, path


def test_junk_request_ids(client, tpp):
    access = headless_tokens(tpp, "bruno")["access_token"]
    for request_id in ("x" * 10_240, "\x00\x01\x7f", "a\tb", "\xff\xe9", ""):
        for method, path in EVERY_AUDIENCE:
            response = client.open(path, method=method,
                                   headers={"X-Request-ID": request_id, "Authorization": f"Bearer {access}"})
            check(response, path)
        response = tpp.confirm(access, body=portal_body(iban=BRUNO_IBAN), request_id=request_id)
        check(response, FUNDS)
        assert response.status_code == (400 if len(request_id) > 70 or not request_id else 200), response.get_json()


def test_invalid_json_bodies_on_json_endpoints(client, tpp):
    access = headless_tokens(tpp, "bruno")["access_token"]
    for body in RAW_BODIES:
        response = client.post(FUNDS, data=body, content_type="application/json",
                               headers={"X-Request-ID": "r1", "Authorization": f"Bearer {access}"})
        check(response, FUNDS)
        assert response.status_code == 400, (body[:20], response.get_json())
    # The same with a fault rule that reads the body (iban criterion).
    assert client.post("/__admin/rules", json={"match": {"iban": PORTAL_IBAN}, "action": {"status": 429}}).status_code == 201
    for body in RAW_BODIES:
        response = client.post(FUNDS, data=body, content_type="application/json",
                               headers={"X-Request-ID": "r1", "Authorization": f"Bearer {access}"})
        check(response, FUNDS)


def test_unknown_api_paths_get_error_models(client):
    for method, path in [("GET", "/stet/psd2/v9/funds-confirmations"), ("POST", "/stet/psd2/v9/funds-confirmations"),
                         ("GET", "/stet/psd2/v1.4.2/nope"), ("GET", "/x" * 3000), ("DELETE", FUNDS),
                         ("GET", FUNDS + "/"), ("GET", "/v1.4.2/openapi.json/x"), ("GET", "/stet/psd2/%FF/openapi.json"),
                         ("POST", "/%00")]:
        response = client.open(path, method=method)
        check(response, path)
        assert response.status_code in (404, 405), path
    for raw_path in ("/\xff", "/stet/psd2/\xff\xfe/funds-confirmations", "/__admin/tpps/\xff"):
        response = client.get("/", environ_overrides={"PATH_INFO": raw_path})
        check(response, raw_path)


SURROGATE_BYTES = "\udc80".encode("utf-8", "surrogatepass")  # ED B2 80: the UTF-8 shape of a surrogate, not UTF-8


@pytest.mark.parametrize("version", ["v1.4.2", "v1.6.2"])
def test_a_body_with_a_surrogate_encoded_as_utf8_is_not_json(client, tpp, version):
    """RFC 8259 §8.1 asks for UTF-8, which has no surrogates; read as if it did, the echo of the request
    could not be written back (500)."""
    access = headless_tokens(tpp, "bruno")["access_token"]
    text = json.dumps(portal_body("1", BRUNO_IBAN, payee="A_B")).encode().replace(b"_", SURROGATE_BYTES)
    response = client.post(f"/stet/psd2/{version}/funds-confirmations", data=text, content_type="application/json",
                           headers={"Authorization": f"Bearer {access}", "X-Request-ID": "r-1"})
    assert response.status_code == 400, response.get_data(as_text=True)
    assert "not valid JSON" in response.get_json()["message"]
    assert client.get("/__admin/requests").status_code == 200
