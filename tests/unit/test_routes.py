"""The route table: one classification of a path, read by the error shapes, the fault rules and the journal."""
import pytest

from mock_aspsp.http.routes import ADMIN, API, OAUTH, PAGE, Route, classify


@pytest.mark.parametrize("path,route", [
    ("/token", Route(OAUTH, "token")),
    ("/revoke", Route(OAUTH, "revoke")),
    ("/token/extra", Route(OAUTH)),  # answered as OAuth, but no rule on "token" applies to it
    ("/tokens", Route(OAUTH)),
    ("/authorize", Route(PAGE, "authorize")),
    ("/authorize/extra", Route(PAGE)),
    ("/sca/3f2a", Route(PAGE, "authorize")),
    ("/espace-client/acces", Route(PAGE)),  # the PSU's access dashboard
    ("/espace-client/acces/3f2a/revocation", Route(PAGE)),
    ("/stet/psd2/v1.4.2/funds-confirmations", Route(API, "funds-confirmations", "v1.4.2")),
    ("/v1/funds-confirmations", Route(API, "funds-confirmations", "v1")),
    ("/stet/psd2/v9/funds-confirmations", Route(API, "funds-confirmations")),  # no version the bank serves
    ("/stet/psd2/v1/openapi.json", Route(API, version="v1")),  # its errors in v1's media type
    ("/v1.6.2/nowhere", Route(API, version="v1.6.2")),
    ("/stet/psd2", Route(API)),
    ("/.well-known/oauth-authorization-server", Route(API)),
    ("/__admin/requests", Route(ADMIN, journaled=False)),
    ("/__admin/funds-confirmations", Route(ADMIN, journaled=False)),  # never a funds call for the rules
    ("/favicon.ico", Route(API, journaled=False)),
    ("/", Route(API)),
])
def test_each_path_has_one_route(path, route):
    assert classify(path) == route
