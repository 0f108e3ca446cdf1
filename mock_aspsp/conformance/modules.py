"""The active go-live modules: the bank misbehaves once, on purpose, and judges how the TPP reacts.

A module names where it fires (``trigger``: the next approved journey, the next
``/authorize``, the next refresh, the next API call or its answer); the HTTP side
makes the bank misbehave there (``http.conformance``). The verdict is a plain
function of the journal entry it fired on and the TPP's entries after it;
``not-run`` while the TPP has not done what would show its reaction.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from .traffic import (CALLS, FAILED, NOT_RUN, PASSED, Verdict, evidence, is_code_exchange, is_refresh, kind,
                      observed)

APPROVAL, AUTHORIZE, REFRESH, API, ANSWER = "approval", "authorize", "refresh", "api", "answer"
RATE_LIMIT_RETRY_AFTER = 2  # seconds, the Retry-After of the rate-limited module
OUTAGE_ANSWERS = 3  # the 503s of the service-unavailable module, on the TPP's next API calls
OUTAGE_SPACING = 1  # seconds: a retry sooner than this after a 503 (which names no delay) is a storm


@dataclass(frozen=True)
class Module:
    id: str
    title: str
    trigger: str
    source: str
    judge: Callable[[dict, list[dict]], Verdict]
    fires: int = 1  # on how many of the TPP's requests in a row the bank misbehaves


def _failed(fired: dict, entry: dict, why: str, note: str) -> Verdict:
    return Verdict(FAILED, why, (evidence(fired, "the bank misbehaved here, on purpose"), evidence(entry, note)))


def _passed(fired: dict, entry: dict, why: str) -> Verdict:
    return Verdict(PASSED, why, (evidence(fired, "the bank misbehaved here, on purpose"),
                                 evidence(entry, "the TPP's reaction")))


def callback_with_wrong_state(fired: dict, later: list[dict]) -> Verdict:
    code = observed(fired).get("callback", {}).get("code_hash")
    for entry in later:
        if is_code_exchange(entry) and observed(entry).get("code_hash") == code:
            return _failed(fired, entry, "the code that came back with a wrong state was redeemed",
                           "redeemed the code of the wrong-state callback")
    following = next((e for e in later if kind(e) in ("authorize", *CALLS)), None)
    if following is None:
        return Verdict(NOT_RUN, "waiting for the TPP's next request")
    return _passed(fired, following, "the code of the wrong-state callback was never redeemed")


def callback_with_error(fired: dict, later: list[dict]) -> Verdict:
    following = next((e for e in later if kind(e) in ("authorize", *CALLS)), None)
    if following is None:
        return Verdict(NOT_RUN, "waiting for the TPP's next request")
    if is_code_exchange(following):
        return _failed(fired, following, "/token was called after a callback with error=access_denied",
                       "a code exchange without a code")
    return _passed(fired, following, "no /token call after error=access_denied")


def access_token_expires_early(fired: dict, later: list[dict]) -> Verdict:
    token = observed(fired).get("access_hash")
    refreshed = None
    for entry in later:
        facts = observed(entry)
        if kind(entry) == "api" and facts.get("access_hash") == token:
            return _failed(fired, entry, "the refused access token was sent again", "same access token")
        if kind(entry) == "authorize" and refreshed is None:
            return _failed(fired, entry, "a new PSU journey instead of a refresh", "new journey")
        if is_refresh(entry) and facts.get("issued_access"):
            refreshed = facts["issued_access"]
        elif kind(entry) == "api" and refreshed and facts.get("access_hash") == refreshed:
            return _passed(fired, entry, "refreshed, then retried with the new access token")
    return Verdict(NOT_RUN, "waiting for a refresh and the retried call")


def rate_limited(fired: dict, later: list[dict]) -> Verdict:
    following = next((e for e in later if kind(e) in CALLS), None)
    if following is None:
        return Verdict(NOT_RUN, "waiting for the TPP's next call")
    waited = observed(following).get("real", 0) - observed(fired).get("real", 0)
    if waited < RATE_LIMIT_RETRY_AFTER:
        return _failed(fired, following, f"called again {waited:.1f} s after a 429 with Retry-After: "
                                         f"{RATE_LIMIT_RETRY_AFTER}", "too early")
    return _passed(fired, following, f"waited {waited:.1f} s after Retry-After: {RATE_LIMIT_RETRY_AFTER}")


def service_unavailable(fired: dict, later: list[dict]) -> Verdict:
    """Every API call after a 503 must come ``OUTAGE_SPACING`` or more later. The outage is the next
    ``OUTAGE_ANSWERS`` API calls, so a TPP that retries more is a storm already; judged on the TPP's first
    request the outage did not answer (a retry after the last 503, or a new journey when it gave up)."""
    marker, last, retries = observed(fired).get("module"), fired, 0
    for entry in later:
        if kind(entry) not in ("authorize", *CALLS):
            continue
        if kind(entry) == "api":
            retries += 1
            waited = observed(entry).get("real", 0) - observed(last).get("real", 0)
            if observed(last).get("module") == marker and waited < OUTAGE_SPACING:
                return _failed(fired, entry, f"called again {waited:.1f} s after a 503: a retry storm (at least "
                                             f"{OUTAGE_SPACING} s between retries)", "too early")
        if observed(entry).get("module") != marker:
            return _passed(fired, entry, f"{retries} retr{'y' if retries == 1 else 'ies'}, each "
                                         f"{OUTAGE_SPACING} s or more after a 503")
        last = entry
    return Verdict(NOT_RUN, "waiting for the TPP's next request after the last 503")


def refresh_refused(fired: dict, later: list[dict]) -> Verdict:
    refresh = observed(fired).get("refresh_hash")
    retries = 0
    for entry in later:
        if is_refresh(entry, refresh):
            retries += 1
            if retries > 1:
                return _failed(fired, entry, "refreshing in a loop after invalid_grant", "refused refresh token again")
        elif kind(entry) == "authorize":
            return _passed(fired, entry, "a new PSU journey after invalid_grant")
    return Verdict(NOT_RUN, "waiting for the new PSU journey")


def consent_revoked_by_psu(fired: dict, later: list[dict]) -> Verdict:
    token = observed(fired).get("access_hash")
    following = None
    for entry in later:
        if kind(entry) == "api" and observed(entry).get("access_hash") == token:
            return _failed(fired, entry, "calls went on with the revoked pair", "revoked access token again")
        following = following or (entry if kind(entry) in ("authorize", *CALLS) else None)
    if following is None:
        return Verdict(NOT_RUN, "waiting for the TPP's next request")
    return _passed(fired, following, "stopped calling with the revoked pair after one 401")


def funds_false(fired: dict, later: list[dict]) -> Verdict:
    body = observed(fired).get("body_hash")
    repeats = 0
    for entry in later:
        if kind(entry) == "api" and observed(entry).get("body_hash") == body:
            repeats += 1
            if repeats > 1:
                return _failed(fired, entry, "the same funds check repeated more than once after result: false",
                               "same check again")
        elif kind(entry) in ("authorize", *CALLS):
            return _passed(fired, entry, f"result: false accepted ({repeats} repeat(s) of the same check)")
    return Verdict(NOT_RUN, "waiting for the TPP's next request")


MODULES: dict[str, Module] = {m.id: m for m in (
    Module("callback-with-wrong-state", "The next approved journey returns with a different state: its code "
           "is never redeemed", APPROVAL, "RFC 6749 §10.12", callback_with_wrong_state),
    Module("callback-with-error", "error=access_denied without a code: no /token call follows", AUTHORIZE,
           "RFC 6749 §4.1.2.1", callback_with_error),
    Module("access-token-expires-early", "The next API call answers 401 invalid_token: the TPP refreshes and "
           "retries once", API, "RFC 6750 §3.1; bank portal (Refresh your token)", access_token_expires_early),
    Module("rate-limited", "429 with Retry-After: 2 on the next API call: nothing before 2 s", API,
           "RFC 6585 §4; RFC 9110 §10.2.3", rate_limited),
    Module("service-unavailable", f"{OUTAGE_ANSWERS} 503s without Retry-After on the next API calls: at most "
           f"{OUTAGE_ANSWERS} retries, each {OUTAGE_SPACING} s or more after a 503 (no storm)", API,
           "RFC 9110 §15.6.4; bank portal (quality of service)", service_unavailable, fires=OUTAGE_ANSWERS),
    Module("refresh-refused", "The next refresh answers invalid_grant (180 days passed): the TPP starts a new "
           "journey", REFRESH, "bank portal (180-day re-authentication); RFC 6749 §5.2", refresh_refused),
    Module("consent-revoked-by-psu", "The PSU revokes the pair: the TPP stops calling with it (one 401 at most)",
           API, "bank portal (tokens revocable at any time)", consent_revoked_by_psu),
    Module("funds-false", "The next funds check answers result: false: at most one repeat of the same check",
           ANSWER, "STET API (funds confirmations)", funds_false),
)}
