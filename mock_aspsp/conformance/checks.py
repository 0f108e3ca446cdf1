"""The passive go-live checks: is a TPP's client behaving as the bank expects, from what it already sent?

Each check is a plain function over the TPP's journal entries (``traffic.of_client``,
oldest first) returning a ``Verdict``; nothing to judge is ``not-run``, never
``passed``. Ids are stable: CI jobs and the bank's go-live review refer to them.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from .traffic import (CALLS, PASSED, WARNING, Verdict, evidence, is_code_exchange, is_refresh, kind,
                      observed, outcome)

PORTAL = "bank portal, funds availability: " + '"Retrieve your token"'
STATE_BITS = 128
RETRY_STATUSES = (429, 503)
REQUEST_REFUSALS = (400, 406, 415)  # refused for the body or the headers (not the token, not the identity)


@dataclass(frozen=True)
class Check:
    id: str
    title: str
    source: str
    judge: Callable[[list[dict]], Verdict]


def token_request_without_scope(entries: list[dict]) -> Verdict:
    exchanges = [e for e in entries if is_code_exchange(e)]
    failures = [evidence(e, "the code exchange sent 'scope'") for e in exchanges if observed(e).get("scope_sent")]
    return outcome(failures, len(exchanges), "{judged} code exchange(s) without scope",
                   "scope sent on the authorization-code exchange")


def redirect_uri_consistent(entries: list[dict]) -> Verdict:
    sent_to = {observed(e)["callback"]["code_hash"]: observed(e)["callback"]["redirect_uri"]
               for e in entries if observed(e).get("callback", {}).get("code_hash")}
    judged, failures = 0, []
    for entry in entries:
        code = observed(entry).get("code_hash")
        if is_code_exchange(entry) and code in sent_to:
            judged += 1
            if observed(entry).get("redirect_uri") != sent_to[code]:
                failures.append(evidence(entry, f"redirect_uri differs from {sent_to[code]}, where the code was sent"))
    return outcome(failures, judged, "{judged} code exchange(s) with their /authorize redirect_uri",
                   "a /token redirect_uri differs from its /authorize one")


def state_unpredictable(entries: list[dict]) -> Verdict:
    seen: set[str] = set()
    judged, failures = 0, []
    for entry in entries:
        if kind(entry) != "authorize":
            continue
        judged += 1
        facts = observed(entry)
        state = facts.get("state_hash")
        if not state:
            failures.append(evidence(entry, "no state"))
        elif state in seen:
            failures.append(evidence(entry, "state reused from an earlier /authorize"))
        elif facts.get("state_bits", 0) < STATE_BITS:
            failures.append(evidence(entry, f"state holds at most {facts.get('state_bits', 0)} bits, "
                                            f"fewer than {STATE_BITS}"))
        if state:
            seen.add(state)
    return outcome(failures, judged, "{judged} /authorize with a fresh state of 128 bits or more",
                   "a state is missing, too short or reused")


def pkce_s256(entries: list[dict]) -> Verdict:
    journeys = [e for e in entries if kind(e) == "authorize"]
    failures = [evidence(e, f"code_challenge_method {observed(e).get('code_challenge_method') or 'absent'}")
                for e in journeys if observed(e).get("code_challenge_method") != "S256"]
    return outcome(failures, len(journeys), "{judged} /authorize with an S256 code_challenge",
                   "advisory: /authorize without an S256 code_challenge (RFC 9700 recommends PKCE)", WARNING)


def unique_x_request_id(entries: list[dict]) -> Verdict:
    calls = [e for e in entries if kind(e) == "api" and e.get("x_request_id")]
    seen: set[str] = set()
    failures = []
    for entry in calls:
        if entry["x_request_id"] in seen:
            failures.append(evidence(entry, "X-Request-ID already sent on an earlier call"))
        seen.add(entry["x_request_id"])
    return outcome(failures, len(calls), "{judged} API call(s), each with its own X-Request-ID",
                   "an X-Request-ID was reused")


def no_reuse_of_dead_access_token(entries: list[dict]) -> Verdict:
    """A PSU's revocation on its dashboard is cited with the token it killed: at most the one 401, then no reuse."""
    dead: dict[str, str] = {}  # token fingerprint -> why the bank refused it
    by_psu: dict[str, dict] = {}  # token fingerprint -> the dashboard revocation that killed it
    cited: list[dict] = []  # the dashboard revocations the TPP's calls were judged after
    judged, failures = 0, []
    for entry in entries:
        facts = observed(entry)
        token = facts.get("access_hash")
        if kind(entry) == "psu-revocation" and token:
            by_psu[token] = entry
        if kind(entry) != "api" or not token:
            continue
        if token in dead:
            if token in by_psu:
                failures.append(evidence(by_psu.pop(token), "the PSU revoked this access on its dashboard"))
            failures.append(evidence(entry, f"sent again after a 401 ({dead[token]} token)"))
        elif entry.get("status") == 401 and facts.get("token_problem"):
            judged += 1
            dead[token] = facts["token_problem"]
            if token in by_psu:
                cited.append(evidence(by_psu[token], "the PSU revoked this access on its dashboard"))
    verdict = outcome(failures, judged, "{judged} refused token(s), none sent again",
                      "an access token refused with 401 was sent again")
    if verdict.status == PASSED and cited:
        return Verdict(PASSED, verdict.detail + f" ({len(cited)} revoked by the PSU on its dashboard)", tuple(cited))
    return verdict


