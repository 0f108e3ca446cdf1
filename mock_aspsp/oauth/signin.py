"""The PSU's session on the bank's access dashboard (``/espace-client/acces``).

Opened once the PSU has passed the bank's identification and one-time-code
screens (``authorize``: the same screens and lock-out as a TPP's journey). It is
kept in the store under the hash of its cookie, so it holds on every worker and
replica, and lasts ``SESSION_LIFETIME`` on the mock's clock (moving the clock
ends it) or until the PSU signs out. Its forms carry the session's CSRF secret.
"""
from __future__ import annotations

from datetime import timedelta
from typing import Optional

from flask import Response, redirect, request

from ..http.web import sandbox, snapshot
from ..store.records import PsuSession
from .tokens import new_secret

DASHBOARD_PATH = "/espace-client/acces"
SESSION_COOKIE = "mock_aspsp_espace_client"
SESSION_LIFETIME = timedelta(minutes=10)


def open_session(bank: str, psu: str) -> Response:
    """Sign the PSU in and send it to its dashboard."""
    cookie = new_secret()
    sandbox().store.put_psu_session(cookie, PsuSession(bank, psu, new_secret(), snapshot().now + SESSION_LIFETIME))
    response = redirect(DASHBOARD_PATH, code=303)
    response.set_cookie(SESSION_COOKIE, cookie, httponly=True, samesite="Lax", path=DASHBOARD_PATH)
    return response


def current_session(bank: str) -> Optional[PsuSession]:
    """The signed-in PSU's session at this bank, if this browser's cookie names one that has not expired."""
    cookie = request.cookies.get(SESSION_COOKIE)
    session = sandbox().store.psu_session(cookie) if cookie else None
    if session is None or session.bank != bank or snapshot().now >= session.expires_at:
        return None
    return session


def end_session(response: Response) -> Response:
    """Sign the PSU out: the session is forgotten by the store, its cookie by the browser."""
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        sandbox().store.end_psu_session(cookie)
    response.delete_cookie(SESSION_COOKIE, path=DASHBOARD_PATH)
    return response
