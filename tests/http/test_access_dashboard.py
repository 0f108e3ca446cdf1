"""The PSU's access dashboard (``/espace-client/acces``), through Flask's test client.

The PSU signs in through the bank's own identification and one-time-code screens
(the journey's code, its lock-out), sees every TPP that may check its funds with
the checks made (amount, yes/no, never the balance), and revokes one after a
confirmation: the TPP's next call is refused, "revoked by the PSU".
"""
from __future__ import annotations

import re
from datetime import timedelta
from html import unescape
from pathlib import Path

import pytest

from mock_aspsp.app import create_app
from mock_aspsp.bank.clock import Clock
from mock_aspsp.bank.scenario import PsuLockout
from mock_aspsp.config import Config
from mock_aspsp.oauth.signin import SESSION_COOKIE, SESSION_LIFETIME
from mock_aspsp.store.records import REVOKED_BY_PSU
from mock_aspsp.testing import HEADLESS_IBAN, HEADLESS_PSU, PORTAL_IBAN, TPP_CLIENT_ID
from support import (DASHBOARD, START, TppDriver, assert_error_model, assert_error_page, headless_tokens, portal_body,
                     scenario_variant, sign_in, signed_in)

TPP_NAME = "Carte Exemple SAS"


def text(response) -> str:
    """The page's text as shown (tags dropped, entities read, spaces collapsed; thin spaces kept)."""
    return re.sub(r"[ \t\r\n]+", " ", unescape(re.sub(r"<[^>]+>", " ", response.get_data(as_text=True)))).strip()


def csrf(response) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', response.get_data(as_text=True)).group(1)


def access_refs(page) -> list[str]:
    return re.findall(r'href="/espace-client/acces/([^/"]+)/revocation"', page.get_data(as_text=True))


def test_the_psu_signs_in_on_the_banks_screens_and_sees_each_tpp_with_its_checks(client, tpp):
    tokens = tpp.tokens()
    assert tpp.confirm(tokens["access_token"], portal_body("12345")).get_json()["result"] is True
    assert tpp.confirm(tokens["access_token"], portal_body("50000"), request_id="req-2").get_json()["result"] is False

    started = client.get(DASHBOARD)
    identification = client.get(started.headers["Location"])
    assert "Étape 1 sur 2 · Identification" in text(identification)  # the journey's screen, without consent
    assert "Espace client" in text(identification)
    page = signed_in(client)
    shown = text(page)
    assert "Bonjour Alice Martin" in shown
    assert TPP_NAME in shown
    assert "YY13 RDHN 9839 2489 4816 2089 6668 7997 42" in shown  # grouped by four
    assert "Autorisé le 15/01/2026 à 10:00 (UTC)" in shown
    assert "Jusqu'au 14/07/2026" in shown  # the 180-day re-authentication
    assert "Vérifications 2" in shown
    checks = re.findall(r"15/01/2026 10:00 ([\d\u202f]+,\d\d) EUR (Oui|Non)", shown)
    assert checks == [("50\u202f000,00", "Non"), ("12\u202f345,00", "Oui")]  # newest first
    assert "20\u202f000" not in shown and "20000" not in shown  # never the balance
    assert len(access_refs(page)) == 1


def test_the_dashboard_lists_live_pairs_only(client, tpp, advance):
    tpp.tokens()
    other = TppDriver(client)
    headless_tokens(other, HEADLESS_PSU)  # another PSU's pair is not alice's
    assert len(access_refs(signed_in(client))) == 1
    advance(timedelta(days=180))  # past the re-authentication: nothing the TPP can do any more
    page = signed_in(client)
    assert access_refs(page) == []
    assert "Aucun prestataire n'est autorisé" in text(page)