def old_access_token_dropped_after_refresh(entries: list[dict]) -> Verdict:
    issued: dict[str, set[str]] = {}  # refresh token -> the access tokens issued with it so far
    old: set[str] = set()
    judged, failures = 0, []
    for entry in entries:
        facts = observed(entry)
        if is_refresh(entry) and facts.get("issued_access"):
            judged += 1
            old |= issued.get(facts.get("refresh_hash"), set())
        if kind(entry) == "token" and facts.get("issued_access"):
            issued.setdefault(facts.get("issued_refresh") or facts.get("refresh_hash"), set()).add(facts["issued_access"])
        elif kind(entry) == "api" and facts.get("access_hash") in old:
            failures.append(evidence(entry, "the access token replaced by a refresh was used"))
    return outcome(failures, judged, "{judged} refresh(es), the old access token never used again",
                   "an access token was used after the refresh that replaced it")


def refresh_instead_of_new_sca(entries: list[dict]) -> Verdict:
    judged, failures = 0, []
    for index, entry in enumerate(entries):
        facts = observed(entry)
        if not (kind(entry) == "api" and entry.get("status") == 401 and facts.get("token_problem") == "expired"
                and facts.get("refresh_usable")):
            continue
        following = next((e for e in entries[index + 1:] if kind(e) == "authorize" or is_refresh(e)), None)
        if following is None:
            continue
        judged += 1
        if kind(following) == "authorize":
            failures.append(evidence(entry, "access token expired while the refresh token was valid"))
            failures.append(evidence(following, "a new PSU journey instead of a refresh"))
    return outcome(failures, judged, "{judged} expired access token(s) followed by a refresh",
                   "a new strong authentication was asked while the refresh token was valid")


def new_sca_after_refresh_refused(entries: list[dict]) -> Verdict:
    judged, failures = 0, []
    for index, entry in enumerate(entries):
        facts = observed(entry)
        if not (is_refresh(entry) and facts.get("error") == "invalid_grant"):
            continue
        if any(is_refresh(e, facts.get("refresh_hash")) and observed(e).get("error") == "invalid_grant"
               for e in entries[:index]):
            continue  # judged from the first refusal of that refresh token
        later = entries[index + 1:]
        journey = next((i for i, e in enumerate(later) if kind(e) == "authorize"), len(later))
        retries = [e for e in later[:journey] if is_refresh(e, facts.get("refresh_hash"))]
        if len(retries) > 1:
            judged += 1
            failures.append(evidence(entry, "refresh refused with invalid_grant"))
            failures += [evidence(e, "the refused refresh token sent again") for e in retries]
        elif journey < len(later):
            judged += 1
    return outcome(failures, judged, "{judged} refused refresh(es) followed by a new journey",
                   "refreshing in a loop after invalid_grant instead of a new journey")


