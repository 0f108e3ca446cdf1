"""``/espace-client/acces``: the PSU's access dashboard, where the PSU sees and withdraws TPPs' access.

PSD2 lets the PSU withdraw a TPP's access at its bank at any time (the portal:
"the refresh token and the access token must be revocable at any time"). The PSU
signs in through the bank's identification and one-time-code screens (``authorize``,
``signin``), then sees every TPP that may check its funds (``accesses``) and may
revoke one, after a confirmation: the pair dies in the store at once, so on every
worker and replica, by the admin API's own code (``tokens.withdraw``, by the PSU),
and the TPP's next call is told "revoked by the PSU". Plain HTML forms, usable
without JavaScript, each carrying the session's CSRF secret.
"""
from __future__ import annotations

from decimal import Decimal

from flask import Blueprint, Response, g, render_template, request

from ..http import page_problems as pages
from ..http.errors import PageError
from ..http.web import sandbox, served_bank, snapshot
from ..store.records import PsuSession
from ..tpp.registry import effective_tpp
from .accesses import Access, find_access, psu_accesses
from .authorize import begin_sign_in, not_framed
from .journey import same_secret
from .signin import DASHBOARD_PATH, current_session, end_session
from .tokens import withdraw

blueprint = Blueprint("dashboard", __name__)
blueprint.after_request(not_framed)


@blueprint.app_template_filter("montant")
def french_amount(amount: str) -> str:
    """An amount as a French page prints it: ``12345.5`` -> ``12 345,50`` (thin spaces between thousands)."""
    whole, _, cents = f"{Decimal(amount):,.2f}".partition(".")
    return whole.replace(",", "\u202f") + "," + cents


def _page(template: str, session: PsuSession, status: int = 200, **context) -> Response:
    scenario = snapshot().scenario
    body = render_template(template, bank=scenario.bank(session.bank), psu=scenario.psu(session.bank, session.psu),
                           session=session, **context)
    return Response(body, status, content_type="text/html; charset=utf-8")


def _signed_in() -> PsuSession:
    session = current_session(served_bank(snapshot().scenario))
    if session is None:
        raise PageError(pages.SESSION_ENDED, "No signed-in PSU: the session cookie is missing, unknown or expired.")
    return session


def _posted(session: PsuSession) -> None:
    if not same_secret(request.form.get("csrf_token"), session.csrf):
        raise PageError(pages.STALE_DASHBOARD_FORM, "This form does not carry the session's csrf_token.")


def _tpp_name(scenario, store):
    """A client_id's name as the PSU knows it: the scenario's TPP, or a registered client's ``client_name``."""
    def name(client_id: str):
        tpp = effective_tpp(scenario, store, client_id)
        return tpp.name if tpp else None
    return name


def _access(session: PsuSession, ref: str) -> Access:
    taken = snapshot()
    store = sandbox().store
    found = find_access(psu_accesses(store.grants(), [], taken.scenario, taken.now, session.bank, session.psu,
                                    _tpp_name(taken.scenario, store)), ref)
    if found is None:
        raise PageError(pages.UNKNOWN_ACCESS, f"No live token pair {ref[:40]!r} of this PSU at this bank.")
    return found


@blueprint.get(DASHBOARD_PATH)
def dashboard() -> Response:
    """The list of accesses, or, for a PSU not signed in, the bank's identification screen."""
    bank = served_bank(snapshot().scenario)
    session = current_session(bank)
    if session is None:
        return begin_sign_in(bank)
    taken, store = snapshot(), sandbox().store
    accesses = psu_accesses(store.grants(), store.journal(), taken.scenario, taken.now, bank, session.psu,
                            _tpp_name(taken.scenario, store))
    return _page("dashboard.html", session, accesses=accesses)


@blueprint.get(f"{DASHBOARD_PATH}/<ref>/revocation")
def confirm_revocation(ref: str) -> Response:
    session = _signed_in()
    return _page("dashboard_revoke.html", session, access=_access(session, ref))


@blueprint.post(f"{DASHBOARD_PATH}/<ref>/revocation")
def revoke(ref: str) -> Response:
    session = _signed_in()
    _posted(session)
    access = _access(session, ref)
    revoked = withdraw(sandbox().store, snapshot().now, "psu", grant_id=access.grant_id)
    if not revoked:  # revoked by another request since it was read (a double submit, the TPP, the bank)
        raise PageError(pages.UNKNOWN_ACCESS, f"The token pair {ref!r} was revoked meanwhile.")
    g.client_id = access.client_id
    g.revocation = {"pair": access.ref, "psu": session.psu, "iban": access.iban, "by": "psu"}
    revoked_pair = sandbox().store.grant(access.grant_id)  # its access token, for the go-live evidence
    g.revoked_access = revoked_pair.access_hash if revoked_pair else None
    return _page("dashboard_end.html", session, title="Accès révoqué",
                 message=f"{access.tpp_name} ne peut plus vérifier les fonds de votre compte : "
                         "sa prochaine demande sera refusée.", signed_in=True)


@blueprint.post(f"{DASHBOARD_PATH}/deconnexion")
def sign_out() -> Response:
    session = _signed_in()
    _posted(session)
    return end_session(_page("dashboard_end.html", session, title="Vous êtes déconnecté",
                             message="Votre session de l'espace client est terminée.", signed_in=False))
