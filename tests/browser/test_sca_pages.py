"""The bank's SCA pages in a real headless Chromium (Debian's ``chromium``), driven by Playwright.

A PSU opens the TPP's authorize URL, identifies, types the one-time code, picks
the account and approves (or refuses), clicking or pressing Enter; the browser ends
on the TPP's redirect URI, intercepted with ``page.route`` so no network is needed.
Every page, error pages included, is screenshot (phone and desktop) into the test's
temp dir, and checked for what a bank's page must show, for a layout that fits a
phone, for WCAG 2.2 AA contrast (computed in the browser) and for French text.

Playwright only drives the browser: it never downloads one (``executable_path``). The checks
every bank page passes are in ``bank_pages``, the fixtures in ``conftest``.
``.ci/install-system-deps`` installs Chromium; to look at the pages yourself, run
``SCA_SCREENSHOTS=/tmp/sca make test ARGS=tests/browser`` and open the PNGs there.
"""
from __future__ import annotations

from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

from bank_pages import BANK, MARKS, TPP, Shots, assert_accessible, assert_bank_page
from mock_aspsp.bank.scenario import PsuLockout
from mock_aspsp.testing import PORTAL_IBAN, TPP_CLIENT_ID as CLIENT_ID, TPP_REDIRECT_URI as REDIRECT_URI

OTHER_IBAN = "FR7630007000010001234560191"

pytestmark = MARKS


def authorize_url(server, state: str, scope: str = "cbpii") -> str:
    return f"{server.url}/authorize?" + urlencode({
        "response_type": "code", "client_id": CLIENT_ID, "redirect_uri": REDIRECT_URI,
        "scope": scope, "state": state})


def submit(page, field: str, how: str, forward: str = "continue") -> None:
    """Send the page's form forward as a PSU does: clicking its forward button, or pressing Enter in
    ``field`` (the browser then submits with the form's default button)."""
    if how == "enter":
        page.press(field, "Enter")
    else:
        page.click(f"button[value={forward}]")


def next_bank_page(page, field: str, how: str) -> None:
    """Submit, and check the bank's answer keeps the PSU at the bank, not sent back to the TPP."""
    with page.expect_response(lambda response: response.request.method == "POST") as posted:
        submit(page, field, how)
    location = posted.value.headers.get("location", "")
    assert location.startswith("/sca/"), f"the journey ended: {posted.value.status} to {location}"


def identify_and_authenticate(page, shots, how: str = "click") -> None:
    assert_bank_page(page, "Identification")
    assert TPP in page.inner_text("main")
    shots("identification")
    page.fill("#login", "alice")
    page.fill("#password", "alice-password")
    next_bank_page(page, "#password", how)

    page.wait_for_selector("#otp")
    assert_bank_page(page, "Authentification forte")
    assert "Alice Martin" in page.inner_text("main")
    shots("one-time-code")
    page.fill("#otp", "123456")
    next_bank_page(page, "#otp", how)

    page.wait_for_selector("input[name=iban]")
    assert_bank_page(page, "Consentement")
    consent = page.inner_text("main")
    assert TPP in consent and CLIENT_ID in consent
    assert "oui ou non" in consent  # the only data the TPP gets
    ibans = "".join(consent.split())  # shown in groups of four, as banks print them
    assert PORTAL_IBAN in ibans and OTHER_IBAN in ibans
    shots("consent")


def callback(page) -> dict:
    page.wait_for_url(REDIRECT_URI + "?**")
    assert page.inner_text("h1") == "Retour chez le TPP"
    return {k: v[0] for k, v in parse_qs(urlsplit(page.url).query).items()}


@pytest.mark.parametrize("how", ["click", "enter"])
def test_psu_approves_in_the_browser(server, page, tmp_path, how):
    """Clicking the forward buttons, or pressing Enter in the password field, in the one-time-code
    field and on the chosen account: the journey goes forward either way, to a code."""
    shots = Shots(page, tmp_path)
    state = f"browser-{page.viewport_name}-{how}"
    page.goto(authorize_url(server, state))
    assert urlsplit(page.url).path.startswith("/sca/")
    identify_and_authenticate(page, shots, how)
    page.check(f"input[value={PORTAL_IBAN}]")
    submit(page, f"input[name=iban][value={PORTAL_IBAN}]", how, forward="approve")
    params = callback(page)
    shots("back-at-the-tpp")
    assert params["state"] == state
    assert "error" not in params, params
    assert len(params["code"]) >= 20
    assert len(shots.taken) == 4


