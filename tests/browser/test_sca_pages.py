"""The bank's SCA pages in a real headless Chromium (Debian's ``chromium``), driven by Playwright.

A PSU opens the TPP's authorize URL, identifies, types the one-time code, picks
the account and approves (or refuses), clicking or pressing Enter; the browser ends
on the TPP's redirect URI, intercepted with ``page.route`` so no network is needed.
Every page, error pages included, is screenshot (phone and desktop) into the test's
temp dir, and checked for what a bank's page must show, for a layout that fits a
phone, for WCAG 2.2 AA contrast (computed in the browser) and for French text.

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

from french_text import assert_french
from mock_aspsp.bank.scenario import PsuLockout
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


# WCAG 2.2 AA, computed in the browser: the contrast of every visible text (1.4.3: 4.5:1, large text
# 3:1) against the background it is drawn on, and of the controls' borders against theirs (1.4.11: 3:1).
# The background is what the browser paints under the element: the background colours of it and its
# ancestors, composited with their opacity; a background image cannot be computed and is reported.
CONTRAST = r"""() => {
    const rgba = value => {
        const m = /^rgba?\(([^)]*)\)$/.exec(value);
        if (!m) return null;
        const [r, g, b, a = 1] = m[1].split(/[\s,\/]+/).filter(Boolean).map(Number);
        return {r, g, b, a};
    };
    const over = (top, under) => ({  // top composited over an opaque colour
        r: top.r * top.a + under.r * (1 - top.a), g: top.g * top.a + under.g * (1 - top.a),
        b: top.b * top.a + under.b * (1 - top.a), a: 1});
    const luminance = c => {
        const lin = v => { v /= 255; return v <= 0.04045 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
        return 0.2126 * lin(c.r) + 0.7152 * lin(c.g) + 0.0722 * lin(c.b);
    };
    const ratio = (x, y) => {
        const [hi, lo] = [luminance(x), luminance(y)].sort((p, q) => q - p);
        return (hi + 0.05) / (lo + 0.05);
    };
    const chain = element => {
        const up = [];
        for (let e = element; e; e = e.parentElement) up.unshift(e);
        return up;
    };
    // The colour seen where ``paint`` (a colour, or null for none) is drawn inside ``element``.
    const seen = (element, paint, problems) => {
        const painted = (elements, below) => {
            if (!elements.length) return paint ? over(paint, below) : below;
            const [e, ...inner] = elements, style = getComputedStyle(e);
            if (style.backgroundImage !== 'none') problems.add(`background image under ${describe(e)}`);
            const background = rgba(style.backgroundColor);
            const inside = painted(inner, background ? over(background, below) : below);
            return over({...inside, a: parseFloat(style.opacity)}, below);
        };
        return painted(chain(element), {r: 255, g: 255, b: 255, a: 1});  // the canvas
    };
    const describe = e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') +
        (e.classList.length ? '.' + [...e.classList].join('.') : '');
    const visible = e => e.checkVisibility({opacityProperty: true, visibilityProperty: true}) &&
        e.getBoundingClientRect().width > 0;
    const found = [], problems = new Set();
    for (const e of document.querySelectorAll('body *')) {
        if (!visible(e)) continue;
        const style = getComputedStyle(e);
        const text = [...e.childNodes].some(n => n.nodeType === Node.TEXT_NODE && n.textContent.trim()) ||
            (e.matches('input[type=text], input[type=password]') && e.value);
        if (text) {
            const color = rgba(style.color);
            if (!color) { problems.add(`colour ${style.color} of ${describe(e)}`); continue; }
            const size = parseFloat(style.fontSize), bold = parseInt(style.fontWeight, 10) >= 700;
            const large = size >= 24 || (size >= 18.66 && bold);
            found.push({what: 'text', element: describe(e), sample: (e.innerText || e.value).trim().slice(0, 40),
                        ratio: ratio(seen(e, color, problems), seen(e, null, problems)), needed: large ? 3 : 4.5});
        }
        // A control's boundary: its border, or else its own background, against what surrounds it.
        if (e.matches('input:not([type=hidden]):not([type=radio]):not([type=checkbox]), select, textarea, ' +
                      'button, a.button, .account')) {
            const bordered = style.borderTopStyle !== 'none' && parseFloat(style.borderTopWidth) > 0;
            const edge = rgba(bordered ? style.borderTopColor : style.backgroundColor);
            if (!edge || edge.a === 0) { problems.add(`${describe(e)} has no visible boundary`); continue; }
            const outside = e.parentElement;
            found.push({what: bordered ? 'border' : 'background', element: describe(e), sample: '',
                        ratio: ratio(seen(outside, edge, problems), seen(outside, null, problems)), needed: 3});
        }
    }
    return {checked: found.length, failing: found.filter(f => f.ratio < f.needed), problems: [...problems]};
}"""

# The page's visible text, without what is marked as English (the technical detail for the TPP).
FRENCH_TEXT = r"""() => {
    const parts = [document.title];
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
        const parent = node.parentElement;
        if (parent.closest('[lang]').lang !== 'fr' || !parent.checkVisibility()) continue;
        parts.push(node.textContent);
    }
    return parts.join(' ').replace(/\s+/g, ' ');
}"""


def assert_accessible(page, where: str) -> None:
    """Contrast AA (text and controls), and French throughout but for the part marked English."""
    report = page.evaluate(CONTRAST)
    assert not report["problems"], f"contrast cannot be computed on {where}: {report['problems']}"
    assert report["checked"] >= 5, report
    failing = [f"{f['what']} of {f['element']} {f['sample']!r}: {f['ratio']:.2f}:1 < {f['needed']}:1"
               for f in report["failing"]]
    assert not failing, f"under WCAG 2.2 AA contrast on {where} ({page.viewport_name}): {failing}"
    assert_french(page.evaluate(FRENCH_TEXT), where)


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
    assert_accessible(page, step)


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