def honours_retry_after(entries: list[dict]) -> Verdict:
    calls = [e for e in entries if kind(e) in CALLS]
    judged, failures = 0, []
    for index, entry in enumerate(calls[:-1]):
        delay = observed(entry).get("retry_after")
        if entry.get("status") not in RETRY_STATUSES or delay is None:
            continue
        judged += 1
        following = calls[index + 1]
        waited = observed(following).get("real", 0) - observed(entry).get("real", 0)
        if waited < delay:
            failures.append(evidence(entry, f"Retry-After: {delay}"))
            failures.append(evidence(following, f"called again after {waited:.1f} s"))
    return outcome(failures, judged, "{judged} Retry-After delay(s) waited",
                   "a call came before the Retry-After delay")


def signed_api_calls(entries: list[dict]) -> Verdict:
    calls = [e for e in entries if kind(e) == "api" and observed(e).get("signature")]
    failures = [evidence(e, f"Signature {observed(e)['signature']}") for e in calls
                if observed(e)["signature"] != "valid"]
    return outcome(failures, len(calls), "{judged} API call(s) with a valid QSealC signature",
                   "an API call was unsigned or its signature did not verify")


def qwac_at_token(entries: list[dict]) -> Verdict:
    calls = [e for e in entries if kind(e) in ("token", "revoke")]
    failures = [evidence(e, "no client certificate (QWAC)") for e in calls if not observed(e).get("qwac")]
    return outcome(failures, len(calls), "{judged} /token or /revoke call(s) over mutual TLS",
                   "/token or /revoke called without the QWAC")


def schema_valid_requests(entries: list[dict]) -> Verdict:
    calls = [e for e in entries if kind(e) == "api" and not e.get("fault_rule") and not observed(e).get("module")]
    failures = [evidence(e, e.get("error") or "refused for its body or headers") for e in calls
                if e.get("status") in REQUEST_REFUSALS]
    return outcome(failures, len(calls), "{judged} API call(s), none refused for its body or headers",
                   "an API call was refused for its body or headers")


RFC6749 = "RFC 6749 §4.1.3"
CHECKS: tuple[Check, ...] = (
    Check("token-request-without-scope", "No scope on the authorization-code exchange", PORTAL, token_request_without_scope),
    Check("redirect-uri-consistent", "/token uses the redirect_uri of its /authorize", RFC6749, redirect_uri_consistent),
    Check("state-unpredictable", "Every /authorize carries a fresh state of 128 bits or more",
          "RFC 6749 §10.12, RFC 9700 §4.7", state_unpredictable),
    Check("pkce-s256", "A code_challenge with S256 (advisory)", "RFC 7636, RFC 9700 §2.1.1", pkce_s256),
    Check("unique-x-request-id", "No X-Request-ID reused on API calls", "STET API, request headers (X-Request-ID: unique per request)",
          unique_x_request_id),
    Check("no-reuse-of-dead-access-token", "An access token refused with 401 is not sent again", "RFC 6750 §3.1",
          no_reuse_of_dead_access_token),
    Check("old-access-token-dropped-after-refresh", "After a refresh the previous access token is never used",
          'bank portal, funds availability: "Refresh your token"', old_access_token_dropped_after_refresh),
    Check("refresh-instead-of-new-sca", "An expired access token is followed by a refresh, not a new journey",
          'bank portal, funds availability: "Refresh your token"; RFC 6749 §6', refresh_instead_of_new_sca),
    Check("new-sca-after-refresh-refused", "After invalid_grant on refresh: at most one more refresh, then a new journey",
          "RFC 6749 §5.2; bank portal (180-day re-authentication)", new_sca_after_refresh_refused),
    Check("honours-retry-after", "No call before the Retry-After delay of a 429 or 503", "RFC 9110 §10.2.3",
          honours_retry_after),
    Check("signed-api-calls", "Every API call carries a valid QSealC Signature and Digest",
          "STET API, request headers (Signature, Digest); bank portal (QSealC)", signed_api_calls),
    Check("qwac-at-token", "/token and /revoke over mutual TLS with the QWAC",
          "bank portal (QWAC); RFC 8705 §2", qwac_at_token),
    Check("schema-valid-requests", "No API call refused for its body or headers", "STET OpenAPI (funds confirmations)",
          schema_valid_requests),
)
