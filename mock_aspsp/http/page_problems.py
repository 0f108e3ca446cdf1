"""Every error page of the bank, in French, as the PSU reads it.

A page never shows an English sentence to the PSU: what the TPP's developers need (the
parameter, the value, the RFC) is the ``PageError``'s detail, shown apart in English.
"""
from __future__ import annotations

from .errors import PageProblem

UNKNOWN_BANK = PageProblem(
    "Établissement inconnu",
    "Le lien de votre prestataire désigne un établissement que cette banque ne sert pas.", 404)
INVALID_REQUEST = PageProblem(
    "Demande invalide",
    "La demande transmise par votre prestataire est incomplète ou mal formée : la banque ne sait pas où vous renvoyer.", 400)
UNKNOWN_TPP = PageProblem(
    "Prestataire inconnu",
    "Le prestataire qui vous a dirigé ici n'est pas enregistré auprès de la banque.", 400)
UNKNOWN_REDIRECT = PageProblem(
    "Adresse de retour inconnue",
    "Votre prestataire demande à vous renvoyer vers une adresse qu'il n'a pas déclarée : "
    "la banque ne vous y enverra pas.", 400)
UNKNOWN_SESSION = PageProblem(
    "Session inconnue",
    "Cette session d'authentification n'existe pas, ou elle est terminée.", 404)
SESSION_OVER = PageProblem(
    "Session terminée",
    "Cette session d'authentification est terminée : elle ne peut pas être reprise.", 410)
OTHER_BROWSER = PageProblem(
    "Session invalide",
    "Cette session d'authentification a été ouverte dans un autre navigateur.", 403)
SENT_TWICE = PageProblem(
    "Formulaire déjà envoyé",
    "Ce formulaire a été envoyé deux fois. Rechargez la page.", 409)
STALE_FORM = PageProblem(
    "Formulaire expiré",
    "Ce formulaire n'est plus celui en cours. Rechargez la page, puis recommencez.", 400)
UNKNOWN_CUSTOMER = PageProblem(
    "Client inconnu",
    "Votre espace client n'existe plus dans cette banque.", 410)
# Signing in to the access dashboard (``/espace-client/acces``), and its forms.
SIGN_IN_AGAIN = "Reconnectez-vous à votre espace client pour recommencer."
SIGN_IN_CANCELLED = PageProblem(
    "Connexion annulée",
    "Vous avez annulé la connexion à votre espace client.", 200, SIGN_IN_AGAIN)
SIGN_IN_TIMED_OUT = PageProblem(
    "Connexion expirée",
    "La page de connexion est restée trop longtemps sans action : pour votre sécurité, la connexion est annulée.",
    401, SIGN_IN_AGAIN)
SIGN_IN_FAILED = PageProblem(
    "Connexion refusée",
    "Trop de codes à usage unique erronés : la connexion est annulée.", 401, SIGN_IN_AGAIN)
SESSION_ENDED = PageProblem(
    "Session expirée",
    "Votre session de l'espace client est terminée ou a expiré.", 401, SIGN_IN_AGAIN)
STALE_DASHBOARD_FORM = PageProblem(
    "Formulaire expiré",
    "Ce formulaire n'est plus valable : aucune modification n'a été faite.", 400, SIGN_IN_AGAIN)
UNKNOWN_ACCESS = PageProblem(
    "Accès introuvable",
    "Cet accès n'existe pas, ou il n'est plus actif.", 404,
    "Revenez à la liste des accès de votre espace client.")
NOT_FOUND = PageProblem(
    "Page introuvable",
    "Cette page n'existe pas sur le site de la banque.", 404)
UNAVAILABLE = PageProblem(
    "Service indisponible",
    "La banque ne peut pas traiter votre demande pour le moment. Réessayez dans quelques instants.", 503)
REFUSED = PageProblem(
    "Demande refusée",
    "La banque n'a pas pu traiter cette demande.", 400)


def for_status(status: int) -> PageProblem:
    """The page for an error raised before any view of the bank's pages (routing, store, fault rules)."""
    if status >= 500 or status == 429:
        return UNAVAILABLE
    return NOT_FOUND if status == 404 else REFUSED
