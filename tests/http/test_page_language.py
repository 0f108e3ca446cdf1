"""Every page of the bank speaks French; the TPP's technical detail follows in English, apart.

What the PSU reads (title, headings, alerts, notes, buttons, footer) is French; the detail for the
TPP's developers is inside a ``lang="en"`` element under a "Détail technique" heading, and is
the only English on the page. Checked for every page problem of the catalogue, for errors raised
before any view, and for every template the journey renders.
"""
from __future__ import annotations

import ast
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from flask import template_rendered

import mock_aspsp
from french_text import assert_french, english_words
from mock_aspsp.bank.scenario import PsuLockout
from mock_aspsp.http import page_problems
from mock_aspsp.http.errors import PageError, PageProblem
from mock_aspsp.http.responses import page_error
from mock_aspsp.testing import PORTAL_IBAN
from support import assert_error_page, headless_tokens

PACKAGE = Path(mock_aspsp.__file__).parent
DASHBOARD = "/espace-client/acces"
PROBLEMS = {name: value for name, value in vars(page_problems).items() if isinstance(value, PageProblem)}
DETAIL = "The TPP's request has no redirect_uri (RFC 6749 §4.1.1)."
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


class PageText(HTMLParser):
    """A page's text as shown, split by language: ``french`` (the page's own), ``english`` (lang="en")."""

    def __init__(self, html: str):
        super().__init__()
        self.stack: list[tuple[str, str]] = []  # (tag, language) of the open elements
        self.french: list[str] = []
        self.english: list[str] = []
        self.feed(html)
        self.close()

    def handle_starttag(self, tag, attrs):
        if tag in VOID:
            return
        language = dict(attrs).get("lang") or (self.stack[-1][1] if self.stack else "")
        self.stack.append((tag, language))

    def handle_endtag(self, tag):
        while self.stack:
            if self.stack.pop()[0] == tag:
                break

    def handle_data(self, data):
        if not data.strip() or not self.stack or self.stack[-1][0] in ("style", "script"):
            return
        (self.english if self.stack[-1][1] == "en" else self.french).append(data.strip())


def assert_bank_page_in_french(response, where: str) -> PageText:
    page = response.get_data(as_text=True)
    assert '<html lang="fr">' in page
    text = PageText(page)
    assert_french(" ".join(text.french), where)
    return text


def assert_detail_apart(text: PageText, detail: str) -> None:
    """The technical detail is under its heading, and all of it is in the part marked English."""
    assert "Détail technique" in text.french
    assert detail in " ".join(text.english), text.english


@pytest.mark.parametrize("name", sorted(PROBLEMS))
def test_every_page_problem_is_told_in_french(app, name):
    problem = PROBLEMS[name]
    with app.test_request_context("/authorize"):
        response = page_error(PageError(problem, DETAIL))
    assert response.status_code == problem.status
    text = assert_bank_page_in_french(response, f"the {name} page")
    assert problem.title in text.french and problem.message in text.french
    assert_detail_apart(text, DETAIL)


def test_page_problems_are_written_in_the_catalogue_only():
    """A page problem made anywhere else would escape the check above."""
    made = []
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", "")) == "PageProblem":
                made.append(path.relative_to(PACKAGE).as_posix())
    assert made and set(made) == {"http/page_problems.py"}, made


def test_the_word_check_catches_the_pages_of_old():
    """The English the error pages used to show is caught (the check can fail)."""
    assert english_words("No TPP is registered with client_id 'x'.") == ["no", "is", "registered", "with"]
    with pytest.raises(AssertionError):
        assert_french("Prestataire inconnu No TPP is registered with client_id 'x'.", "an old page")


@pytest.mark.parametrize("request_args,status,title", [
    (("GET", "/sca/some-journey/further"), 404, page_problems.NOT_FOUND.title),
    (("POST", "/authorize"), 405, page_problems.REFUSED.title),
])
def test_errors_before_any_view_are_in_french_too(client, request_args, status, title):
    method, path = request_args
    response = client.open(path, method=method)
    text = assert_bank_page_in_french(response, f"{method} {path}")
    assert response.status_code == status and title in text.french
    assert_detail_apart(text, path)


