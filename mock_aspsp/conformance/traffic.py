"""A TPP's traffic as the journal holds it: the entries that are its own, and what links them.

Plain functions over journal entries (``http.journal``, their ``observed`` part
from ``http.observed``), shared by the passive checks and the active modules.
An API call made with a token the bank no longer knows names no client: it is
the TPP's when the token was issued to it at ``/token`` (fingerprints only).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Optional

PASSED, FAILED, WARNING, NOT_RUN = "passed", "failed", "warning", "not-run"
STATUSES = (PASSED, FAILED, WARNING, NOT_RUN)
CALLS = ("token", "revoke", "api")  # what the TPP's back end sends (the others are the PSU's browser)


@dataclass(frozen=True)
class Verdict:
    status: str
    detail: str
    evidence: tuple[dict, ...] = ()


def observed(entry: dict) -> dict:
    return entry.get("observed") or {}


def kind(entry: dict) -> Optional[str]:
    return observed(entry).get("kind")


def evidence(entry: dict, note: str) -> dict:
    """An entry as a report cites it: when, which request, what the bank answered, and why it counts."""
    return {"time": entry.get("time"), "x_request_id": entry.get("x_request_id"), "method": entry.get("method"),
            "path": entry.get("path"), "status": entry.get("status"), "note": note}


def of_client(entries: Iterable[dict], client_id: str) -> list[dict]:
    """The TPP's entries, oldest first: those naming it, and API calls with a token issued to it."""
    mine: list[dict] = []
    tokens: set[str] = set()
    for entry in entries:
        facts = observed(entry)
        if entry.get("client_id") == client_id:
            mine.append(entry)
            if facts.get("issued_access"):
                tokens.add(facts["issued_access"])
        elif kind(entry) == "api" and facts.get("access_hash") in tokens:
            mine.append(entry)
    return mine


def is_refresh(entry: dict, refresh_hash: Optional[str] = None) -> bool:
    facts = observed(entry)
    return (kind(entry) == "token" and facts.get("grant_type") == "refresh_token"
            and (refresh_hash is None or facts.get("refresh_hash") == refresh_hash))


def is_code_exchange(entry: dict) -> bool:
    return kind(entry) == "token" and observed(entry).get("grant_type") == "authorization_code"


def outcome(failures: list[dict], judged: int, passed: str, failed: str, status: str = FAILED) -> Verdict:
    """The verdict of a rule applied to ``judged`` occasions, ``failures`` the evidence of those it broke."""
    if failures:
        return Verdict(status, failed, tuple(failures))
    if not judged:
        return Verdict(NOT_RUN, "nothing to judge yet")
    return Verdict(PASSED, passed.format(judged=judged))