def test_psu_refuses_in_the_browser(server, page, tmp_path):
    shots = Shots(page, tmp_path)
    state = f"refusal-{page.viewport_name}"
    page.goto(authorize_url(server, state, scope="piisp"))
    identify_and_authenticate(page, shots)
    page.click("button[value=refuse]")
    params = callback(page)
    assert params == {"error": "access_denied", "error_description": "the PSU refused consent", "state": state}


def test_wrong_password_and_wrong_code_are_shown_on_the_page(server, page, tmp_path):
    shots = Shots(page, tmp_path)
    page.goto(authorize_url(server, "mistakes"))
    page.fill("#login", "alice")
    page.fill("#password", "wrong")
    page.click("button[value=continue]")
    assert "incorrect" in page.inner_text("[role=alert]")
    assert_bank_page(page, "Identification")
    shots("wrong-password")
    page.fill("#login", "alice")
    page.fill("#password", "alice-password")
    page.click("button[value=continue]")
    page.fill("#otp", "000000")
    page.click("button[value=continue]")
    assert "Code incorrect" in page.inner_text("[role=alert]")
    assert_bank_page(page, "Authentification forte")
    shots("wrong-code")


def error_page_url(server, problem: str) -> str:
    authorize = {"response_type": "code", "client_id": CLIENT_ID, "redirect_uri": REDIRECT_URI,
                 "scope": "cbpii", "state": "x"}
    return {
        "unknown-redirect-uri": f"{server.url}/authorize?" + urlencode({**authorize,
                                                                        "redirect_uri": "https://evil.example/cb"}),
        "unknown-tpp": f"{server.url}/authorize?" + urlencode({**authorize, "client_id": "PSDFR-ACPR-99999"}),
        "unknown-session": f"{server.url}/sca/no-such-journey",
        "no-such-page": f"{server.url}/sca/no-such-journey/further",  # a routing error, before any view
    }[problem]


@pytest.mark.parametrize("problem,title,detail", [
    ("unknown-redirect-uri", "Adresse de retour inconnue", "https://evil.example/cb"),
    ("unknown-tpp", "Prestataire inconnu", "PSDFR-ACPR-99999"),
    ("unknown-session", "Session inconnue", "does not exist"),
    ("no-such-page", "Page introuvable", "/sca/no-such-journey/further"),
])
def test_error_pages_speak_french_with_the_detail_apart(server, page, tmp_path, problem, title, detail):
    """The PSU reads French; the TPP's developers find the technical detail, in English, in its own block."""
    shots = Shots(page, tmp_path)
    page.goto(error_page_url(server, problem))
    assert page.inner_text("h1") == title and BANK in page.inner_text("header")
    assert page.inner_text("[role=alert]")
    technical = page.inner_text(".detail")
    assert technical.startswith("Détail technique (for the TPP's developers)") and detail in technical
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    assert_accessible(page, problem)
    shots(problem)


def test_a_cancelled_journey_cannot_be_reopened(server, page, tmp_path):
    """Annuler (clicked) ends the journey; going back to its page then shows that it is over."""
    shots = Shots(page, tmp_path)
    page.goto(authorize_url(server, f"cancel-{page.viewport_name}"))
    location = page.url
    page.click("button[value=cancel]")
    assert callback(page)["error"] == "access_denied"
    page.goto(location)
    assert page.inner_text("h1") == "Session terminée"
    assert_accessible(page, "the page of a finished journey")
    shots("session-over")


def test_the_locked_page_speaks_french_and_is_contrasted(server, page, tmp_path):
    shots = Shots(page, tmp_path)
    page.goto(authorize_url(server, f"locked-{page.viewport_name}"))
    for _ in range(PsuLockout().attempts):  # default.yaml keeps the default lock-out
        page.fill("#login", f"intrus-{page.viewport_name}")  # counted even for a login that does not exist
        page.fill("#password", "guess")
        page.press("#password", "Enter")
        page.wait_for_selector("[role=alert]")
    assert page.inner_text("h1") == "Accès temporairement bloqué"
    assert f"Retour chez {TPP}" in page.inner_text("a.button")
    assert_accessible(page, "the locked page")
    shots("locked")
