"""Two replicas: two separate ``mock-aspsp serve`` processes (two workers each) on one Redis.

What a load balancer in front of them would do to a TPP: every step of the
journey may land on either replica, and so may QA's admin calls.
"""
from __future__ import annotations

import re
import uuid
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import yaml

from mock_aspsp.testing import HEADLESS_IBAN, HEADLESS_PSU, TPP_CLIENT_ID as CLIENT_ID, TPP_REDIRECT_URI as REDIRECT_URI
from served_process import served_process

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def replicas(tmp_path_factory, redis_server):
    """Replicas A and B on the session's redis-server, under a key prefix of their own."""
    prefix = f"replicas-{uuid.uuid4().hex[:12]}:"
    store = ("--store", redis_server.url(prefix=prefix))
    with served_process(tmp_path_factory.mktemp("replica-a"), *store) as a, \
            served_process(tmp_path_factory.mktemp("replica-b"), *store) as b:
        yield a.url, b.url
    redis_server.delete_prefix(prefix)


@pytest.fixture(autouse=True)
def clean(replicas):
    """Each test starts from the scenario's initial state, real time."""
    requests.post(f"{replicas[0]}/__admin/reset", timeout=10).raise_for_status()


def code_from(url: str, state: str = "replicas") -> str:
    """The headless PSU bruno consents at once (login_hint): /authorize redirects with a code."""
    response = requests.get(f"{url}/authorize", allow_redirects=False, timeout=10, params={
        "response_type": "code", "client_id": CLIENT_ID, "redirect_uri": REDIRECT_URI, "scope": "cbpii",
        "state": state, "login_hint": HEADLESS_PSU})
    assert response.status_code in (302, 303), response.text
    return parse_qs(urlsplit(response.headers["Location"]).query)["code"][0]


def token(url: str, **form) -> requests.Response:
    # A new connection each time, so each replica's two workers both get calls.
    return requests.post(f"{url}/token", data={"client_id": CLIENT_ID, **form}, headers={"Connection": "close"},
                         timeout=30)


def exchange(url: str, code: str) -> requests.Response:
    return token(url, grant_type="authorization_code", code=code, redirect_uri=REDIRECT_URI)


def confirm(url: str, access: str, amount: str = "10.00") -> requests.Response:
    body = {"paymentCoverageRequestId": "replicas", "instructedAmount": {"currency": "EUR", "amount": amount},
            "accountId": {"iban": HEADLESS_IBAN}}
    return requests.post(f"{url}/stet/psd2/v1.4.2/funds-confirmations", json=body, timeout=10,
                         headers={"Authorization": f"Bearer {access}", "X-Request-ID": "replicas",
                                  "Connection": "close"})


def test_a_journey_spread_over_two_replicas(replicas):
    a, b = replicas
    issued = exchange(b, code_from(a))  # authorized on A, exchanged on B
    assert issued.status_code == 200, issued.text
    tokens = issued.json()
    assert confirm(a, tokens["access_token"]).json()["result"] is True

    refreshed = token(b, grant_type="refresh_token", refresh_token=tokens["refresh_token"])
    assert refreshed.status_code == 200, refreshed.text
    access = refreshed.json()["access_token"]
    assert refreshed.json()["refresh_token"] == tokens["refresh_token"]
    assert confirm(a, tokens["access_token"]).status_code == 401  # the old access token died on B's refresh
    assert confirm(a, access).status_code == 200 and confirm(b, access).status_code == 200

    revoked = requests.post(f"{a}/revoke", data={"client_id": CLIENT_ID, "token": tokens["refresh_token"]},
                            timeout=10)
    assert revoked.status_code == 200, revoked.text
    assert confirm(b, access).status_code == 401
    again = token(b, grant_type="refresh_token", refresh_token=tokens["refresh_token"])
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"