def test_a_headless_psu_signs_in_with_the_same_screens(client, tpp):
    """Bruno consents at once to a TPP (``sca: approve``), but signs in to its dashboard like anyone."""
    headless_tokens(tpp, HEADLESS_PSU)
    started = client.get(DASHBOARD)
    identified = TppDriver(client).post_step(started.headers["Location"], "identify", login=HEADLESS_PSU,
                                             password="bruno-password", action="continue")
    assert identified.headers["Location"] == started.headers["Location"]  # on to the one-time code
    page = signed_in(client, HEADLESS_PSU)
    assert "Bruno Petit" in text(page) and TPP_NAME in text(page)
    assert " ".join(re.findall("....", HEADLESS_IBAN[:24])) in text(page)


def test_a_wrong_password_or_code_is_shown_and_counts_toward_the_lock_out(client, tpp):
    wrong = sign_in(client, password="wrong")
    assert wrong.status_code == 401 and "Identifiant ou mot de passe incorrect." in text(wrong)
    wrong = sign_in(client, otp="000000")
    assert wrong.status_code == 401 and "Code incorrect." in text(wrong)
    for _ in range(PsuLockout().attempts - 3):
        assert sign_in(client, password="wrong").status_code == 401
    locked = sign_in(client, password="wrong")
    assert locked.status_code == 403 and "Accès temporairement bloqué" in text(locked)
    assert f'href="{DASHBOARD}"' in locked.get_data(as_text=True)  # back to the dashboard, not to a TPP
    assert "Retour à l'espace client" in text(locked)
    # the same lock-out as the TPP's journey: alice is locked there too, and the right password is refused
    location = tpp.start().headers["Location"]
    answer = tpp.post_step(location, "identify", login="alice", password="alice-password", action="continue")
    assert answer.status_code == 403
    assert sign_in(client).status_code == 403


def test_a_lock_out_from_a_tpps_journey_holds_on_the_dashboard(client, tpp):
    location = tpp.start().headers["Location"]
    for _ in range(PsuLockout().attempts):
        answer = tpp.post_step(location, "identify", login="alice", password="wrong", action="continue")
    assert answer.status_code == 403
    assert sign_in(client).status_code == 403


def test_cancelling_or_waiting_ends_the_sign_in_on_the_banks_page(client, advance):
    started = client.get(DASHBOARD)
    cancelled = TppDriver(client).post_step(started.headers["Location"], "identify", action="cancel")
    assert cancelled.status_code == 200 and "Connexion annulée" in text(cancelled)
    assert f'href="{DASHBOARD}"' in cancelled.get_data(as_text=True)
    started = client.get(DASHBOARD)
    advance(timedelta(minutes=6))  # past the identification screen's 5 minutes
    expired = client.get(started.headers["Location"])
    assert_error_page(expired, 401)
    assert "Connexion expirée" in text(expired) and "time-out on the identification screen" in text(expired)


def test_revoking_asks_for_a_confirmation_then_the_tpps_next_call_is_refused(client, tpp, store):
    tokens = tpp.tokens()
    page = signed_in(client)
    [ref] = access_refs(page)
    confirmation = client.get(f"{DASHBOARD}/{ref}/revocation")
    assert confirmation.status_code == 200
    assert f"Révoquer l'accès de {TPP_NAME} ?" in text(confirmation)
    assert tpp.confirm(tokens["access_token"]).status_code == 200  # nothing revoked by looking

    done = client.post(f"{DASHBOARD}/{ref}/revocation", data={"csrf_token": csrf(confirmation)})
    assert done.status_code == 200 and "Accès révoqué" in text(done)
    refused = assert_error_model(tpp.confirm(tokens["access_token"], request_id="after"), 401)
    assert refused["message"].startswith(f"access token {REVOKED_BY_PSU} on 2026-01-15T10:00:00Z")
    refresh = tpp.refresh(tokens["refresh_token"]).get_json()
    assert refresh["error"] == "invalid_grant" and REVOKED_BY_PSU in refresh["error_description"]
    assert access_refs(client.get(DASHBOARD)) == []
    [pair] = client.get("/__admin/tokens").get_json()["tokens"]
    assert (pair["state"], pair["revoked_reason"]) == ("revoked", REVOKED_BY_PSU)
    entry = client.get("/__admin/requests", query_string={"path": "/revocation"}).get_json()["requests"][-1]
    assert (entry["method"], entry["status"], entry["client_id"]) == ("POST", 200, TPP_CLIENT_ID)
    assert entry["revocation"] == {"pair": ref, "psu": "alice", "iban": PORTAL_IBAN, "by": "psu"}
    again = client.post(f"{DASHBOARD}/{ref}/revocation", data={"csrf_token": csrf(confirmation)})
    assert_error_page(again, 404)  # sent twice: nothing left to revoke


