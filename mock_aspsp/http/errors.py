"""The three ways the bank says no, one per audience.

* ``ApiError``: STET ErrorModel JSON, for the funds-confirmations API.
* ``OAuthError``: RFC 6749 §5.2 JSON, for ``/token`` and ``/revoke``.
* ``PageError``: a readable HTML page, for the PSU's browser when the bank
  must not redirect (unknown client or unregistered ``redirect_uri``).
"""
from __future__ import annotations

from dataclasses import dataclass
from http import HTTPStatus
from typing import Mapping, Optional

MESSAGE_MAX = 140  # ErrorModel.message maxLength in every STET version


class ApiError(Exception):
    def __init__(self, status: int, message: str, headers: Optional[Mapping[str, str]] = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = dict(headers or {})


class OAuthError(Exception):
    def __init__(self, error: str, description: str, status: int = 400, headers: Optional[Mapping[str, str]] = None):
        super().__init__(description)
        self.error = error
        self.description = description
        self.status = status
        self.headers = dict(headers or {})

    def body(self) -> dict:
        return {"error": self.error, "error_description": self.description}


class UnknownBank(Exception):
    """The host names a bank the scenario does not serve: a 404 in the shape of whoever calls."""

    def __init__(self, code: str):
        super().__init__(code)
        self.code = code


@dataclass(frozen=True)
class PageProblem:
    """What an error page tells the PSU, in French (``page_problems`` holds them all), and what to do next."""
    title: str
    message: str
    status: int
    advice: str = "Retournez sur le site de votre prestataire pour recommencer."


class PageError(Exception):
    """An error page: the problem, for the PSU, and the technical ``detail`` in English for the TPP's
    developers (shown apart on the page, and journaled)."""

    def __init__(self, problem: PageProblem, detail: str = "", status: Optional[int] = None):
        super().__init__(detail or problem.message)
        self.problem = problem
        self.detail = detail
        self.status = status or problem.status


def reason_phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def error_model(status: int, message: str, path: str, timestamp: str) -> dict:
    """STET's ErrorModel; message and path are cut to the schema's 140 characters."""
    return {
        "timestamp": timestamp,
        "status": status,
        "error": reason_phrase(status),
        "message": message if len(message) <= MESSAGE_MAX else message[: MESSAGE_MAX - 1] + "…",
        "path": path[:MESSAGE_MAX],
    }
