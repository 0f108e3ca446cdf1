"""The headers a journal entry keeps: those the TPP sent, in the order werkzeug lists them, secrets masked."""
from __future__ import annotations

from mock_aspsp.http import journal
from support import TppDriver, headless_tokens, portal_body

BRUNO_IBAN = "FR7630007000020009876540145"


def last_entry(client) -> dict:
    return client.get("/__admin/requests").get_json()["requests"][-1]


def test_the_headers_sent_are_kept_in_order_with_their_secrets_masked(client):
    tpp = TppDriver(client)
    access = headless_tokens(tpp, "bruno")["access_token"]
    answer = tpp.confirm(access, body=portal_body("10", BRUNO_IBAN), request_id="kept-1",
                         **{"X-Third": "3", "X-First": "1", "X-Second": "2"})
    assert answer.status_code == 200
    headers = last_entry(client)["headers"]
    assert headers["Authorization"] == "Bearer ***" and access not in str(headers)
    assert headers["X-Request-Id"] == "kept-1" and headers["Content-Type"] == "application/json"
    assert int(headers["Content-Length"]) > 0
    sent = [name for name in headers if name in ("X-Third", "X-First", "X-Second")]
    assert sent == ["X-Third", "X-First", "X-Second"]
    client.set_cookie("session", "s3cret")
    client.get("/authorize", environ_base={"CONTENT_LENGTH": ""})
    headers = last_entry(client)["headers"]
    assert headers["Cookie"] == "***" and "Content-Length" not in headers  # an empty length is not a header sent


def test_variables_of_the_environ_that_are_not_headers_are_left_out(client):
    client.post("/v1/funds-confirmations", headers={"X-Request-ID": "env"},
                environ_base={"HOME": "/root", "SERVER_SOFTWARE": "granian", "HTTP_X_PROBE": "sent"})
    headers = last_entry(client)["headers"]
    assert "X-Probe" in headers and not {"Home", "HOME", "Server-Software"} & set(headers)


def test_a_client_sending_new_header_names_on_every_call_is_journaled_right_within_bounded_memory(client):
    for n in range(40):
        client.post("/v1/funds-confirmations", headers={"X-Request-ID": f"r{n}", f"X-Odd-{n}": str(n)})
        assert last_entry(client)["headers"][f"X-Odd-{n}"] == str(n)
    assert journal._header_keys.cache_info().currsize <= 16