def test_funds_checks_are_journaled_with_their_pair_and_answer_only(client, tpp):
    tokens = tpp.tokens()
    tpp.confirm(tokens["access_token"], portal_body("12.5"))
    [pair] = client.get("/__admin/tokens").get_json()["tokens"]
    entry = client.get("/__admin/requests", query_string={"path": "funds"}).get_json()["requests"][-1]
    assert entry["funds_check"] == {"pair": pair["id"], "amount": "12.5", "currency": "EUR", "result": True}


@pytest.mark.parametrize("form", [{}, {"csrf_token": "forged"}])
def test_a_revocation_without_the_sessions_csrf_token_is_refused(client, tpp, form):
    tokens = tpp.tokens()
    [ref] = access_refs(signed_in(client))
    refused = client.post(f"{DASHBOARD}/{ref}/revocation", data=form)
    assert_error_page(refused, 400)
    assert "Formulaire expiré" in text(refused)
    assert tpp.confirm(tokens["access_token"]).status_code == 200


def test_a_psu_cannot_revoke_another_psus_access(client, tpp, app):
    tokens = tpp.tokens()
    [ref] = access_refs(signed_in(client))
    other = app.test_client()
    page = signed_in(other, HEADLESS_PSU)
    assert_error_page(other.get(f"{DASHBOARD}/{ref}/revocation"), 404)
    assert_error_page(other.post(f"{DASHBOARD}/{ref}/revocation", data={"csrf_token": csrf(page)}), 404)
    assert tpp.confirm(tokens["access_token"]).status_code == 200


def test_the_session_expires_on_the_mock_clock(client, tpp, advance):
    tpp.tokens()
    page = signed_in(client)
    [ref] = access_refs(page)
    advance(SESSION_LIFETIME)
    assert client.get(DASHBOARD).headers["Location"].startswith("/sca/")  # signed out: the bank's screens again
    ended = client.post(f"{DASHBOARD}/{ref}/revocation", data={"csrf_token": csrf(page)})
    assert_error_page(ended, 401)
    assert "Session expirée" in text(ended)


def test_signing_out_ends_the_session_in_the_store(client, tpp):
    page = signed_in(client)
    cookie = client.get_cookie(SESSION_COOKIE, path=DASHBOARD).value
    out = client.post(f"{DASHBOARD}/deconnexion", data={"csrf_token": csrf(page)})
    assert out.status_code == 200 and "Vous êtes déconnecté" in text(out)
    assert client.get_cookie(SESSION_COOKIE, path=DASHBOARD) is None
    client.set_cookie(SESSION_COOKIE, cookie, path=DASHBOARD)  # the old cookie, replayed
    assert client.get(DASHBOARD).status_code == 303


def test_a_session_is_for_its_bank_only(client):
    signed_in(client)
    assert client.get(DASHBOARD, base_url="http://13807.localhost").status_code == 303


def test_dashboard_pages_are_not_framed_cached_or_served_as_anything_but_pages(client):
    page = signed_in(client)
    assert page.headers["X-Frame-Options"] == "DENY" and page.headers["Cache-Control"] == "no-store"
    missing = client.get(f"{DASHBOARD}/x/y/z")
    assert_error_page(missing, 404)
    assert "Page introuvable" in text(missing)
    assert_error_page(client.get(f"{DASHBOARD}/inconnu/revocation"), 404)


