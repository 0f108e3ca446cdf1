"""What the tests share besides fixtures: the portal's example request, a TPP driving the journey through
Flask's test client, a PSU signing in to its access dashboard, and the checks of each audience's error shape.

Import it from any test folder (``tests/`` is on ``sys.path``: ``conftest.py`` lives there)::

    from support import TppDriver, assert_error_model
"""
from __future__ import annotations

import re
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import yaml

from mock_aspsp.formats.validation import schema_set
from mock_aspsp.http.routes import classify
from mock_aspsp.resources import scenarios_dir
from mock_aspsp.stet.versions import VERSIONS
from mock_aspsp.testing import PORTAL_IBAN, TPP_CLIENT_ID, TPP_REDIRECT_URI

DASHBOARD = "/espace-client/acces"  # the PSU's access dashboard
START = datetime(2026, 1, 15, 10, 0, tzinfo=timezone.utc)  # the tests' fixed real time (``Clock(real=...)``)
ALICE_OTHER_IBAN = "FR7630007000010001234560191"
STET_OF = {version.prefix: version.stet for version in VERSIONS}  # path prefix -> STET version
SCOPE_OF = {version.prefix: version.scope for version in VERSIONS}  # path prefix -> scope it needs
# What each version's documents declare for its errors (README, "STET versions"); any other path: JSON.
ERROR_MEDIA_OF = {version.prefix: version.error_media_type.split(";")[0] for version in VERSIONS}


def portal_body(amount="12345", iban=PORTAL_IBAN, **changes):
    """The portal's example request, optionally changed."""
    body = {
        "paymentCoverageRequestId": "MyCoverage123456",
        "instructedAmount": {"currency": "EUR", "amount": amount},
        "accountId": {"iban": iban},
    }
    body.update(changes)
    return body


def shipped_scenario(name: str) -> Path:
    return scenarios_dir() / f"{name}.yaml"


