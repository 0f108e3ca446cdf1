"""The bank's SCA pages in a real headless Chromium (Debian's ``chromium``), driven by Playwright.

A PSU opens the TPP's authorize URL, identifies, types the one-time code, picks
the account and approves (or refuses); the browser ends on the TPP's redirect
URI, intercepted with ``page.route`` so no network is needed. Every page is
screenshot (phone and desktop) into the test's temp dir, and checked for what
a bank's page must show and for a layout that fits a phone.

Playwright only drives the browser: it never downloads one (``executable_path``).
``.ci/install-system-deps`` installs Chromium; to look at the pages yourself, run
``SCA_SCREENSHOTS=/tmp/sca make test ARGS=tests/browser`` and open the PNGs there.
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

from mock_aspsp.testing import PORTAL_IBAN, TPP_CLIENT_ID as CLIENT_ID, TPP_REDIRECT_URI as REDIRECT_URI
from served_process import served_process

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
VIEWPORTS = {"phone": {"width": 390, "height": 844}, "desktop": {"width": 1280, "height": 800}}
BANK = "Banque Exemple Île-de-France"
TPP = "Carte Exemple SAS"
OTHER_IBAN = "FR7630007000010001234560191"
TIMEOUT_MS = 15_000

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(not os.access(CHROMIUM, os.X_OK),
                       reason=f"{CHROMIUM} is missing: install Debian's chromium (.ci/install-system-deps)"),
]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with served_process(tmp_path_factory.mktemp("browser")) as served:
        yield served


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()


@pytest.fixture(params=list(VIEWPORTS))
def page(request, browser):
    context = browser.new_context(viewport=VIEWPORTS[request.param], locale="fr-FR",
                                  is_mobile=request.param == "phone", has_touch=request.param == "phone")
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    page.viewport_name = request.param
    # The TPP's site is not reachable here: answer its callback ourselves.
    page.route("https://tpp.example.com/**", lambda route: route.fulfill(
        status=200, content_type="text/html", body="<!doctype html><title>TPP</title><h1>Retour chez le TPP</h1>"))
    yield page
    context.close()


def authorize_url(server, state: str, scope: str = "cbpii") -> str:
    return f"{server.url}/authorize?" + urlencode({
        "response_type": "code", "client_id": CLIENT_ID, "redirect_uri": REDIRECT_URI,
        "scope": scope, "state": state})


class Shots:
    """Numbered full-page screenshots in the test's temp dir."""

    def __init__(self, page, tmp_path: Path):
        self.page, self.dir, self.taken = page, tmp_path, []
        if os.environ.get("SCA_SCREENSHOTS"):  # keep them for a person to look at
            self.dir = Path(os.environ["SCA_SCREENSHOTS"])
            self.dir.mkdir(parents=True, exist_ok=True)

    def __call__(self, name: str) -> Path:
        path = self.dir / f"{self.page.viewport_name}-{len(self.taken) + 1}-{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        assert path.stat().st_size > 1000
        self.taken.append(path)
        return path


def assert_bank_page(page, step: str) -> None:
    """What every page of the bank must show, and a layout that fits the viewport."""
    assert BANK in page.inner_text("header")
    assert step in page.inner_text(".steps")
    layout = page.evaluate("""() => {
        const width = window.innerWidth;
        const card = document.querySelector('.card').getBoundingClientRect();
        const outside = [...document.querySelectorAll('.card *')]
            .filter(e => e.offsetParent !== null)
            .map(e => e.getBoundingClientRect())
            .filter(r => r.left < Math.max(card.left, 0) - 1 || r.right > Math.min(card.right, width) + 1).length;
        const inputs = [...document.querySelectorAll('input[type=text], input[type=password]')]
            .map(e => parseFloat(getComputedStyle(e).fontSize));
        const buttons = [...document.querySelectorAll('button')].map(b => b.getBoundingClientRect().height);
        return {scroll: document.documentElement.scrollWidth, width, outside, inputs, buttons};
    }""")
    assert layout["scroll"] <= layout["width"], f"horizontal scrolling on {page.viewport_name}: {layout}"
    assert layout["outside"] == 0, f"elements overflow the page's card on {page.viewport_name}: {layout}"
    assert all(size >= 16 for size in layout["inputs"]), f"inputs under 16px make phones zoom: {layout}"
    assert all(height >= 40 for height in layout["buttons"]), f"buttons too small to tap: {layout}"


def identify_and_authenticate(page, shots) -> None:
    assert_bank_page(page, "Identification")
    assert TPP in page.inner_text("main")
    shots("identification")
    page.fill("#login", "alice")
    page.fill("#password", "alice-password")
    page.click("button[value=continue]")

    page.wait_for_selector("#otp")
    assert_bank_page(page, "Authentification forte")
    assert "Alice Martin" in page.inner_text("main")
    shots("one-time-code")
    page.fill("#otp", "123456")
    page.click("button[value=continue]")

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


def test_psu_approves_in_the_browser(server, page, tmp_path):
    shots = Shots(page, tmp_path)
    state = f"browser-{page.viewport_name}"
    page.goto(authorize_url(server, state))
    assert urlsplit(page.url).path.startswith("/sca/")
    identify_and_authenticate(page, shots)
    page.check(f"input[value={PORTAL_IBAN}]")
    page.click("button[value=approve]")
    params = callback(page)
    shots("back-at-the-tpp")
    assert params["state"] == state
    assert len(params["code"]) >= 20 and "error" not in params
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


def test_an_unknown_redirect_uri_gets_a_readable_error_page(server, page, tmp_path):
    shots = Shots(page, tmp_path)
    page.goto(f"{server.url}/authorize?" + urlencode({
        "response_type": "code", "client_id": CLIENT_ID, "redirect_uri": "https://evil.example/cb",
        "scope": "cbpii", "state": "x"}))
    assert "evil.example" in page.inner_text("[role=alert]")
    assert page.inner_text("h1") == "Adresse de retour inconnue"
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    shots("error-page")
