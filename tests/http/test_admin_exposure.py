"""The admin API without an admin token (the default, and the container's) is safe from web pages.

The attack run: any web page could ``POST /__admin/reset`` with ``Content-Type: text/plain``
(CSRF), and ``GET /__admin/scenario`` (PSU passwords included) answered any ``Host``, so DNS
rebinding read it. Without a token the admin API now answers loopback hosts (and those the
operator allows) only, refuses cross-site requests, and reads bodies of JSON (or YAML for a
scenario) only, which no cross-site form can send. With a token, nothing of this applies.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from mock_aspsp.app import create_app
from mock_aspsp.bank.clock import Clock
from mock_aspsp.config import Config, admin_exposure_warning, from_environment
from mock_aspsp.resources import default_scenario
from support import START, assert_error_model

LOOPBACK = ["localhost", "localhost:8080", "LOCALHOST", "localhost.", "30007.localhost:8080", "127.0.0.1",
            "127.0.0.1:8080", "127.1.2.3", "[::1]", "[::1]:8080"]
FOREIGN = ["evil.example", "evil.example:8080", "localhost.evil.example", "127.0.0.1.evil.example",
           "192.168.1.20:8080", "10.0.0.5", "[2001:db8::1]:8080", "0.0.0.0:8080", "", "bank"]
READS = ["/__admin/scenario", "/__admin/requests", "/__admin/tokens", "/__admin/clock", "/__admin/rules"]


def app_with(tmp_path, **config):
    return create_app(Config(scenario=default_scenario(), db=tmp_path / "state.sqlite3", **config),
                      Clock(real=lambda: START))


# -- Host: DNS rebinding --------------------------------------------------------------------
@pytest.mark.parametrize("host", LOOPBACK)
def test_loopback_hosts_are_answered(client, host):
    for path in READS:
        assert client.get(path, headers={"Host": host}).status_code == 200, (host, path)
    assert client.post("/__admin/reset", headers={"Host": host}).status_code == 200


@pytest.mark.parametrize("host", FOREIGN)
def test_other_hosts_are_refused_reads_and_writes(client, host):
    for path in READS:
        body = assert_error_model(client.get(path, headers={"Host": host}), 403)
        assert "MOCK_ASPSP_ALLOWED_HOSTS" in body["message"] or "admin token" in body["message"], body
    assert client.post("/__admin/reset", headers={"Host": host}).status_code == 403
    assert "alice-password" not in client.get("/__admin/scenario", headers={"Host": host}).get_data(as_text=True)


@pytest.mark.parametrize("host", FOREIGN + LOOPBACK)
def test_health_answers_any_host_for_the_probes(client, host):
    """A container's probe comes with the container's address as Host; health holds no secret."""
    assert client.get("/__admin/health", headers={"Host": host, "Origin": "https://evil.example"}).status_code == 200


def test_allowed_hosts_from_the_configuration(tmp_path):
    client = app_with(tmp_path, allowed_hosts=("bank", "*.sandbox.example", "10.0.0.5")).test_client()
    for host in ("bank", "bank:8080", "BANK", "a.sandbox.example", "30007.x.sandbox.example:443", "10.0.0.5:80",
                 "localhost"):
        assert client.get("/__admin/scenario", headers={"Host": host}).status_code == 200, host
    for host in ("sandbox.example", "bank.evil", "evilsandbox.example", "10.0.0.50"):
        assert client.get("/__admin/scenario", headers={"Host": host}).status_code == 403, host


def test_allowed_hosts_from_the_environment():
    config = from_environment({"MOCK_ASPSP_ALLOWED_HOSTS": "bank, *.sandbox.example ,,"})
    assert config.allowed_hosts == ("bank", "*.sandbox.example")
    assert from_environment({}, allowed_hosts=["a", "b"]).allowed_hosts == ("a", "b")


# -- cross-site requests: CSRF --------------------------------------------------------------
@pytest.mark.parametrize("headers", [{"Origin": "https://evil.example"}, {"Origin": "null"},
                                     {"Origin": "http://localhost:9999"}, {"Sec-Fetch-Site": "cross-site"},
                                     {"Origin": "http://localhost", "Sec-Fetch-Site": "cross-site"}])
def test_cross_site_requests_are_refused(client, headers):
    for method, path in (("POST", "/__admin/reset"), ("GET", "/__admin/scenario"), ("DELETE", "/__admin/requests")):
        body = assert_error_model(client.open(path, method=method, headers=headers), 403)
        assert "cross-site" in body["message"], body


@pytest.mark.parametrize("headers", [{"Origin": "http://localhost"}, {"Sec-Fetch-Site": "same-origin"},
                                     {"Sec-Fetch-Site": "none"}, {"Origin": "http://localhost", "Sec-Fetch-Site": "same-site"}])
def test_same_origin_requests_are_answered(client, headers):
    assert client.post("/__admin/reset", headers=headers).status_code == 200


@pytest.mark.parametrize("host, origin, answered", [
    ("localhost:80", "http://localhost", True),  # a Host that names its scheme's default port
    ("LOCALHOST:443", "https://localhost", True),  # behind a proxy that ends TLS: the request itself is http
    ("localhost", "http://localhost:80", True),
    ("127.0.0.1:8080", "http://127.0.0.1:8080", True),
    ("[::1]:80", "http://[::1]", True),
    ("localhost:443", "http://localhost", False),  # another scheme's default port: another origin
    ("localhost:80", "http://localhost:8080", False),
    ("localhost:8080", "http://localhost", False),
    ("localhost", "http://localhost:99999", False),  # junk port
])
def test_an_origin_is_the_host_whatever_the_default_port_written(client, host, origin, answered):
    response = client.post("/__admin/reset", headers={"Host": host, "Origin": origin})
    assert response.status_code == (200 if answered else 403), response.get_data(as_text=True)


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded",
                                          "multipart/form-data; boundary=x", None])
def test_a_body_no_cross_site_form_could_send_is_required(client, content_type):
    """A form (or fetch in no-cors mode) can send these three types to any site; JSON it cannot."""
    for method, path, body in (("POST", "/__admin/reset", b"{}"), ("POST", "/__admin/clock", b'{"advance": "PT1H"}'),
                               ("PUT", "/__admin/scenario", default_scenario().read_bytes()),
                               ("DELETE", "/__admin/rules", b"x")):
        response = client.open(path, method=method, data=body,
                               headers={"Content-Type": content_type} if content_type else {})
        body = assert_error_model(response, 415)
        assert "application/json" in body["message"], body
    assert client.get("/__admin/clock").get_json()["offset"] == "PT0S"


@pytest.mark.parametrize("content_type", ["application/yaml", "application/x-yaml", "text/yaml", "application/json"])
def test_a_scenario_may_be_yaml_or_json(client, content_type):
    response = client.put("/__admin/scenario", data=default_scenario().read_bytes(), content_type=content_type)
    assert response.status_code == 200, response.get_json()


def test_yaml_is_for_the_scenario_only(client):
    assert client.post("/__admin/clock", data=b"advance: PT1H", content_type="application/yaml").status_code == 415


def test_a_body_less_post_needs_no_content_type(client):
    """curl -X POST .../__admin/reset: no body, nothing a form could abuse (the Origin check applies)."""
    assert client.post("/__admin/reset").status_code == 200


# -- with a token, as before ----------------------------------------------------------------
def test_with_a_token_any_host_and_type_as_before(tmp_path):
    client = app_with(tmp_path, admin_token="s3cret").test_client()
    auth = {"Authorization": "Bearer s3cret"}
    assert client.get("/__admin/scenario", headers={"Host": "evil.example"}).status_code == 401
    assert client.get("/__admin/scenario", headers={"Host": "evil.example", **auth}).status_code == 200
    assert client.post("/__admin/reset", headers={"Origin": "https://evil.example", **auth}).status_code == 200
    refused = client.post("/__admin/clock", data=b'{"advance": "PT1H"}', content_type="text/plain", headers=auth)
    assert refused.status_code == 400  # not read as JSON, as before


# -- the warning at start -------------------------------------------------------------------
@pytest.mark.parametrize("host,token,warned", [
    ("0.0.0.0", None, True), ("::", None, True), ("192.168.1.20", None, True), ("bank.example", None, True),
    ("127.0.0.1", None, False), ("localhost", None, False), ("::1", None, False), ("0.0.0.0", "s3cret", False),
])
def test_a_warning_when_listening_beyond_loopback_without_a_token(host, token, warned):
    config = Config(scenario=Path("x.yaml"), db=Path("db"), admin_token=token)
    warning = admin_exposure_warning(host, config)
    assert bool(warning) is warned
    if warned:
        assert "MOCK_ASPSP_ADMIN_TOKEN" in warning and "loopback" in warning


def test_serve_prints_the_warning_and_passes_the_allowed_hosts(monkeypatch, tmp_path, capsys):
    """``mock-aspsp serve`` up to the point it would listen (gunicorn is not started)."""
    from mock_aspsp.tools import cli, serving
    from mock_aspsp.testing import free_port

    started = {}
    monkeypatch.setattr(serving, "serve", lambda app, host, port, *rest: started.update(
        host=host, allowed=app.config["MOCK_ASPSP"].allowed_hosts))
    monkeypatch.delenv("MOCK_ASPSP_ADMIN_TOKEN", raising=False)
    db = str(tmp_path / "state.sqlite3")
    port = str(free_port())
    assert cli.main(["serve", "--host", "0.0.0.0", "--port", port, "--db", db, "--allowed-host", "bank",
                     "--allowed-host", "*.qa.example"]) == 0
    assert started == {"host": "0.0.0.0", "allowed": ("bank", "*.qa.example")}
    assert "WARNING: listening on 0.0.0.0 without an admin token" in capsys.readouterr().err
    assert cli.main(["serve", "--host", "127.0.0.1", "--port", port, "--db", db]) == 0
    assert "WARNING" not in capsys.readouterr().err
