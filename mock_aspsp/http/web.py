"""Per-request helpers shared by the blueprints."""
from __future__ import annotations

from flask import Request, current_app, g, request
from werkzeug.exceptions import BadRequest, HTTPException

from ..bank.establishment import bank_code_from_host
from ..bank.scenario import Scenario
from ..sandbox import Sandbox, Snapshot
from .errors import UnknownBank

MAX_BODY = 16 * 1024 * 1024  # the app's limit (413): far above any API request, form or scenario (at most 250 000 YAML nodes)



def sandbox() -> Sandbox:
    return current_app.extensions["mock_aspsp"]


def snapshot() -> Snapshot:
    """Taken once per request, before any view runs (see ``app.create_app``)."""
    return g.snapshot


def request_body(request: Request) -> bytes:
    """The raw body, read once per request (the fault rules, the signature's Digest and the view all need it).

    A body announced by Content-Length within the app's limit is read straight from the WSGI input:
    on the API's small JSON bodies werkzeug's stream wrapper costs more than the read. Anything else
    (no length, chunked, over the limit: 413) goes through werkzeug."""
    environ = request.environ
    body = environ.get("mock_aspsp.body")
    if body is None:
        length = request.content_length
        try:
            if length is not None and length <= MAX_BODY:
                body = environ["wsgi.input"].read(length) if length else b""
            else:
                body = request.get_data(cache=True)
        except HTTPException:
            raise
        except Exception as error:  # the server's own framing error (chunked garbage...): its type is the server's
            raise BadRequest(f"the request body could not be read ({type(error).__name__}): "
                             "its framing is broken") from None
        environ["mock_aspsp.body"] = body
    return body


def asked_bank(host: str, scenario: Scenario) -> str:
    """The bank code a ``Host`` asks for: its 5-digit label, else the scenario's default bank."""
    return bank_code_from_host(host) or scenario.default_bank


def served_bank(scenario: Scenario) -> str:
    """The bank this request is addressed to; UnknownBank (a 404 in the audience's shape) when the
    scenario does not serve it."""
    asked = asked_bank(request.host, scenario)
    if scenario.bank(asked) is None:
        raise UnknownBank(asked)
    return asked
