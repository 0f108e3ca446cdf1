"""POST funds confirmations are dispatched by the route table, every other request by Flask (``app``).

What a TPP sees must not tell the two apart: the same answers, headers, journal entries and error
shapes. These tests pin what the dispatch changes (no URL map look-up) and the edges where a request
goes back to Flask.
"""
from __future__ import annotations

from pathlib import Path

import pytest
from flask import url_for
from werkzeug.routing import Rule

from mock_aspsp.app import create_app
from mock_aspsp.config import Config
from mock_aspsp.testing import HEADLESS_IBAN
from support import assert_error_model, headless_tokens, portal_body


@pytest.fixture
def url_map_lookups(app, monkeypatch):
    """How many requests werkzeug's URL map was bound to."""
    seen = []
    bind = app.url_map.bind_to_environ

    def counting_bind(environ, *args, **kwargs):
        seen.append(environ["PATH_INFO"])
        return bind(environ, *args, **kwargs)

    monkeypatch.setattr(app.url_map, "bind_to_environ", counting_bind)
    return seen


@pytest.mark.parametrize("prefix", ["/stet/psd2", ""])
def test_a_funds_confirmation_never_consults_the_url_map(tpp, url_map_lookups, prefix):
    access = headless_tokens(tpp, "bruno")["access_token"]
    url_map_lookups.clear()
    response = tpp.confirm(access, portal_body(amount="10.00", iban=HEADLESS_IBAN), prefix=prefix)
    assert response.status_code == 200
    assert response.get_json()["result"] is True
    assert url_map_lookups == []


def test_its_refusals_still_go_through_the_app_error_handlers_and_the_journal(tpp, client, url_map_lookups):
    response = tpp.confirm("no-such-token", request_id="dispatch-401")
    assert_error_model(response, 401)
    assert response.headers["X-Request-ID"] == "dispatch-401"
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]
    entry = next(e for e in client.get("/__admin/requests").get_json()["requests"]
                 if e["x_request_id"] == "dispatch-401")
    assert entry["status"] == 401 and entry["observed"]["token_problem"] == "unknown"
    assert "/stet/psd2/v1.4.2/funds-confirmations" not in url_map_lookups


def test_an_unknown_version_is_the_views_404(tpp):
    access = headless_tokens(tpp, "bruno")["access_token"]
    body = assert_error_model(tpp.confirm(access, version="v9"), 404)
    assert "no API version v9" in body["message"]


@pytest.mark.parametrize("path", ["/a/b/c/funds-confirmations", "/stet/psd2/v1.4.2/x/funds-confirmations"])
def test_other_paths_ending_alike_are_flasks_404(client, url_map_lookups, path):
    response = client.post(path, json={})
    assert response.status_code == 404
    assert path in url_map_lookups


def test_options_is_still_answered_by_flask_with_the_allowed_methods(client, url_map_lookups):
    response = client.options("/stet/psd2/v1.4.2/funds-confirmations")
    assert response.status_code == 200
    assert set(response.headers["Allow"].split(", ")) >= {"POST", "OPTIONS"}
    assert url_map_lookups == ["/stet/psd2/v1.4.2/funds-confirmations"]


def test_a_failure_after_the_answer_is_a_500_in_the_api_shape(tpp, app, monkeypatch):
    """An error in the after-step (a bug) is still answered by the app's handlers, never a traceback."""
    import mock_aspsp.app as application

    access = headless_tokens(tpp, "bruno")["access_token"]

    def broken_finish(response):
        raise RuntimeError("boom")

    monkeypatch.setattr(application, "_finish", broken_finish)
    response = tpp.confirm(access, portal_body(amount="10.00", iban=HEADLESS_IBAN))
    body = assert_error_model(response, 500)
    assert "internal error" in body["message"]


def test_url_builders_are_compiled_only_once_a_url_is_built(tmp_path, scenario_path, monkeypatch):
    """werkzeug compiles two URL builders per rule as it is added: a fifteenth of start-up, for URLs the
    sandbox never builds. Built on demand, a URL is still the one werkzeug builds."""
    compiled = []
    compile_builder = Rule._compile_builder

    def counting(rule, append_unknown=True):
        compiled.append((rule.rule, append_unknown))
        return compile_builder(rule, append_unknown)

    monkeypatch.setattr(Rule, "_compile_builder", counting)
    app = create_app(Config(scenario=Path(scenario_path), db=tmp_path / "state.sqlite3"))
    assert compiled == []
    with app.test_request_context():
        assert url_for("admin.health") == "/__admin/health"
        assert url_for("admin.health") == "/__admin/health"
        assert url_for("admin.health", probe="x y") == "/__admin/health?probe=x+y"
        assert url_for("registration.read", client_id="PSDFR-ACPR-1 2") == "/stet/setting/v1/register/PSDFR-ACPR-1%202"
    # Once per rule (Flask's url_for always builds with unknown arguments as the query string).
    assert compiled == [("/__admin/health", True), ("/stet/setting/v1/register/<client_id>", True)]
