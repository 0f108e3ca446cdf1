"""The bank's forms: Enter (implicit submission) must move the journey forward, never cancel it.

A browser that submits a form implicitly (Enter in a field, or on a radio button) sends the
form's *default button*: the first submit button in tree order (HTML, "implicit submission").
So on every form page the first submit button must be the forward action. Checked here on the
served HTML, and by posting each form exactly as that browser would.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

import mock_aspsp
from mock_aspsp.testing import PORTAL_IBAN
from support import callback_params, signed_in

FORWARD = {"identify": "continue", "authenticate": "continue", "consent": "approve"}
TEMPLATES = Path(mock_aspsp.__file__).parent / "templates"


@dataclass
class Form:
    action: str
    fields: dict = field(default_factory=dict)  # what the browser sends besides the button
    submits: list = field(default_factory=list)  # (name, value) of each submit button, in tree order


class Forms(HTMLParser):
    """The page's forms, their successful controls and their submit buttons in tree order."""

    def __init__(self, html: str):
        super().__init__()
        self.forms: list[Form] = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self.forms.append(Form(attrs.get("action", "")))
            return
        if not self.forms:
            return
        form, kind = self.forms[-1], (attrs.get("type") or "").lower()
        if (tag == "button" and kind in ("", "submit")) or (tag == "input" and kind in ("submit", "image")):
            form.submits.append((attrs.get("name"), attrs.get("value", "")))
        elif tag == "input" and attrs.get("name") and (kind not in ("radio", "checkbox") or "checked" in attrs):
            form.fields.setdefault(attrs["name"], attrs.get("value", ""))


def only_form(response) -> Form:
    forms = Forms(response.get_data(as_text=True)).forms
    assert len(forms) == 1, forms
    return forms[0]


def press_enter(tpp, location, **typed):
    """Post the page's form as a browser does when the PSU presses Enter: its fields, what was typed,
    and the default button's name and value."""
    form = only_form(tpp.page(location)[0])
    name, value = form.submits[0]
    data = {**form.fields, **typed}
    if name:
        data[name] = value
    return tpp.client.post(form.action or location, data=data)


def test_the_default_button_of_every_form_is_the_forward_action(tpp):
    location = tpp.start().headers["Location"]
    seen = {}
    for step, typed in (("identify", {"login": "alice", "password": "alice-password"}),
                        ("authenticate", {"otp": "123456"})):
        form = only_form(tpp.page(location)[0])
        seen[step] = form.submits
        assert form.fields["step"] == step
        assert tpp.post_step(location, step, **typed, action="continue").status_code == 303
    seen["consent"] = only_form(tpp.page(location)[0]).submits
    for step, submits in seen.items():
        assert len(submits) == 2, submits  # forward and back out, both still there
        assert submits[0] == ("action", FORWARD[step]), f"{step}: Enter would send {submits[0]}"


def test_the_default_button_of_a_reshown_page_is_the_forward_action(tpp):
    """After a wrong password or code the page is shown again, with its alert: Enter still goes forward."""
    location = tpp.start().headers["Location"]
    wrong = tpp.post_step(location, "identify", login="alice", password="wrong", action="continue")
    assert wrong.status_code == 401 and only_form(wrong).submits[0] == ("action", "continue")
    tpp.post_step(location, "identify", login="alice", password="alice-password", action="continue")
    wrong = tpp.post_step(location, "authenticate", otp="000000", action="continue")
    assert wrong.status_code == 401 and only_form(wrong).submits[0] == ("action", "continue")


def test_pressing_enter_on_every_page_ends_with_a_code(tpp):
    location = tpp.start().headers["Location"]
    assert press_enter(tpp, location, login="alice", password="alice-password").status_code == 303
    assert press_enter(tpp, location, otp="123456").status_code == 303
    params = callback_params(press_enter(tpp, location, iban=PORTAL_IBAN))
    assert "error" not in params and params["code"] and params["state"] == "state-123"
    assert tpp.exchange(params["code"]).status_code == 200


def test_each_form_of_the_access_dashboard_has_its_action_as_only_button(client, tpp):
    """Revoking and signing out: one submit button each, so Enter does what it says (cancelling a
    revocation is a link back to the list, not a second button)."""
    tpp.tokens()
    page = signed_in(client)
    [sign_out] = Forms(page.get_data(as_text=True)).forms
    assert sign_out.action == "/espace-client/acces/deconnexion" and len(sign_out.submits) == 1
    ref = re.search(r'/espace-client/acces/([^/"]+)/revocation', page.get_data(as_text=True)).group(1)
    confirmation = client.get(f"/espace-client/acces/{ref}/revocation")
    revoke = only_form(confirmation)
    assert revoke.action == f"/espace-client/acces/{ref}/revocation" and len(revoke.submits) == 1
    done = client.post(revoke.action, data=revoke.fields)  # what Enter sends
    assert done.status_code == 200 and "Accès révoqué" in done.get_data(as_text=True)


def test_every_form_template_is_one_of_the_journeys_steps():
    """A new form page must join the checks above."""
    with_a_form = {path.name for path in TEMPLATES.glob("*.html") if "<form" in path.read_text(encoding="utf-8")}
    assert with_a_form == {f"sca_{step}.html" for step in FORWARD} | {"dashboard.html", "dashboard_revoke.html"}
