"""Fault and latency injection: the 429s, 503s, time-outs and dropped connections
a real integration meets, on the calls a rule names.

A rule matches on endpoint, version, bank, TPP, IBAN, amount; ``nth`` picks one
call among those that match, ``probability`` (seeded, so reproducible) some of
them, ``times`` caps how often it fires. Counting happens in the store, so a
rule limited to two uses fires twice across all workers, not twice per worker.
"""
from __future__ import annotations

import json
import random
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any, Optional

from .clock import parse_duration

MAX_DELAY = timedelta(seconds=30)
DEFAULT_MESSAGES = {
    400: "bad request",
    401: "authentication required",
    403: "access denied",
    404: "resource not found",
    408: "request timeout: the bank did not answer in time",
    429: "too many requests: retry later",
    500: "internal server error",
    502: "bad gateway",
    503: "service unavailable: retry later",
    504: "gateway timeout",
}


@dataclass(frozen=True)
class Match:
    endpoint: str = "funds-confirmations"
    version: Optional[str] = None
    bank: Optional[str] = None
    tpp: Optional[str] = None
    iban: Optional[str] = None
    amount: Optional[Decimal] = None
    nth: Optional[int] = None
    probability: Optional[float] = None
    seed: int = 0

    @property
    def needs_details(self) -> bool:
        return any(v is not None for v in (self.tpp, self.iban, self.amount))


@dataclass(frozen=True)
class Action:
    status: Optional[int] = None
    message: Optional[str] = None
    retry_after: Optional[int] = None
    delay: Optional[timedelta] = None
    drop: bool = False
    bad_signature: bool = False  # the signed 200 goes on, its Signature corrupted (settings.sign_responses)


@dataclass(frozen=True)
class FaultRule:
    name: str
    match: Match
    action: Action
    times: Optional[int] = None

    def error_message(self) -> str:
        return self.action.message or DEFAULT_MESSAGES.get(self.action.status or 500, "error")


def rule_problems(raw: dict, signs_responses: bool) -> list[tuple[list, str]]:
    """What the schema cannot say about a rule: (path inside the rule, reason). ``signs_responses``: the
    scenario's ``settings.sign_responses``, without which there is no signature to corrupt."""
    problems = []
    action, match = raw.get("action"), raw.get("match", {})
    if not isinstance(action, dict) or not isinstance(match, dict):
        return problems  # a missing or misshapen part is the schema's problem
    if not any(k in action for k in ("status", "delay", "drop", "bad_signature")):
        problems.append((["action"], "an action needs at least one of status, delay, drop, bad_signature"))
    if "bad_signature" in action:
        if "status" in action or "drop" in action:
            problems.append((["action", "bad_signature"], "corrupts the signature of a 200: not with status or drop, "
                                                          "which answer no 200"))
        if match.get("endpoint", "funds-confirmations") != "funds-confirmations":
            problems.append((["action", "bad_signature"], "only funds-confirmations answers are signed "
                                                          "(match.endpoint: funds-confirmations)"))
        if not signs_responses:
            problems.append((["action", "bad_signature"], "the scenario does not sign its answers: set "
                                                          "settings.sign_responses: true"))
    if "delay" in action:
        try:
            too_long = parse_duration(action["delay"]) > MAX_DELAY
        except ValueError:  # past what a timedelta holds (P99999999999D)
            too_long = True
        if too_long:
            problems.append((["action", "delay"], "a delay is at most PT30S"))
    if "seed" in match and "probability" not in match:
        problems.append((["match", "seed"], "a seed only makes sense with a probability"))
    return problems


def build_rule(raw: dict, default_name: str) -> FaultRule:
    match = dict(raw.get("match", {}))
    if "amount" in match:
        match["amount"] = Decimal(str(match["amount"]))
    action = dict(raw["action"])
    if "delay" in action:
        action["delay"] = parse_duration(action["delay"])
    return FaultRule(
        name=raw.get("name", default_name),
        match=Match(**match),
        action=Action(**action),
        times=raw.get("times"),
    )


@lru_cache(maxsize=8)
def runtime_rules(text: str) -> tuple[FaultRule, ...]:
    """Rules added through the admin API (already validated), built once per version of the list."""
    return tuple(build_rule(raw, f"admin-{i + 1}") for i, raw in enumerate(json.loads(text)))


def candidates(rules: tuple[FaultRule, ...], endpoint: str, version: Optional[str], bank: str) -> list[FaultRule]:
    """Rules whose cheap criteria (no body, no token look-up) fit the call."""
    return [
        r
        for r in rules
        if r.match.endpoint in (endpoint, "any")
        and r.match.version in (None, version)
        and r.match.bank in (None, bank)
    ]


def matches_details(rule: FaultRule, tpp: Optional[str], iban: Optional[str], amount: Optional[Decimal]) -> bool:
    m = rule.match
    return (
        m.tpp in (None, tpp)
        and m.iban in (None, iban)
        and (m.amount is None or (amount is not None and m.amount == amount))
    )


def fires(rule: FaultRule, matched: int, fired: int) -> bool:
    """Decide for the ``matched``-th matching call, given how often the rule already fired."""
    if rule.times is not None and fired >= rule.times:
        return False
    if rule.match.nth is not None and matched != rule.match.nth:
        return False
    if rule.match.probability is not None:
        draw = random.Random(f"{rule.match.seed}:{rule.name}:{matched}").random()
        return draw < rule.match.probability
    return True


def amount_of(value: Any) -> Optional[Decimal]:
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