def test_error_pages_link_to_the_dashboard(client):
    page = assert_error_page(client.get("/sca/no-such-journey"), 404)
    assert f'href="{DASHBOARD}"' in page


def test_names_from_the_scenario_are_escaped(tmp_path):
    def rename(document):
        document["tpps"][0]["name"] = "Carte <b>Exemple</b>"
        document["psus"][0]["name"] = "Alice <script>x</script>"

    config = Config(scenario=scenario_variant(tmp_path, "default", rename), db=tmp_path / "state.sqlite3")
    client = create_app(config, Clock(real=lambda: START)).test_client()
    TppDriver(client).tokens()
    html = signed_in(client).get_data(as_text=True)
    assert "<b>Exemple" not in html and "<script>x" not in html
    assert "Carte &lt;b&gt;Exemple&lt;/b&gt;" in html and "Alice &lt;script&gt;" in html


def revoke_on_the_dashboard(client) -> str:
    [ref] = access_refs(signed_in(client))
    confirmation = client.get(f"{DASHBOARD}/{ref}/revocation")
    assert client.post(f"{DASHBOARD}/{ref}/revocation", data={"csrf_token": csrf(confirmation)}).status_code == 200
    return ref


def dead_token_check(client) -> dict:
    checks = client.get("/__admin/conformance", query_string={"client_id": TPP_CLIENT_ID}).get_json()["checks"]
    return next(c for c in checks if c["id"] == "no-reuse-of-dead-access-token")


@pytest.mark.parametrize("calls, status", [(1, "passed"), (2, "failed"), (3, "failed")])
def test_a_revocation_on_the_dashboard_is_in_the_tpps_conformance_evidence(client, tpp, calls, status):
    """At most the one 401 after the PSU's revocation, then the TPP drops the token: the evidence cites it."""
    access = tpp.tokens()["access_token"]
    assert tpp.confirm(access, request_id="before").status_code == 200
    ref = revoke_on_the_dashboard(client)
    for n in range(calls):
        assert_error_model(tpp.confirm(access, request_id=f"after-{n}"), 401)
    check = dead_token_check(client)
    assert check["status"] == status, check
    revocation = check["evidence"][0]
    assert (revocation["method"], revocation["path"], revocation["status"]) == \
        ("POST", f"{DASHBOARD}/{ref}/revocation", 200)
    assert revocation["note"] == "the PSU revoked this access on its dashboard"
    reused = [e["x_request_id"] for e in check["evidence"][1:]]
    assert reused == [f"after-{n}" for n in range(1, calls)]  # every call after the one 401 allowed
    if status == "passed":
        assert "revoked by the PSU on its dashboard" in check["detail"]


def test_a_dashboard_revocation_with_no_call_after_judges_nothing(client, tpp):
    tpp.tokens()
    revoke_on_the_dashboard(client)
    assert dead_token_check(client)["status"] == "not-run"


@pytest.mark.parametrize("match", [{"endpoint": "authorize"}, {"endpoint": "any"}])
def test_an_authorize_fault_rule_answers_the_dashboards_sign_in_too(client, match):
    """The dashboard signs in on the journey's /sca/ screens: a rule on ``authorize`` fires there, not on the
    dashboard's own pages."""
    added = client.post("/__admin/rules", json={"name": "sca-down", "match": match, "action": {"status": 503},
                                                 "times": 1})
    assert added.status_code == 201, added.get_json()
    started = client.get(DASHBOARD)
    assert started.status_code == 303 and started.headers["Location"].startswith("/sca/")  # not the rule's
    assert_error_page(client.get(started.headers["Location"]), 503)
    [rule] = client.get("/__admin/rules").get_json()["rules"]
    assert (rule["name"], rule["fired"]) == ("sca-down", 1)
    assert signed_in(client).status_code == 200  # times: 1, then the sign-in goes on