def test_the_bank_pages_of_one_journey_on_alternate_replicas(replicas):
    """Alice's interactive journey, each page on the other replica: no sticky sessions needed."""
    a, b = replicas
    started = requests.get(f"{a}/authorize", allow_redirects=False, timeout=10, params={
        "response_type": "code", "client_id": CLIENT_ID, "redirect_uri": REDIRECT_URI, "scope": "cbpii",
        "state": "pages"})
    page, cookies = started.headers["Location"], started.cookies  # /sca/<journey>, and the browser's cookie
    steps = [(b, {"step": "identify", "login": "alice", "password": "alice-password", "action": "continue"}),
             (a, {"step": "authenticate", "otp": "123456", "action": "continue"}),
             (b, {"step": "consent", "iban": "YY13RDHN98392489481620896668799742", "action": "approve"})]
    for url, form in steps:
        shown = requests.get(f"{url}{page}", cookies=cookies, timeout=10)
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', shown.text).group(1)
        answer = requests.post(f"{url}{page}", data={"csrf_token": csrf, **form}, cookies=cookies,
                               allow_redirects=False, timeout=10)
        assert answer.status_code in (302, 303), answer.text
    callback = parse_qs(urlsplit(answer.headers["Location"]).query)
    assert callback["state"] == ["pages"]
    assert exchange(a, callback["code"][0]).status_code == 200


def test_a_code_is_single_use_across_replicas(replicas):
    code = code_from(replicas[0])

    def attempt(n):
        return exchange(replicas[n % 2], code)

    with ThreadPoolExecutor(max_workers=20) as pool:
        answers = list(pool.map(attempt, range(20)))
    assert sorted(a.status_code for a in answers) == [200] + [400] * 19
    assert {a.json()["error"] for a in answers if a.status_code == 400} == {"invalid_grant"}
    winner = next(a for a in answers if a.status_code == 200).json()
    # The replays revoked the pair the code produced, whichever replica they reached.
    assert {confirm(url, winner["access_token"]).status_code for url in replicas} == {401}


def test_admin_changes_on_one_replica_reach_the_other(replicas):
    a, b = replicas
    access = exchange(a, code_from(a)).json()["access_token"]

    moved = requests.post(f"{a}/__admin/clock", json={"advance": "PT2H"}, timeout=10)
    assert moved.status_code == 200 and moved.json()["offset"] == "PT2H"
    assert requests.get(f"{b}/__admin/clock", timeout=10).json()["now"] == moved.json()["now"]
    expired = confirm(b, access)
    assert expired.status_code == 401 and "expired" in expired.json()["message"]
    requests.post(f"{b}/__admin/clock", json={"reset": True}, timeout=10).raise_for_status()

    access = exchange(b, code_from(b)).json()["access_token"]
    assert confirm(a, access).json()["result"] is True
    patched = requests.patch(f"{a}/__admin/accounts/{HEADLESS_IBAN}", json={"balance": "0", "overdraft": "0"},
                             timeout=10)
    assert patched.status_code == 200
    assert [confirm(b, access).json()["result"] for _ in range(4)] == [False] * 4

    current = requests.get(f"{a}/__admin/scenario", timeout=10).json()
    document = yaml.safe_load(current["yaml"])
    document["name"] = "swapped on replica A"
    yaml_body = {"Content-Type": "application/yaml"}
    swapped = requests.put(f"{a}/__admin/scenario", data=yaml.safe_dump(document), headers=yaml_body, timeout=10)
    assert swapped.status_code == 200, swapped.text
    seen = {requests.get(f"{b}/__admin/health", headers={"Connection": "close"}, timeout=10).json()["scenario"]
            for _ in range(4)}
    assert seen == {"swapped on replica A"}
    assert requests.get(f"{b}/__admin/scenario", timeout=10).json()["version"] == current["version"] + 1
    # Back to the first scenario, for whatever runs next.
    restored = requests.put(f"{b}/__admin/scenario", data=current["yaml"].encode(), headers=yaml_body, timeout=10)
    assert restored.status_code == 200


def test_a_served_replica_rides_out_a_redis_outage(tmp_path):
    """Both gunicorn workers answer 503 while Redis is away and reconnect by themselves when it is back."""
    from redis_server import MISSING, RedisServer, find_redis_server

    if find_redis_server() is None:
        pytest.skip(MISSING)
    redis = RedisServer(tmp_path / "redis", persistent=True).start()
    try:
        (tmp_path / "replica").mkdir()
        with served_process(tmp_path / "replica", "--store", redis.url()) as served:
            code = code_from(served.url)
            access = exchange(served.url, code).json()["access_token"]
            redis.stop()
            down = [confirm(served.url, access) for _ in range(4)]
            assert {(r.status_code, r.json()["status"]) for r in down} == {(503, 503)}
            refused = exchange(served.url, code)
            assert (refused.status_code, refused.json()["error"]) == (503, "temporarily_unavailable")
            redis.start()
            assert {confirm(served.url, access).status_code for _ in range(4)} == {200}
            assert exchange(served.url, code).json()["error"] == "invalid_grant"  # still redeemed
    finally:
        redis.stop()
