"""Admin changes and fault rules as seen by a real two-worker server."""
import pytest
import requests

from mock_aspsp.testing import HEADLESS_IBAN

pytestmark = pytest.mark.e2e


def body(amount="100"):
    return {"paymentCoverageRequestId": "e2e", "instructedAmount": {"currency": "EUR", "amount": amount},
            "accountId": {"iban": HEADLESS_IBAN}}


def confirm(url, access):
    # A new connection each time, so the calls spread over both workers.
    return requests.post(f"{url}/v1.4.2/funds-confirmations", json=body(),
                         headers={"Authorization": f"Bearer {access}", "X-Request-ID": "e2e",
                                  "Connection": "close"}, timeout=10)


def test_account_patch_and_revocation_reach_every_worker(served):
    access = served.link().access_token
    assert all(confirm(served.url, access).json()["result"] for _ in range(6))
    patched = requests.patch(f"{served.url}/__admin/accounts/{HEADLESS_IBAN}", json={"balance": "0", "overdraft": "0"})
    assert patched.status_code == 200
    assert not any(confirm(served.url, access).json()["result"] for _ in range(6))
    assert requests.post(f"{served.url}/__admin/tokens/revoke", json={"psu": "bruno"}).json() == {"revoked": 1}
    assert {confirm(served.url, access).status_code for _ in range(6)} == {401}


def test_rule_limited_to_two_uses_fires_twice_across_workers(served):
    access = served.link().access_token
    added = requests.post(f"{served.url}/__admin/rules", json={"action": {"status": 429, "retry_after": 1},
                                                              "times": 2})
    assert added.status_code == 201
    statuses = [confirm(served.url, access).status_code for _ in range(8)]
    assert statuses.count(429) == 2 and statuses.count(200) == 6


def test_drop_rule_closes_the_connection_without_an_answer(served):
    access = served.link().access_token
    requests.post(f"{served.url}/__admin/rules", json={"name": "cut", "action": {"drop": True}, "times": 1})
    with pytest.raises(requests.ConnectionError):
        confirm(served.url, access)
    assert confirm(served.url, access).status_code == 200
    journal = requests.get(f"{served.url}/__admin/requests?path=funds").json()["requests"]
    assert journal[0]["fault_rule"] == "cut"