def scenario_variant(directory: Path, base: str, change) -> Path:
    """A copy of a shipped scenario with ``change(document)`` applied, written under ``directory``."""
    document = yaml.safe_load(shipped_scenario(base).read_text(encoding="utf-8"))
    change(document)
    path = Path(directory) / f"{base}-variant.yaml"
    path.write_text(yaml.safe_dump(document, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


class TppDriver:
    """What a TPP's integration does, step by step, through the Flask test client."""

    def __init__(self, client, client_id=TPP_CLIENT_ID, redirect_uri=TPP_REDIRECT_URI):
        self.client = client
        self.client_id = client_id
        self.redirect_uri = redirect_uri

    def authorize_url(self, scope="cbpii", state="state-123", **extra):
        params = {
            "response_type": "code",
            "client_id": self.client_id,
            "redirect_uri": self.redirect_uri,
            "scope": scope,
            "state": state,
            **extra,
        }
        return "/authorize?" + urlencode(params)

    def start(self, scope="cbpii", state="state-123", host="localhost", **extra):
        """GET /authorize; returns the response (a redirect to the bank's pages or to the TPP)."""
        return self.client.get(self.authorize_url(scope, state, **extra), base_url=f"http://{host}")

    def page(self, location, host="localhost"):
        response = self.client.get(location, base_url=f"http://{host}")
        match = re.search(r'name="csrf_token" value="([^"]+)"', response.get_data(as_text=True))
        return response, (match.group(1) if match else None)

    def post_step(self, location, step, host="localhost", **fields):
        _, csrf = self.page(location, host)
        return self.client.post(location, data={"csrf_token": csrf, "step": step, **fields}, base_url=f"http://{host}")

    def journey(self, login="alice", password="alice-password", otp="123456", iban=PORTAL_IBAN,
                scope="cbpii", state="state-123", host="localhost"):
        """The whole interactive journey; returns the final redirect's query parameters."""
        location = self.start(scope, state, host).headers["Location"]
        self.post_step(location, "identify", host, login=login, password=password, action="continue")
        self.post_step(location, "authenticate", host, otp=otp, action="continue")
        final = self.post_step(location, "consent", host, iban=iban, action="approve")
        return callback_params(final)

    def token(self, host="localhost", **form):
        return self.client.post("/token", data={"client_id": self.client_id, **form}, base_url=f"http://{host}")

    def exchange(self, code, host="localhost", **extra):
        return self.token(host, grant_type="authorization_code", code=code, redirect_uri=self.redirect_uri, **extra)

    def tokens(self, host="localhost", **journey):
        response = self.exchange(self.journey(host=host, **journey)["code"], host)
        assert response.status_code == 200, response.get_json()
        return response.get_json()

    def refresh(self, refresh_token, host="localhost"):
        return self.token(host, grant_type="refresh_token", refresh_token=refresh_token)

    def confirm(self, access_token, body=None, version="v1.4.2", host="localhost", prefix="/stet/psd2",
                request_id="req-1", **headers):
        all_headers = {"Authorization": f"Bearer {access_token}", "X-Request-ID": request_id, **headers}
        return self.client.post(
            f"{prefix}/{version}/funds-confirmations",
            json=portal_body() if body is None else body,
            headers={k: v for k, v in all_headers.items() if v is not None},
            base_url=f"http://{host}",
        )


def callback_params(response) -> dict:
    """The query of a redirect to the TPP, one value per name."""
    assert response.status_code in (302, 303), response.get_data(as_text=True)
    return {k: v[0] for k, v in parse_qs(urlsplit(response.headers["Location"]).query).items()}


def error_media_type(path: str) -> str:
    """The error media type expected on a path: its version's (``/stet/psd2/{v}/...``, ``/{v}/...``)."""
    return ERROR_MEDIA_OF.get(classify(path).version, "application/json")


def assert_error_media_type(response) -> None:
    expected = error_media_type(response.request.path)
    assert response.mimetype == expected, (response.request.path, response.content_type)
    if expected == "application/hal+json":
        assert response.mimetype_params == {"charset": "utf-8"}, response.content_type


def assert_error_model(response, status, version="v1.4.2", names=None) -> dict:
    """The response is the version's STET ErrorModel with this status (JSON, no HTML, no trace)."""
    text = response.get_data(as_text=True)
    assert response.status_code == status, text
    assert_error_media_type(response)
    assert "Traceback" not in text and "<html" not in text.lower()
    body = response.get_json()
    assert schema_set(f"stet-{STET_OF[version]}.schema.json").problem("ErrorModel", body) is None, body
    assert body["status"] == status
    if names is not None:
        assert names in body["message"], body["message"]
    return body


def assert_oauth_error(response, status, error) -> dict:
    """RFC 6749 §5.2 JSON error."""
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert body["error"] == error, body
    assert isinstance(body.get("error_description"), str)
    return body


def assert_error_page(response, status) -> str:
    """An HTML page from the bank, never a redirect."""
    assert response.status_code == status, response.get_data(as_text=True)
    assert "Location" not in response.headers
    assert response.mimetype == "text/html"
    return response.get_data(as_text=True)


def sign_in(client, login="alice", password=None, otp="123456"):
    """The PSU signs in to its access dashboard through the bank's two screens; returns the answer to the
    one-time code (a redirect to the dashboard when signed in), or to the password when it is refused."""
    started = client.get(DASHBOARD)
    assert started.status_code == 303, started.get_data(as_text=True)
    location = started.headers["Location"]
    assert location.startswith("/sca/")
    driver = TppDriver(client)
    answer = driver.post_step(location, "identify", login=login, password=password or f"{login}-password",
                              action="continue")
    if answer.status_code != 303:
        return answer
    return driver.post_step(location, "authenticate", otp=otp, action="continue")


def signed_in(client, login="alice"):
    """Sign in, then the dashboard's page."""
    answer = sign_in(client, login)
    assert answer.status_code == 303 and answer.headers["Location"] == DASHBOARD, answer.get_data(as_text=True)
    page = client.get(DASHBOARD)
    assert page.status_code == 200, page.get_data(as_text=True)
    return page


def headless_code(tpp, login, scope="cbpii", host="localhost", state="state-123") -> str:
    """The code a PSU with ``sca: approve`` gives at once (``login_hint``)."""
    params = callback_params(tpp.start(scope=scope, state=state, host=host, login_hint=login))
    assert "code" in params, params
    return params["code"]


def headless_tokens(tpp, login, scope="cbpii", host="localhost") -> dict:
    response = tpp.exchange(headless_code(tpp, login, scope, host), host)
    assert response.status_code == 200, response.get_json()
    return response.get_json()
