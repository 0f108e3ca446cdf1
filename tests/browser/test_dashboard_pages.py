"""The PSU's access dashboard in a real headless Chromium, at phone and desktop widths.

A TPP holds a live pair of a headless PSU (Bruno) and has checked his funds; Bruno
signs in on the bank's own screens (identification, one-time code), sees the TPP,
its account and its check, revokes its access after a confirmation, and the TPP's
next funds check is refused: 401, "revoked by the PSU". Every page is screenshot
into the test's temp dir and checked as every bank page is (``bank_pages``).
"""
from __future__ import annotations

import json
import urllib.error
import urllib.request

from bank_pages import MARKS, TPP, Shots, assert_bank_page
from mock_aspsp.store.records import REVOKED_BY_PSU
from mock_aspsp.testing import HEADLESS_IBAN, HEADLESS_PSU

pytestmark = MARKS


def funds_check(server, access_token: str, amount: str) -> tuple[int, dict]:
    """The TPP asks whether Bruno's account covers ``amount`` (the portal's request, v1.4.2)."""
    body = {"paymentCoverageRequestId": "browser-check", "instructedAmount": {"currency": "EUR", "amount": amount},
            "accountId": {"iban": HEADLESS_IBAN}}
    request = urllib.request.Request(
        f"{server.url}/stet/psd2/v1.4.2/funds-confirmations", data=json.dumps(body).encode(), method="POST",
        headers={"Authorization": f"Bearer {access_token}", "X-Request-ID": "browser-check",
                 "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as refused:
        return refused.code, json.loads(refused.read())


def test_the_psu_revokes_an_access_and_the_tpps_next_check_is_refused(server, page, tmp_path):
    shots = Shots(page, tmp_path)
    tokens = server.link()  # Bruno consents at once (sca: approve), as a TPP's CI does
    status, answer = funds_check(server, tokens.access_token, "1200")
    assert status == 200 and answer["result"] is True, answer

    page.goto(f"{server.url}/espace-client/acces")
    page.wait_for_selector("#login")
    assert_bank_page(page, "Identification")  # the journey's own screen, without a TPP
    assert "Espace client" in page.inner_text("main")
    shots("identification")
    page.fill("#login", HEADLESS_PSU)
    page.fill("#password", "bruno-password")
    page.click("button[value=continue]")
    page.wait_for_selector("#otp")
    assert_bank_page(page, "Authentification forte")
    page.fill("#otp", "123456")
    page.press("#otp", "Enter")

    page.wait_for_selector("section.access")
    assert_bank_page(page, "Accès de vos prestataires")
    listed = page.inner_text("main")
    assert "Bruno Petit" in listed and TPP in listed
    assert "FR76 3000 7000 0200 0987 6540 145" in listed  # the IBAN grouped by four
    assert "1\u202f200,00 EUR" in listed and "Oui" in listed  # the checks: amount asked and the answer
    assert "2\u202f500" not in listed  # never the balance
    shots("dashboard")

    page.click(f"text=Révoquer l'accès de {TPP}")
    page.wait_for_selector("text=Confirmer la révocation")
    assert_bank_page(page, "Révocation")
    shots("confirmation")
    assert funds_check(server, tokens.access_token, "10")[0] == 200  # asking is not revoking

    page.click("button:has-text('Confirmer la révocation')")
    page.wait_for_selector("text=Accès révoqué")
    assert_bank_page(page, "Espace client")
    shots("revoked")
    status, refused = funds_check(server, tokens.access_token, "10")
    assert status == 401 and REVOKED_BY_PSU in refused["message"], refused

    page.click("text=Retour à mes accès")
    page.wait_for_selector("text=Aucun prestataire")
    assert page.locator("section.access").count() == 0
    page.click("button:has-text('Se déconnecter')")
    page.wait_for_selector("text=Vous êtes déconnecté")
    assert_bank_page(page, "Espace client")
    shots("signed-out")
    assert len(shots.taken) == 5
