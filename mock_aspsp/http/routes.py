"""The route table: which audience a request's path belongs to, classified once per request.

The audience decides the shape of an error raised before any view knows who is
calling (``responses``: STET ErrorModel, RFC 6749 JSON or the bank's page), and
the API version whose error media type it is sent as; the endpoint and version
name the request as fault rules match it (``injection``); ``journaled`` says
whether the request journal keeps it (``journal``).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Optional

from flask import g, request

from ..stet.versions import version_for

API, OAUTH, PAGE, ADMIN, CONSOLE = "api", "oauth", "page", "admin", "console"


@dataclass(frozen=True)
class Route:
    audience: str
    endpoint: Optional[str] = None  # as fault rules name it (``match.endpoint``); None: no rule applies
    version: Optional[str] = None  # the API version an API path is under (``/stet/psd2/{v}/...``, ``/{v}/...``)
    journaled: bool = True


# The first prefix a path starts with gives its audience; the endpoint is the row's only for the paths
# its pattern matches whole (``/token/x`` is answered as OAuth, but no rule on ``token`` applies to it).
TABLE: tuple[tuple[str, Route, Optional["re.Pattern[str]"]], ...] = (
    ("/token", Route(OAUTH, "token"), re.compile(r"/token")),
    ("/revoke", Route(OAUTH, "revoke"), re.compile(r"/revoke")),
    ("/authorize", Route(PAGE, "authorize"), re.compile(r"/authorize")),
    ("/sca/", Route(PAGE, "authorize"), re.compile(r"/sca/.*")),  # a sign-in to the PSU's dashboard too
    ("/espace-client", Route(PAGE), None),  # the PSU's access dashboard: no fault rule names it
    ("/stet/psd2/oauth/token", Route(OAUTH, "token"), re.compile(r"/stet/psd2/oauth/token")),  # the portal's paths
    ("/stet/psd2/oauth/authorize", Route(PAGE, "authorize"), re.compile(r"/stet/psd2/oauth/authorize")),
    ("/__admin/ui", Route(CONSOLE, journaled=False), None),  # the QA console: HTML pages, in English
    ("/__admin", Route(ADMIN, journaled=False), None),  # the admin API reads the journal, it is not in it
    ("/favicon.ico", Route(API, journaled=False), None),
    ("", Route(API, "funds-confirmations"), re.compile(r"(?:/stet/psd2)?/[^/]+/funds-confirmations")),
)


@lru_cache(maxsize=1024)  # a few paths make most of the traffic; bounded, as a client chooses its paths
def classify(path: str) -> Route:
    route, whole = next((route, whole) for prefix, route, whole in TABLE if path.startswith(prefix))  # "" fits all
    version = _api_version(path) if route.audience == API else None
    if whole is None or whole.fullmatch(path) is None:
        return Route(route.audience, version=version, journaled=route.journaled)
    return replace(route, version=version)


def _api_version(path: str) -> Optional[str]:
    """The version a path is under (``/stet/psd2/{v}/...`` or the alias ``/{v}/...``), if the bank serves it."""
    segments = path.split("/")
    prefix = segments[3] if segments[1:3] == ["stet", "psd2"] and len(segments) > 3 else segments[1]
    return prefix if version_for(prefix) else None


def current_route() -> Route:
    """This request's route, classified on first use (``app`` asks before any view runs)."""
    route = g.get("route")
    if route is None:
        route = g.route = classify(request.path)
    return route