def test_a_fault_rules_page_is_in_french(client, tpp):
    added = client.post("/__admin/rules", json={"match": {"endpoint": "authorize"}, "action": {"status": 503},
                                                "times": 1})
    assert added.status_code == 201, added.get_json()
    response = tpp.start()
    text = assert_bank_page_in_french(response, "an injected 503")
    assert response.status_code == 503 and page_problems.UNAVAILABLE.title in text.french
    assert text.english  # the rule's message, for the TPP's developers


def test_every_template_renders_french(app, tpp):
    """The journey's pages, shown again with their alerts, the locked page and an error page: every
    template of the bank is rendered, and reads French."""
    rendered = []

    def record(sender, template, context, **extra):
        rendered.append(template.name)

    template_rendered.connect(record, app)
    try:
        location = tpp.start().headers["Location"]
        assert_bank_page_in_french(tpp.page(location)[0], "identification")
        wrong = tpp.post_step(location, "identify", login="alice", password="wrong", action="continue")
        assert_bank_page_in_french(wrong, "identification, wrong password")
        tpp.post_step(location, "identify", login="alice", password="alice-password", action="continue")
        assert_bank_page_in_french(tpp.page(location)[0], "one-time code")
        wrong = tpp.post_step(location, "authenticate", otp="000000", action="continue")
        assert_bank_page_in_french(wrong, "one-time code, wrong code")
        tpp.post_step(location, "authenticate", otp="123456", action="continue")
        assert_bank_page_in_french(tpp.page(location)[0], "consent")
        missing = tpp.post_step(location, "consent", iban="FR7630007000020009876540145", action="approve")
        assert_bank_page_in_french(missing, "consent, not one of the PSU's accounts")
        tpp.post_step(location, "consent", iban=PORTAL_IBAN, action="approve")
        over = assert_bank_page_in_french(tpp.client.get(location), "a finished journey")
        assert_detail_apart(over, "This authentication session is over.")

        location = tpp.start().headers["Location"]
        for _ in range(PsuLockout().attempts):  # default.yaml keeps the default lock-out
            answer = tpp.post_step(location, "identify", login="intrus", password="guess", action="continue")
        assert answer.status_code == 403
        assert_bank_page_in_french(answer, "the locked page")
        assert_error_page(tpp.client.get("/sca/no-such-journey"), 404)

        headless_tokens(tpp, "bruno")  # a pair to list
        location = tpp.client.get(DASHBOARD).headers["Location"]  # the PSU's access dashboard
        assert_bank_page_in_french(tpp.page(location)[0], "the dashboard's identification")
        tpp.post_step(location, "identify", login="bruno", password="bruno-password", action="continue")
        tpp.post_step(location, "authenticate", otp="123456", action="continue")
        listed = tpp.client.get(DASHBOARD)
        assert_bank_page_in_french(listed, "the access dashboard")
        ref = re.search(r'/espace-client/acces/([^/"]+)/revocation', listed.get_data(as_text=True)).group(1)
        confirmation, csrf = tpp.page(f"{DASHBOARD}/{ref}/revocation")
        assert_bank_page_in_french(confirmation, "the revocation's confirmation")
        revoked = tpp.client.post(f"{DASHBOARD}/{ref}/revocation", data={"csrf_token": csrf})
        assert_bank_page_in_french(revoked, "an access revoked")
        signed_out = tpp.client.post(f"{DASHBOARD}/deconnexion", data={"csrf_token": csrf})
        assert_bank_page_in_french(signed_out, "signed out")
    finally:
        template_rendered.disconnect(record, app)
    # The go-live report is the TPP's, in English for the bank's integration team, not a PSU's page
    # (tests/browser/test_conformance_report.py checks it).
    pages = {path.name for path in (PACKAGE / "templates").glob("*.html")
             if not path.name.startswith("_")} - {"base.html", "conformance_report.html"}
    assert set(rendered) == pages, (sorted(set(rendered)), sorted(pages))
